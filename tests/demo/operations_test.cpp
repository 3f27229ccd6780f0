// SPDX-License-Identifier: MIT
// Background operations, their progress events, the antiforgery token and session ownership;
// server-sent events from /api/stream.
#include "operations.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "demo_client.hpp"
#include "test_server.hpp"

namespace lifetime::demo::test {
namespace {

std::string start_operation(unsigned short port, const session& s, std::string_view seconds) {
  const auto r =
      request(port, "POST", "/api/operations?seconds=" + std::string(seconds), s.headers());
  REQUIRE(r.status == 202);
  return std::string(boost::json::parse(r.body).at("id").as_string());
}

std::string state_of(unsigned short port, const session& s, const std::string& id) {
  const auto r = request(port, "GET", "/api/operations/" + id, s.headers());
  REQUIRE(r.status == 200);
  return std::string(boost::json::parse(r.body).at("state").as_string());
}

}  // namespace

TEST_CASE("an operation's progress arrives over its WebSocket until done, for its owner only") {
  test_server server;
  const auto s = new_session(server.port());
  const auto id = start_operation(server.port(), s, "0.3");
  const auto path = "/api/operations/" + id + "/socket";
  // Another session (or none) is refused before the upgrade, like an unknown id.
  CHECK(request(server.port(), "GET", path,
                {{"Upgrade", "websocket"},
                 {"Connection", "Upgrade"},
                 {"Sec-WebSocket-Version", "13"},
                 {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}})
            .status == 404);

  boost::asio::io_context io;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws(io);
  ws.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
  ws.set_option(boost::beast::websocket::stream_base::decorator(
      [&](boost::beast::websocket::request_type& req) {
        req.set(boost::beast::http::field::cookie, s.cookie);
      }));
  ws.handshake("127.0.0.1", path);
  std::vector<std::string> events;
  for (;;) {
    boost::beast::flat_buffer buffer;
    boost::system::error_code ec;
    ws.read(buffer, ec);
    if (ec) {
      CHECK(ec == boost::beast::websocket::error::closed);
      break;
    }
    const auto message = boost::json::parse(boost::beast::buffers_to_string(buffer.data()));
    events.emplace_back(message.at("event").as_string());
    if (events.back() == "done")
      CHECK(message.at("state").as_string() == "completed");
  }
  REQUIRE_FALSE(events.empty());
  CHECK(events.back() == "done");
  CHECK(ws.reason().code == boost::beast::websocket::close_code::normal);
}

TEST_CASE("GET /csrf-token gives a token, its header name and a session cookie") {
  test_server server;
  const auto r = get(server.port(), "/csrf-token");
  CHECK(r.status == 200);
  const auto body = boost::json::parse(r.body);
  CHECK(body.at("headerName").as_string() == "X-CSRF-TOKEN");
  CHECK(body.at("token").as_string().size() == 32);
  CHECK(r.header("set-cookie").find("lifetime_session=") == 0);
  CHECK(r.header("set-cookie").find("HttpOnly") != std::string::npos);
}

TEST_CASE("a POST without the antiforgery token, or with a wrong one, answers 403") {
  test_server server;
  const auto s = new_session(server.port());
  CHECK(request(server.port(), "POST", "/api/operations?seconds=1").status == 403);
  CHECK(
      request(server.port(), "POST", "/api/operations?seconds=1", {{"Cookie", s.cookie}}).status ==
      403);
  CHECK(request(server.port(), "POST", "/api/operations?seconds=1",
                {{"Cookie", s.cookie}, {"X-CSRF-TOKEN", std::string(32, '0')}})
            .status == 403);
  const auto other = new_session(server.port());
  CHECK(request(server.port(), "POST", "/api/operations?seconds=1",
                {{"Cookie", s.cookie}, {"X-CSRF-TOKEN", other.token}})
            .status == 403);
}

TEST_CASE("an operation runs to completion after the request that started it has ended") {
  test_server server;
  const auto s = new_session(server.port());
  const auto id = start_operation(server.port(), s, "0.3");
  CHECK(id.size() == 32);
  CHECK(eventually([&] { return state_of(server.port(), s, id) == "completed"; }));
}

TEST_CASE("an operation is invisible to another session and cannot be cancelled by it") {
  test_server server;
  const auto owner = new_session(server.port());
  const auto other = new_session(server.port());
  const auto id = start_operation(server.port(), owner, "30");
  CHECK(request(server.port(), "GET", "/api/operations/" + id, other.headers()).status == 404);
  CHECK(
      request(server.port(), "GET", "/api/operations/" + id + "/events", other.headers()).status ==
      404);
  CHECK(
      request(server.port(), "POST", "/api/operations/" + id + "/cancel", other.headers()).status ==
      404);
  CHECK(request(server.port(), "GET", "/api/operations/" + id).status == 404);
  CHECK(state_of(server.port(), owner, id) == "running");
  const auto r =
      request(server.port(), "POST", "/api/operations/" + id + "/cancel", owner.headers());
  CHECK(r.status == 200);
  CHECK(eventually([&] { return state_of(server.port(), owner, id) == "cancelled"; }));
}

TEST_CASE("a session may run at most 8 operations at once") {
  test_server server;
  const auto s = new_session(server.port());
  for (int i = 0; i < 8; ++i)
    start_operation(server.port(), s, "30");
  CHECK(request(server.port(), "POST", "/api/operations?seconds=30", s.headers()).status == 429);
  const auto other = new_session(server.port());
  start_operation(server.port(), other, "30");
}

TEST_CASE("operation events stream progress and end with the outcome") {
  test_server server;
  const auto s = new_session(server.port());
  const auto id = start_operation(server.port(), s, "0.5");
  http_client c(server.port());
  c.send_request("GET", "/api/operations/" + id + "/events", s.headers());
  const auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.header("content-type") == "text/event-stream");
  CHECK(r.body.find("event: progress") != std::string::npos);
  CHECK(r.body.find("event: done\ndata: {\"id\":\"" + id + "\",\"state\":\"completed\"") !=
        std::string::npos);
}

