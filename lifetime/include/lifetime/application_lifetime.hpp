// SPDX-License-Identifier: MIT
// The application's lifetime: started, stopping, stopped, and what may delay the stop.
//
// `application_lifetime` holds three tokens that fire once each, in order: started() when every
// service has started, stopping() when the stop begins, stopped() at the very end. Anything may
// call stop_application(); the one driver (lifetime_driver.hpp: the host, or an embedder without
// one) moves it through the rest. Work that needs time to stop asks for it: by name, with
// on_stopping() callbacks and delay_shutdown() leases, or as .NET users do, with a callback
// registered on stopping() itself. All of it is bounded by the shutdown budget.
//
// States: starting -> started -> stopping -> stopped (starting -> stopping when the stop comes
// first). state() never goes back.
//
// @par Thread safety
// Every member may be called from any thread, concurrently.
//
// @par Callbacks registered on the tokens
// - Where: stop_application() (and the driver's notify_started() and notify_stopped()) marks the
//   token cancelled before it returns, then runs the callbacks registered on it on a thread of
//   the library's own, newest first: never on the caller's thread, so never on the thread that
//   heard a signal, the event loop or the shutdown sequence. A callback registered after the
//   token fired runs inline, on the registering thread, as for any token.
// - They delay the stop: the drain waits for the callbacks on stopping() (and on started(), if
//   they still run) while they run, within the budget. One still running when the box ends is
//   abandoned and reported as an overrun under its name: give it one with
//   `lifetime::named("flush journal", f)` (named_callback.hpp); otherwise its type names it. The
//   host's exit code is then 70.
// - Linking a request's token to stopping() stays a plain registration: cheap, and not waited
//   for by itself (the request is, through the host's in-flight gate).
//
// @par Named stopping callbacks (on_stopping)
// - When: once, after stopping() fired, when the driver calls begin_shutdown_work(); a callback
//   registered later than that starts at once (even if the rest of the shutdown work was done);
//   one registered after the budget is spent never runs and is reported as an overrun.
// - Where: on a worker thread owned by the lifetime, one at a time, newest first — never on the
//   thread that called stop_application(), so a callback that blocks cannot hold up the signal
//   handler, the event loop or the shutdown sequence.
// - May block: yes, within its time box (its own `max`, and the budget). The token it receives is
//   cancelled with deadline_exceeded when the box ends. A callback still running then is
//   abandoned: it is reported as an overrun, its thread is left to it, and the remaining callbacks
//   go on on a fresh worker. The process does not wait for it.
// - May throw: the exception is caught and reported (shutdown_work_report::failed) and the
//   others still run.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <lifetime/cancellation.hpp>
#include <lifetime/lifetime_driver.hpp>
#include <lifetime/named_callback.hpp>
#include <lifetime/shutdown_lease.hpp>

namespace lifetime {

namespace detail {
class shutdown_work;
struct driver_state;
}  // namespace detail

enum class lifetime_state : std::uint8_t { starting, started, stopping, stopped };

/// "starting", "started", "stopping", "stopped".
std::string_view to_string(lifetime_state state) noexcept;

/// One lease or stopping callback, as the driver sees it.
struct shutdown_work_item {
  /// lease: delay_shutdown(); callback: on_stopping(); token_callbacks: the callbacks registered
  /// on started(), stopping() or stopped(), named "stopping(): <the one running>".
  enum class kind_type : std::uint8_t { lease, callback, token_callbacks };
  enum class status_type : std::uint8_t { pending, running, holding, finished, overrun, failed };

  kind_type kind;
  status_type status;
  std::string name;
  std::chrono::steady_clock::duration held;  ///< how long it has held (or held) shutdown
  std::chrono::steady_clock::duration max;   ///< its time box; duration::max() for "the budget"
  std::string error;                         ///< what a failed callback threw
};

std::string_view to_string(shutdown_work_item::kind_type kind) noexcept;
std::string_view to_string(shutdown_work_item::status_type status) noexcept;

/// What became of the shutdown work.
struct shutdown_work_report {
  bool done = false;  ///< every lease released and every callback returned, in time
  std::vector<shutdown_work_item> items;
};

class application_lifetime {
 public:
  using clock = std::chrono::steady_clock;

  application_lifetime();
  application_lifetime(const application_lifetime&) = delete;
  application_lifetime& operator=(const application_lifetime&) = delete;
  ~application_lifetime();

  /// Fires (reason requested) when every service has started.
  cancellation_token started() const noexcept { return started_.token(); }
  /// Fires when the stop begins, with the reason given to stop_application().
  cancellation_token stopping() const noexcept { return stopping_.token(); }
  /// Fires (reason application_stopping) at the very end of the stop.
  cancellation_token stopped() const noexcept { return stopped_.token(); }

  lifetime_state state() const noexcept;

  /// Begins the stop: state() becomes stopping and stopping() fires; its callbacks run on a
  /// library thread (see the header comment). Idempotent and noexcept: returns true only for the
  /// call that began the stop. Safe from any thread, not from a signal handler.
  bool stop_application(
      cancellation_reason reason = cancellation_reason::application_stopping) noexcept;

  /// Why the stop began; none before it did.
  cancellation_reason stop_reason() const noexcept { return stopping_.reason(); }

  /// Registers a named stopping callback (see the header comment). `max` bounds it further than
  /// the budget. @throws std::bad_alloc.
  void on_stopping(std::string name, std::function<void(cancellation_token)> callback,
                   clock::duration max = clock::duration::max());
  void on_stopping(std::string name, std::function<void()> callback,
                   clock::duration max = clock::duration::max());

  /// A lease that holds shutdown open until released or `max` passes (shutdown_lease.hpp).
  /// @throws std::bad_alloc.
  [[nodiscard]] shutdown_lease delay_shutdown(std::string name, clock::duration max);

  /// A snapshot: every lease, stopping callback and token's callbacks with its status (for logs
  /// and state dumps). Items that outlived their time box are reported as overrun.
  shutdown_work_report shutdown_work() const;

  /// The driver's side (lifetime_driver.hpp), handed out once.
  /// @throws std::logic_error if it was taken already (a host takes its lifetime's).
  [[nodiscard]] lifetime_driver take_driver();

 private:
  friend class lifetime_driver;

  cancellation_source started_;
  cancellation_source stopping_;
  cancellation_source stopped_;
  std::shared_ptr<detail::shutdown_work> work_;
  std::shared_ptr<detail::driver_state> driver_;
};

}  // namespace lifetime
