// SPDX-License-Identifier: MIT
// Internal: where a C host calls user code (service hooks, on_exit).
//
// An owning host calls it at once, on the thread that asks (the host's sequencing thread). An
// embedded host queues it and makes an eventfd readable; the foreign loop runs the queue with
// run_pending() (lifetime_host_poll). push() may be called from any thread; run_pending() from one
// thread at a time. No wake-up is lost: push() writes the eventfd after queueing, run_pending()
// reads it before taking the queue, so at worst the fd is readable with nothing queued.
#pragma once

#include <deque>
#include <functional>
#include <mutex>

namespace lifetime::capi {

class dispatcher {
 public:
  /// Inline (owning) or queued (embedded, with an eventfd). @throws std::system_error.
  explicit dispatcher(bool queued);
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;
  ~dispatcher();

  /// Runs `work` now (inline) or queues it. @throws std::bad_alloc (queued).
  void push(std::function<void()> work);

  /// Runs what is queued, without blocking; returns how many ran. Work that throws is reported
  /// to the callback exception handler (callback_exception_handler.hpp) and the rest still runs.
  int run_pending();

  /// The eventfd, readable while something may be queued; -1 inline.
  int fd() const noexcept { return fd_; }

 private:
  int fd_ = -1;
  std::mutex mutex_;
  std::deque<std::function<void()>> queue_;
};

}  // namespace lifetime::capi
