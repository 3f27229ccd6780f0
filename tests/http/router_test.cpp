// SPDX-License-Identifier: MIT
// The router (http/src/router.cpp) in a running server: 405 with Allow, filters.
#include <lifetime/http/router.hpp>

#include <atomic>

#include <catch2/catch.hpp>

#include <lifetime/http/http_error.hpp>
#include <lifetime/http/request_context.hpp>

#include "support/http_client.hpp"

#include "running_server.hpp"

namespace lifetime::http::test {
namespace {
using lifetime::test::get;
using lifetime::test::request;
using verb = boost::beast::http::verb;
}  // namespace

TEST_CASE("a path that exists for other methods answers 405 with Allow listing them") {
  router routes;
  routes.add(verb::get, "/thing/{}", ok).add(verb::put, "/thing/{}", ok);
  running_server s(std::move(routes));
  const auto r = request(s.port(), "DELETE", "/thing/1");
  CHECK(r.status == 405);
  CHECK(r.header("allow") == "GET, PUT");
  CHECK(request(s.port(), "DELETE", "/other").status == 404);
}

TEST_CASE("a filter that throws http_error answers its status and the handler never runs") {
  std::atomic<int> handled{0};
  router routes;
  routes.filter([](request_context& ctx) {
    if (ctx.header()["X-Key"] != "yes")
      throw http_error(403, "no key");
  });
  routes.add(verb::get, "/", [&handled](request_context& ctx) -> boost::asio::awaitable<void> {
    ++handled;
    co_await ok(ctx);
  });
  running_server s(std::move(routes));
  CHECK(get(s.port(), "/").status == 403);
  CHECK(handled == 0);
  CHECK(request(s.port(), "GET", "/", {{"X-Key", "yes"}}).status == 200);
  CHECK(handled == 1);
}

}  // namespace lifetime::http::test
