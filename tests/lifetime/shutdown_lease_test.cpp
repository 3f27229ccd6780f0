// SPDX-License-Identifier: MIT
// shutdown_lease: a named, time-boxed permission to hold shutdown open.
#include <lifetime/shutdown_lease.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <type_traits>
#include <vector>

#include <lifetime/application_lifetime.hpp>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using lifetime::application_lifetime;
using lifetime::shutdown_lease;
using lifetime::shutdown_work_item;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using status = shutdown_work_item::status_type;

static_assert(!std::is_copy_constructible_v<shutdown_lease>);
static_assert(!std::is_copy_assignable_v<shutdown_lease>);
static_assert(std::is_nothrow_move_constructible_v<shutdown_lease>);
static_assert(std::is_nothrow_move_assignable_v<shutdown_lease>);
static_assert(std::is_nothrow_default_constructible_v<shutdown_lease>);

namespace {
const shutdown_work_item* find_item(const lifetime::shutdown_work_report& report,
                                    std::string_view name) {
  for (const auto& item : report.items) {
    if (item.name == name)
      return &item;
  }
  return nullptr;
}
}  // namespace

TEST_CASE("a default lease holds nothing") {
  shutdown_lease lease;
  CHECK_FALSE(lease.is_holding());
  CHECK(lease.name().empty());
  lease.release();
}

TEST_CASE("a lease taken before shutdown holds, and one released before shutdown is forgotten") {
  application_lifetime app;
  auto kept = app.delay_shutdown("kept", 1s);
  {
    auto dropped = app.delay_shutdown("dropped", 1s);
    CHECK(dropped.is_holding());
    CHECK(dropped.name() == "dropped");
  }
  CHECK(kept.is_holding());
  const auto report = app.shutdown_work();
  CHECK(find_item(report, "dropped") == nullptr);
  REQUIRE(find_item(report, "kept") != nullptr);
  CHECK(find_item(report, "kept")->status == status::holding);
  CHECK(find_item(report, "kept")->kind == shutdown_work_item::kind_type::lease);
}

TEST_CASE("a lease released in time lets the shutdown work finish: wait returns true") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  auto lease = app.delay_shutdown("flush", 20s);
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now() + 30s);
  CHECK(lease.is_holding());
  std::thread releaser([hold = std::move(lease)]() mutable { hold.release(); });
  CHECK(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  releaser.join();
  const auto report = app.shutdown_work();
  CHECK(report.done);
  CHECK(find_item(report, "flush")->status == status::finished);
}

TEST_CASE("a lease that is never released overruns at its max, not at the budget") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  auto lease = app.delay_shutdown("stubborn", 100ms);
  app.stop_application();
  const auto start = clock_type::now();
  app_driver.begin_shutdown_work(start + 30s);
  const bool in_time = app_driver.wait_for_shutdown_work(start + 25s);
  const auto waited = clock_type::now() - start;
  CHECK_FALSE(in_time);
  CHECK(waited >= 100ms);
  CHECK(waited < 10s);
  CHECK_FALSE(lease.is_holding());
  const auto report = app.shutdown_work();
  CHECK_FALSE(report.done);
  const auto* item = find_item(report, "stubborn");
  REQUIRE(item != nullptr);
  CHECK(item->status == status::overrun);
  CHECK(item->held >= 100ms);
  CHECK(item->max == 100ms);
}

TEST_CASE("a lease's box starts at the shutdown, not when the lease was taken") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  auto lease = app.delay_shutdown("early", 150ms);
  // Held before shutdown for as long as we like: no box yet.
  CHECK(lease.is_holding());
  app.stop_application();
  const auto start = clock_type::now();
  app_driver.begin_shutdown_work(start + 30s);
  CHECK(lease.is_holding());
  CHECK_FALSE(app_driver.wait_for_shutdown_work(start + 25s));
  CHECK(clock_type::now() - start >= 150ms);
}

TEST_CASE("a lease never holds past the budget") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  auto lease = app.delay_shutdown("long", 1h);
  app.stop_application();
  const auto start = clock_type::now();
  app_driver.begin_shutdown_work(start + 150ms);
  CHECK_FALSE(app_driver.wait_for_shutdown_work(start + 25s));
  const auto waited = clock_type::now() - start;
  CHECK(waited >= 150ms);
  CHECK(waited < 10s);
  CHECK(find_item(app.shutdown_work(), "long")->status == status::overrun);
}

TEST_CASE("a lease asked for after the budget is spent is already expired") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now());
  (void)app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience);
  auto late = app.delay_shutdown("late", 10s);
  CHECK_FALSE(late.is_holding());
  CHECK(late.name() == "late");
  const auto report = app.shutdown_work();
  const auto* item = find_item(report, "late");
  REQUIRE(item != nullptr);
  CHECK(item->status == status::overrun);
  late.release();
}

TEST_CASE("a lease taken during the shutdown holds it, even after the rest was done") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  app.stop_application();
  const auto start = clock_type::now();
  app_driver.begin_shutdown_work(start + 30s);
  REQUIRE(app_driver.wait_for_shutdown_work(start + lifetime_test::patience));
  auto lease = app.delay_shutdown("latecomer", 20s);
  CHECK(lease.is_holding());
  CHECK_FALSE(app_driver.wait_for_shutdown_work(clock_type::now() + 50ms));
  std::thread releaser([hold = std::move(lease)]() mutable { hold.release(); });
  CHECK(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  releaser.join();
  CHECK(find_item(app.shutdown_work(), "latecomer")->status == status::finished);
}

TEST_CASE("moving a lease transfers the hold; the moved-from lease holds nothing") {
  application_lifetime app;
  auto a = app.delay_shutdown("a", 1s);
  shutdown_lease b = std::move(a);
  CHECK_FALSE(a.is_holding());  // NOLINT(bugprone-use-after-move)
  CHECK(a.name().empty());      // NOLINT(bugprone-use-after-move)
  CHECK(b.is_holding());
  CHECK(b.name() == "a");
  auto c = app.delay_shutdown("c", 1s);
  b = std::move(c);  // releases "a" (before shutdown: forgotten)
  CHECK(b.name() == "c");
  CHECK(find_item(app.shutdown_work(), "a") == nullptr);
  b.release();
  b.release();  // idempotent
  CHECK_FALSE(b.is_holding());
  CHECK(app.shutdown_work().items.empty());
}

TEST_CASE("a lease may outlive the application_lifetime that issued it") {
  shutdown_lease lease;
  {
    application_lifetime app;
    lease = app.delay_shutdown("survivor", 1s);
  }
  CHECK(lease.is_holding());
  CHECK(lease.name() == "survivor");
  lease.release();
  CHECK_FALSE(lease.is_holding());
}

TEST_CASE("leases taken and released on many threads during shutdown", "[threads]") {
  application_lifetime app;
  auto app_driver = app.take_driver();
  auto holder = app.delay_shutdown("holder", 20s);
  app.stop_application();
  app_driver.begin_shutdown_work(clock_type::now() + 30s);
  std::vector<std::thread> pool;
  for (int t = 0; t < 3; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < lifetime_test::scaled(2000); ++i) {
        auto lease = app.delay_shutdown("worker " + std::to_string(t), 20s);
        (void)lease.is_holding();
        if (i % 100 == 0)
          (void)app.shutdown_work();
      }
    });
  }
  for (auto& t : pool)
    t.join();
  holder.release();
  CHECK(app_driver.wait_for_shutdown_work(clock_type::now() + lifetime_test::patience));
  for (const auto& item : app.shutdown_work().items)
    CHECK(item.status == status::finished);
}
