// SPDX-License-Identifier: MIT
// The driver's side of an application_lifetime: what a host (or an embedder without one) calls
// to move the lifetime through its states and to time-box the stop.
//
// An application_lifetime has at most one driver: take_driver() hands it out once. Everyone else
// sees the user's side only (tokens, stop_application(), on_stopping(), delay_shutdown()), so no
// service can declare the application started or stopped behind its host's back. A host takes the
// driver of its own lifetime at construction.
//
// @par Protocol
//   1. on_stop_requested(hook), before anything may stop the application;
//   2. notify_started() once the application runs;
//   3. when the hook is called: begin_shutdown_work(box_end), then wait for the work with
//      on_shutdown_work_done() or wait_for_shutdown_work();
//   4. notify_stopped() at the very end, then wait_for_stopped_callbacks().
//
// @par Where token callbacks run
// notify_started(), stop_application() and notify_stopped() mark their token cancelled at once
// (polling sees it when they return) and run the callbacks registered on it on a thread of the
// library's own, newest first, never on the caller's. Callbacks on started() and stopping() are
// shutdown work: the drain waits for them within the box given to begin_shutdown_work(), and one
// still running when it ends is reported as an overrun under its name (named_callback.hpp) or its
// type. Callbacks on stopped() are waited for with wait_for_stopped_callbacks().
//
// @par Thread safety
// Every member may be called from any thread. Move-only; the application_lifetime must outlive
// its driver.
#pragma once

#include <chrono>
#include <functional>

namespace lifetime {

class application_lifetime;

class lifetime_driver {
 public:
  using clock = std::chrono::steady_clock;

  lifetime_driver(lifetime_driver&& other) noexcept : app_(other.app_) {}
  lifetime_driver& operator=(lifetime_driver&& other) noexcept {
    app_ = other.app_;
    return *this;
  }

  /// `hook` is called once, when the stop begins: synchronously, on the thread whose
  /// stop_application() began it, after stopping() is marked cancelled and before any of its
  /// callbacks runs. It must be short, must not block and must not throw (it runs on whatever
  /// thread stopped the application, a signal listener's included). If the stop already began,
  /// it is called at once. A later call replaces an earlier hook that was not called yet.
  void on_stop_requested(std::function<void()> hook);

  /// starting -> started; started()'s callbacks run on a library thread. Returns false (and does
  /// nothing) once stopping.
  bool notify_started() noexcept;

  /// Starts the time boxes of leases, named stopping callbacks and the callbacks on started() and
  /// stopping(): none holds past `box_end`. Idempotent (the first call counts).
  void begin_shutdown_work(clock::time_point box_end);

  /// Blocks until the shutdown work is done or abandoned, or until `deadline`.
  /// @return true if all of it finished in time.
  bool wait_for_shutdown_work(clock::time_point deadline);

  /// Calls `notify` once, on whichever thread finishes the shutdown work (or at once if it is
  /// finished). `notify` must not block or throw, and must not keep the driver's owner alive: it
  /// may run after begin_shutdown_work()'s box on a library thread.
  void on_shutdown_work_done(std::function<void()> notify);

  /// stopping -> stopped (beginning the stop first if needed); stopped()'s callbacks run on a
  /// library thread. Idempotent.
  void notify_stopped() noexcept;

  /// Blocks until the callbacks on stopped() returned, or until `deadline`.
  /// @return true if they all returned (or there were none).
  bool wait_for_stopped_callbacks(clock::time_point deadline);

  /// Calls `notify` once, on the thread that runs them, when the callbacks on stopped() have
  /// returned (at once if they have, or if notify_stopped() found none). Same rules as
  /// on_shutdown_work_done().
  void on_stopped_callbacks_done(std::function<void()> notify);

 private:
  friend class application_lifetime;
  explicit lifetime_driver(application_lifetime& app) noexcept : app_(&app) {}

  application_lifetime* app_;
};

}  // namespace lifetime
