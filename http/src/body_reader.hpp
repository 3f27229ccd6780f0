// SPDX-License-Identifier: MIT
// Reading a request's body, after its header was parsed.
//
// - Buffered routes: read_buffered() reads the whole body (up to the limit) before the handler
//   runs, answering `Expect: 100-continue` first.
// - Streamed routes: begin_streamed() takes the header's parser; the handler then calls
//   read_some(), whose first call answers `Expect: 100-continue`; each read is bound to the
//   request's token.
// A body past its limit throws http_error(413, close); a client that leaves (end of stream, reset,
// a stall closed by the timeout) throws operation_cancelled(client_disconnected) and marks the
// peer gone. A body left unread means the connection must close after the response (complete()).
//
// Thread safety: everything runs on the connection's strand.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "disconnect_watch.hpp"
#include "request_token.hpp"
#include "transport.hpp"

namespace lifetime::http::detail {

class body_reader {
 public:
  using header_parser = boost::beast::http::request_parser<boost::beast::http::empty_body>;

  body_reader(transport& t, disconnect_watch& watch, request_token& token) noexcept
      : transport_(t), watch_(watch), token_(token) {}

  /// A new request whose header `parser` has read: complete() is true if it has no body.
  void begin(const header_parser& parser, std::chrono::milliseconds timeout) noexcept;
  /// Reads the whole body into body(). @throws http_error(413), operation_cancelled.
  boost::asio::awaitable<void> read_buffered(header_parser& parser, std::size_t limit,
                                             bool expects_continue);
  /// Takes over `parser` for read_some(). @throws http_error(413) if Content-Length > limit.
  void begin_streamed(header_parser& parser, std::size_t limit, bool expects_continue);
  /// Up to `size` bytes into `data`; 0 once the body is complete.
  boost::asio::awaitable<std::size_t> read_some(char* data, std::size_t size,
                                                cancellation_token token);

  bool complete() const noexcept {
    return complete_ || (stream_parser_ && stream_parser_->is_done());
  }
  const std::string& body() const noexcept { return body_; }
  /// Forgets the request's body (between requests).
  void end() noexcept;

 private:
  boost::asio::awaitable<void> send_continue();

  transport& transport_;
  disconnect_watch& watch_;
  request_token& token_;
  // Only a streamed upload has one: an idle connection does not carry a body parser.
  std::unique_ptr<boost::beast::http::request_parser<boost::beast::http::buffer_body>>
      stream_parser_;
  std::string body_;
  std::chrono::milliseconds timeout_{0};
  bool complete_ = true;
  bool continue_pending_ = false;
};

}  // namespace lifetime::http::detail
