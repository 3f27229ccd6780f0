// SPDX-License-Identifier: MIT
// A connection's life between requests (http/src/connection.cpp, request_reader.cpp): an idle
// keep-alive connection waits in a parked read holding no coroutine (counted by
// http_connections_idle) and is served again, even when the next header comes in pieces or
// several at once, or released when the client leaves; a response header larger than the socket
// takes at once arrives whole although it was serialized into a buffer other connections on the
// thread reuse; a new connection goes to the connection thread serving the fewest.
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/eventually.hpp"
#include "support/http_client.hpp"

#include "running_server.hpp"

namespace lifetime::http::test {
namespace {
using lifetime::test::eventually;
using lifetime::test::http_client;

// 4 MB of header: far more than a loopback socket takes at once.
constexpr int fill_fields = 64;
constexpr std::size_t fill_field_size = 64000;  // under Beast's limit for one field

/// GET /fill/<c>: 200 with headers X-Fill-0 ... X-Fill-63, each fill_field_size copies of <c>.
boost::asio::awaitable<void> fill(request_context& ctx) {
  auto res = ctx.make_response(bhttp::status::ok, "end\n", "text/plain");
  for (int i = 0; i < fill_fields; ++i)
    res.set("X-Fill-" + std::to_string(i),
            std::string(fill_field_size, ctx.path_params().at(0).at(0)));
  co_await ctx.send(std::move(res));
}

/// GET /thread: the id of the thread the handler runs on.
boost::asio::awaitable<void> thread_id(request_context& ctx) {
  std::ostringstream id;
  id << std::this_thread::get_id();
  co_await ctx.send(ctx.make_response(bhttp::status::ok, id.str(), "text/plain"));
}

std::string thread_of(http_client& client) {
  client.send_request("GET", "/thread");
  return client.read_response().body;
}

}  // namespace

TEST_CASE("a new connection goes to the connection thread serving the fewest connections",
          "[threads]") {
  router routes;
  routes.add(bhttp::verb::get, "/thread", thread_id);
  running_server s(std::move(routes), 2);
  http_client a(s.port());
  http_client b(s.port());
  const std::string thread_a = thread_of(a);
  const std::string thread_b = thread_of(b);
  CHECK(thread_a != thread_b);  // one each, not both on one
  b.close();
  REQUIRE(eventually([&] { return s.web().connection_count() == 1; }));
  // Round robin would put the third on a's thread again; b's thread now serves none.
  http_client c(s.port());
  CHECK(thread_of(c) == thread_b);
  http_client d(s.port());
  const std::string thread_d = thread_of(d);
  CHECK((thread_d == thread_a || thread_d == thread_b));
}

TEST_CASE("an idle keep-alive connection is served again and released when its client leaves") {
  router routes;
  routes.add(bhttp::verb::get, "/ok", ok);
  running_server s(std::move(routes));
  http_client client(s.port());
  for (int i = 0; i < 3; ++i) {
    client.send_request("GET", "/ok");
    const auto response = client.read_response();
    CHECK(response.status == 200);
    CHECK_FALSE(response.closes());
  }
  REQUIRE(eventually([&] { return s.web().connection_count() == 1; }));
  CHECK(eventually([&] { return s.web().stats().connections_idle.load() == 1; }));
  client.close();  // while the connection waits for a request
  CHECK(eventually([&] { return s.web().connection_count() == 0; }));
  CHECK(s.web().stats().connections_idle.load() == 0);
}

TEST_CASE("after a response, a header arriving in pieces or several headers at once are served") {
  router routes;
  routes.add(bhttp::verb::get, "/ok", ok);
  running_server s(std::move(routes));
  http_client client(s.port());
  client.send_request("GET", "/ok");
  REQUIRE(client.read_response().status == 200);
  // The parked read takes the first piece; the rest is read inside the request's coroutine.
  REQUIRE(eventually([&] { return s.web().stats().connections_idle.load() == 1; }));
  REQUIRE(client.send("GET /ok HTTP/1.1\r\nHo"));
  REQUIRE(eventually([&] { return s.web().stats().connections_idle.load() == 0; }));
  REQUIRE(client.send("st: x\r\n\r\n"));
  CHECK(client.read_response().status == 200);
  // Three pipelined requests in one write: one read, three responses in order.
  REQUIRE(
      client.send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(client.read_response().status == 200);
  CHECK(client.read_response().status == 404);
  const auto last = client.read_response();
  CHECK(last.status == 200);
  CHECK_FALSE(last.closes());
}

TEST_CASE("response headers larger than the socket takes at once arrive whole on every connection",
          "[threads]") {
  router routes;
  routes.add(bhttp::verb::get, "/fill/{}", fill);
  running_server s(std::move(routes));
  const std::string letters = "abcdef";
  std::vector<http_client> clients;
  for (const char c : letters) {
    clients.emplace_back(s.port(), std::chrono::seconds(30));
    clients.back().send_request("GET", std::string("/fill/") + c);
  }
  // Every response is sent while the others wait in their partial writes; then each is read.
  for (std::size_t i = 0; i < letters.size(); ++i) {
    const auto response = clients[i].read_response();
    REQUIRE(response.status == 200);
    for (int f = 0; f < fill_fields; ++f)
      CHECK(response.header("x-fill-" + std::to_string(f)) ==
            std::string(fill_field_size, letters[i]));
    CHECK(response.body == "end\n");
  }
}

}  // namespace lifetime::http::test
