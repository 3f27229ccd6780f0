// SPDX-License-Identifier: MIT
// The narrow interface between a request_context and the connection that carries its request.
//
// request_context owns the response's state (headers sent, status, keep-alive); the connection
// owns the socket, the request's token, the body and the disconnect watch, and offers them here.
// Every member runs on the connection's strand.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <lifetime/cancellation.hpp>

namespace lifetime::http {
class server;
struct server_config;
}  // namespace lifetime::http

namespace lifetime::http::detail {

class exchange {
 public:
  /// The request's token, made on the first call (a default token with cancellation off).
  virtual cancellation_token token() = 0;
  /// Arms the disconnect watch if the body has been read (no-op otherwise or when armed).
  virtual void watch_disconnect() = 0;
  virtual bool body_complete() const noexcept = 0;
  /// Streamed bodies (see request_context::read_body_some).
  virtual boost::asio::awaitable<std::size_t> read_body_some(char* data, std::size_t size) = 0;
  /// The buffered body (empty for streamed routes).
  virtual const std::string& buffered_body() const noexcept = 0;
  /// False once the connection must close after this response (stopping, restart, the client's
  /// own Connection: close, ...).
  virtual bool keep_alive_allowed() const noexcept = 0;
  /// A buffer for a serialized response header written across suspensions (an event stream's);
  /// released when the request ends.
  virtual std::string& header_buffer() noexcept = 0;
  /// Writes `header` then `body`: one sendmsg, then, only if the socket did not take it all, the
  /// rest asynchronously. `written` is what the first call took. write_rest() copies the unsent
  /// part of `header` before it returns, so `header` may live in storage reused by other
  /// connections once this one suspends; `body` must stay until the returned awaitable is done.
  virtual boost::system::error_code write_now(std::string_view header, std::string_view body,
                                              std::size_t& written) = 0;
  virtual boost::asio::awaitable<boost::system::error_code> write_rest(std::string_view header,
                                                                       std::string_view body,
                                                                       std::size_t written) = 0;
  /// Writes every buffer, under the write timeout; bound to the token when `cancellable`.
  virtual boost::asio::awaitable<boost::system::error_code> write_all(
      std::span<const boost::asio::const_buffer> buffers, bool cancellable) = 0;
  virtual http::server& owner() noexcept = 0;

 protected:
  ~exchange() = default;
};

}  // namespace lifetime::http::detail
