// SPDX-License-Identifier: MIT
#include "websocket_session.hpp"

#include <deque>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/websocket.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/http/http_error.hpp>
#include <lifetime/http/server.hpp>
#include <lifetime/http/websocket.hpp>

namespace lifetime::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;

namespace {

class session final : public websocket_session {
 public:
  session(transport& t, request_context& ctx, cancellation_source source)
      : transport_(t),
        ctx_(ctx),
        source_(std::move(source)),
        token_(source_.token()),
        stream_(t.socket),
        notify_(t.socket.get_executor()) {}

  request_context& request() noexcept override { return ctx_; }
  const cancellation_token& token() const noexcept override { return token_; }

  asio::awaitable<void> accept(const bhttp::request<bhttp::empty_body>& req) {
    auto options = websocket::stream_base::timeout::suggested(beast::role_type::server);
    options.handshake_timeout = ctx_.config().header_timeout;
    stream_.set_option(options);
    stream_.set_option(websocket::stream_base::decorator(
        [name = ctx_.config().server_name](websocket::response_type& res) {
          res.set(bhttp::field::server, name);
        }));
    auto [ec] = co_await stream_.async_accept(req, asio::as_tuple(asio::use_awaitable));
    if (ec)
      throw operation_cancelled(cancellation_reason::client_disconnected);
  }

  /// Starts the read loop; `done` is called on the strand when it ends.
  void start_reading() {
    reading_ = true;
    asio::co_spawn(transport_.socket.get_executor(), read_loop(), asio::detached);
  }

  asio::awaitable<void> send_text(std::string_view text) override {
    stream_.text(true);
    transport_.arm_timeout(ctx_.config().header_timeout);
    auto [ec, n] =
        co_await stream_.async_write(asio::buffer(text), asio::as_tuple(asio::use_awaitable));
    transport_.disarm_timeout();
    if (ec) {
      source_.cancel(cancellation_reason::client_disconnected);
      throw operation_cancelled(cancellation_reason::client_disconnected);
    }
  }

  asio::awaitable<std::optional<std::string>> receive() override {
    while (queue_.empty()) {
      if (!reading_)
        co_return std::nullopt;
      token_.throw_if_cancellation_requested();
      notify_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await notify_.async_wait(bind_cancellation(token_, asio::as_tuple(asio::use_awaitable)));
    }
    auto message = std::move(queue_.front());
    queue_.pop_front();
    co_return message;
  }

  asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration duration) override {
    token_.throw_if_cancellation_requested();
    asio::steady_timer timer(transport_.socket.get_executor(), duration);
    co_await timer.async_wait(bind_cancellation(token_, asio::as_tuple(asio::use_awaitable)));
    token_.throw_if_cancellation_requested();
  }

  /// Sends the close frame for `code` and waits for the read loop to end, both bounded by the
  /// close timeout (the transport closes the socket past it).
  asio::awaitable<void> close(websocket::close_code code) {
    const auto limit = ctx_.config().websocket_close_timeout;
    if (stream_.is_open()) {
      websocket::stream_base::timeout options{};
      options.handshake_timeout = limit;
      options.idle_timeout = websocket::stream_base::none();
      options.keep_alive_pings = false;
      stream_.set_option(options);
      transport_.arm_timeout(limit);
      co_await stream_.async_close(code, asio::as_tuple(asio::use_awaitable));
    } else {
      transport_.arm_timeout(limit);
    }
    while (reading_) {
      notify_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await notify_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    transport_.disarm_timeout();
  }

 private:
  asio::awaitable<void> read_loop() {
    for (;;) {
      beast::flat_buffer buffer;
      auto [ec, n] = co_await stream_.async_read(buffer, asio::as_tuple(asio::use_awaitable));
      if (ec)
        break;
      if (stream_.got_text())
        queue_.push_back(beast::buffers_to_string(buffer.data()));
      notify_.cancel();
    }
    // The client closed, left, or the server's close completed.
    reading_ = false;
    source_.cancel(cancellation_reason::client_disconnected);
    notify_.cancel();
  }

  transport& transport_;
  request_context& ctx_;
  cancellation_source source_;
  cancellation_token token_;
  websocket::stream<asio::ip::tcp::socket&> stream_;
  asio::steady_timer notify_;  // wakes receive() and close()
  std::deque<std::string> queue_;
  bool reading_ = false;
};

websocket::close_code close_code_for(const cancellation_token& token) {
  switch (token.reason()) {
    case cancellation_reason::application_stopping:
      return websocket::close_code::going_away;
    case cancellation_reason::restart:
      return websocket::close_code::service_restart;
    default:
      return websocket::close_code::normal;
  }
}

// Keeps the session gauges exact however the session ends.
struct session_count {
  explicit session_count(metrics& m) : m_(m) {
    m_.websocket_sessions_total.fetch_add(1, std::memory_order_relaxed);
    m_.websocket_sessions_open.fetch_add(1, std::memory_order_relaxed);
  }
  ~session_count() { m_.websocket_sessions_open.fetch_sub(1, std::memory_order_relaxed); }
  session_count(const session_count&) = delete;
  session_count& operator=(const session_count&) = delete;
  metrics& m_;
};

}  // namespace

asio::awaitable<void> serve_websocket(transport& t, const bhttp::request_header<>& header,
                                      const route& r, request_context& ctx,
                                      cancellation_token generation) {
  bhttp::request<bhttp::empty_body> req(header);
  if (!websocket::is_upgrade(req)) {
    ctx.add_header(bhttp::field::upgrade, "websocket");
    throw http_error(426, "a WebSocket upgrade is required", true);
  }
  const auto& env = ctx.server().environment();
  session s(t, ctx,
            cancellation_source::linked(
                {env.stop_accepting, env.cancel_in_flight, std::move(generation)}));
  co_await s.accept(req);
  ctx.mark_upgraded();
  session_count counted(ctx.stats());
  s.start_reading();
  std::exception_ptr failure;
  try {
    co_await r.websocket(s);
  } catch (...) {
    failure = std::current_exception();
  }
  co_await s.close(close_code_for(s.token()));
  if (failure)
    std::rethrow_exception(failure);
}

}  // namespace lifetime::http::detail
