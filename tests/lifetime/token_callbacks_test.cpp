// SPDX-License-Identifier: MIT
// Callbacks registered on started(), stopping() and stopped() are shutdown work: they run on a
// library thread, the drain waits for them within its box, and one still running at the box is
// reported under its name.
#include <lifetime/named_callback.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include <lifetime/application_lifetime.hpp>

#include "test_support.hpp"

using lifetime::application_lifetime;
using lifetime::cancellation_reason;
using lifetime::shutdown_work_item;
using lifetime_test::event;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using status = shutdown_work_item::status_type;

static_assert(lifetime::cancellation_callback<lifetime::named_callback<void (*)()>>);

namespace {

const shutdown_work_item* find_token_item(const lifetime::shutdown_work_report& report,
                                          std::string_view token) {
  for (const auto& item : report.items) {
    if (item.kind == shutdown_work_item::kind_type::token_callbacks && item.name.starts_with(token))
      return &item;
  }
  return nullptr;
}

void flush_the_journal_slowly(const event& release) {
  (void)release.wait();
}

}  // namespace

TEST_CASE("a named callback runs like its callable and says its name") {
  lifetime::cancellation_source source;
  cancellation_reason seen = cancellation_reason::none;
  auto with_reason =
      lifetime::named("with reason", [&](cancellation_reason reason) { seen = reason; });
  CHECK(with_reason.callback_name() == "with reason");
  int calls = 0;
  auto registration =
      source.token().register_callback(lifetime::named("counter", [&] { ++calls; }));
  auto other = source.token().register_callback(std::move(with_reason));
  source.cancel(cancellation_reason::restart);
  CHECK(calls == 1);
  CHECK(seen == cancellation_reason::restart);
}

