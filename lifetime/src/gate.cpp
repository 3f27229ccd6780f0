// SPDX-License-Identifier: MIT
#include <lifetime/gate.hpp>

#include <lifetime/callback_exception_handler.hpp>

namespace lifetime {

bool gate::close() noexcept {
  const std::uint64_t before = value_.fetch_or(closed_bit, std::memory_order_acq_rel);
  if ((before & closed_bit) != 0)
    return false;
  if (before == 0)
    drained();
  return true;
}

void gate::drained() noexcept {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mutex_);
    drained_ = true;
    callbacks.swap(callbacks_);
    // Notify under the lock: a waiter that wakes may destroy the gate as soon as it can lock.
    drained_cv_.notify_all();
  }
  for (auto& callback : callbacks) {
    try {
      callback();
    } catch (...) {
      detail::report_callback_exception(std::current_exception());
    }
  }
}

bool gate::wait_until_drained(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return drained_cv_.wait_until(lock, deadline, [this] { return drained_; });
}

void gate::on_drained(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex_);
    if (!drained_) {
      callbacks_.push_back(std::move(callback));
      return;
    }
  }
  callback();
}

}  // namespace lifetime
