// SPDX-License-Identifier: MIT
// Internal: the state of one host and the coroutines that sequence it.
//
// Files: host.cpp (the public facade), host_runtime.cpp (construction, threads, run, start,
// finish, the exit), host_startup.cpp (starting the services), host_shutdown.cpp (the six
// phases), host_signals.cpp (what each signal does), host_reload.cpp (reload, watchdog,
// EXTEND_TIMEOUT), state_dump.cpp, service_hooks.cpp (one time-boxed hook over the services),
// host_upgrade.cpp (binary upgrade on SIGUSR1, the pid file, readiness towards a parent).
//
// Invariants
// - Everything not atomic is touched only on `strand_` (after start()), except what is set up
//   before start() (services_, options_) and never changed after, and the watchdog's timer
//   (on `watchdog_strand_`).
// - An owning host's strand_ runs on control_io_, a context with one thread of its own; the
//   services' I/O runs on io_. An embedded host's strand_ is on the embedder's io_context.
// - One coroutine, run_host(), sequences startup and shutdown; it is the only waiter on `wake_`.
//   Every event it may wait for (hook done, background run done, gate drained, shutdown work
//   done, stop begun, fast stop) calls wake() on the strand, and run_host() re-checks its
//   condition before every wait, so no wake-up is lost.
// - The stop's deadlines (budget_) are set once, by the driver's stop hook, on whichever thread
//   stopped the application, before `stop_begun_` is released; readers load `stop_begun_` first.
// - No thread the library starts (shutdown work, token callbacks) holds the impl: they reach it
//   only through `waker_`, which finish() detaches before on_exit is posted. So once on_exit has
//   run, nothing but the embedder's own handles keeps the impl alive.
// - User code never runs on the signal listener's thread: it only counts signals, begins the stop
//   (whose callbacks the lifetime runs on a thread of its own), posts, logs and exits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <lifetime/application_lifetime.hpp>
#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>
#include <lifetime/host/host.hpp>
#include <lifetime/host/lifecycle_events.hpp>
#include <lifetime/host/shutdown_sequence.hpp>
#include <lifetime/host/systemd/listen_fds.hpp>
#include <lifetime/host/systemd/notifier.hpp>
#include <lifetime/host/systemd/watchdog.hpp>

#include "exit_enforcer.hpp"
#include "signals.hpp"
#include "upgrade_spawn.hpp"

namespace lifetime::host {

namespace detail {

/// "123ms", for the log.
std::string millis(std::chrono::steady_clock::duration d);

/// A duration in milliseconds with its fraction, for an event's took_ms.
double took_ms(std::chrono::steady_clock::duration d) noexcept;

/// Whether `error` is a lifetime::operation_cancelled.
bool is_cancellation(const std::exception_ptr& error) noexcept;

/// An io_context whose owner can destroy its queued handlers before destroying the objects those
/// handlers refer to.
class owned_io_context : public boost::asio::io_context {
 public:
  using boost::asio::io_context::io_context;
  using boost::asio::io_context::shutdown;
};
}  // namespace detail

enum class service_state : std::uint8_t {
  registered,
  starting,
  started,
  failed,
  stopping,
  stopped,
};

std::string_view to_string(service_state state) noexcept;

struct service_entry {
  using clock = std::chrono::steady_clock;

  std::unique_ptr<hosted_service> service;
  background_service* background = nullptr;  // the same object, if it is one
  std::atomic<service_state> state{service_state::registered};
  std::atomic<bool> running{false};  // background run() in progress
  std::optional<cancellation_source> run_source;
  // The hook the host is in now ("stop"), and since when: the state dump names a hook that
  // blocks its thread, which no time box can interrupt.
  std::atomic<const char*> hook{nullptr};
  std::atomic<clock::rep> hook_began{0};
};

/// What became of one bounded hook.
struct hook_outcome {
  bool finished = false;
  std::exception_ptr error;
};

/// How one service's hook ended, in a pass over the services (service_hooks.cpp).
enum class hook_end : std::uint8_t { returned, failed, abandoned };

/// One hook over the services: which ones, in which order, until when, and what follows.
struct hook_pass {
  hook_pass(
      const char* hook_name, bool reverse_order, service_state eligible_state,
      std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max())
      : hook(hook_name), reverse(reverse_order), eligible(eligible_state), deadline(until) {}

