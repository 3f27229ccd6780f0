// SPDX-License-Identifier: MIT
// Internal: the state of one host and the coroutines that sequence it.
//
// Invariants
// - Everything not atomic is touched only on `strand_` (after start()), except what is set up
//   before start() (services_, options_) and never changed after, and the watchdog's timer
//   (on `watchdog_strand_`).
// - An owning host's strand_ runs on control_io_, a context with one thread of its own; the
//   services' I/O runs on io_. An embedded host's strand_ is on the embedder's io_context.
// - One coroutine, run_host(), sequences startup and shutdown; it is the only waiter on `wake_`.
//   Every event it may wait for (hook done, background run done, gate drained, shutdown work
//   done, fast stop) calls wake() on the strand, and run_host() re-checks its condition before
//   every wait, so no wake-up is lost.
// - The stop's deadlines (budget_) are set once, by the stopping() callback, on whichever thread
//   stopped the application, before `stop_begun_` is released; readers load `stop_begun_` first.
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
#include <thread>
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
#include <lifetime/host/shutdown_sequence.hpp>
#include <lifetime/host/systemd/listen_fds.hpp>
#include <lifetime/host/systemd/notifier.hpp>
#include <lifetime/host/systemd/watchdog.hpp>

#include "exit_enforcer.hpp"
#include "signals.hpp"

namespace lifetime::host {

namespace detail {

/// What an exception says, for the log.
inline std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

/// "123ms", for the log.
std::string millis(std::chrono::steady_clock::duration d);

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

struct service_entry {
  std::unique_ptr<hosted_service> service;
  background_service* background = nullptr;  // the same object, if it is one
  std::atomic<service_state> state{service_state::registered};
  std::atomic<bool> running{false};  // background run() in progress
  std::optional<cancellation_source> run_source;
};

/// What became of one bounded hook.
struct hook_outcome {
  bool finished = false;
  std::exception_ptr error;
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

  // host.cpp: startup, run, signals, reload, state.
  void init();
  int run();
  void start(std::function<void(int)> on_exit);
  boost::asio::awaitable<void> run_host();
  boost::asio::awaitable<bool> start_services();
  void start_background(service_entry& entry);
  void on_background_done(service_entry& entry, std::exception_ptr error);
  void on_stop_begun();
  void on_signal(int signal_number);
  void fast_stop();
  boost::asio::awaitable<void> reload();
  boost::asio::awaitable<void> watchdog_loop();
  boost::asio::awaitable<void> extend_timeout_loop();
  /// One line for systemd's STATUS= during the stop: phase, in-flight count, time left.
  std::string stop_status() const;
  std::string state_dump() const;
  void finish();

  // host_shutdown.cpp: the six phases.
  boost::asio::awaitable<void> shutdown();

  // Waiting on the strand.
  void wake();
  template <class Condition>
  boost::asio::awaitable<bool> wait_until(Condition condition, clock::time_point deadline);
  /// Runs make_hook()'s coroutine on the strand and waits for it until `deadline`; a hook still
  /// running then is abandoned (finished == false). A hook that throws, even before its first
  /// suspension, reports the exception.
  boost::asio::awaitable<hook_outcome> bounded(
      std::function<boost::asio::awaitable<void>()> make_hook, clock::time_point deadline);

  void fail(int code) noexcept;  // raises exit_code_ to service_failed / software
  shutdown_budget budget() const noexcept { return budget_; }
  bool is_stop_begun() const noexcept { return stop_begun_.load(std::memory_order_acquire); }

  std::unique_ptr<detail::owned_io_context> owned_io_;  // first member: destroyed last
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

  lifetime::application_lifetime lifetime_;
  lifetime::gate in_flight_;
  cancellation_source stop_accepting_;
  cancellation_source in_flight_cancel_;

  systemd::notifier notifier_;
  systemd::watchdog_settings watchdog_;
  std::mutex listen_fds_mutex_;
  std::vector<systemd::listen_fd> listen_fds_;

  std::vector<std::unique_ptr<service_entry>> services_;
  std::list<cancellation_registration<std::function<void()>>> parent_links_;
  std::mutex parent_leases_mutex_;
  std::vector<shutdown_lease> parent_leases_;
  std::optional<cancellation_registration<std::function<void()>>> stop_watch_;

  std::atomic<shutdown_phase> phase_{shutdown_phase::running};
  std::once_flag stop_once_;
  std::atomic<bool> stop_begun_{false};
  shutdown_budget budget_{};
  std::atomic<bool> fast_{false};
  std::atomic<bool> shutdown_work_over_{false};
  std::atomic<int> signal_count_{0};
  std::atomic<int> exit_code_{0};
  std::atomic<bool> reloading_{false};
  bool started_ = false;  // start() called
  std::atomic<bool> finished_{false};
  std::function<void(int)> on_exit_;

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
