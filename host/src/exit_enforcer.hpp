// SPDX-License-Identifier: MIT
// Internal: the owning host's last resort against a shutdown that will not end.
//
// arm(deadline) starts one thread that waits until `deadline` or disarm(). If the deadline comes
// first, the thread logs why (with the `describe` text), flushes the log and calls _exit(code):
// no destructor, no atexit handler, nothing user code could block. Because it is a thread of its
// own, neither a wedged event loop nor a callback blocking forever can hold the process past it.
//
// settle(code) says the stop itself is over with `code`: if the deadline still comes (the teardown
// after the stop is slow or stuck), the exit cuts the teardown short with that code instead of
// the armed one, since nothing the stop owed was abandoned.
//
// arm() is idempotent (the first deadline counts) and safe from any thread, including from inside
// a cancellation callback; settle() is safe from any thread; disarm() joins the thread and must
// not be called from it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace lifetime::host::detail {

class exit_enforcer {
 public:
  using clock = std::chrono::steady_clock;

  exit_enforcer() = default;
  exit_enforcer(const exit_enforcer&) = delete;
  exit_enforcer& operator=(const exit_enforcer&) = delete;
  ~exit_enforcer() { disarm(); }

  void arm(clock::time_point deadline, int code, std::function<std::string()> describe);
  void settle(int code) noexcept;
  void disarm() noexcept;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool armed_ = false;
  bool disarmed_ = false;
  bool settled_ = false;
  int settled_code_ = 0;
  std::thread thread_;
};

}  // namespace lifetime::host::detail