  const char* hook;  ///< "stop", for the log
  bool reverse = false;
  service_state eligible;  ///< only services in this state when their turn comes
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool until_stopping = false;  ///< end the pass (false) once the stop has begun
  std::function<boost::asio::awaitable<void>(service_entry&)> call;
  /// Called after each service's hook; returning false ends the pass (false).
  std::function<bool(service_entry&, hook_end, const std::exception_ptr&)> then;
};

/// Lets threads that must not keep the host alive wake its sequence (see the invariants).
class sequence_waker : public std::enable_shared_from_this<sequence_waker> {
 public:
  explicit sequence_waker(host::impl& host) noexcept : host_(&host) {}
  /// Posts a wake-up to the sequence, unless detached. Any thread.
  void wake();
  /// Tells the sequence that the shutdown work is over, then wakes it, unless detached.
  void shutdown_work_over();
  /// From the strand: no wake-up reaches the host after this.
  void detach() noexcept;

 private:
  std::mutex mutex_;
  host::impl* host_;
};

struct host::impl : std::enable_shared_from_this<host::impl> {
  using clock = std::chrono::steady_clock;

  /// How long past the budget the exit enforcer waits before it ends the process (host.hpp).
  static constexpr std::chrono::milliseconds exit_margin{100};
  using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;

  impl(std::unique_ptr<detail::owned_io_context> owned,
       std::unique_ptr<detail::owned_io_context> control, boost::asio::io_context& io,
       host_options options);
  ~impl();

  // host_runtime.cpp
  void init();
  int run();
  void start(std::function<void(int)> on_exit);
  void finish();
  void on_stop_begun();          // the driver's stop hook: any thread, must not block
  void fail(int code) noexcept;  // raises exit_code_ to service_failed / software

  // host_startup.cpp
  boost::asio::awaitable<void> run_host();
  boost::asio::awaitable<bool> start_services();
  void start_background(service_entry& entry);
  void on_background_done(service_entry& entry, std::exception_ptr error);

  // host_shutdown.cpp: the six phases.
  boost::asio::awaitable<void> shutdown();
  boost::asio::awaitable<void> stop_services(const shutdown_budget& b);
  /// Phase 6 first awaits the background services' run()s (until the end of the budget).
  boost::asio::awaitable<void> await_background_runs(const shutdown_budget& b);
  boost::asio::awaitable<void> await_stopped_callbacks(const shutdown_budget& b);
  void report_shutdown_work();

  // host_signals.cpp
  void on_signal(int signal_number);
  void fast_stop();

  // host_upgrade.cpp
  /// On the strand: starts the new process and waits for it (host.hpp, "Binary upgrade").
  boost::asio::awaitable<void> upgrade();
  /// Why an upgrade may not begin now, or nothing (strand).
  std::optional<std::string> upgrade_refusal() const;
  /// Once every service has started: --pid-file (for a process an upgrade started), systemd
  /// READY=1 (with MAINPID= for such a process), the readiness byte to the process it replaces.
  void announce_ready();
  /// Owning mode, before the services start: writes --pid-file unless an upgrade started this
  /// process. False (logged) if it cannot.
  bool write_pid_file_at_start();
  /// At the end: removes --pid-file if it still names this process.
  void remove_pid_file() noexcept;

  // host_reload.cpp
  boost::asio::awaitable<void> reload();
  boost::asio::awaitable<void> watchdog_loop();
  boost::asio::awaitable<void> extend_timeout_loop();

  // host_events.cpp: what the host publishes on events_ (host.hpp, @par Lifecycle events).
  /// A "process" event with `state`, the pid and the host's name, then `extra`. Any thread.
  void publish_process(const char* state, lifecycle_events::fields extra = {});
  /// The "process" event of the stop's beginning, with its cause. Any thread; never blocks.
  void publish_stopping();
  /// A "phase" event (on the strand).
  void publish_phase(shutdown_phase phase, const char* state, lifecycle_events::fields extra = {});
  /// While the stop runs: an "in_flight" event whenever the count changed, at most every 50 ms.
  boost::asio::awaitable<void> in_flight_loop();

  // state_dump.cpp
  /// One line for systemd's STATUS= during the stop: phase, in-flight count, time left.
  std::string stop_status() const;
  std::string state_dump() const;
  /// STATUS= while running: "running", or "running; " and the note set_status_note() gave.
  std::string running_status() const;

  // service_hooks.cpp
  /// Runs `pass.hook` for each eligible service, one at a time, each bounded by pass.deadline;
  /// logs each that fails or is abandoned (an abandoned one makes the stop an overrun).
  boost::asio::awaitable<bool> for_each_service(hook_pass pass);
  /// Runs make_hook()'s coroutine on the strand and waits for it until `deadline`; a hook still
  /// running then is abandoned (finished == false). A hook that throws, even before its first
  /// suspension, reports the exception.
  boost::asio::awaitable<hook_outcome> bounded(
      std::function<boost::asio::awaitable<void>()> make_hook, clock::time_point deadline);

