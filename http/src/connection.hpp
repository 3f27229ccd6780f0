// SPDX-License-Identifier: MIT
// One HTTP/1.1 connection: reads requests one after another, runs each request's handler with its
// own cancellation token, writes the responses, and notices when the client goes away.
//
// @par Request tokens
// Each request's token is one linked cancellation_source (one allocation) whose parents are the
// environment's cancel_in_flight token (reason application_stopping) and the web host's generation
// the request started in (reason restart); its deadline is the earliest of `?timeout=` and
// --request-timeout and a timer cancels it with deadline_exceeded. The connection cancels it
// itself with client_disconnected. The source is made the first time the handler asks for its
// token (request_context::token(), or a helper that waits or reads the body), carrying whatever
// happened since the request started; a handler that never does (GET /hello) costs nothing. With
// --request-cancellation=off, requests get a default token and none of this runs.
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
// @par Reads and writes
// A request header is parsed from the connection's buffer, which is filled by single reads (the
// first of which is the idle wait), so pipelined requests need no read. A response is serialized
// once and handed to the socket directly; only what the socket does not take at once is written
// asynchronously. Timeouts move a deadline; one timer per connection checks it.
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
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>

namespace lifetime::demo {

class web_host;
class request_context;

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<web_host> host);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// The executor for a new connection's socket: a strand over `base`. Over an io_context's own
  /// executor (the usual case) the strand fits inside any_io_executor, so copying it (every
  /// operation does) allocates nothing.
  static boost::asio::any_io_executor make_executor(const boost::asio::any_io_executor& base);

  /// Registers with the host and starts serving on the socket's strand.
  void start();
  /// Like start() for a connection accepted while the host stops accepting: its first request is
  /// still read and answered (with Connection: close) instead of the connection being closed
  /// unanswered. Call instead of start().
  /// `admission`, when given, is a hold on the host's in-flight gate taken before the gate
  /// closed: the first request enters the gate on a copy of it, so it is served rather than turned
  /// away with a 503 (a proxy retries a refused connection, not a 503).
  void start_last_request(std::shared_ptr<const lifetime::gate::holder> admission = nullptr);
  /// Closes the connection if it is waiting for a request and none has arrived; otherwise it
  /// closes after the next response, which enters the in-flight gate on a copy of `admission`
  /// (see start_last_request). Any thread.
  void close_if_idle(std::shared_ptr<const lifetime::gate::holder> admission = nullptr);
  /// Closes the socket now. Any thread.
  void close();

 private:
  friend class request_context;
  enum class read_result { ok, closed, too_large, malformed };

  boost::asio::awaitable<void> run();
  boost::asio::awaitable<read_result> read_header(bool first);
  boost::asio::awaitable<bool> serve_one();

  // Timeouts close the socket once the deadline set by the latest arm_timeout() passes, unless
  // disarm_timeout() came first. Arming and disarming only move the deadline: the one timer stays
  // pending and is restarted only when a deadline comes earlier than its expiry, or when it
  // expires before the deadline.
  void arm_timeout(std::chrono::milliseconds after);
  void disarm_timeout() noexcept { deadline_ = std::chrono::steady_clock::time_point::max(); }
  void start_timer(std::chrono::steady_clock::time_point when);
  void on_timer(boost::system::error_code ec, std::uint64_t generation);

  /// Writes `header` then `body`: as much as the socket takes at once (one sendmsg, no
  /// suspension), then the rest, if any, asynchronously under the header timeout.
  boost::system::error_code write_now(std::string_view header, std::string_view body,
                                      std::size_t& written);
  boost::asio::awaitable<boost::system::error_code> write_rest(std::string_view header,
                                                               std::string_view body,
                                                               std::size_t written);

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
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point timer_expiry_{};
  std::uint64_t timer_generation_ = 0;
  bool timer_pending_ = false;
  bool timed_out_ = false;
  std::string write_buffer_;  // the serialized response header, reused
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
  // A hold on the in-flight gate given at stop-accepting to a connection whose request had
  // arrived: its next request enters the gate on it.
  std::optional<lifetime::gate::holder> admitted_;
  bool in_request_ = false;  // from entering the in-flight gate to leaving it
  bool closed_ = false;

  // The current request's token, made by the first request_token() of the request: a linked
  // source (one allocation) whose parents are the environment's cancel_in_flight and the
  // generation the request started in, with the request's deadline. A handler that never asks for
  // its token (nor waits, nor reads a streamed body) pays nothing for it; one that does gets the
  // same token as if it had been made when the request started.
  cancellation_token request_token();
  std::optional<cancellation_source> request_source_;
  scoped_deadline request_deadline_timer_;
  deadline_clock::time_point request_deadline_ = no_deadline;
  bool request_cancellable_ = false;  // false between requests and with cancellation off

  // The disconnect watch.
  bool watch_enabled_ = false;
  bool watch_pending_ = false;
  bool watch_used_ = false;  // armed during the current request
  bool watch_stopping_ = false;
  bool peer_gone_ = false;
  boost::asio::cancellation_signal watch_signal_;
  boost::asio::steady_timer watch_done_;
};

}  // namespace lifetime::demo
