// SPDX-License-Identifier: MIT
// Noticing that the client left while a handler runs.
//
// From the moment a handler first waits (request_context::sleep_for() or watch_disconnect(), once
// the body has been read) until it returns, a read stays pending on the socket into the
// connection's buffer; handlers that answer without waiting never arm it. End of stream or an
// error (reset) cancels the request's token with client_disconnected at once. Bytes that arrive (a
// pipelined next request) are kept in the buffer for the next request and the read is re-armed
// while the buffer holds less than 64 KiB. stop() cancels the pending read and waits for it, so
// the next request is parsed from a buffer nobody else writes.
//
// Thread safety: everything runs on the connection's strand. The pending read's handler keeps
// the owner given to start() alive.
#pragma once

#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include "request_token.hpp"
#include "transport.hpp"

namespace lifetime::http::detail {

class disconnect_watch {
 public:
  disconnect_watch(transport& t, request_token& token) noexcept
      : transport_(t), token_(token), done_(t.socket.get_executor()) {}

  /// Arms the read unless it is pending, the peer is gone, or the buffer is full.
  /// @return true the first time in a request (for the metrics).
  bool start(const std::shared_ptr<void>& owner);
  /// Cancels the pending read and waits for its handler.
  boost::asio::awaitable<void> stop();
  /// True once the client is known to be gone.
  bool peer_gone() const noexcept { return peer_gone_; }
  /// True while the read is pending (stop() has something to wait for).
  bool pending() const noexcept { return pending_; }
  void set_peer_gone() noexcept { peer_gone_ = true; }
  /// True when the watch was armed since the last reset_used() (the buffer may be shrunk).
  bool used() const noexcept { return used_; }
  void reset_used() noexcept { used_ = false; }

 private:
  void on_read(const std::shared_ptr<void>& owner, boost::system::error_code ec, std::size_t n);

  transport& transport_;
  request_token& token_;
  bool pending_ = false;
  bool used_ = false;  // armed during the current request
  bool stopping_ = false;
  bool peer_gone_ = false;
  boost::asio::cancellation_signal signal_;
  boost::asio::steady_timer done_;
};

}  // namespace lifetime::http::detail
