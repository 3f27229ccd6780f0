// SPDX-License-Identifier: MIT
// Reading and parsing a request's header from the connection's buffer.
//
// The header is parsed from what is buffered, so a pipelined request needs no read at all. What
// has arrived is read without waiting; when nothing has, read() returns result::idle and the
// caller waits for the socket to become readable holding no coroutine frame and no buffer (an
// idle keep-alive connection costs little more than its connection object), then calls read()
// again. Timeouts: the idle timeout between requests, the header timeout for a connection's first
// request and once bytes arrived. A connection that is closing (stop-accepting) waits for its
// next request only for the configuration's closing_linger, counted from the later of its last
// response and the stop (then the timeout closes it): a proxy's pooled connection gets its next
// request answered, with Connection: close, instead of being closed under a request that may
// already be on its way.
//
// Limits: a header larger than max_header_size → too_large (431); malformed → malformed (400).
// Any read error (end of stream, reset, a timeout, a stop that closed the socket or cancelled the
// read) → closed: nobody is left to read an answer.
//
// Thread safety: everything runs on the connection's executor.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <lifetime/http/server_config.hpp>

#include "transport.hpp"

namespace lifetime::http::detail {

class request_reader {
 public:
  /// idle: nothing has arrived; the caller waits until the socket is readable (holding no
  /// coroutine and no buffer meanwhile), calls woken(), then read() again.
  enum class result { ok, closed, too_large, malformed, idle };
  using parser_type = boost::beast::http::request_parser<boost::beast::http::empty_body>;

  /// `closing` is the connection's flag, read again after every suspension.
  request_reader(transport& t, const bool& closing) noexcept : transport_(t), closing_(closing) {}

  /// Reads the next request's header. `first`: the connection's first request (header timeout
  /// for the wait; read even while closing when `answer_anyway`).
  boost::asio::awaitable<result> read(const server_config& config, bool first, bool answer_anyway);
  /// The parser of the header read last (its fields may be moved out).
  parser_type& parser() noexcept { return *parser_; }
  /// True while waiting for the first byte of a request.
  bool idle() const noexcept { return idle_; }
  /// After result::idle: the socket became readable (or was closed); the next read() reads.
  void woken() noexcept { woken_ = true; }

  /// While idle and closing: closes the connection (by its timeout) once `linger` has passed
  /// from now with no request.
  void close_after(std::chrono::milliseconds linger) { transport_.arm_timeout(linger); }

 private:
  enum class arrival { data, nothing, ended };
  /// Reads what has arrived of the next request without waiting (after a response, once the
  /// handlers queued before it have run).
  boost::asio::awaitable<arrival> read_now(bool first);

  transport& transport_;
  const bool& closing_;
  std::optional<parser_type> parser_;
  bool idle_ = false;
  bool woken_ = false;
};

}  // namespace lifetime::http::detail
