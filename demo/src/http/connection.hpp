// SPDX-License-Identifier: MIT
// One HTTP/1.1 connection: reads requests one after another, runs each request's handler with its
// own cancellation token, writes the responses, and notices when the client goes away.
//
// @par Request tokens
// Each request gets one linked cancellation_source (one allocation) whose parents are the
// environment's cancel_in_flight token (reason application_stopping) and the web host's generation
// (reason restart); its deadline is the earliest of `?timeout=` and --request-timeout and a timer
// cancels it with deadline_exceeded. The connection cancels it itself with client_disconnected.
// With --request-cancellation=off, requests get a default token and none of this runs.
//
// @par Disconnect detection
// From the moment a handler first waits (request_context::sleep_for() or watch_disconnect(), once
// the body has been read) until it returns, a read stays pending on the socket into the
// connection's buffer; handlers that answer without waiting never arm it. End of stream or an error
// (reset) cancels the request's token with client_disconnected at once. Bytes that arrive (a
// pipelined next request) are kept in the buffer for the next request and the read is re-armed
// while the buffer holds less than 64 KiB. The pending read is cancelled, and awaited, before the
// next request is parsed.
//
// @par Outcomes
// A handler that ends by cancellation before sending a header gets: 499 in the log (nothing is
// written) for client_disconnected; 503 with Retry-After and Connection: close for
// application_stopping and restart; 504 for deadline_exceeded. Each is counted in
// http_requests_aborted_total{reason}. One access-log line per request: peer, method, target,
// status, duration, cancel reason.
//
// @par Limits
// Header larger than max_header_size → 431; body larger than the route's limit → 413; malformed →
// 400; header not complete within header_timeout, or idle between requests for idle_timeout → the
// connection closes. After stop_accepting an idle connection closes; after stopping fired every
// response carries Connection: close.
//
// @par Thread safety
// Everything runs on the connection's strand. close_if_idle() and close() may be called from any
// thread (they post to the strand).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <lifetime/cancellation.hpp>

namespace lifetime::demo {

class web_host;
class request_context;

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<web_host> host);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Registers with the host and starts serving on the socket's strand.
  void start();
  /// Like start() for a connection accepted while the host stops accepting: its first request is
  /// still read and answered (with Connection: close) instead of the connection being closed
  /// unanswered. Call instead of start().
  void start_last_request();
  /// Closes the connection if it is waiting for a request; otherwise it closes after the current
  /// response. Any thread.
  void close_if_idle();
  /// Closes the socket now. Any thread.
  void close();

 private:
  friend class request_context;
  enum class read_result { ok, closed, too_large, malformed };

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<read_result> read_header(bool first);
  boost::asio::awaitable<bool> serve_one();

  // Timeouts close the socket; each arm() invalidates earlier timers.
  void arm_timeout(std::chrono::milliseconds after);
  void disarm_timeout();

  // Disconnect detection (see the header comment).
  void start_watch();
  void on_watch(boost::system::error_code ec, std::size_t n);
  boost::asio::awaitable<void> stop_watch();

  void close_now();
  /// False once the connection must close after the current response (stopping, restart, ...).
  bool keep_alive_allowed() const noexcept;

  boost::asio::ip::tcp::socket socket_;
  std::shared_ptr<web_host> host_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer timeout_;
  std::uint64_t timeout_generation_ = 0;
  bool timed_out_ = false;
  std::optional<boost::beast::http::request_parser<boost::beast::http::empty_body>> parser_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> stream_parser_;
  std::string peer_;
  boost::beast::http::request_header<> header_;
  cancellation_token request_generation_;
  bool served_any_ = false;
  bool request_keep_alive_ = true;
  bool body_complete_ = true;

  bool idle_ = false;
  bool closing_ = false;
  bool answer_first_ = false;  // accepted at stop: the first request is answered regardless
  bool closed_ = false;

  // The current request (null between requests) and the disconnect watch.
  cancellation_source* request_source_ = nullptr;
  bool watch_enabled_ = false;
  bool watch_pending_ = false;
  bool watch_used_ = false;  // armed during the current request
  bool watch_stopping_ = false;
  bool peer_gone_ = false;
  boost::asio::cancellation_signal watch_signal_;
  boost::asio::steady_timer watch_done_;
};

}  // namespace lifetime::demo
