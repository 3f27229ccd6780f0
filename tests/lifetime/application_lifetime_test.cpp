// SPDX-License-Identifier: MIT
// application_lifetime: states, stop_application, and the named, time-boxed stopping callbacks.
#include <lifetime/application_lifetime.hpp>

#include <atomic>
#include <barrier>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using lifetime::application_lifetime;
using lifetime::cancellation_reason;
using lifetime::cancellation_token;
using lifetime::lifetime_state;
using lifetime::shutdown_work_item;
using lifetime_test::event;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using status = shutdown_work_item::status_type;

static_assert(!std::is_copy_constructible_v<application_lifetime>);
static_assert(!std::is_move_constructible_v<application_lifetime>);
static_assert(noexcept(std::declval<application_lifetime&>().stop_application()));

namespace {

const shutdown_work_item* find_item(const lifetime::shutdown_work_report& report,
                                    std::string_view name) {
  for (const auto& item : report.items) {
    if (item.name == name)
      return &item;
  }
  return nullptr;
}

// Records the order callbacks ran in, and on which threads.
struct recorder {
  std::mutex mutex;
  std::vector<std::string> order;
  std::vector<std::thread::id> threads;
  void record(std::string name) {
    std::lock_guard lock(mutex);
    order.push_back(std::move(name));
    threads.push_back(std::this_thread::get_id());
  }
};

}  // namespace

TEST_CASE("a new application lifetime is starting and nothing has fired") {
  application_lifetime app;
  CHECK(app.state() == lifetime_state::starting);
  CHECK_FALSE(app.started().is_cancellation_requested());
  CHECK_FALSE(app.stopping().is_cancellation_requested());
  CHECK_FALSE(app.stopped().is_cancellation_requested());
  CHECK(app.stop_reason() == cancellation_reason::none);
  CHECK(lifetime::to_string(lifetime_state::starting) == "starting");
  CHECK(lifetime::to_string(lifetime_state::started) == "started");
  CHECK(lifetime::to_string(lifetime_state::stopping) == "stopping");
  CHECK(lifetime::to_string(lifetime_state::stopped) == "stopped");
}

TEST_CASE("the states go starting, started, stopping, stopped and the tokens fire in order") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  event started;
  event stopping;
  event stopped;
  auto r1 = app.started().register_callback([&] { started.set(); });
  auto r2 = app.stopping().register_callback([&] { stopping.set(); });
  auto r3 = app.stopped().register_callback([&] { stopped.set(); });
  CHECK(app_driver.notify_started());
  CHECK_FALSE(app_driver.notify_started());
  CHECK(app.state() == lifetime_state::started);
  CHECK(app.started().reason() == cancellation_reason::requested);
  CHECK(started.wait());
  CHECK(app.stop_application(cancellation_reason::restart));
  CHECK(app.state() == lifetime_state::stopping);
  CHECK(app.stopping().is_cancellation_requested());  // marked before stop_application returns
  CHECK(stopping.wait());
  app_driver.notify_stopped();
  CHECK(app.state() == lifetime_state::stopped);
  CHECK(app_driver.wait_for_stopped_callbacks(clock_type::now() + lifetime_test::patience));
  CHECK(stopped.is_set());
  CHECK(app.stopped().reason() == cancellation_reason::application_stopping);
  app_driver.notify_stopped();  // idempotent
  CHECK(app.state() == lifetime_state::stopped);
}

TEST_CASE("stop_application is idempotent: true once, and the first reason stays") {
  application_lifetime app;
  CHECK(app.stop_application(cancellation_reason::client_disconnected));
  CHECK_FALSE(app.stop_application(cancellation_reason::restart));
  CHECK_FALSE(app.stop_application());
  CHECK(app.stop_reason() == cancellation_reason::client_disconnected);
  CHECK(app.stopping().reason() == cancellation_reason::client_disconnected);
}

TEST_CASE("stop_application defaults to application_stopping, also for reason none") {
  application_lifetime a;
  a.stop_application();
  CHECK(a.stop_reason() == cancellation_reason::application_stopping);
  application_lifetime b;
  b.stop_application(cancellation_reason::none);
  CHECK(b.stop_reason() == cancellation_reason::application_stopping);
}

TEST_CASE("a stop before the start goes from starting to stopping and the start never comes") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  app.stop_application();
  CHECK(app.state() == lifetime_state::stopping);
  CHECK_FALSE(app_driver.notify_started());
  CHECK_FALSE(app.started().is_cancellation_requested());
  CHECK(app.state() == lifetime_state::stopping);
}

