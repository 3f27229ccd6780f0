// SPDX-License-Identifier: MIT
// The host: runs hosted services on Boost.Asio, handles signals, and stops in six time-boxed
// phases.
//
// A daemon's main() is three lines:
// @code
//   lifetime::host::options opts("my-daemon");
//   if (auto code = opts.parse(argc, argv)) return *code;
//   lifetime::host::host h(opts.to_host_options());
//   h.add_service<my_server>(h);
//   return h.run();
// @endcode
//
// @par Modes
// - Owning, host(options): the host owns an io_context run by `threads` I/O threads (run() makes
//   the calling thread one of them); with more than one, also `threads` connection threads, each
//   running an io_context of its own (connection_executors(): the HTTP server spreads its
//   connections over them, so they never contend, and a handler that blocks holds neither
//   io_context() nor the services' hooks); one more thread for its strand (the hooks and the
//   shutdown sequence, so that they never queue behind the I/O of thousands of connections; the
//   watchdog still pings from the I/O context), the signals (on a thread of their own, so that a
//   wedged event loop still hears them), spdlog's default logger, and an exit enforcer: once the
//   stop begins, the process exits at the end of the budget plus 100 ms whatever user code does,
//   with code 70 if the stop was not over by then, or with the stop's own code if only the teardown
//   after it was (a slow destructor). By default (host_options::exit_when_stopped) run() does not
//   return: once the stop is over it flushes the log and _exit()s with the code, leaving the
//   destruction of what is still alive to the kernel.
// - Embedded, host(io, options): runs on the caller's io_context; no threads, no signals, no
//   logger setup, no enforcer. start(on_exit) returns at once; link_parent() stops it with a
//   parent; nested_host (nested_host.hpp) makes a host a service of another host.
//
// @par The stop
// Begins when lifetime().stop_application() is called (by a signal, a parent token, a failed
// background service, or anyone). One budget, options().shutdown_timeout, counts from there:
//   1 stopping        services' stopping() (reverse order); systemd STOPPING=1; the named
//                     on_stopping callbacks and delay_shutdown leases start their time boxes;
//                     the callbacks registered on lifetime().stopping() already run on the
//                     lifetime's own thread (application_lifetime.hpp).
//   2 drain delay     keep serving for drain_delay (skipped on a fast stop).
//   3 stop accepting  stop_accepting_token() fires; in_flight() closes.
//   4 drain           wait until in_flight() is empty and every lease and callback (named, or
//                     registered on started() or stopping()) is done.
//                     Leases and callbacks are boxed to end a reserve before the budget, so
//                     that phases 5 and 6 keep some time: min(budget/4, 1s), more with many
//                     requests in flight (up to budget/2; the rule is in shutdown_sequence.hpp).
//   5 cancel          in_flight_token() fires (application_stopping); wait briefly for in_flight().
//                     Cancelled requests may still finish until the end of the budget; only
//                     those in flight when it ends are abandoned (an overrun).
//   6 stop services   background run()s are awaited, then stop() and stopped() (reverse order);
//                     lifetime().stopped() fires. stop()'s token fires just before the budget
//                     ends (hosted_service.hpp).
// Then lifetime().stopped() fires; its callbacks are waited for until the end of the budget.
// A start that fails skips the drain delay (nothing was ready to drain). With
// host_options::supervisor_deadline set, run()/start() refuse to start (78) when the stop could
// not fit in it. Each phase is logged with its duration, then one summary line. Anything still
// holding when its box ends is named in the log with how long it held, and the exit code
// becomes 70.
//
// @par Signals (owning mode)
// Heard on a thread of their own that never runs user code; run() blocks them in the calling
// thread while it lends it to the I/O, so that no other host thread receives them.
// SIGTERM, SIGINT, SIGQUIT: the first begins a graceful stop; the second (any of the three) makes
// it a fast stop (drain delay skipped, in_flight_token() fires now, leases no longer waited
// for); the third flushes the log and exits at once with 128+signal. SIGHUP: request_reload().
// SIGUSR1: request_upgrade(). SIGUSR2: logs state_dump().
//
// @par Binary upgrade (owning mode)
// request_upgrade() (SIGUSR1) starts the executable at the path this process was started from
// (read at construction, so a file renamed over it is what runs) with the same arguments and
// environment, and hands over the sockets the started services name
// (hosted_service::sockets_to_hand_over()) as LISTEN_FDS/LISTEN_FDNAMES with the new process's
// LISTEN_PID. Both processes accept on them meanwhile. The new host tells this one when every
// service has started (a byte on a channel named by LIFETIME_UPGRADE_READY_FD; under systemd it
// sends MAINPID=<its pid> with READY=1 first, and writes --pid-file). Only then does this host
// silence its notifier (the service is the new process's now: no STOPPING=1) and stop
// gracefully, exit code 0, its phases and budget as for SIGTERM, with a drain delay of at least
// 500 ms (within the budget): keep-alive clients are answered `Connection: close` and reconnect,
// to either process, before idle connections are closed. A new process that exits first,
// or is not ready within host_options::upgrade_timeout (it is then sent SIGTERM, and SIGKILL if
// it has not exited within this host's shutdown budget), is reaped: this host keeps serving,
// logs why and counts a failed upgrade (upgrades(), the state dump). A request while an upgrade
// is in progress, before the host is started or once it is stopping is refused with a log line.
// The new process may be upgraded in its turn as soon as it is ready, while this one drains.
//
// @par systemd
// notifier() talks to NOTIFY_SOCKET (silent without it): READY=1 once every service started;
// STATUS= at startup, at each phase and at the end; STOPPING=1 in phase 1; RELOADING=1 with
// MONOTONIC_USEC= then READY=1 around a reload; EXTEND_TIMEOUT_USEC= (time left in the budget
// plus 5 s) every second while the stop progresses; ERRNO= when a service fails to start;
// WATCHDOG=1 every half WATCHDOG_USEC, sent from a strand of the I/O context so that it stops
// when the event loop does, and (before the stop) only while every connection thread has run the
// heartbeat posted to it one ping earlier: a wedged connection thread stops the pings too, with
// an error that names it. Owning hosts also take LISTEN_FDS at construction (take_listen_fds()).
// A process started by a binary upgrade adds MAINPID=<its pid> to its READY=1; the process it
// replaced sends nothing once the new one is ready (the unit needs NotifyAccess=all).
//
// @par Lifecycle events
// events() is the process's lifecycle feed (lifecycle_events.hpp). The host publishes, with `pid`
// and `name` on every "process" event:
//   process    state starting | ready (took_ms) | stopping (cause: SIGTERM..., or the stop's
//              reason) | fast_stop (cause) | stopped (exit_code, took_ms)
//   phase      phase (stopping, drain_delay, ...), number (1-6), state begin | end, in_flight;
//              on end took_ms and, if any, detail ("skipped (fast stop)")
//   in_flight  count: during the stop, when it changed, at most every 50 ms
//   reload     state begin | end (took_ms, result ok | failed) | ignored (why)
// Other components publish their own (the HTTP server: "generation", "request_ended").
//
// @par Exit code
// 0; 1 when a service failed (start, started, stop, a background run); 64/78 when start() threw
// usage_error/config_error; 70 when anything was abandoned at its box or at the budget (or the
// enforcer fired); 128+signal on the third signal. See exit_code.hpp.
//
// @par Thread safety
// Construction, add_service(), link_parent() and run()/start() from one thread, before the run.
// lifetime(), in_flight(), the token accessors, request_reload(), state_dump() and notifier() may
// be called from any thread at any time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <lifetime/application_lifetime.hpp>
#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>
#include <lifetime/host/exit_code.hpp>
#include <lifetime/host/host_options.hpp>
#include <lifetime/host/hosted_service.hpp>
#include <lifetime/host/lifecycle_events.hpp>
#include <lifetime/host/systemd/listen_fds.hpp>
#include <lifetime/host/systemd/notifier.hpp>

