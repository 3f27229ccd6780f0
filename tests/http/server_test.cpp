// SPDX-License-Identifier: MIT
// lifetime::http::server with an application's own routes: filters, 405's Allow, application
// metrics, listen errors and WebSocket sessions at the stop.
#include <lifetime/http/server.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/object.hpp>
#include <catch2/catch.hpp>

#include <lifetime/http/http_error.hpp>
#include <lifetime/http/listen_error.hpp>
#include <lifetime/http/request_context.hpp>
#include <lifetime/http/websocket.hpp>

#include "http_client.hpp"

namespace lifetime::http::test {
namespace {

using demo::test::client;
using demo::test::eventually;
using demo::test::get;
using demo::test::request;
using verb = boost::beast::http::verb;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using namespace std::chrono_literals;

// A server on 127.0.0.1:<ephemeral> with `routes`, run by two threads, its phases driven by hand.
class running_server {
 public:
  explicit running_server(router routes) : work_(io_.get_executor()) {
    server_environment env;
    env.stopping = stopping.token();
    env.stop_accepting = stop_accepting.token();
    env.cancel_in_flight = cancel_in_flight.token();
    env.in_flight = &in_flight;
    server_ = server::create(io_.get_executor(), env, std::move(routes), [] {
      auto config = std::make_shared<server_config>();
      config->listen = {"127.0.0.1:0"};
      config->websocket_close_timeout = 500ms;
      return std::shared_ptr<const server_config>(std::move(config));
    });
    server_->start();
    port_ = server_->local_endpoints().at(0).port();
    for (int i = 0; i < 2; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  ~running_server() {
    cancel_in_flight.cancel(cancellation_reason::application_stopping);
    stop_accepting.cancel(cancellation_reason::application_stopping);
    server_->close_connections();
    (void)eventually([&] { return server_->connection_count() == 0; });
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      t.join();
  }
  unsigned short port() const { return port_; }
  http::server& web() { return *server_; }

  cancellation_source stopping, stop_accepting, cancel_in_flight;
  lifetime::gate in_flight;

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<server> server_;
  std::vector<std::thread> threads_;
  unsigned short port_ = 0;
};

boost::asio::awaitable<void> ok(request_context& ctx) {
  co_await ctx.send(ctx.make_response(bhttp::status::ok, "ok\n", "text/plain"));
}

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

TEST_CASE("an application's collector is rendered next to the server's metrics") {
  running_server s(router{});
  s.web().stats().add_collector([](std::string& out) {
    metrics::scalar(out, "app_widgets_total", "counter", "Widgets.", 7);
  });
  const auto text = s.web().metrics_text();
  CHECK(text.find("app_widgets_total 7\n") != std::string::npos);
  CHECK(text.find("http_requests_total ") != std::string::npos);
  CHECK(text.find("http_websocket_sessions_open 0\n") != std::string::npos);
}

TEST_CASE("a listener on an address in use throws listen_error with the errno and a plain text") {
  running_server first(router{});
  boost::asio::io_context io;
  auto second = server::create(io.get_executor(), {}, router{}, [&] {
    auto config = std::make_shared<server_config>();
    config->listen = {"127.0.0.1:" + std::to_string(first.port())};
    return std::shared_ptr<const server_config>(std::move(config));
  });
  try {
    second->start();
    FAIL("start() did not throw");
  } catch (const listen_error& e) {
    CHECK(e.code() == std::errc::address_in_use);
    CHECK(std::string(e.what()) == "cannot listen on 127.0.0.1:" + std::to_string(first.port()) +
                                       ": address already in use");
  }
}

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
