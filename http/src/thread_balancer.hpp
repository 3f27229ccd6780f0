// SPDX-License-Identifier: MIT
// Spreads a server's connections over the threads that serve them: each new connection goes to
// the thread with the fewest open connections (ties: the next in turn), so that no thread serves
// two connections while another serves none. A client that polls on one connection while its
// request runs on another gets them on different threads, where round robin would put them
// together every other time.
//
// Thread safety: every member may be called from any thread. pick() reads counts that may move
// meanwhile: the balance is exact only while connections come one at a time.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace lifetime::http::detail {

class thread_balancer {
 public:
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  /// `threads`: executors that each run their handlers one at a time (may be empty).
  explicit thread_balancer(std::vector<boost::asio::any_io_executor> threads);

  bool empty() const noexcept { return threads_.empty(); }
  /// The executor of the thread with the fewest connections. Precondition: !empty().
  boost::asio::any_io_executor pick();
  /// A connection on `executor` opens: its thread's slot, or none if it is not one of them.
  std::size_t enter(const boost::asio::any_io_executor& executor) noexcept;
  /// The connection that entered `slot` closed (none: nothing).
  void leave(std::size_t slot) noexcept;

 private:
  std::vector<boost::asio::any_io_executor> threads_;
  std::unique_ptr<std::atomic<std::size_t>[]> connections_;
  std::atomic<std::size_t> turn_{0};
};

}  // namespace lifetime::http::detail
