// SPDX-License-Identifier: MIT
// Helpers shared by the lifetime/ tests: a one-shot event to wait on with a timeout, and the
// scale of the stress loops (smaller under ThreadSanitizer, which runs them 10-20 times slower).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace lifetime_test {

using namespace std::chrono_literals;

/// Generous bound for "this must happen": CI has 2 cores and runs sanitizer builds.
inline constexpr auto patience = std::chrono::seconds(20);

/// A manual-reset event. set() from any thread; wait_for() returns whether it was set in time.
class event {
 public:
  void set() {
    std::lock_guard lock(mutex_);
    set_ = true;
    cv_.notify_all();
  }
  bool is_set() const {
    std::lock_guard lock(mutex_);
    return set_;
  }
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [this] { return set_; });
  }
  bool wait() const { return wait_for(patience); }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  bool set_ = false;
};

#if defined(__SANITIZE_THREAD__)
inline constexpr int stress_divisor = 8;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr int stress_divisor = 8;
#else
inline constexpr int stress_divisor = 1;
#endif
#else
inline constexpr int stress_divisor = 1;
#endif

/// `n` iterations, fewer under ThreadSanitizer.
constexpr int scaled(int n) {
  return n / stress_divisor > 0 ? n / stress_divisor : 1;
}

}  // namespace lifetime_test
