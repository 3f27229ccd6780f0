// SPDX-License-Identifier: MIT
#include "shutdown_work.hpp"

#include <algorithm>
#include <exception>
#include <thread>

#include <lifetime/callback_exception_handler.hpp>

#include "callback_dispatch.hpp"
#include "library_thread.hpp"

namespace lifetime::detail {
namespace {

clock::time_point saturating_add(clock::time_point start, clock::duration d) noexcept {
  if (d >= clock::time_point::max() - start)
    return clock::time_point::max();
  return start + d;
}

}  // namespace

shutdown_lease shutdown_work::take_lease(std::string name, clock::duration max) {
  std::lock_guard lock(mutex_);
  auto& record = leases_.emplace_back();
  record.name = std::move(name);
  record.taken = clock::now();
  record.max = max;
  if (begun_ && record.taken >= budget_end_) {
    // Asked for after the budget was spent: already expired.
    record.released = true;
    record.overrun = true;
    record.released_at = record.taken;
  } else if (begun_) {
    // Taken during the shutdown: it holds within its box, even if the work had finished.
    reopen();
  }
  changed_.notify_all();
  return shutdown_lease(shared_from_this(), &record);
}

void shutdown_work::release(lease_record* record) noexcept {
  std::lock_guard lock(mutex_);
  if (record->released) {
    // Expired at the budget before it was taken: only the record remains to forget.
    if (!begun_)
      leases_.remove_if([record](const lease_record& r) { return &r == record; });
    return;
  }
  if (!begun_) {
    leases_.remove_if([record](const lease_record& r) { return &r == record; });
    return;
  }
  record->released = true;
  record->released_at = clock::now();
  changed_.notify_all();
}

bool shutdown_work::is_holding(const lease_record* record) const noexcept {
  std::lock_guard lock(mutex_);
  return !record->released && !record->overrun && (!begun_ || clock::now() < lease_end(*record));
}

clock::time_point shutdown_work::lease_end(const lease_record& lease) const noexcept {
  const clock::time_point start = std::max(begun_at_, lease.taken);
  return std::min(saturating_add(start, lease.max), budget_end_);
}

clock::time_point shutdown_work::callback_end(const callback_record& callback) const noexcept {
  return std::min(saturating_add(callback.started_at, callback.max), budget_end_);
}

void shutdown_work::add_callback(std::string name, std::function<void(cancellation_token)> callback,
                                 clock::duration max) {
  std::lock_guard lock(mutex_);
  auto& record = callbacks_.emplace_back();
  record.name = std::move(name);
  record.callback = std::move(callback);
  record.max = max;
  if (begun_) {
    const clock::time_point now = clock::now();
    if (now >= budget_end_) {
      // Registered after the budget was spent: it never gets to run.
      record.status = shutdown_work_item::status_type::overrun;
      record.started_at = record.ended_at = now;
    } else {
      // Registered during the shutdown: it starts at once (after the one running, if any).
      reopen();
      if (!worker_active_)
        start_worker();
    }
  }
  changed_.notify_all();
}

void shutdown_work::begin(clock::time_point budget_end) {
  std::lock_guard lock(mutex_);
  if (begun_)
    return;
  begun_ = true;
  begun_at_ = clock::now();
  budget_end_ = budget_end;
  // Leases released before shutdown were forgotten; the rest start their time box now.
  start_worker();
  std::thread([self = shared_from_this()] {
    block_async_signals();
    self->supervise();
  }).detach();
}

void shutdown_work::reopen() {
  if (!finished_)
    return;
  finished_ = false;
  std::thread([self = shared_from_this()] {
    block_async_signals();
    self->supervise();
  }).detach();
}

void shutdown_work::start_worker() {
  const bool any_pending = std::any_of(callbacks_.begin(), callbacks_.end(), [](const auto& c) {
    return c.status == shutdown_work_item::status_type::pending;
  });
  if (!any_pending)
    return;
  worker_active_ = true;
  const std::uint64_t generation = ++worker_generation_;
  std::thread([self = shared_from_this(), generation] {
    block_async_signals();
    self->run_worker(generation);
  }).detach();
}

void shutdown_work::run_worker(std::uint64_t generation) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (generation != worker_generation_ || finished_)
      return;
    // Newest first.
    auto next = std::find_if(callbacks_.rbegin(), callbacks_.rend(), [](const auto& c) {
      return c.status == shutdown_work_item::status_type::pending;
    });
    if (next == callbacks_.rend() || clock::now() >= budget_end_) {
      worker_active_ = false;
      changed_.notify_all();
      return;
    }
    callback_record& record = *next;
    record.status = shutdown_work_item::status_type::running;
    record.started_at = clock::now();
    running_ = &record;
    changed_.notify_all();
    auto callback = std::move(record.callback);
    cancellation_token token = record.box.token();
    lock.unlock();

