// SPDX-License-Identifier: MIT
// gate: admit work until closed, know when the admitted work is done.
#include <lifetime/gate.hpp>

#include <lifetime/callback_exception_handler.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using lifetime::gate;
using namespace std::chrono_literals;

static_assert(!std::is_copy_constructible_v<gate>);
static_assert(!std::is_move_constructible_v<gate>);
static_assert(std::is_nothrow_copy_constructible_v<gate::holder>);
static_assert(std::is_nothrow_move_constructible_v<gate::holder>);
static_assert(noexcept(std::declval<gate&>().try_enter()));
static_assert(noexcept(std::declval<gate&>().close()));

TEST_CASE("try_enter gives a holder that counts until it is released") {
  gate g;
  CHECK(g.count() == 0);
  auto h = g.try_enter();
  REQUIRE(h.has_value());
  CHECK(static_cast<bool>(*h));
  CHECK(g.count() == 1);
  h->release();
  CHECK_FALSE(static_cast<bool>(*h));
  CHECK(g.count() == 0);
  h->release();  // idempotent
  CHECK(g.count() == 0);
}

TEST_CASE("a closed gate turns new arrivals away: try_enter gives nothing, enter throws") {
  gate g;
  CHECK_FALSE(g.is_closed());
  CHECK(g.close());
  CHECK(g.is_closed());
  CHECK_FALSE(g.try_enter().has_value());
  CHECK_THROWS_AS(g.enter(), lifetime::gate_closed);
  CHECK(g.count() == 0);
}

TEST_CASE("enter gives a holder on an open gate") {
  gate g;
  auto h = g.enter();
  CHECK(g.count() == 1);
}

TEST_CASE("close is idempotent: true only for the call that closed") {
  gate g;
  CHECK(g.close());
  CHECK_FALSE(g.close());
  CHECK_FALSE(g.close());
}

TEST_CASE("closing keeps the work inside; the gate drains when the last holder leaves") {
  gate g;
  auto a = g.enter();
  auto b = g.enter();
  int drained = 0;
  g.on_drained([&] { ++drained; });
  g.close();
  CHECK_FALSE(g.is_drained());
  CHECK(g.count() == 2);
  a.release();
  CHECK(drained == 0);
  CHECK_FALSE(g.is_drained());
  b.release();
  CHECK(drained == 1);
  CHECK(g.is_drained());
}

TEST_CASE("a gate closed with nothing inside drains at once, on the closing thread") {
  gate g;
  std::thread::id ran_on;
  g.on_drained([&] { ran_on = std::this_thread::get_id(); });
  g.close();
  CHECK(g.is_drained());
  CHECK(ran_on == std::this_thread::get_id());
}

TEST_CASE("on_drained after the gate drained runs at once") {
  gate g;
  g.close();
  int runs = 0;
  g.on_drained([&] { ++runs; });
  CHECK(runs == 1);
}

TEST_CASE("drain callbacks run once each, even if the gate is closed again") {
  gate g;
  int runs = 0;
  g.on_drained([&] { ++runs; });
  g.on_drained([&] { ++runs; });
  g.close();
  g.close();
  CHECK(runs == 2);
}

TEST_CASE("copying a holder enters again, even a closed gate") {
  gate g;
  auto a = g.enter();
  g.close();
  gate::holder b = a;
  CHECK(g.count() == 2);
  CHECK(static_cast<bool>(b));
  a.release();
  CHECK_FALSE(g.is_drained());
  b.release();
  CHECK(g.is_drained());
}

TEST_CASE("moving a holder transfers the hold and leaves the count") {
  gate g;
  auto a = g.enter();
  gate::holder b = std::move(a);
  CHECK(g.count() == 1);
  CHECK_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move)
  CHECK(static_cast<bool>(b));
  gate::holder c;
  c = std::move(b);
  CHECK(g.count() == 1);
  auto d = g.enter();
  c = std::move(d);  // c's old hold is released
  CHECK(g.count() == 1);
}

TEST_CASE("a default holder holds nothing") {
  gate::holder h;
  CHECK_FALSE(static_cast<bool>(h));
  h.release();
}

TEST_CASE("a drain callback that throws goes to the callback exception handler") {
  static std::atomic<int> handled{0};
  handled = 0;
  const auto previous = lifetime::set_callback_exception_handler(
      [](std::exception_ptr) noexcept { handled.fetch_add(1); });
  gate g;
  int after = 0;
  g.on_drained([]() -> void { throw 1; });
  g.on_drained([&] { ++after; });
  g.close();
  lifetime::set_callback_exception_handler(previous);
  CHECK(handled == 1);
  CHECK(after == 1);
}

TEST_CASE("wait_until_drained returns false at its deadline while work is inside") {
  gate g;
  auto h = g.enter();
  g.close();
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(g.wait_until_drained(start + 50ms));
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);
}

TEST_CASE("wait_until_drained returns true at once on a drained gate") {
  gate g;
  g.close();
  CHECK(g.wait_until_drained(std::chrono::steady_clock::now()));
}

TEST_CASE("wait_until_drained wakes when the last holder leaves on another thread", "[threads]") {
  gate g;
  auto h = g.enter();
  g.close();
  lifetime_test::event waiting;
  std::thread leaver([&, hold = std::move(h)]() mutable {
    (void)waiting.wait();
    hold.release();
  });
  waiting.set();
  CHECK(g.wait_until_drained(std::chrono::steady_clock::now() + lifetime_test::patience));
  leaver.join();
}

TEST_CASE("a gate destroyed by its waiter right after draining is safe", "[threads]") {
  lifetime_test::stress_rounds rounds(5000);
  while (rounds.next()) {
    auto g = std::make_unique<gate>();
    auto h = g->enter();
    g->close();
    std::thread leaver([hold = std::move(h)]() mutable { hold.release(); });
    REQUIRE(g->wait_until_drained(std::chrono::steady_clock::now() + lifetime_test::patience));
    leaver.join();  // the gate must outlive its holders (their release() is still running)
    g.reset();
  }
}

TEST_CASE("entering and leaving on many threads racing close drains exactly once", "[threads]") {
  constexpr int workers = 2;
  lifetime_test::stress_rounds rounds(300);
  while (rounds.next()) {
    gate g;
    std::atomic<int> drained{0};
    g.on_drained([&] { drained.fetch_add(1); });
    std::atomic<int> entered_after_close{0};
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) {
      pool.emplace_back([&] {
        for (int i = 0; i < 2000; ++i) {
          auto h = g.try_enter();
          if (!h)
            break;
          gate::holder copy = *h;
          if (g.is_drained())
            entered_after_close.fetch_add(1);
        }
      });
    }
    g.close();
    for (auto& t : pool)
      t.join();
    REQUIRE(g.is_drained());
    REQUIRE(g.count() == 0);
    REQUIRE(drained == 1);
    REQUIRE(entered_after_close == 0);
  }
}