namespace lifetime::host {

class host {
 public:
  /// Owning mode (see the header comment). Reads the systemd environment (NOTIFY_SOCKET,
  /// WATCHDOG_USEC, LISTEN_FDS); configures logging if options.configure_logging.
  /// @throws config_error if socket activation is inconsistent.
  explicit host(host_options options = {});

  /// Embedded mode on the caller's io_context, which must outlive the host.
  host(boost::asio::io_context& io, host_options options);

  host(const host&) = delete;
  host& operator=(const host&) = delete;
  /// Waits for nothing: in embedded mode destroy the host only after on_exit ran (or before
  /// start()).
  ~host();

  lifetime::application_lifetime& lifetime() noexcept;
  /// The io_context's executor (not the host's strand).
  boost::asio::any_io_executor get_executor() noexcept;
  /// The io_context the host runs on (its own, or the embedder's).
  boost::asio::io_context& io_context() noexcept;
  /// Executors whose handlers each run on one thread, never concurrently, for work that stays on
  /// one thread such as a connection. Owning mode: one per connection thread (with `threads` = 1:
  /// io_context()'s, run by that one thread). Embedded: none (the embedder may run io_context()
  /// on many threads: such work needs a strand each). Any thread; may throw std::bad_alloc.
  std::vector<boost::asio::any_io_executor> connection_executors() const;
  const host_options& options() const noexcept;

