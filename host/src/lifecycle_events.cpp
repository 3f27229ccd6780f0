// SPDX-License-Identifier: MIT
// The lifecycle event feed (lifecycle_events.hpp): one bounded history read by cursors.
//
// Invariants (under state::mutex)
// - `history` holds consecutive sequence numbers, oldest first, at most `capacity` of them;
//   `latest` holds the newest event of each kind (also in `history` while it is recent).
// - A subscriber's `cursor` is the last sequence it has been given; everything above it is
//   waiting. `notified` is true from a notify until the subscriber's next take().
#include <lifetime/host/lifecycle_events.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>

namespace lifetime::host {

namespace {
// Set while the library is loaded: for a program linked with the host, its start.
const std::chrono::steady_clock::time_point process_began = std::chrono::steady_clock::now();
}  // namespace

std::chrono::microseconds since_process_start() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               process_began);
}

const lifecycle_value* lifecycle_event::field(std::string_view name) const noexcept {
  for (const auto& [key, value] : fields) {
    if (key == name)
      return &value;
  }
  return nullptr;
}

struct lifecycle_events::subscriber {
  std::function<void()> notify;
  std::uint64_t cursor = 0;      // under the feed's mutex
  std::uint64_t first_live = 0;  // the first sequence published after it subscribed
  std::atomic<bool> notified{false};
  std::atomic<std::uint64_t> dropped{0};
};

struct lifecycle_events::state {
  explicit state(std::size_t history_capacity)
      : capacity(std::max<std::size_t>(history_capacity, 1)) {}

  /// Under `mutex`: the events above `s.cursor` (the latest of each kind for what fell out of the
  /// history), counting the rest as dropped; moves the cursor to the newest.
  std::size_t collect(subscriber& s, std::vector<lifecycle_event_ptr>& out) {
    const std::uint64_t oldest = history.empty() ? next : history.front()->sequence;
    const std::size_t before = out.size();
    if (s.cursor + 1 < oldest) {
      std::vector<lifecycle_event_ptr> kept;
      for (const auto& [kind, event] : latest) {
        if (event->sequence > s.cursor && event->sequence < oldest)
          kept.push_back(event);
      }
      std::sort(kept.begin(), kept.end(),
                [](const auto& a, const auto& b) { return a->sequence < b->sequence; });
      // Only what was published after it subscribed counts as dropped: older events are a replay
      // the history no longer holds.
      const std::uint64_t from = std::max(s.cursor + 1, s.first_live);
      if (from < oldest) {
        const auto kept_live = std::count_if(kept.begin(), kept.end(),
                                             [&](const auto& e) { return e->sequence >= from; });
        s.dropped.fetch_add(oldest - from - static_cast<std::uint64_t>(kept_live),
                            std::memory_order_relaxed);
      }
      out.insert(out.end(), kept.begin(), kept.end());
      s.cursor = oldest - 1;
    }
    if (s.cursor + 1 < next) {
      const auto first = static_cast<std::ptrdiff_t>(s.cursor + 1 - oldest);
      out.insert(out.end(), history.begin() + first, history.end());
      s.cursor = next - 1;
    }
    return out.size() - before;
  }

  mutable std::mutex mutex;
  const std::size_t capacity;
  std::uint64_t next = 1;  // the next sequence number
  std::deque<lifecycle_event_ptr> history;
  std::map<std::string, lifecycle_event_ptr, std::less<>> latest;
  std::vector<std::shared_ptr<subscriber>> subscribers;
};

lifecycle_events::lifecycle_events(std::size_t history)
    : state_(std::make_shared<state>(history)) {}

lifecycle_events::~lifecycle_events() = default;

std::uint64_t lifecycle_events::publish(std::string kind, fields values) {
  auto event = std::make_shared<lifecycle_event>();
  event->kind = std::move(kind);
  event->fields = std::move(values);
  std::vector<std::shared_ptr<subscriber>> to_notify;
  std::uint64_t sequence = 0;
  {
    std::lock_guard lock(state_->mutex);
    sequence = state_->next++;
    event->sequence = sequence;
    event->at = since_process_start();  // under the lock: `at` grows with the sequence
    lifecycle_event_ptr shared = std::move(event);
    state_->latest[shared->kind] = shared;
    state_->history.push_back(std::move(shared));
    if (state_->history.size() > state_->capacity)
      state_->history.pop_front();
    for (const auto& s : state_->subscribers) {
      if (s->notify && !s->notified.exchange(true))
        to_notify.push_back(s);
    }
  }
  for (const auto& s : to_notify)
    s->notify();
  return sequence;
}

lifecycle_events::subscription lifecycle_events::subscribe(std::function<void()> notify,
                                                           std::uint64_t after) {
  auto self = std::make_shared<subscriber>();
  self->notify = std::move(notify);
  bool waiting = false;
  {
    std::lock_guard lock(state_->mutex);
    self->cursor = std::min(after, state_->next - 1);
    self->first_live = state_->next;
    waiting = self->cursor + 1 < state_->next;
    if (waiting && self->notify)
      self->notified = true;
    state_->subscribers.push_back(self);
  }
  if (waiting && self->notify)
    self->notify();
  return subscription(state_, std::move(self));
}

std::uint64_t lifecycle_events::last_sequence() const {
  std::lock_guard lock(state_->mutex);
  return state_->next - 1;
}

std::size_t lifecycle_events::subscriber_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->subscribers.size();
}

lifecycle_events::subscription& lifecycle_events::subscription::operator=(
    subscription&& other) noexcept {
  if (this != &other) {
    subscription gone(std::move(*this));
    feed_ = std::move(other.feed_);
    self_ = std::move(other.self_);
  }
  return *this;
}

lifecycle_events::subscription::~subscription() {
  if (!feed_ || !self_)
    return;
  std::lock_guard lock(feed_->mutex);
  auto& all = feed_->subscribers;
  all.erase(std::remove(all.begin(), all.end(), self_), all.end());
}

std::size_t lifecycle_events::subscription::take(std::vector<lifecycle_event_ptr>& out) {
  if (!feed_ || !self_)
    return 0;
  self_->notified = false;  // an event published from now on notifies again
  std::lock_guard lock(feed_->mutex);
  return feed_->collect(*self_, out);
}

std::uint64_t lifecycle_events::subscription::dropped() const noexcept {
  return self_ ? self_->dropped.load(std::memory_order_relaxed) : 0;
}

}  // namespace lifetime::host
