// SPDX-License-Identifier: MIT
// A connection's socket, its read buffer and its one timeout.
//
// Timeouts close the socket once the deadline set by the latest arm_timeout() passes, unless
// disarm_timeout() came first. Arming and disarming only move the deadline: the one timer stays
// pending and is restarted only when a deadline comes earlier than its expiry, or when it expires
// before the deadline. The timer's handler keeps the transport's owner (set_owner()) alive.
//
// Thread safety: everything runs on the socket's strand.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

namespace lifetime::http::detail {

class transport {
 public:
  explicit transport(boost::asio::ip::tcp::socket socket);

  /// What owns the transport; the timer's pending wait holds it.
  void set_owner(std::weak_ptr<void> owner) noexcept { owner_ = std::move(owner); }

  void arm_timeout(std::chrono::milliseconds after);
  void disarm_timeout() noexcept { deadline_ = std::chrono::steady_clock::time_point::max(); }
  /// Shuts the socket down and closes it; cancels the timer. Idempotent.
  void close_now();
  bool closed() const noexcept { return closed_; }
  /// True when a timeout closed the socket.
  bool timed_out() const noexcept { return timed_out_; }

  boost::asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;
  /// "address:port" of the client, or "-".
  const std::string peer;

 private:
  void start_timer(std::chrono::steady_clock::time_point when);
  void on_timer(boost::system::error_code ec, std::uint64_t generation);

  std::weak_ptr<void> owner_;
  boost::asio::steady_timer timeout_;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point timer_expiry_{};
  std::uint64_t timer_generation_ = 0;
  bool timer_pending_ = false;
  bool timed_out_ = false;
  bool closed_ = false;
};

}  // namespace lifetime::http::detail