TEST_CASE("the drain waits for a stopping() callback while it runs") {
  application_lifetime app;
  auto driver = app.take_driver();
  event running;
  event release;
  auto registration = app.stopping().register_callback(lifetime::named("flush journal", [&] {
    running.set();
    (void)release.wait();
  }));
  app.stop_application();
  REQUIRE(running.wait());
  driver.begin_shutdown_work(clock_type::now() + 30s);
  CHECK_FALSE(driver.wait_for_shutdown_work(clock_type::now() + 50ms));
  const auto report1 = app.shutdown_work();
  const auto* item = find_token_item(report1, "stopping()");
  REQUIRE(item != nullptr);
  CHECK(item->status == status::running);
  CHECK(item->name == "stopping(): flush journal");
  release.set();
  CHECK(driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  const auto report2 = app.shutdown_work();
  item = find_token_item(report2, "stopping()");
  REQUIRE(item != nullptr);
  CHECK(item->status == status::finished);
  CHECK(item->name == "stopping()");
}

TEST_CASE("a stopping() callback still running at the box is an overrun named by its name") {
  application_lifetime app;
  auto driver = app.take_driver();
  event running;
  event release;
  auto registration = app.stopping().register_callback(lifetime::named("flush journal", [&] {
    running.set();
    (void)release.wait();
  }));
  app.stop_application();
  const auto start = clock_type::now();
  driver.begin_shutdown_work(start + 150ms);
  CHECK_FALSE(driver.wait_for_shutdown_work(start + lifetime_test::patience));
  CHECK(clock_type::now() - start < 10s);  // abandoned at the box, not waited for
  const auto report = app.shutdown_work();
  CHECK_FALSE(report.done);
  const auto* item = find_token_item(report, "stopping()");
  REQUIRE(item != nullptr);
  CHECK(item->status == status::overrun);
  CHECK(item->name == "stopping(): flush journal");
  CHECK(item->held >= 100ms);
  release.set();
}

TEST_CASE("an unnamed stopping() callback is named by its type") {
  application_lifetime app;
  auto driver = app.take_driver();
  event release;
  auto registration =
      app.stopping().register_callback([&release] { flush_the_journal_slowly(release); });
  app.stop_application();
  driver.begin_shutdown_work(clock_type::now() + 100ms);
  CHECK_FALSE(driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  const auto report3 = app.shutdown_work();
  const auto* item = find_token_item(report3, "stopping()");
  REQUIRE(item != nullptr);
  CHECK(item->status == status::overrun);
  // The lambda's type names the test case that made it.
  CHECK(item->name.find("lambda") != std::string::npos);
  release.set();
}

TEST_CASE("a lambda's type reads the same whichever compiler named it") {
  // g++ and clang++ mangle a lambda of an internal-linkage function differently.
  CHECK(lifetime::detail::demangle("ZL1fvEUlvE_") == "f()::{lambda()#1}");
  CHECK(lifetime::detail::demangle("ZL1fvE3$_1") == "f()::{lambda()#2}");
  CHECK(lifetime::detail::demangle("not a mangled name") == "not a mangled name");
}

TEST_CASE("a callback of a token linked to stopping() is named when it blocks") {
  application_lifetime app;
  auto driver = app.take_driver();
  event release;
  auto child = lifetime::cancellation_source::linked({app.stopping()});
  auto registration = child.token().register_callback(
      lifetime::named("request cleanup", [&] { (void)release.wait(); }));
  app.stop_application();
  driver.begin_shutdown_work(clock_type::now() + 100ms);
  CHECK_FALSE(driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  const auto report4 = app.shutdown_work();
  const auto* item = find_token_item(report4, "stopping()");
  REQUIRE(item != nullptr);
  CHECK(item->name == "stopping(): request cleanup");
  release.set();
}

TEST_CASE("a started() callback that still runs when the stop begins holds the drain") {
  application_lifetime app;
  auto driver = app.take_driver();
  event running;
  event release;
  auto registration = app.started().register_callback(lifetime::named("warm cache", [&] {
    running.set();
    (void)release.wait();
  }));
  CHECK(driver.notify_started());
  REQUIRE(running.wait());
  app.stop_application();
  driver.begin_shutdown_work(clock_type::now() + 30s);
  CHECK_FALSE(driver.wait_for_shutdown_work(clock_type::now() + 50ms));
  release.set();
  CHECK(driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
}

TEST_CASE("stopped() callbacks run on a library thread and are waited for by the driver") {
  application_lifetime app;
  auto driver = app.take_driver();
  event release;
  std::thread::id ran_on;
  auto registration = app.stopped().register_callback(lifetime::named("close log", [&] {
    ran_on = std::this_thread::get_id();
    (void)release.wait();
  }));
  driver.notify_stopped();
  CHECK(app.state() == lifetime::lifetime_state::stopped);
  CHECK_FALSE(driver.wait_for_stopped_callbacks(clock_type::now() + 50ms));
  const auto report5 = app.shutdown_work();
  const auto* item = find_token_item(report5, "stopped()");
  REQUIRE(item != nullptr);
  CHECK(item->name == "stopped(): close log");
  event notified;
  driver.on_stopped_callbacks_done([&] { notified.set(); });
  release.set();
  CHECK(driver.wait_for_stopped_callbacks(clock_type::now() + lifetime_test::patience));
  CHECK(notified.wait());
  CHECK(ran_on != std::this_thread::get_id());
}

TEST_CASE("the stop hook runs once, on the stopping thread, before the stopping() callbacks") {
  application_lifetime app;
  auto driver = app.take_driver();
  std::atomic<int> hooks{0};
  std::thread::id hook_thread;
  std::atomic<bool> callback_saw_hook{false};
  event callback_ran;
  driver.on_stop_requested([&] {
    hook_thread = std::this_thread::get_id();
    hooks.fetch_add(1);
  });
  auto registration = app.stopping().register_callback([&] {
    callback_saw_hook = hooks.load() == 1;
    callback_ran.set();
  });
  app.stop_application();
  app.stop_application();
  CHECK(hooks == 1);
  CHECK(hook_thread == std::this_thread::get_id());
  REQUIRE(callback_ran.wait());
  CHECK(callback_saw_hook);
  // Set after the stop: called at once.
  int late = 0;
  driver.on_stop_requested([&] { ++late; });
  CHECK(late == 1);
}