TEST_CASE("notify_stopped without a stop first begins the stop too") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  app_driver.notify_stopped();
  CHECK(app.stopping().is_cancellation_requested());
  CHECK(app.state() == lifetime_state::stopped);
}

TEST_CASE("stopping() callbacks run on a library thread, never on the thread that stops") {
  application_lifetime app;
  std::thread::id ran_on;
  event ran;
  auto registration = app.stopping().register_callback([&] {
    ran_on = std::this_thread::get_id();
    ran.set();
  });
  std::thread::id stopper_id;
  std::thread stopper([&] {
    stopper_id = std::this_thread::get_id();
    app.stop_application();
  });
  stopper.join();
  REQUIRE(ran.wait());
  CHECK(ran_on != stopper_id);
  CHECK(ran_on != std::this_thread::get_id());
}

TEST_CASE("stop_application returns while a stopping() callback still blocks") {
  application_lifetime app;
  event running;
  event release;
  auto registration = app.stopping().register_callback([&] {
    running.set();
    (void)release.wait();
  });
  CHECK(app.stop_application());
  CHECK(app.state() == lifetime_state::stopping);
  REQUIRE(running.wait());
  release.set();
}

TEST_CASE("a stopping() callback registered after the stop runs inline on the registering thread") {
  application_lifetime app;
  app.stop_application();
  std::thread::id ran_on;
  auto registration =
      app.stopping().register_callback([&] { ran_on = std::this_thread::get_id(); });
  CHECK(ran_on == std::this_thread::get_id());
}

TEST_CASE("a registration destroyed before the stop's callbacks ran never runs") {
  application_lifetime app;
  event release;
  event first_running;
  std::atomic<bool> second_ran{false};
  // Newest first: `blocker` runs first and holds the dispatch while `second` is destroyed.
  auto second = std::make_unique<lifetime::cancellation_registration<std::function<void()>>>(
      app.stopping(), std::function<void()>([&] { second_ran = true; }));
  auto blocker = app.stopping().register_callback([&] {
    first_running.set();
    (void)release.wait();
  });
  app.stop_application();
  REQUIRE(first_running.wait());
  second.reset();  // unlinked, not waited for: it has not started
  release.set();
  auto driver = app.take_driver();
  driver.begin_shutdown_work(clock_type::now() + 20s);
  CHECK(driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  CHECK_FALSE(second_ran);
}

TEST_CASE("the driver is handed out once") {
  application_lifetime app;
  [[maybe_unused]] auto driver = app.take_driver();
  CHECK_THROWS_AS(app.take_driver(), std::logic_error);
}

TEST_CASE("exactly one of many racing stop_application calls begins the stop", "[threads]") {
  lifetime_test::stress_rounds rounds(500);
  while (rounds.next()) {
    application_lifetime app;
    std::atomic<int> winners{0};
    std::atomic<int> fired{0};
    auto registration = app.stopping().register_callback([&] { fired.fetch_add(1); });
    std::barrier start(3);
    std::vector<std::thread> pool;
    for (int t = 0; t < 3; ++t) {
      pool.emplace_back([&] {
        start.arrive_and_wait();
        if (app.stop_application())
          winners.fetch_add(1);
      });
    }
    for (auto& t : pool)
      t.join();
    REQUIRE(winners == 1);
    auto driver = app.take_driver();
    driver.begin_shutdown_work(clock_type::now() + 20s);
    REQUIRE(driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
    REQUIRE(fired == 1);
  }
}

TEST_CASE("stopping callbacks run one at a time") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  for (int i = 0; i < 8; ++i) {
    app.on_stopping("callback " + std::to_string(i), [&] {
      const int now = running.fetch_add(1) + 1;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::yield();
      running.fetch_sub(1);
    });
  }
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now() + 20s);
  CHECK(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  CHECK(most == 1);
}

TEST_CASE("stopping callbacks wait for begin_shutdown_work, then run newest first on a worker") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  recorder rec;
  app.on_stopping("first", [&] { rec.record("first"); });
  app.on_stopping("second", [&](cancellation_token token) {
    rec.record(token.is_cancellation_requested() ? "second (cancelled)" : "second");
  });
  app.on_stopping("third", [&] { rec.record("third"); });
  app.stop_application();
  {
    std::lock_guard lock(rec.mutex);
    CHECK(rec.order.empty());
  }
  app_driver.begin_shutdown_work(clock_type::now() + 20s);
  CHECK(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  CHECK(rec.order == std::vector<std::string>{"third", "second", "first"});
  for (auto id : rec.threads)
    CHECK(id != std::this_thread::get_id());
  const auto report = app.shutdown_work();
  CHECK(report.done);
  REQUIRE(report.items.size() == 3);
  for (const auto& item : report.items) {
    CHECK(item.kind == shutdown_work_item::kind_type::callback);
    CHECK(item.status == status::finished);
  }
}

TEST_CASE(
    "a stopping callback that blocks forever is abandoned at its max and the rest still "
    "run") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  event stuck_running;
  event release_stuck;
  event stuck_returned;
  cancellation_token stuck_token;
  std::thread::id stuck_thread;
  std::thread::id older_thread;
  event older_ran;
  app.on_stopping("older", [&] {
    older_thread = std::this_thread::get_id();
    older_ran.set();
  });
  app.on_stopping(
      "stuck",
      [&](cancellation_token token) {
        stuck_token = token;
        stuck_thread = std::this_thread::get_id();
        stuck_running.set();
        (void)release_stuck.wait();  // ignores its token: blocks "forever"
        stuck_returned.set();
      },
      100ms);
  app.stop_application();
  const auto start = clock_type::now();
  app_driver.begin_shutdown_work(start + 30s);
  const bool in_time = app_driver.wait_for_shutdown_work(start + 25s);
  const auto waited = clock_type::now() - start;
  CHECK_FALSE(in_time);
  CHECK(waited >= 100ms);
  CHECK(waited < 10s);  // at the callback's max, not at the 30 s budget
  REQUIRE(stuck_running.is_set());
  REQUIRE(older_ran.wait());
  CHECK(older_thread != stuck_thread);  // a fresh worker
  CHECK(stuck_token.is_cancellation_requested());
  CHECK(stuck_token.reason() == cancellation_reason::deadline_exceeded);
  const auto report = app.shutdown_work();
  CHECK_FALSE(report.done);
  const auto* stuck = find_item(report, "stuck");
  REQUIRE(stuck != nullptr);
  CHECK(stuck->status == status::overrun);
  CHECK(stuck->held >= 100ms);
  CHECK(stuck->max == 100ms);
  const auto* older = find_item(report, "older");
  REQUIRE(older != nullptr);
  CHECK(older->status == status::finished);
  release_stuck.set();
  CHECK(stuck_returned.wait());
  // Returning late changes nothing.
  CHECK(find_item(app.shutdown_work(), "stuck")->status == status::overrun);
}

