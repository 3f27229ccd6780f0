// SPDX-License-Identifier: MIT
// Internal: runs the callbacks of one cancelled token on a thread of the library's own, and says
// which one is running.
//
// application_lifetime cancels started(), stopping() and stopped() in two halves: the caller
// marks the token cancelled (pollers see it at once), and a callback_dispatch runs the callbacks
// still registered on a detached thread that blocks asynchronous signals. So a callback that
// blocks holds up neither the thread that heard a signal nor the host's sequence; the driver
// time-boxes it instead, and when it is abandoned, running() names it (its named_callback name,
// or its type).
//
// @par Thread safety
// start() once, from the thread that created it. Every other member from any thread. on_done()
// listeners run once, on the dispatch thread (or at once, on the caller's, if it is done); they
// must not throw. The thread holds a reference to the dispatch, never to the application_lifetime.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <lifetime/detail/cancellation_state.hpp>

namespace lifetime::detail {

class callback_dispatch final : public callback_observer,
                                public std::enable_shared_from_this<callback_dispatch> {
 public:
  using clock = std::chrono::steady_clock;

  /// `state` was marked cancelled with callbacks pending: this dispatch owes its run_callbacks().
  callback_dispatch(std::string token_name, cancellation_state* state);
  callback_dispatch(const callback_dispatch&) = delete;
  callback_dispatch& operator=(const callback_dispatch&) = delete;

  /// Starts the thread. If no thread can be made, runs the callbacks on this one.
  void start() noexcept;

  struct snapshot {
    bool done = false;
    std::string running;  ///< what runs now (empty between callbacks and when done)
    clock::time_point began;
    clock::time_point ended;  ///< when done
  };
  snapshot status() const;
  /// Whether every callback returned.
  bool is_done() const noexcept;

  /// "stopping(): <the callback running now>", or "stopping()" between callbacks.
  std::string running_name() const;

  /// "stopping()", as given.
  const std::string& token_name() const noexcept { return token_name_; }

  /// Waits until every callback returned or `deadline`. @return whether they all returned.
  bool wait(clock::time_point deadline) const;

  /// Calls `notify` once, when every callback has returned (at once if they have).
  void on_done(std::function<void()> notify);

 private:
  void running(std::string_view description) noexcept override;
  void returned() noexcept override;
  void run() noexcept;

  const std::string token_name_;
  cancellation_state* const state_;
  const clock::time_point began_ = clock::now();
  mutable std::mutex mutex_;
  mutable std::condition_variable done_changed_;
  bool done_ = false;
  clock::time_point ended_{};
  std::vector<std::string> running_;  // innermost last: a callback may cancel another source
  std::size_t depth_ = 0;             // running_.size(), unless a name found no memory
  std::vector<std::function<void()>> listeners_;
};

}  // namespace lifetime::detail