    std::string error;
    bool failed = false;
    try {
      callback(std::move(token));
    } catch (...) {
      failed = true;
      error = describe_exception(std::current_exception());
    }

    lock.lock();
    if (record.status != shutdown_work_item::status_type::running) {
      // Abandoned by the supervisor while it ran; a fresh worker has taken over.
      return;
    }
    record.status = failed ? shutdown_work_item::status_type::failed
                           : shutdown_work_item::status_type::finished;
    record.error = std::move(error);
    record.ended_at = clock::now();
    running_ = nullptr;
    changed_.notify_all();
  }
}

void shutdown_work::track(std::shared_ptr<callback_dispatch> dispatch) {
  {
    std::lock_guard lock(mutex_);
    dispatches_.push_back(dispatch_record{dispatch, false, {}, {}});
    if (begun_)
      reopen();
  }
  dispatch->on_done([weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      std::lock_guard lock(self->mutex_);
      self->changed_.notify_all();
    }
  });
}

shutdown_work_item shutdown_work::item_for(const callback_dispatch& dispatch, bool overrun,
                                           const std::string& abandoned_in,
                                           clock::time_point abandoned_at) {
  using status = shutdown_work_item::status_type;
  const auto now = dispatch.status();
  shutdown_work_item item{shutdown_work_item::kind_type::token_callbacks,
                          status::running,
                          dispatch.token_name(),
                          {},
                          clock::duration::max(),
                          {}};
  const std::string& running = overrun ? abandoned_in : now.running;
  if (!running.empty())
    item.name += ": " + running;
  if (overrun) {
    item.status = status::overrun;
    item.held = abandoned_at - now.began;
  } else if (now.done) {
    item.status = status::finished;
    item.held = now.ended - now.began;
  } else {
    item.held = clock::now() - now.began;
  }
  return item;
}

bool shutdown_work::is_done() const noexcept {
  using status = shutdown_work_item::status_type;
  for (const auto& d : dispatches_) {
    if (!d.overrun && !d.dispatch->is_done())
      return false;
  }
  for (const auto& c : callbacks_) {
    if (c.status == status::pending || c.status == status::running)
      return false;
  }
  for (const auto& l : leases_) {
    if (!l.released && !l.overrun)
      return false;
  }
  return true;
}

