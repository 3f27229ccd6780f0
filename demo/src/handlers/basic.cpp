// SPDX-License-Identifier: MIT
// GET /, /favicon.ico, /hello, /healthz, /readyz, /metrics.
#include <boost/json/object.hpp>

#include <lifetime/http/server.hpp>
#include "handlers/handlers.hpp"
#include "page.hpp"

namespace lifetime::demo::handlers {
namespace bhttp = boost::beast::http;

result page(request_context& ctx) {
  co_await ctx.send(bhttp::status::ok, page_html(), "text/html; charset=utf-8");
}

result favicon(request_context& ctx) {
  // A stopwatch: the page's icon, so that loading the page asks for nothing the server lacks.
  static constexpr std::string_view icon =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
      "<circle cx=\"8\" cy=\"9\" r=\"6\" fill=\"none\" stroke=\"#2f6fde\" stroke-width=\"2\"/>"
      "<path d=\"M8 9V5.5M6.5 1.5h3\" stroke=\"#2f6fde\" stroke-width=\"2\" "
      "stroke-linecap=\"round\"/></svg>";
  auto res = ctx.make_response(bhttp::status::ok, std::string(icon), "image/svg+xml");
  res.set(bhttp::field::cache_control, "max-age=86400");
  co_await ctx.send(std::move(res));
}

result hello(request_context& ctx) {
  co_await ctx.send(bhttp::status::ok, "hello\n", "text/plain; charset=utf-8");
}

result healthz(request_context& ctx) {
  co_await ctx.send(bhttp::status::ok, "ok\n", "text/plain; charset=utf-8");
}

result readyz(request_context& ctx) {
  const bool ready = ctx.server().ready();
  co_await ctx.send(ready ? bhttp::status::ok : bhttp::status::service_unavailable,
                    ready ? "ready\n" : "stopping\n", "text/plain; charset=utf-8");
}

result metrics(request_context& ctx) {
  const auto text = ctx.server().metrics_text();
  co_await ctx.send(bhttp::status::ok, text, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace lifetime::demo::handlers
