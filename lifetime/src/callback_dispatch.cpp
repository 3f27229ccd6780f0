// SPDX-License-Identifier: MIT
#include "callback_dispatch.hpp"

#include <thread>
#include <utility>

#include <lifetime/callback_exception_handler.hpp>

#include "library_thread.hpp"

namespace lifetime::detail {
namespace {
thread_local const callback_dispatch* running_dispatch = nullptr;
}  // namespace

callback_dispatch::callback_dispatch(std::string token_name, cancellation_state* state)
    : token_name_(std::move(token_name)), state_(state) {}

void callback_dispatch::start() noexcept {
  try {
    std::thread([self = shared_from_this()] {
      block_async_signals();
      self->run();
    }).detach();
  } catch (...) {
    run();  // no thread to be had: better late on this thread than never
  }
}

void callback_dispatch::run() noexcept {
  {
    scoped_callback_observer observe(*this);
    const callback_dispatch* outer = std::exchange(running_dispatch, this);
    state_->run_callbacks();
    running_dispatch = outer;
  }
  std::vector<std::function<void()>> listeners;
  {
    std::lock_guard lock(mutex_);
    done_ = true;
    ended_ = clock::now();
    running_.clear();
    listeners.swap(listeners_);
  }
  done_changed_.notify_all();
  for (auto& listener : listeners) {
    try {
      listener();
    } catch (...) {
      report_callback_exception(std::current_exception());
    }
  }
}

void callback_dispatch::running(std::string_view description) noexcept {
  std::lock_guard lock(mutex_);
  ++depth_;
  try {
    running_.emplace_back(description);
  } catch (...) {
    // No memory for the name: the depth still counts the call.
  }
}

void callback_dispatch::returned() noexcept {
  std::lock_guard lock(mutex_);
  if (running_.size() == depth_)
    running_.pop_back();
  --depth_;
}

callback_dispatch::snapshot callback_dispatch::status() const {
  std::lock_guard lock(mutex_);
  return snapshot{done_, running_.empty() ? std::string() : running_.back(), began_, ended_};
}

bool callback_dispatch::is_done() const noexcept {
  std::lock_guard lock(mutex_);
  return done_;
}

bool callback_dispatch::wait(clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
  return done_changed_.wait_until(lock, deadline, [this] { return done_; });
}

void callback_dispatch::on_done(std::function<void()> notify) {
  {
    std::lock_guard lock(mutex_);
    if (!done_) {
      listeners_.push_back(std::move(notify));
      return;
    }
  }
  notify();
}

std::string callback_dispatch::running_name() const {
  std::lock_guard lock(mutex_);
  if (running_.empty())
    return token_name_;
  return token_name_ + ": " + running_.back();
}

}  // namespace lifetime::detail

std::string lifetime::running_callback_name() {
  const auto* dispatch = detail::running_dispatch;
  return dispatch != nullptr ? dispatch->running_name() : std::string();
}
