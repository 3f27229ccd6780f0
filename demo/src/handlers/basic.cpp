// SPDX-License-Identifier: MIT
// GET /, /hello, /healthz, /readyz, /metrics.
#include <boost/json/object.hpp>

#include <lifetime/http/server.hpp>
#include "handlers/handlers.hpp"
#include "page.hpp"

namespace lifetime::demo::handlers {
namespace bhttp = boost::beast::http;

result page(request_context& ctx) {
  co_await ctx.send(
      ctx.make_response(bhttp::status::ok, std::string(page_html()), "text/html; charset=utf-8"));
}

result hello(request_context& ctx) {
  co_await ctx.send(ctx.make_response(bhttp::status::ok, "hello\n", "text/plain; charset=utf-8"));
}

result healthz(request_context& ctx) {
  co_await ctx.send(ctx.make_response(bhttp::status::ok, "ok\n", "text/plain; charset=utf-8"));
}

result readyz(request_context& ctx) {
  const bool ready = ctx.server().ready();
  co_await ctx.send(
      ctx.make_response(ready ? bhttp::status::ok : bhttp::status::service_unavailable,
                        ready ? "ready\n" : "stopping\n", "text/plain; charset=utf-8"));
}

result metrics(request_context& ctx) {
  co_await ctx.send(ctx.make_response(bhttp::status::ok, ctx.server().metrics_text(),
                                      "text/plain; version=0.0.4; charset=utf-8"));
}

}  // namespace lifetime::demo::handlers
