// SPDX-License-Identifier: MIT
// What a request handler sees: the request, its cancellation token, the shared server state, and
// the ways to answer.
//
// - token(): fires when the client disconnects, the application stops (after the drain), the web
//   host restarts, or the request's deadline passes; token().reason() says which. Handlers await
//   with sleep_for() or bind their own operations with lifetime::bind_cancellation(token(), ...)
//   after calling watch_disconnect() (sleep_for() does so itself), and let
//   lifetime::operation_cancelled propagate: the connection turns it into 499/503/504.
// - send()/send_json(): one complete response. begin_events()/send_event()/end_events(): a
//   server-sent-events stream (chunked), after which the request cannot be answered otherwise.
// - read_body_some(): for routes with body_mode::streamed, the body piece by piece.
// - Throw http_error to answer an error status.
//
// @par Thread safety
// A context lives on its connection's strand for the duration of one handler; use it only there.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <boost/url/url_view.hpp>

#include <lifetime/cancellation.hpp>

#include "http/server_config.hpp"

namespace lifetime::demo {

class connection;
class web_host;
class metrics;

class request_context {
 public:
  using response = boost::beast::http::response<boost::beast::http::string_body>;

  request_context(connection& conn, const boost::beast::http::request_header<>& header,
                  boost::urls::url_view url, std::vector<std::string> path_params,
                  std::shared_ptr<const server_config> config);

  // ---- The request ----------------------------------------------------------------------
  const boost::beast::http::request_header<>& header() const noexcept { return header_; }
  boost::urls::url_view url() const noexcept { return url_; }
  /// The decoded value of query parameter `name`, if present.
  std::optional<std::string> query(std::string_view name) const;
  const std::vector<std::string>& path_params() const noexcept { return path_params_; }
  /// The buffered body (body_mode::buffered).
  const std::string& body() const noexcept { return body_; }
  /// The session cookie's value, if the request carries one.
  std::optional<std::string> session_id() const;

  // ---- Cancellation ----------------------------------------------------------------------
  /// Made on the first call (one allocation; with --request-cancellation=off a default token);
  /// it carries whatever cancellation happened since the request started.
  const cancellation_token& token() const;
  /// Makes a client disconnect cancel token() from now on (a no-op until the body has been read,
  /// with --request-cancellation=off, or when already watching). Call before awaiting anything
  /// bound to token(); sleep_for() calls it.
  void watch_disconnect();
  /// Waits `duration` unless the token fires first. @throws operation_cancelled.
  boost::asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration duration);

  // ---- Shared state ----------------------------------------------------------------------
  const server_config& config() const noexcept { return *config_; }
  web_host& host() noexcept;
  class metrics& stats() noexcept;

  // ---- Answering -------------------------------------------------------------------------
  /// Adds a header to whatever response follows (e.g. Set-Cookie).
  void add_header(boost::beast::http::field name, std::string value);
  /// A response with this status and body; version, keep-alive and common headers are set.
  response make_response(boost::beast::http::status status, std::string body,
                         std::string_view content_type) const;
  /// Writes `res` (not bound to the token: a cancelled request can still be answered).
  boost::asio::awaitable<void> send(response res);
  boost::asio::awaitable<void> send_json(boost::beast::http::status status,
                                         const boost::json::value& body);
  /// Starts a text/event-stream response (chunked). A `retry` tells EventSource how soon to
  /// reconnect if the stream breaks.
  boost::asio::awaitable<void> begin_events(
      std::chrono::milliseconds retry = std::chrono::milliseconds(0));
  /// One event; the write is bound to the token. @throws operation_cancelled / system_error.
  boost::asio::awaitable<void> send_event(std::string_view event, std::string_view data);
  /// Ends the stream (last chunk).
  boost::asio::awaitable<void> end_events();

  /// Streamed bodies: reads up to `size` bytes into `data`; 0 once the body is complete. The
  /// first call answers `Expect: 100-continue`. Throws http_error(413) past the route's limit,
  /// operation_cancelled when the client leaves or the token fires.
  boost::asio::awaitable<std::size_t> read_body_some(char* data, std::size_t size);
  bool body_complete() const noexcept;

  bool headers_sent() const noexcept { return headers_sent_; }
  unsigned status() const noexcept { return status_; }
  /// Extra text for the access log line.
  std::string& log_note() noexcept { return note_; }

 private:
  friend class connection;
  boost::beast::http::fields extra_headers() const;

  connection& conn_;
  const boost::beast::http::request_header<>& header_;
  boost::urls::url_view url_;
  std::vector<std::string> path_params_;
  std::shared_ptr<const server_config> config_;
  mutable cancellation_token token_;  // token(): made on first use
  mutable bool token_made_ = false;
  std::string body_;
  std::vector<std::pair<boost::beast::http::field, std::string>> extra_;
  bool headers_sent_ = false;
  bool stream_broken_ = false;
  bool continue_sent_ = false;
  bool keep_alive_ = true;       // false: the response must close the connection
  bool last_keep_alive_ = true;  // what the response sent said
  unsigned status_ = 0;
  std::string note_;
};

}  // namespace lifetime::demo