void shutdown_work::supervise() {
  using status = shutdown_work_item::status_type;
  std::vector<cancellation_source> to_cancel;
  std::vector<std::function<void()>> listeners;
  {
    std::unique_lock lock(mutex_);
    for (;;) {
      const clock::time_point now = clock::now();
      clock::time_point wake = budget_end_;
      for (auto& l : leases_) {
        if (l.released || l.overrun)
          continue;
        const clock::time_point end = lease_end(l);
        if (now >= end) {
          l.overrun = true;
        } else {
          wake = std::min(wake, end);
        }
      }
      if (running_ != nullptr) {
        const clock::time_point end = callback_end(*running_);
        if (now >= end) {
          running_->status = status::overrun;
          running_->ended_at = now;
          to_cancel.push_back(running_->box);
          running_ = nullptr;
          worker_active_ = false;
          ++worker_generation_;  // the abandoned worker exits when (if) its callback returns
          if (now < budget_end_)
            start_worker();
        } else {
          wake = std::min(wake, end);
        }
      }
      if (now >= budget_end_) {
        for (auto& d : dispatches_) {
          if (d.overrun)
            continue;
          auto current = d.dispatch->status();
          if (!current.done) {
            d.overrun = true;  // abandoned: its thread is left to it
            d.abandoned_in = std::move(current.running);
            d.abandoned_at = now;
          }
        }
        for (auto& c : callbacks_) {
          if (c.status == status::pending) {
            c.status = status::overrun;  // never got to run
            c.started_at = c.ended_at = now;
          }
        }
      }
      if (!to_cancel.empty()) {
        lock.unlock();
        for (auto& source : to_cancel)
          source.cancel(cancellation_reason::deadline_exceeded);
        to_cancel.clear();
        lock.lock();
        continue;
      }
      if (is_done() || now >= budget_end_)
        break;
      changed_.wait_until(lock, wake);
    }
    finished_ = true;
    ++worker_generation_;
    listeners.swap(done_listeners_);
    changed_.notify_all();
  }
  for (auto& listener : listeners) {
    try {
      listener();
    } catch (...) {
      report_callback_exception(std::current_exception());
    }
  }
}

bool shutdown_work::wait(clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [this] { return finished_; });
  return finished_ && is_done() &&
         std::none_of(
             callbacks_.begin(), callbacks_.end(),
             [](const auto& c) { return c.status == shutdown_work_item::status_type::overrun; }) &&
         std::none_of(leases_.begin(), leases_.end(), [](const auto& l) { return l.overrun; }) &&
         std::none_of(dispatches_.begin(), dispatches_.end(),
                      [](const auto& d) { return d.overrun; });
}

void shutdown_work::on_done(std::function<void()> notify) {
  {
    std::lock_guard lock(mutex_);
    if (!finished_) {
      done_listeners_.push_back(std::move(notify));
      return;
    }
  }
  notify();
}

shutdown_work_report shutdown_work::report() const {
  using status = shutdown_work_item::status_type;
  using kind = shutdown_work_item::kind_type;
  std::lock_guard lock(mutex_);
  const clock::time_point now = clock::now();
  shutdown_work_report result;
  result.done = finished_;
  for (const auto& l : leases_) {
    shutdown_work_item item{kind::lease, status::holding, l.name, {}, l.max, {}};
    const clock::time_point start = begun_ ? std::max(begun_at_, l.taken) : l.taken;
    if (l.overrun) {
      item.status = status::overrun;
      const clock::time_point end = l.released ? l.released_at : now;
      item.held = std::max(end, start) - start;
    } else if (l.released) {
      item.status = status::finished;
      item.held = std::max(l.released_at, start) - start;
    } else {
      item.held = now - start;
    }
    if (item.status != status::finished && item.status != status::holding)
      result.done = false;
    result.items.push_back(std::move(item));
  }
  for (const auto& c : callbacks_) {
    shutdown_work_item item{kind::callback, c.status, c.name, {}, c.max, c.error};
    if (c.status == status::running) {
      item.held = now - c.started_at;
    } else if (c.status != status::pending) {
      item.held = c.ended_at - c.started_at;
    }
    if (c.status == status::overrun)
      result.done = false;
    result.items.push_back(std::move(item));
  }
  for (const auto& d : dispatches_) {
    result.items.push_back(item_for(*d.dispatch, d.overrun, d.abandoned_in, d.abandoned_at));
    if (d.overrun)
      result.done = false;
  }
  if (!finished_)
    result.done = false;
  return result;
}

}  // namespace lifetime::detail
