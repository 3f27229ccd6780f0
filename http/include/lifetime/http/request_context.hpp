// SPDX-License-Identifier: MIT
// What a request handler sees: the request, its cancellation token, the server, and the ways to
// answer.
//
// - token(): fires when the client disconnects, the application stops (after the drain), the
//   server restarts, or the request's deadline passes; token().reason() says which. Handlers await
//   with sleep_for() or bind their own operations with lifetime::bind_cancellation(token(), ...)
//   after calling watch_disconnect() (sleep_for() does so itself), and let
//   lifetime::operation_cancelled propagate: the server answers for them —
//   client_disconnected: nothing is written, 499 in the access log;
//   application_stopping, restart: 503 with Retry-After and Connection: close;
//   deadline_exceeded: 504.
// - send()/send_json(): one complete response. begin_events()/send_event()/end_events(): a
//   server-sent-events stream (chunked), after which the request cannot be answered otherwise.
// - read_body_some(): for routes with body_mode::streamed, the body piece by piece.
// - Throw http_error to answer an error status.
//
// @par Thread safety
// A context lives on its connection's strand for the duration of one handler; use it only there.
// Its token may be handed to other threads (tokens are thread-safe).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <boost/url/url_view.hpp>

#include <lifetime/cancellation.hpp>
#include <lifetime/http/detail/exchange.hpp>
#include <lifetime/http/server_config.hpp>

namespace lifetime::http {

class server;
class metrics;

class request_context {
 public:
  using response = boost::beast::http::response<boost::beast::http::string_body>;

  request_context(detail::exchange& exchange, const boost::beast::http::request_header<>& header,
                  boost::urls::url_view url, std::vector<std::string> path_params,
                  const server_config& config);

  // ---- The request ----------------------------------------------------------------------
  const boost::beast::http::request_header<>& header() const noexcept { return header_; }
  boost::urls::url_view url() const noexcept { return url_; }
  /// The decoded value of query parameter `name`, if present.
  std::optional<std::string> query(std::string_view name) const;
  const std::vector<std::string>& path_params() const noexcept { return path_params_; }
  /// The buffered body (body_mode::buffered).
  const std::string& body() const noexcept { return exchange_.buffered_body(); }
  /// The value of cookie `name`, if the request carries it.
  std::optional<std::string> cookie(std::string_view name) const;

  // ---- Cancellation ----------------------------------------------------------------------
  /// Made on the first call (one allocation; with request_cancellation off a default token);
  /// it carries whatever cancellation happened since the request started.
  const cancellation_token& token() const;
  /// Makes a client disconnect cancel token() from now on (a no-op until the body has been read,
  /// with request_cancellation off, or when already watching). Call before awaiting anything
  /// bound to token(); sleep_for() calls it.
  void watch_disconnect();
  /// Waits `duration` unless the token fires first. @throws operation_cancelled.
  boost::asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration duration);

  // ---- Shared state ----------------------------------------------------------------------
  /// The configuration the request started with.
  const server_config& config() const noexcept { return *config_; }
  /// The same, as the application's type derived from server_config. @throws std::bad_cast.
  template <class Config>
  const Config& config_as() const {
    return dynamic_cast<const Config&>(*config_);
  }
  http::server& server() noexcept { return exchange_.owner(); }
  http::metrics& stats() noexcept;

  // ---- Answering -------------------------------------------------------------------------
  /// Adds a header to whatever response follows (e.g. Set-Cookie).
  void add_header(boost::beast::http::field name, std::string value);
  /// The response that follows closes the connection.
  void close_after_response() noexcept { keep_alive_ = false; }
  /// A response with this status and body; version, keep-alive and common headers are set.
  response make_response(boost::beast::http::status status, std::string body,
                         std::string_view content_type) const;
  /// Writes `res` (not bound to the token: a cancelled request can still be answered).
  /// @throws std::invalid_argument for a body on a 1xx, 204 or 304 (nothing is sent: the server
  /// answers 500).
  boost::asio::awaitable<void> send(response res);
  /// Writes the response send(make_response(status, body, content_type)) would, byte for byte,
  /// without building a response: the header goes straight into the write buffer and `body` is
  /// sent from where it is (keep it alive until the call completes; a literal or an argument of
  /// the co_await expression is). @throws std::invalid_argument for a body on a 1xx, 204 or
  /// 304.
  boost::asio::awaitable<void> send(boost::beast::http::status status, std::string_view body,
                                    std::string_view content_type);
  boost::asio::awaitable<void> send_json(boost::beast::http::status status,
                                         const boost::json::value& body);
  /// Starts a text/event-stream response (chunked). A `retry` tells EventSource how soon to
  /// reconnect if the stream breaks.
  boost::asio::awaitable<void> begin_events(
      std::chrono::milliseconds retry = std::chrono::milliseconds(0));
  /// One event (with an `id:` line if `id` is not empty: EventSource sends the last one back as
  /// Last-Event-ID when it reconnects); the write is bound to the token.
  /// @throws operation_cancelled / system_error.
  boost::asio::awaitable<void> send_event(std::string_view event, std::string_view data,
                                          std::string_view id = {});
  /// Ends the stream (last chunk).
  boost::asio::awaitable<void> end_events();

  /// Streamed bodies: reads up to `size` bytes into `data`; 0 once the body is complete. The
  /// first call answers `Expect: 100-continue`. Throws http_error(413) past the route's limit,
  /// operation_cancelled when the client leaves or the token fires.
  boost::asio::awaitable<std::size_t> read_body_some(char* data, std::size_t size) {
    return exchange_.read_body_some(data, size);
  }
  bool body_complete() const noexcept { return exchange_.body_complete(); }

  // ---- What was answered (for the server's outcome and access log) ------------------------
  bool headers_sent() const noexcept { return headers_sent_; }
  unsigned status() const noexcept { return status_; }
  /// False when the connection must close after this request.
  bool keep_alive() const noexcept { return keep_alive_ && last_keep_alive_; }
  /// True when a write failed part-way (the connection cannot carry another response).
  bool stream_broken() const noexcept { return stream_broken_; }
  /// The connection was handed over to a WebSocket session: 101 in the log, and the connection
  /// closes when the session ends.
  void mark_upgraded() noexcept {
    headers_sent_ = true;
    status_ = 101;
    last_keep_alive_ = false;
  }
  /// Extra text for the access log line.
  std::string& log_note() noexcept { return note_; }
  const std::string& log_note() const noexcept { return note_; }

 private:
  void begin_response(unsigned status);
  /// After a complete response was written (`ec`: how): counts it; @throws system_error on `ec`.
  void end_response(boost::system::error_code ec);
  boost::asio::awaitable<void> write_chunk(std::string_view text, bool cancellable);

  detail::exchange& exchange_;
  const boost::beast::http::request_header<>& header_;
  boost::urls::url_view url_;
  std::vector<std::string> path_params_;
  const server_config* config_;       // the connection holds it until the request ends
  mutable cancellation_token token_;  // token(): made on first use
  mutable bool token_made_ = false;
  std::vector<std::pair<boost::beast::http::field, std::string>> extra_;
  bool headers_sent_ = false;
  bool stream_broken_ = false;
  bool keep_alive_ = true;       // false: the response must close the connection
  bool last_keep_alive_ = true;  // what the response sent said
  unsigned status_ = 0;
  std::string note_;
};

}  // namespace lifetime::http
