// SPDX-License-Identifier: MIT
// Answering through request_context (http/src/request_context.cpp): send(status, body, type)
// writes byte for byte what send(make_response(status, body, type)) writes, whatever the
// request's version and keep-alive, with added headers, for a bodiless status; both refuse a body
// where HTTP allows none before sending anything, so that the server answers 500.
#include <lifetime/http/request_context.hpp>

#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "support/http_client.hpp"

#include "running_server.hpp"

namespace lifetime::http::test {
namespace {
using lifetime::test::http_client;

bhttp::status status_of(request_context& ctx) {
  return static_cast<bhttp::status>(std::stoi(ctx.path_params().at(0)));
}

std::string body_of(request_context& ctx) {
  return ctx.query("body").value_or("");
}

boost::asio::awaitable<void> built(request_context& ctx) {
  if (ctx.query("cookie"))
    ctx.add_header(bhttp::field::set_cookie, "a=1");
  co_await ctx.send(ctx.make_response(status_of(ctx), body_of(ctx), "text/plain; charset=utf-8"));
}

boost::asio::awaitable<void> direct(request_context& ctx) {
  if (ctx.query("cookie"))
    ctx.add_header(bhttp::field::set_cookie, "a=1");
  const std::string body = body_of(ctx);
  co_await ctx.send(status_of(ctx), body, "text/plain; charset=utf-8");
}

/// Everything the server writes for `request` (which names the route with "ROUTE"): up to the
/// close when it closes, else the header and `body`.
std::string exchange(unsigned short port, std::string request, std::string_view route,
                     std::string_view body) {
  request.replace(request.find("ROUTE"), 5, route);
  http_client client(port);
  REQUIRE(client.send(request));
  if (client.wait_closed(std::chrono::seconds(5)))
    return client.buffered();
  auto text = client.read_until("\r\n\r\n");
  if (!body.empty())
    text = client.read_until(body);
  return text;
}

}  // namespace

TEST_CASE("send(status, body, type) writes what send(make_response(status, body, type)) writes") {
  router routes;
  routes.add(bhttp::verb::get, "/built/{}", built);
  routes.add(bhttp::verb::get, "/direct/{}", direct);
  running_server s(std::move(routes));
  const auto same = [&](std::string request, std::string_view body) {
    const auto a = exchange(s.port(), request, "/built", body);
    const auto b = exchange(s.port(), request, "/direct", body);
    CHECK(a == b);
    return a;
  };
  const auto kept = same("GET ROUTE/200?body=hello HTTP/1.1\r\nHost: x\r\n\r\n", "hello");
  CHECK(kept.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(kept.find("Content-Length: 5\r\n") != std::string::npos);
  CHECK(kept.find("Connection") == std::string::npos);
  CHECK(same("GET ROUTE/200?body=hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "")
            .find("Connection: close\r\n") != std::string::npos);
  CHECK(same("GET ROUTE/404?body=gone HTTP/1.0\r\n\r\n", "").starts_with("HTTP/1.0 404 "));
  CHECK(same("GET ROUTE/200?body=hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "hello")
            .find("Connection: keep-alive\r\n") != std::string::npos);
  CHECK(same("GET ROUTE/204 HTTP/1.1\r\nHost: x\r\n\r\n", "").find("Content-Length: 0\r\n") !=
        std::string::npos);
  CHECK(same("GET ROUTE/200?body=hi&cookie=1 HTTP/1.1\r\nHost: x\r\n\r\n", "hi")
            .find("Set-Cookie: a=1\r\n") != std::string::npos);
  // A body on a 204: refused before anything is written, answered 500 by the server.
  CHECK(same("GET ROUTE/204?body=no HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "")
            .starts_with("HTTP/1.1 500 "));
}

}  // namespace lifetime::http::test