TEST_CASE("a cancelled operation's event stream reports the reason") {
  test_server server;
  const auto s = new_session(server.port());
  const auto id = start_operation(server.port(), s, "30");
  http_client c(server.port());
  c.send_request("GET", "/api/operations/" + id + "/events", s.headers());
  c.read_until("event: progress");
  CHECK(request(server.port(), "POST", "/api/operations/" + id + "/cancel", s.headers()).status ==
        200);
  const auto text = c.read_until("event: done");
  CHECK(c.read_until("0\r\n\r\n").find("\"reason\":\"requested\"") != std::string::npos);
  (void)text;
}

TEST_CASE("operations are cancelled from the first moment of the stop", "[threads]") {
  test_server server;
  const auto s = new_session(server.port());
  const auto id = start_operation(server.port(), s, "30");
  server.stopping.cancel(cancellation_reason::application_stopping);
  CHECK(eventually([&] { return state_of(server.port(), s, id) == "cancelled"; }));
  const auto r = request(server.port(), "GET", "/api/operations/" + id, s.headers());
  CHECK(boost::json::parse(r.body).at("reason").as_string() == "application_stopping");
}

TEST_CASE("/api/stream sends progress events as the work advances") {
  test_server server;
  http_client c(server.port());
  c.send_request("GET", "/api/stream?seconds=0.3");
  const auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.header("content-type") == "text/event-stream");
  std::size_t events = 0;
  for (auto at = r.body.find("event: progress"); at != std::string::npos;
       at = r.body.find("event: progress", at + 1)) {
    ++events;
  }
  CHECK(events == 3);
  CHECK(r.body.find("event: done") != std::string::npos);
  // Still usable afterwards: the stream ended with its last chunk.
  c.send_request("GET", "/hello");
  CHECK(c.read_response().status == 200);
}

TEST_CASE("a client leaving an event stream cancels it", "[threads]") {
  test_server server;
  auto c = std::make_unique<http_client>(server.port());
  c->send_request("GET", "/api/stream?seconds=30");
  c->read_until("event: progress");
  c->reset();
  CHECK(eventually([&] {
    return metric(server.port(), "http_requests_aborted_total{reason=\"client_disconnected\"}") ==
           1;
  }));
  CHECK(eventually([&] { return metric(server.port(), "demo_work_in_progress") == 0; }));
}

}  // namespace lifetime::demo::test

namespace lifetime::demo::test {

TEST_CASE("a POST with Expect: 100-continue gets 100 Continue before its body is read") {
  test_server server;
  const auto s = new_session(server.port());
  auto headers = s.headers();
  headers["Expect"] = "100-continue";
  headers["Content-Length"] = "2";
  http_client c(server.port());
  c.send_request("POST", "/api/operations?seconds=0.1", headers);
  c.read_until("HTTP/1.1 100 Continue\r\n\r\n");
  c.buffered().clear();
  c.send("{}");
  CHECK(c.read_response().status == 202);
}

}  // namespace lifetime::demo::test
