// SPDX-License-Identifier: MIT
// lifecycle_events: a feed of what happens to the process — its start, the phases of a stop,
// reloads, generations, the in-flight count draining, how the old generation's requests ended — for
// anyone who wants to watch it happen (the demo's page streams it as server-sent events).
//
// Any component publishes an event: a kind ("process", "phase", "reload", "upgrade",
// "generation", "in_flight", "request_ended", ...) and a few named string or number fields. The
// feed numbers the events (1, 2, ...) and stamps them with the time since the process started.
//
// @par What a subscriber gets
// Everything published after it subscribed, and first a replay: the last `history` events, plus
// the latest event of every kind even when it is older (so a late subscriber still learns which
// process and generation serve), in publication order. A subscriber may resume after the last
// event it saw (`after`, e.g. an EventSource's Last-Event-ID).
//
// @par A slow subscriber never blocks the publisher
// The feed keeps one bounded history and no queue per subscriber: a subscriber reads from it at
// its own pace with take(). What fell out of the history before it read it is lost to it and
// counted (dropped()); the latest event of each kind among those is still delivered. publish()
// holds the feed's mutex only to append, and calls a subscriber's `notify` at most once until
// that subscriber's next take() (coalesced).
//
// @par Thread safety
// Every member may be called from any thread. publish() never waits for a subscriber; `notify`
// runs on the publishing thread, outside the feed's lock, and must not block (post a wake-up to
// the subscriber's own executor). A notify may still run once after its subscription was
// destroyed: it must own what it uses (a shared_ptr). Nothing throws but std::bad_alloc.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lifetime::host {

/// A field's value: an integer, a fraction or a text.
using lifecycle_value = std::variant<std::int64_t, double, std::string>;

struct lifecycle_event {
  std::uint64_t sequence = 0;      ///< 1, 2, ... in publication order
  std::chrono::microseconds at{};  ///< since the process started
  std::string kind;                ///< "process", "phase", "reload", ...
  std::vector<std::pair<std::string, lifecycle_value>> fields;

  /// The field named `name`, or null.
  const lifecycle_value* field(std::string_view name) const noexcept;
};

using lifecycle_event_ptr = std::shared_ptr<const lifecycle_event>;

class lifecycle_events {
  struct state;
  struct subscriber;

 public:
  using fields = std::vector<std::pair<std::string, lifecycle_value>>;
  static constexpr std::size_t default_history = 512;

  explicit lifecycle_events(std::size_t history = default_history);
  ~lifecycle_events();
  lifecycle_events(const lifecycle_events&) = delete;
  lifecycle_events& operator=(const lifecycle_events&) = delete;

  /// Publishes an event now; returns its sequence number. Any thread; never waits for a
  /// subscriber (see the header comment).
  std::uint64_t publish(std::string kind, fields values = {});

  /// One subscriber's view of the feed; unsubscribes when destroyed. Movable.
  class subscription {
   public:
    subscription() = default;
    subscription(subscription&&) noexcept = default;
    subscription& operator=(subscription&&) noexcept;
    ~subscription();

    /// Appends to `out` the events not yet taken (the replay first), oldest first; returns how
    /// many. Never waits.
    std::size_t take(std::vector<lifecycle_event_ptr>& out);
    /// Events this subscriber lost because it read them too late (see the header comment).
    std::uint64_t dropped() const noexcept;

   private:
    friend class lifecycle_events;
    subscription(std::shared_ptr<state> feed, std::shared_ptr<subscriber> self)
        : feed_(std::move(feed)), self_(std::move(self)) {}
    std::shared_ptr<state> feed_;
    std::shared_ptr<subscriber> self_;
  };

  /// Subscribes; `notify` (may be empty) is called when events are waiting to be taken (see
  /// Thread safety). The replay covers what the feed still holds after sequence `after`
  /// (0: from the start). If there is a replay, `notify` is called once before this returns.
  subscription subscribe(std::function<void()> notify = {}, std::uint64_t after = 0);

  /// The sequence number of the last event published (0: none yet).
  std::uint64_t last_sequence() const;
  /// Subscribers now.
  std::size_t subscriber_count() const;

 private:
  std::shared_ptr<state> state_;
};

/// The time since the process started (the origin of lifecycle_event::at).
std::chrono::microseconds since_process_start() noexcept;

}  // namespace lifetime::host
