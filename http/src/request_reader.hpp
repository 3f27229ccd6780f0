// SPDX-License-Identifier: MIT
// Reading and parsing a request's header from the connection's buffer.
//
// The header is parsed from what is buffered, so a pipelined request needs no read at all. A
// connection's first request is read without waiting when it is there (it usually arrived with
// the connection). Otherwise, with nothing buffered, start() returns result::idle and the caller
// parks: one read pending into read_space(), no coroutine alive (an idle keep-alive connection
// costs its connection object, its read buffer and that read). The read's completion goes to
// woken(), then the caller calls start() again.
//
// After a response the parked read is how the next request comes: Asio tries one recv (which
// mostly finds nothing yet) and waits for epoll's next edge with the socket registered as it was
// (no epoll_ctl, which waiting for readability would cost); the edge's recv reads the request.
// Timeouts: the idle timeout
// between requests, the header timeout for a connection's first request and once bytes arrived. A
// connection that is closing (stop-accepting) waits for its next request only for the
// configuration's closing_linger, counted from the later of its last response and the stop (then
// the timeout closes it): a proxy's pooled connection gets its next request answered, with
// Connection: close, instead of being closed under a request that may already be on its way.
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
  /// idle: nothing has arrived; the caller reads into read_space() (holding no coroutine
  /// meanwhile), gives the read's result to woken(), then calls start() again. partial: part of
  /// the header has arrived; read_rest() reads the rest.
  enum class result { ok, closed, too_large, malformed, idle, partial };
  using parser_type = boost::beast::http::request_parser<boost::beast::http::empty_body>;

  /// `closing` is the connection's flag, read again after every suspension.
  request_reader(transport& t, const bool& closing) noexcept : transport_(t), closing_(closing) {}

  /// Starts reading the next request's header from what is buffered (for a connection's first
  /// request, from what has arrived): any result but partial ends the reading, partial says
  /// read_rest() must wait for more. `first`: the connection's first request (header timeout for
  /// the wait; read even while closing when `answer_anyway`). Never suspends: a request whose
  /// header is there costs no coroutine.
  result start(const server_config& config, bool first, bool answer_anyway);
  /// After result::partial: reads until the header is complete (never partial).
  boost::asio::awaitable<result> read_rest();
  /// The parser of the header read last (its fields may be moved out).
  parser_type& parser() noexcept { return *parser_; }
  /// True while waiting for the first byte of a request.
  bool idle() const noexcept { return idle_; }
  /// Where every read of a header goes (the parked one too): free space in the connection's
  /// read buffer, at least 512 bytes.
  boost::asio::mutable_buffer read_space();
  /// After result::idle: the parked read completed with `ec`, `n` bytes. The next start() parses
  /// them, or says closed.
  void woken(boost::system::error_code ec, std::size_t n);

  /// While idle and closing: closes the connection (by its timeout) once `linger` has passed
  /// from now with no request.
  void close_after(std::chrono::milliseconds linger) { transport_.arm_timeout(linger); }

 private:
  /// Reads what has arrived without waiting; false when nothing has (or the connection ended:
  /// the parked read finds that).
  bool read_now();
  /// Parses what is buffered: ok, too_large, malformed, or partial.
  result parse();

  transport& transport_;
  const bool& closing_;
  std::optional<parser_type> parser_;
  bool idle_ = false;
  bool ended_ = false;  // the parked read failed: the next start() says closed
};

}  // namespace lifetime::http::detail
