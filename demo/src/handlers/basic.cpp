// SPDX-License-Identifier: MIT
// GET /, /hello, /healthz, /readyz, /metrics.
#include <boost/json/object.hpp>

#include "http/handlers/handlers.hpp"
#include "http/request_context.hpp"
#include "http/web_host.hpp"
#include "page.hpp"

namespace lifetime::demo::handlers {
namespace http = boost::beast::http;

result page(request_context& ctx) {
  co_await ctx.send(
      ctx.make_response(http::status::ok, std::string(page_html()), "text/html; charset=utf-8"));
}

result hello(request_context& ctx) {
  co_await ctx.send(ctx.make_response(http::status::ok, "hello\n", "text/plain; charset=utf-8"));
}

result healthz(request_context& ctx) {
  co_await ctx.send(ctx.make_response(http::status::ok, "ok\n", "text/plain; charset=utf-8"));
}

result readyz(request_context& ctx) {
  const bool ready = ctx.host().ready();
  co_await ctx.send(ctx.make_response(ready ? http::status::ok : http::status::service_unavailable,
                                      ready ? "ready\n" : "stopping\n",
                                      "text/plain; charset=utf-8"));
}

result metrics(request_context& ctx) {
  auto& host = ctx.host();
  co_await ctx.send(ctx.make_response(http::status::ok,
                                      host.stats().render(host.lifetime_state(), host.ready()),
                                      "text/plain; version=0.0.4; charset=utf-8"));
}

}  // namespace lifetime::demo::handlers
