// SPDX-License-Identifier: MIT
// Internal: the leases and named stopping callbacks of one application_lifetime, and the
// supervisor that time-boxes them.
//
// Invariants
// - Everything below is guarded by `mutex_`; no user code runs under it.
// - Records live in std::list so that leases and workers may point at them.
// - Before begin(): leases hold but have no time box; released leases are forgotten.
// - After begin(): one supervisor thread waits on `changed_` until the work is done or the
//   budget ends, abandons what outlives its box, then sets `finished_`. A lease or callback added
//   after that, but before the budget ends, clears `finished_` and starts a new supervisor.
//   Workers run callbacks newest first; a worker whose callback was abandoned exits as soon as
//   that callback returns.
// - Token callbacks (callback_dispatch.hpp) are tracked from the moment their token fires: the
//   work is not done while they run, and the supervisor abandons them at the end of the budget.
// - Threads are detached and own a shared_ptr to this object: an abandoned callback may outlive
//   the application_lifetime.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <lifetime/application_lifetime.hpp>
#include <lifetime/cancellation.hpp>
#include <lifetime/shutdown_lease.hpp>

namespace lifetime::detail {

class callback_dispatch;

using clock = std::chrono::steady_clock;

struct lease_record {
  std::string name;
  clock::time_point taken;
  clock::duration max;
  bool released = false;
  bool overrun = false;
  clock::time_point released_at{};
};

struct callback_record {
  std::string name;
  std::function<void(cancellation_token)> callback;
  clock::duration max;
  shutdown_work_item::status_type status = shutdown_work_item::status_type::pending;
  clock::time_point started_at{};
  clock::time_point ended_at{};
  cancellation_source box;  // cancelled with deadline_exceeded when the time box ends
  std::string error;
};

struct dispatch_record {
  std::shared_ptr<callback_dispatch> dispatch;
  bool overrun = false;
  std::string abandoned_in;  // what was running when it was abandoned
  clock::time_point abandoned_at{};
};

class shutdown_work : public std::enable_shared_from_this<shutdown_work> {
 public:
  shutdown_lease take_lease(std::string name, clock::duration max);
  void release(lease_record* record) noexcept;
  bool is_holding(const lease_record* record) const noexcept;

  void add_callback(std::string name, std::function<void(cancellation_token)> callback,
                    clock::duration max);
  void begin(clock::time_point budget_end);
  bool wait(clock::time_point deadline);
  void on_done(std::function<void()> notify);
  shutdown_work_report report() const;

  /// Counts the callbacks of a token that just fired (before they start) as shutdown work.
  void track(std::shared_ptr<callback_dispatch> dispatch);
  /// The report item for a token's callbacks.
  static shutdown_work_item item_for(const callback_dispatch& dispatch, bool overrun,
                                     const std::string& abandoned_in = {},
                                     clock::time_point abandoned_at = {});

 private:
  clock::time_point lease_end(const lease_record& lease) const noexcept;
  clock::time_point callback_end(const callback_record& callback) const noexcept;
  bool is_done() const noexcept;
  void start_worker();  // mutex_ held
  void reopen();        // mutex_ held: supervise again work added after it had finished
  void run_worker(std::uint64_t generation);
  void supervise();

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::list<lease_record> leases_;
  std::list<callback_record> callbacks_;
  std::vector<dispatch_record> dispatches_;
  bool begun_ = false;
  bool finished_ = false;
  clock::time_point begun_at_{};
  clock::time_point budget_end_ = clock::time_point::max();
  bool worker_active_ = false;
  std::uint64_t worker_generation_ = 0;
  callback_record* running_ = nullptr;
  std::vector<std::function<void()>> done_listeners_;
};

}  // namespace lifetime::detail