TEST_CASE("a stopping callback that honours its token returns when its box ends") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  event returned;
  app.on_stopping(
      "polite",
      [&](cancellation_token token) {
        event cancelled;
        auto r = token.register_callback([&] { cancelled.set(); });
        (void)cancelled.wait();
        returned.set();
      },
      50ms);
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now() + 30s);
  CHECK_FALSE(app_driver.wait_for_shutdown_work(clock_type::now() + 25s));
  CHECK(returned.wait());
  CHECK(find_item(app.shutdown_work(), "polite")->status == status::overrun);
}

TEST_CASE(
    "a stopping callback without a max is abandoned at the end of the budget and the "
    "ones that never ran are overrun") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  event release;
  event returned;
  std::atomic<bool> never_ran{true};
  app.on_stopping("never", [&] { never_ran = false; });
  app.on_stopping("blocks", [&] {
    (void)release.wait();
    returned.set();
  });
  app.stop_application();
  const auto start = clock_type::now();
  app_driver.begin_shutdown_work(start + 150ms);
  CHECK_FALSE(app_driver.wait_for_shutdown_work(start + 25s));
  const auto waited = clock_type::now() - start;
  CHECK(waited >= 150ms);
  CHECK(waited < 10s);
  const auto report = app.shutdown_work();
  CHECK(find_item(report, "blocks")->status == status::overrun);
  CHECK(find_item(report, "never")->status == status::overrun);
  release.set();
  CHECK(returned.wait());
  CHECK(never_ran);
}

