// SPDX-License-Identifier: MIT
// A piece of an application that the host starts and stops: a server, a worker, a nested host.
//
// The host calls the hooks as C++20 coroutines on its own strand, so no two hooks ever execute at
// the same instant; the host awaits each hook before it calls the next one, except reload(),
// which may interleave with the shutdown's hooks at their suspension points, and a hook
// abandoned at its deadline, which may still be suspended while later hooks run. The order,
// relative to everything else:
//
//   starting (every service, registration order)
//   start    (every service, registration order; a background service's run() begins after it)
//   started  (every service, registration order) → lifetime().started() fires, systemd READY=1
//   ... running: reload() on SIGHUP ...
//   phase 1  stopping (every started service, reverse order) — lifetime().stopping() has fired
//   phases 2-5 drain delay, stop accepting, drain, cancel (see host.hpp)
//   phase 6  stop (every started service, reverse order; a background service's run() is awaited
//            first) → stopped (same order) → lifetime().stopped() fires
//
// Common rules for every hook:
// - Thread: the host's strand: in an owning host, a thread of its own next to the I/O threads;
//   in an embedded host, the embedder's event loop. A hook must not block its thread: await
//   instead (a hook that blocks delays every other hook and the shutdown sequence, and a hook
//   still running when the shutdown budget ends is abandoned and the process exits with 70).
// - Exceptions: noted per hook. lifetime::operation_cancelled thrown because a token fired is
//   never a failure.
// - Only services whose start() completed get stopping/stop/stopped. Each hook runs at most once
//   per host run (reload: once per SIGHUP).
#pragma once

#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <lifetime/cancellation.hpp>
#include <lifetime/host/systemd/listen_fds.hpp>

namespace lifetime::host {

class hosted_service {
 public:
  virtual ~hosted_service() = default;

  /// The name used in every log line about this service. Called from any thread; must be
  /// constant for the service's life.
  virtual std::string_view name() const noexcept = 0;

  /// Before any service starts (registration order). `token` fires if the stop begins while
  /// starting. Throwing aborts startup exactly like a throwing start().
  virtual boost::asio::awaitable<void> starting(lifetime::cancellation_token token) {
    (void)token;
    co_return;
  }

  /// Starts the service: bind sockets, open files. `token` fires if the stop begins during
  /// startup. Throwing is a startup failure: the error is logged with name(), systemd gets
  /// ERRNO=, the services already started are stopped in reverse order and the host exits 1
  /// (64 for a usage_error, 78 for a config_error: a bad --listen address is a usage mistake).
  virtual boost::asio::awaitable<void> start(lifetime::cancellation_token token) {
    (void)token;
    co_return;
  }

  /// After every service has started, just before lifetime().started() fires. Throwing is logged
  /// and stops the host with exit code 1.
  virtual boost::asio::awaitable<void> started() { co_return; }

  /// Phase 1 of the shutdown, reverse order: the stop has begun, lifetime().stopping() has fired.
  /// Flip readiness, tell peers; keep serving (the drain delay follows). Throwing is logged;
  /// the shutdown goes on.
  virtual boost::asio::awaitable<void> stopping() { co_return; }

  /// Phase 6, reverse order: release what start() acquired. In-flight work has drained or been
  /// cancelled by now. `token` fires (deadline_exceeded) shortly before the shutdown budget ends
  /// (50 ms, at most a twentieth of the budget; token.deadline() is the end itself), so that a
  /// stop() that returns when it fires is not abandoned; a stop() still running when the budget
  /// ends is abandoned, named in the log, and the exit code is 70. Throwing is logged; the other
  /// services are still stopped and the exit code is 1.
  virtual boost::asio::awaitable<void> stop(lifetime::cancellation_token token) {
    (void)token;
    co_return;
  }

  /// After every service's stop(), reverse order, just before lifetime().stopped() fires.
  /// Throwing is logged; the shutdown goes on.
  virtual boost::asio::awaitable<void> stopped() { co_return; }

  /// On SIGHUP or host::request_reload(), registration order, only while running. The
  /// configuration has already been re-read (options.hpp). Throwing is logged; the host keeps
  /// running with whatever state the service is in.
  virtual boost::asio::awaitable<void> reload() { co_return; }

  /// Binary upgrade (SIGUSR1): the listening sockets this service wants the new process to get,
  /// each with the name the new process's service looks for in LISTEN_FDNAMES (host.hpp,
  /// "Binary upgrade"). Called on the host's strand, only while running and only for a started
  /// service, once per upgrade. The service keeps its descriptors: the host duplicates them
  /// before this returns to the strand, and the service goes on accepting on them until its
  /// own stop. Default: none. Must not throw (a throw fails the upgrade).
  virtual std::vector<systemd::listen_fd> sockets_to_hand_over() const { return {}; }
};

/// A service with a long-running body. run(token) starts right after this service's start() and
/// runs concurrently with the rest of the host (on the host's io executor, not its strand).
///
/// - `token` is lifetime().stopping() linked with host::in_flight_token(): it fires when the stop
///   begins (phase 1), with the stop's reason.
/// - Returning normally is fine at any time: the host keeps running.
/// - Throwing (anything but operation_cancelled after the token fired) stops the host: the error
///   is logged with name() and the exit code becomes 1.
/// - In phase 6 the host waits for run() to return before calling stop(), never past the budget.
class background_service : public hosted_service {
 public:
  virtual boost::asio::awaitable<void> run(lifetime::cancellation_token token) = 0;
};

}  // namespace lifetime::host
