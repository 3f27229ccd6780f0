// SPDX-License-Identifier: MIT
#include "thread_balancer.hpp"

namespace lifetime::http::detail {

thread_balancer::thread_balancer(std::vector<boost::asio::any_io_executor> threads)
    : threads_(std::move(threads)),
      connections_(std::make_unique<std::atomic<std::size_t>[]>(threads_.size())) {}

boost::asio::any_io_executor thread_balancer::pick() {
  const std::size_t n = threads_.size();
  const std::size_t start = turn_.fetch_add(1, std::memory_order_relaxed) % n;
  std::size_t best = start;
  std::size_t fewest = connections_[start].load(std::memory_order_relaxed);
  for (std::size_t k = 1; k < n && fewest > 0; ++k) {
    const std::size_t i = (start + k) % n;
    const std::size_t count = connections_[i].load(std::memory_order_relaxed);
    if (count < fewest) {
      best = i;
      fewest = count;
    }
  }
  return threads_[best];
}

std::size_t thread_balancer::enter(const boost::asio::any_io_executor& executor) noexcept {
  for (std::size_t i = 0; i < threads_.size(); ++i) {
    if (threads_[i] == executor) {
      connections_[i].fetch_add(1, std::memory_order_relaxed);
      return i;
    }
  }
  return none;
}

void thread_balancer::leave(std::size_t slot) noexcept {
  if (slot != none)
    connections_[slot].fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace lifetime::http::detail
