// SPDX-License-Identifier: MIT
// WebSocket routes and sessions (http/src/websocket_session.cpp): 426 without an upgrade,
// 1001 and a fired token at stop-accepting.
#include <lifetime/http/websocket.hpp>

#include <atomic>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include "support/eventually.hpp"
#include "support/http_client.hpp"

#include "running_server.hpp"

namespace lifetime::http::test {
namespace {
using lifetime::test::eventually;
using lifetime::test::get;
namespace websocket = boost::beast::websocket;
}  // namespace

TEST_CASE("a WebSocket route answers 426 to a request that is not an upgrade") {
  router routes;
  routes.add_websocket("/ws",
                       [](websocket_session&) -> boost::asio::awaitable<void> { co_return; });
  running_server s(std::move(routes));
  CHECK(get(s.port(), "/ws").status == 426);
}

TEST_CASE("at stop-accepting a WebSocket session's token fires and the client gets 1001",
          "[threads]") {
  std::atomic<int> reason{-1};
  router routes;
  routes.add_websocket("/ws", [&reason](websocket_session& ws) -> boost::asio::awaitable<void> {
    co_await ws.send_text("hello");
    try {
      while (co_await ws.receive()) {
      }
    } catch (const operation_cancelled& e) {
      reason = static_cast<int>(e.reason());
      throw;
    }
  });
  running_server s(std::move(routes));
  boost::asio::io_context io;
  websocket::stream<boost::asio::ip::tcp::socket> ws(io);
  ws.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), s.port()});
  ws.handshake("127.0.0.1", "/ws");
  boost::beast::flat_buffer buffer;
  ws.read(buffer);
  CHECK(boost::beast::buffers_to_string(buffer.data()) == "hello");
  CHECK(s.in_flight.count() == 1);  // the session holds the in-flight gate
  CHECK(s.web().stats().websocket_sessions_open == 1);

  s.stop_accepting.cancel(cancellation_reason::application_stopping);
  boost::system::error_code ec;
  buffer.clear();
  ws.read(buffer, ec);  // answers the server's close frame
  CHECK(ec == websocket::error::closed);
  CHECK(ws.reason().code == websocket::close_code::going_away);
  CHECK(eventually([&] { return s.web().stats().websocket_sessions_open == 0; }));
  CHECK(reason == static_cast<int>(cancellation_reason::application_stopping));
  CHECK(eventually([&] { return s.in_flight.count() == 0; }));
}

}  // namespace lifetime::http::test
