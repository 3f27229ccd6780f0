// SPDX-License-Identifier: MIT
#include <lifetime/host/lifecycle_events.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using lifetime::host::lifecycle_event_ptr;
using lifetime::host::lifecycle_events;

namespace {

std::vector<lifecycle_event_ptr> take_all(lifecycle_events::subscription& s) {
  std::vector<lifecycle_event_ptr> out;
  s.take(out);
  return out;
}

std::int64_t number(const lifecycle_event_ptr& e, std::string_view name) {
  const auto* value = e->field(name);
  REQUIRE(value != nullptr);
  return std::get<std::int64_t>(*value);
}

}  // namespace

TEST_CASE(
    "the lifecycle feed numbers events in publication order and stamps them with the time since "
    "the "
    "start",
    "[host][lifecycle]") {
  lifecycle_events feed;
  auto s = feed.subscribe();
  CHECK(feed.publish("process", {{"state", std::string("starting")}, {"pid", std::int64_t{42}}}) ==
        1);
  CHECK(feed.publish("phase", {{"took_ms", 1.5}}) == 2);
  const auto got = take_all(s);
  REQUIRE(got.size() == 2);
  CHECK(got[0]->sequence == 1);
  CHECK(got[0]->kind == "process");
  CHECK(std::get<std::string>(*got[0]->field("state")) == "starting");
  CHECK(number(got[0], "pid") == 42);
  CHECK(std::get<double>(*got[1]->field("took_ms")) == 1.5);
  CHECK(got[1]->field("missing") == nullptr);
  CHECK(got[0]->at.count() > 0);
  CHECK(got[0]->at <= got[1]->at);
  CHECK(take_all(s).empty());
  CHECK(feed.last_sequence() == 2);
}

TEST_CASE("a new lifecycle subscriber gets the last events of the history, then live ones",
          "[host][lifecycle]") {
  lifecycle_events feed(4);
  for (std::int64_t i = 1; i <= 10; ++i)
    feed.publish("in_flight", {{"count", i}});
  auto s = feed.subscribe();
  auto got = take_all(s);
  REQUIRE(got.size() == 4);
  CHECK(got.front()->sequence == 7);
  CHECK(got.back()->sequence == 10);
  CHECK(s.dropped() == 0);  // older than the subscription: not dropped, only not kept
  feed.publish("in_flight", {{"count", std::int64_t{11}}});
  got = take_all(s);
  REQUIRE(got.size() == 1);
  CHECK(number(got[0], "count") == 11);
}

TEST_CASE("a late lifecycle subscriber still gets the latest event of every kind, in order",
          "[host][lifecycle]") {
  lifecycle_events feed(3);
  feed.publish("process", {{"state", std::string("ready")}});  // 1
  feed.publish("generation", {{"number", std::int64_t{1}}});   // 2
  feed.publish("generation", {{"number", std::int64_t{2}}});   // 3
  for (int i = 0; i < 5; ++i)
    feed.publish("in_flight", {{"count", std::int64_t{i}}});  // 4..8
  auto s = feed.subscribe();
  const auto got = take_all(s);
  REQUIRE(got.size() == 5);
  CHECK(got[0]->kind == "process");
  CHECK(got[1]->kind == "generation");
  CHECK(number(got[1], "number") == 2);
  CHECK(got[2]->sequence == 6);
  CHECK(got[4]->sequence == 8);
}

TEST_CASE("a lifecycle subscriber resumes after the last event it saw", "[host][lifecycle]") {
  lifecycle_events feed;
  for (int i = 0; i < 5; ++i)
    feed.publish("reload");
  auto s = feed.subscribe({}, 3);
  const auto got = take_all(s);
  REQUIRE(got.size() == 2);
  CHECK(got[0]->sequence == 4);
  auto beyond = feed.subscribe({}, 1000);  // another feed's number: nothing to replay
  CHECK(take_all(beyond).empty());
}