  /// Adds a service, started after those added before it. Before run()/start() only.
  template <class Service, class... Args>
  Service& add_service(Args&&... args) {
    static_assert(std::is_base_of_v<hosted_service, Service>);
    auto service = std::make_unique<Service>(std::forward<Args>(args)...);
    Service& result = *service;
    add_service(std::move(service));
    return result;
  }
  hosted_service& add_service(std::unique_ptr<hosted_service> service);

  /// Requests enter it; closed at phase 3, drained in phase 4.
  lifetime::gate& in_flight() noexcept;
  /// Fires at phase 3 (reason application_stopping): close listeners and idle connections.
  lifetime::cancellation_token stop_accepting_token() const noexcept;
  /// Fires at phase 5, or at once on a fast stop (reason application_stopping): cancel requests.
  lifetime::cancellation_token in_flight_token() const noexcept;

  /// When `parent` fires the host stops gracefully. Any number of parents; before run()/start().
  void link_parent(lifetime::cancellation_token parent);
  /// Nesting: stop when `parent` begins stopping, and hold it with a shutdown lease named after
  /// this host until this host has fully stopped, so the parent reports stopped only after it.
  /// Start this host (start()) too: until it stops, the lease holds the parent's drain (never
  /// past the parent's budget).
  void link_parent(lifetime::application_lifetime& parent);

  /// Owning mode: starts, blocks until fully stopped, returns the exit code (exit_code.hpp).
  int run();

  /// Embedded mode (also used by run()): starts on the io_context and returns at once.
  /// `on_exit(exit_code)` is posted to the io_context once, when the host has fully stopped.
  void start(std::function<void(int)> on_exit);

  /// What SIGHUP does: on the strand, if running: systemd RELOADING=1, reload_config(), every
  /// service's reload(), READY=1. Safe from any thread; ignored unless running.
  void request_reload();
  /// A note systemd's STATUS= carries while running ("running; <note>"), e.g. what a reload could
  /// not apply. Cleared when the next reload begins; empty clears it. Safe from any thread.
  void set_status_note(std::string note);

  /// What SIGUSR2 logs: lifetime state, shutdown phase, time left in the budget, in-flight count,
  /// services, leases and callbacks with their holders and how long they have held.
  std::string state_dump() const;

  /// What SIGUSR1 does (see "Binary upgrade"): on the strand; returns at once. Any thread; owning
  /// mode only (an embedded host logs that it cannot and does nothing).
  void request_upgrade();

  /// Binary upgrades this process asked for.
  struct upgrade_counts {
    std::uint64_t succeeded = 0;  ///< handed over (at most one: the process then stops)
    std::uint64_t failed = 0;     ///< the new process exited, failed to start or was not ready
  };
  /// Any thread.
  upgrade_counts upgrades() const noexcept;

  /// The lifecycle event feed (see @par Lifecycle events); any thread, any time.
  lifecycle_events& events() noexcept;

  /// Socket-activated or fd-store listening sockets, read at construction; each taken once.
  std::vector<systemd::listen_fd> take_listen_fds();
  /// The sd_notify channel; silent without NOTIFY_SOCKET.
  systemd::notifier& notifier() noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace lifetime::host