  // Waiting on the strand.
  void wake();
  template <class Condition>
  boost::asio::awaitable<bool> wait_until(Condition condition, clock::time_point deadline);

  shutdown_budget budget() const noexcept { return budget_; }
  bool is_stop_begun() const noexcept { return stop_begun_.load(std::memory_order_acquire); }

  std::unique_ptr<detail::owned_io_context> owned_io_;  // first member: destroyed last
  // Owning mode with threads > 1: `threads` io_contexts for connections (connection_executors()),
  // each run by a thread of its own. Destroyed just before io_.
  std::vector<std::unique_ptr<detail::owned_io_context>> thread_io_;
  // Owning mode: the context of strand_, run by a thread of its own, so that the sequence never
  // waits in line behind the I/O handlers of thousands of connections (null when embedded).
  std::unique_ptr<detail::owned_io_context> control_io_;
  host_options options_;
  boost::asio::io_context& io_;
  strand_type strand_;
  strand_type watchdog_strand_;  // on io_: the watchdog pings only while the event loop runs
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer watchdog_timer_;
  boost::asio::steady_timer extend_timer_;
  boost::asio::steady_timer in_flight_timer_;

  lifetime::application_lifetime lifetime_;
  lifetime::lifetime_driver driver_;
  lifetime::gate in_flight_;
  cancellation_source stop_accepting_;
  cancellation_source in_flight_cancel_;
  std::shared_ptr<sequence_waker> waker_;

  lifecycle_events events_;
  // What began the stop, for its "process" event: a signal's name (static text), or null.
  std::atomic<const char*> stop_cause_{nullptr};

  systemd::notifier notifier_;
  systemd::watchdog_settings watchdog_;
  std::mutex listen_fds_mutex_;
  std::vector<systemd::listen_fd> listen_fds_;

  std::vector<std::unique_ptr<service_entry>> services_;
  std::list<cancellation_registration<std::function<void()>>> parent_links_;
  std::mutex parent_leases_mutex_;
  std::vector<shutdown_lease> parent_leases_;

  std::atomic<shutdown_phase> phase_{shutdown_phase::running};
  std::atomic<bool> stop_begun_{false};
  shutdown_budget budget_{};
  std::chrono::microseconds cost_per_request_{shutdown_budget::reserve_per_request};
  std::atomic<bool> fast_{false};
  std::atomic<bool> start_failed_{false};  // nothing to drain: the stop skips its drain delay
  std::atomic<bool> shutdown_work_over_{false};
  bool overrun_ = false;  // something was abandoned at its box (strand)
  std::atomic<int> signal_count_{0};
  std::atomic<int> exit_code_{0};
  std::atomic<bool> reloading_{false};
  mutable std::mutex status_note_mutex_;
  std::string status_note_;  // see host::set_status_note()
  bool started_ = false;     // start() called
  std::atomic<bool> finished_{false};
  std::function<void(int)> on_exit_;

  // Binary upgrade (host_upgrade.cpp): what this process was started as (owning mode), the
  // readiness channel to the process that started this one (-1 if none; strand), whether an
  // upgrade is in progress (strand), and the counts.
  detail::process_image image_;
  int upgrade_ready_fd_ = -1;
  std::atomic<bool> upgrading_{false};
  // The new process is ready: the stop's drain delay lasts at least handover_drain, so that
  // keep-alive clients are told Connection: close before idle connections are closed.
  std::atomic<bool> handed_over_{false};
  static constexpr std::chrono::milliseconds handover_drain{500};
  std::atomic<int> upgrade_pid_{0};  // the new process while upgrading_
  std::atomic<std::uint64_t> upgrades_succeeded_{0};
  std::atomic<std::uint64_t> upgrades_failed_{0};

  std::unique_ptr<detail::signal_listener> signals_;
  detail::exit_enforcer enforcer_;
};

template <class Condition>
boost::asio::awaitable<bool> host::impl::wait_until(Condition condition,
                                                    clock::time_point deadline) {
  while (!condition()) {
    if (clock::now() >= deadline)
      co_return false;
    wake_.expires_at(deadline);
    boost::system::error_code ec;
    co_await wake_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  co_return true;
}

}  // namespace lifetime::host
