// SPDX-License-Identifier: MIT
#include <lifetime/application_lifetime.hpp>

#include <mutex>
#include <stdexcept>

#include "callback_dispatch.hpp"
#include "shutdown_work.hpp"

namespace lifetime {

namespace detail {

/// What the driver set up, and the dispatch of stopped()'s callbacks.
struct driver_state {
  std::mutex mutex;
  bool taken = false;
  bool stop_begun = false;
  std::function<void()> stop_hook;
  std::shared_ptr<callback_dispatch> stopped_dispatch;
};

namespace {

/// Cancels `source` with `reason`. If callbacks are registered, returns a dispatch (not started)
/// that owes them their run; `cancelled` says whether this call cancelled.
std::shared_ptr<callback_dispatch> mark_cancelled(const cancellation_source& source,
                                                  cancellation_reason reason,
                                                  const char* token_name, bool& cancelled) {
  const cancellation_token token = source.token();
  cancellation_state* state = state_of(token);
  const auto result = state->mark_cancelled(reason);
  cancelled = result != cancellation_state::mark_result::already_cancelled;
  if (result != cancellation_state::mark_result::callbacks_pending)
    return nullptr;
  try {
    return std::make_shared<callback_dispatch>(token_name, state);
  } catch (...) {
    state->run_callbacks();  // no memory to dispatch them: run them here rather than never
    return nullptr;
  }
}

}  // namespace
}  // namespace detail

std::string_view to_string(lifetime_state state) noexcept {
  switch (state) {
    case lifetime_state::starting:
      return "starting";
    case lifetime_state::started:
      return "started";
    case lifetime_state::stopping:
      return "stopping";
    case lifetime_state::stopped:
      return "stopped";
  }
  return "unknown";
}

std::string_view to_string(shutdown_work_item::kind_type kind) noexcept {
  switch (kind) {
    case shutdown_work_item::kind_type::lease:
      return "lease";
    case shutdown_work_item::kind_type::callback:
      return "callback";
    case shutdown_work_item::kind_type::token_callbacks:
      return "token callbacks";
  }
  return "unknown";
}

std::string_view to_string(shutdown_work_item::status_type status) noexcept {
  using s = shutdown_work_item::status_type;
  switch (status) {
    case s::pending:
      return "pending";
    case s::running:
      return "running";
    case s::holding:
      return "holding";
    case s::finished:
      return "finished";
    case s::overrun:
      return "overrun";
    case s::failed:
      return "failed";
  }
  return "unknown";
}

application_lifetime::application_lifetime()
    : work_(std::make_shared<detail::shutdown_work>()),
      driver_(std::make_shared<detail::driver_state>()) {}

application_lifetime::~application_lifetime() = default;

lifetime_state application_lifetime::state() const noexcept {
  if (stopped_.is_cancellation_requested())
    return lifetime_state::stopped;
  if (stopping_.is_cancellation_requested())
    return lifetime_state::stopping;
  if (started_.is_cancellation_requested())
    return lifetime_state::started;
  return lifetime_state::starting;
}

bool application_lifetime::stop_application(cancellation_reason reason) noexcept {
  if (reason == cancellation_reason::none)
    reason = cancellation_reason::application_stopping;
  bool cancelled = false;
  auto dispatch = detail::mark_cancelled(stopping_, reason, "stopping()", cancelled);
  if (!cancelled)
    return false;
  // The shutdown work counts the callbacks before the driver hears of the stop, so that the
  // drain cannot find it done before they ran.
  if (dispatch)
    work_->track(dispatch);
  std::function<void()> hook;
  {
    std::lock_guard lock(driver_->mutex);
    driver_->stop_begun = true;
    hook = std::move(driver_->stop_hook);
  }
  if (hook) {
    try {
      hook();
    } catch (...) {
      detail::report_callback_exception(std::current_exception());
    }
  }
  if (dispatch)
    dispatch->start();
  return true;
}

shutdown_work_report application_lifetime::shutdown_work() const {
  auto report = work_->report();
  std::shared_ptr<detail::callback_dispatch> stopped;
  {
    std::lock_guard lock(driver_->mutex);
    stopped = driver_->stopped_dispatch;
  }
  if (stopped)
    report.items.push_back(detail::shutdown_work::item_for(*stopped, false));
  return report;
}

lifetime_driver application_lifetime::take_driver() {
  std::lock_guard lock(driver_->mutex);
  if (driver_->taken)
    throw std::logic_error("application_lifetime: its driver was taken already");
  driver_->taken = true;
  return lifetime_driver(*this);
}

// ---- lifetime_driver ---------------------------------------------------------------------------

void lifetime_driver::on_stop_requested(std::function<void()> hook) {
  {
    std::lock_guard lock(app_->driver_->mutex);
    if (!app_->driver_->stop_begun) {
      app_->driver_->stop_hook = std::move(hook);
      return;
    }
  }
  hook();
}

bool lifetime_driver::notify_started() noexcept {
  if (app_->stopping_.is_cancellation_requested())
    return false;
  bool cancelled = false;
  auto dispatch = detail::mark_cancelled(app_->started_, cancellation_reason::requested,
                                         "started()", cancelled);
  if (dispatch) {
    app_->work_->track(dispatch);
    dispatch->start();
  }
  return cancelled;
}

void lifetime_driver::notify_stopped() noexcept {
  app_->stop_application();
  bool cancelled = false;
  auto dispatch = detail::mark_cancelled(app_->stopped_, cancellation_reason::application_stopping,
                                         "stopped()", cancelled);
  if (!dispatch)
    return;
  {
    std::lock_guard lock(app_->driver_->mutex);
    app_->driver_->stopped_dispatch = dispatch;
  }
  dispatch->start();
}

bool lifetime_driver::wait_for_stopped_callbacks(clock::time_point deadline) {
  std::shared_ptr<detail::callback_dispatch> stopped;
  {
    std::lock_guard lock(app_->driver_->mutex);
    stopped = app_->driver_->stopped_dispatch;
  }
  return !stopped || stopped->wait(deadline);
}

void lifetime_driver::on_stopped_callbacks_done(std::function<void()> notify) {
  std::shared_ptr<detail::callback_dispatch> stopped;
  {
    std::lock_guard lock(app_->driver_->mutex);
    stopped = app_->driver_->stopped_dispatch;
  }
  if (stopped)
    stopped->on_done(std::move(notify));
  else
    notify();
}

void lifetime_driver::begin_shutdown_work(clock::time_point box_end) {
  app_->work_->begin(box_end);
}

bool lifetime_driver::wait_for_shutdown_work(clock::time_point deadline) {
  return app_->work_->wait(deadline);
}

void lifetime_driver::on_shutdown_work_done(std::function<void()> notify) {
  app_->work_->on_done(std::move(notify));
}

void application_lifetime::on_stopping(std::string name,
                                       std::function<void(cancellation_token)> callback,
                                       clock::duration max) {
  work_->add_callback(std::move(name), std::move(callback), max);
}

void application_lifetime::on_stopping(std::string name, std::function<void()> callback,
                                       clock::duration max) {
  work_->add_callback(
      std::move(name), [callback = std::move(callback)](const cancellation_token&) { callback(); },
      max);
}

shutdown_lease application_lifetime::delay_shutdown(std::string name, clock::duration max) {
  return work_->take_lease(std::move(name), max);
}

void shutdown_lease::release() noexcept {
  if (record_ != nullptr) {
    work_->release(std::exchange(record_, nullptr));
    work_.reset();
  }
}

bool shutdown_lease::is_holding() const noexcept {
  return record_ != nullptr && work_->is_holding(record_);
}

const std::string& shutdown_lease::name() const noexcept {
  static const std::string empty;
  return record_ != nullptr ? record_->name : empty;
}

}  // namespace lifetime