TEST_CASE("a throwing stopping callback is reported failed and the others still run") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  std::atomic<int> ran{0};
  app.on_stopping("fine", [&] { ran.fetch_add(1); });
  app.on_stopping("throws", []() -> void { throw std::runtime_error("disk on fire"); });
  app.on_stopping("also fine", [&] { ran.fetch_add(1); });
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now() + 20s);
  CHECK(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  CHECK(ran == 2);
  const auto report = app.shutdown_work();
  const auto* failed = find_item(report, "throws");
  REQUIRE(failed != nullptr);
  CHECK(failed->status == status::failed);
  CHECK(failed->error == "disk on fire");
}

TEST_CASE("on_shutdown_work_done is notified once when the work is done, at once afterwards") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  event release;
  std::atomic<int> notified{0};
  std::thread::id notified_on;
  event notified_event;
  app.on_stopping("slow", [&] { (void)release.wait(); });
  app_driver.on_shutdown_work_done([&] {
    notified_on = std::this_thread::get_id();
    notified.fetch_add(1);
    notified_event.set();
  });
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now() + 20s);
  CHECK(notified == 0);
  release.set();
  REQUIRE(notified_event.wait());
  CHECK(notified_on != std::this_thread::get_id());
  CHECK(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  int late = 0;
  app_driver.on_shutdown_work_done([&] { ++late; });
  CHECK(late == 1);
  CHECK(notified == 1);
}

TEST_CASE("shutdown work with nothing to do is done at once") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now() + 20s);
  CHECK(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  CHECK(app.shutdown_work().done);
  CHECK(app.shutdown_work().items.empty());
}

TEST_CASE("wait_for_shutdown_work before begin_shutdown_work returns false at its deadline") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  const auto start = clock_type::now();
  CHECK_FALSE(app_driver.wait_for_shutdown_work(start + 30ms));
  CHECK(clock_type::now() - start >= 30ms);
}

TEST_CASE("a stopping callback registered after the shutdown work began starts at once") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now() + 20s);
  REQUIRE(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  event ran;
  app.on_stopping("late", [&] { ran.set(); });
  CHECK(ran.wait());
  CHECK(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  CHECK(find_item(app.shutdown_work(), "late")->status == status::finished);
}

TEST_CASE("a stopping callback registered after the budget is spent never runs") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now());
  (void)app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience);
  std::atomic<bool> ran{false};
  app.on_stopping("too late", [&] { ran = true; });
  CHECK(find_item(app.shutdown_work(), "too late")->status == status::overrun);
  CHECK_FALSE(app_driver.wait_for_shutdown_work(clock_type::now() + 50ms));
  CHECK_FALSE(ran);
}

TEST_CASE("begin_shutdown_work is idempotent: the first budget counts") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  event release;
  event returned;
  app.on_stopping("blocks", [&] {
    (void)release.wait();
    returned.set();
  });
  app.stop_application();
  const auto start = clock_type::now();
  app_driver.begin_shutdown_work(start + 100ms);
  app_driver.begin_shutdown_work(start + 1h);
  CHECK_FALSE(app_driver.wait_for_shutdown_work(start + 25s));
  CHECK(clock_type::now() - start < 10s);
  release.set();
  CHECK(returned.wait());
}

TEST_CASE("an abandoned stopping callback may outlive its application_lifetime") {
  event running;
  event release;
  event returned;
  {
    application_lifetime app;
    auto app_driver = app.take_driver();
    app.on_stopping(
        "outlives",
        [&](cancellation_token token) {
          running.set();
          (void)release.wait();
          (void)token.is_cancellation_requested();
          returned.set();
        },
        20ms);
    app.stop_application();
    app_driver.begin_shutdown_work(clock_type::now() + 20s);
    CHECK_FALSE(app_driver.wait_for_shutdown_work(clock_type::now() + 20s));
    CHECK(running.is_set());
  }
  release.set();
  CHECK(returned.wait());
}

TEST_CASE("to_string names every kind and status of shutdown work") {
  CHECK(lifetime::to_string(shutdown_work_item::kind_type::lease) == "lease");
  CHECK(lifetime::to_string(shutdown_work_item::kind_type::callback) == "callback");
  CHECK(lifetime::to_string(status::pending) == "pending");
  CHECK(lifetime::to_string(status::running) == "running");
  CHECK(lifetime::to_string(status::holding) == "holding");
  CHECK(lifetime::to_string(status::finished) == "finished");
  CHECK(lifetime::to_string(status::overrun) == "overrun");
  CHECK(lifetime::to_string(status::failed) == "failed");
}