TEST_CASE("a lifecycle subscriber that reads too slowly loses the oldest events and counts them",
          "[host][lifecycle]") {
  lifecycle_events feed(8);
  auto s = feed.subscribe();
  for (std::int64_t i = 1; i <= 100; ++i)
    feed.publish("in_flight", {{"count", i}});
  const auto got = take_all(s);
  REQUIRE(got.size() == 8);
  CHECK(got.front()->sequence == 93);
  CHECK(s.dropped() == 92);
  feed.publish("phase");
  REQUIRE(take_all(s).size() == 1);
  CHECK(s.dropped() == 92);
}

TEST_CASE("a lifecycle subscriber is notified once until it takes, then again",
          "[host][lifecycle]") {
  lifecycle_events feed;
  std::atomic<int> calls{0};
  auto s = feed.subscribe([&calls] { ++calls; });
  CHECK(calls == 0);  // nothing to replay
  for (int i = 0; i < 50; ++i)
    feed.publish("in_flight");
  CHECK(calls == 1);
  CHECK(take_all(s).size() == 50);
  feed.publish("in_flight");
  CHECK(calls == 2);
  auto late = feed.subscribe([&calls] { ++calls; });
  CHECK(calls == 3);  // a replay waits for the late subscriber
}

TEST_CASE("a destroyed lifecycle subscription is no longer notified", "[host][lifecycle]") {
  lifecycle_events feed;
  std::atomic<int> calls{0};
  {
    auto s = feed.subscribe([&calls] { ++calls; });
    CHECK(feed.subscriber_count() == 1);
  }
  CHECK(feed.subscriber_count() == 0);
  feed.publish("phase");
  CHECK(calls == 0);
}

TEST_CASE("lifecycle publishers on several threads never wait for a subscriber that does not read",
          "[host][lifecycle][threads]") {
  lifecycle_events feed(64);
  // This subscriber's notify blocks nothing, but it never takes: the publishers must not care.
  std::atomic<int> stalled_notified{0};
  auto stalled = feed.subscribe([&] { ++stalled_notified; });

  // A reader on its own thread, woken by notify, takes as it goes.
  std::mutex mutex;
  std::condition_variable cv;
  bool woken = false;
  auto reader_sub = feed.subscribe([&] {
    std::lock_guard lock(mutex);
    woken = true;
    cv.notify_one();
  });
  constexpr int threads = 4;
  constexpr int each = 5000;
  std::atomic<bool> publishers_done{false};
  std::uint64_t last_seen = 0;
  std::uint64_t received = 0;
  bool ordered = true;
  std::thread reader([&] {
    std::vector<lifecycle_event_ptr> batch;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return woken; });
        woken = false;
      }
      batch.clear();
      reader_sub.take(batch);
      for (const auto& e : batch) {
        ordered = ordered && e->sequence > last_seen;
        last_seen = e->sequence;
        ++received;
      }
      if (publishers_done && last_seen == feed.last_sequence())
        return;
    }
  });
  std::vector<std::thread> publishers;
  for (int t = 0; t < threads; ++t) {
    publishers.emplace_back([&feed, t] {
      for (int i = 0; i < each; ++i)
        feed.publish("request_ended", {{"thread", std::int64_t{t}}, {"i", std::int64_t{i}}});
    });
  }
  for (auto& p : publishers)
    p.join();
  publishers_done = true;
  {
    std::lock_guard lock(mutex);
    woken = true;
    cv.notify_one();
  }
  reader.join();

  constexpr std::uint64_t total = std::uint64_t{threads} * each;
  CHECK(feed.last_sequence() == total);
  CHECK(ordered);
  CHECK(last_seen == total);
  CHECK(received + reader_sub.dropped() == total);
  // The stalled subscriber was notified once and holds nothing: its history is the feed's.
  CHECK(stalled_notified == 1);
  std::vector<lifecycle_event_ptr> left;
  stalled.take(left);
  CHECK(left.size() == 64);
  CHECK(stalled.dropped() == total - 64);
}
