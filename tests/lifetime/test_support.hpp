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

/// Rounds of a stress loop, bounded by a count and by wall-clock time: on an idle machine the
/// count decides; on a loaded one (CI runs sanitizer builds on two cores) the time does, so that
/// a case stays short. At least `minimum` rounds always run.
class stress_rounds {
 public:
  explicit stress_rounds(int rounds, std::chrono::milliseconds budget = std::chrono::seconds(2),
                         int minimum = 20)
      : rounds_(scaled(rounds)), minimum_(minimum), budget_(budget) {}

  /// Whether to run one more round (and counts it).
  bool next() {
    if (done_ >= rounds_)
      return false;
    if (done_ >= minimum_ && std::chrono::steady_clock::now() - start_ > budget_)
      return false;
    ++done_;
    return true;
  }
  int done() const { return done_; }

 private:
  int rounds_;
  int minimum_;
  std::chrono::milliseconds budget_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int done_ = 0;
};

}  // namespace lifetime_test
