// SPDX-License-Identifier: MIT
#include <lifetime/application_lifetime.hpp>

#include "shutdown_work.hpp"

namespace lifetime {

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
  return kind == shutdown_work_item::kind_type::lease ? "lease" : "callback";
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

application_lifetime::application_lifetime() : work_(std::make_shared<detail::shutdown_work>()) {}

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
  return stopping_.cancel(reason);
}

bool application_lifetime::notify_started() noexcept {
  if (stopping_.is_cancellation_requested())
    return false;
  return started_.cancel(cancellation_reason::requested);
}

void application_lifetime::notify_stopped() noexcept {
  stop_application();
  stopped_.cancel(cancellation_reason::application_stopping);
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

void application_lifetime::begin_shutdown_work(clock::time_point budget_end) {
  work_->begin(budget_end);
}

bool application_lifetime::wait_for_shutdown_work(clock::time_point deadline) {
  return work_->wait(deadline);
}

void application_lifetime::on_shutdown_work_done(std::function<void()> notify) {
  work_->on_done(std::move(notify));
}

shutdown_work_report application_lifetime::shutdown_work() const {
  return work_->report();
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
