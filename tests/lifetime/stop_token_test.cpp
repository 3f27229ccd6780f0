// SPDX-License-Identifier: MIT
// Interop with std::stop_token, both ways.
#include <lifetime/stop_token.hpp>

#include <atomic>
#include <stop_token>
#include <thread>
#include <type_traits>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using lifetime::cancellation_reason;
using lifetime::cancellation_source;

static_assert(!std::is_copy_constructible_v<lifetime::std_stop_from_cancellation>);
static_assert(!std::is_move_constructible_v<lifetime::std_stop_from_cancellation>);
static_assert(!std::is_copy_constructible_v<lifetime::cancellation_from_std_stop>);
static_assert(!std::is_move_constructible_v<lifetime::cancellation_from_std_stop>);

TEST_CASE("a std::stop_token follows a lifetime token") {
  cancellation_source source;
  lifetime::std_stop_from_cancellation bridge(source.token());
  std::stop_token stop = bridge.get_token();
  CHECK(stop.stop_possible());
  CHECK_FALSE(stop.stop_requested());
  int runs = 0;
  std::stop_callback callback(stop, [&] { ++runs; });
  source.cancel();
  CHECK(stop.stop_requested());
  CHECK(runs == 1);
}

TEST_CASE("a std::stop_token from a cancelled lifetime token is stop-requested at once") {
  cancellation_source source;
  source.cancel();
  lifetime::std_stop_from_cancellation bridge(source.token());
  CHECK(bridge.get_token().stop_requested());
}

TEST_CASE("a std::jthread stops when a lifetime token is cancelled", "[threads]") {
  cancellation_source source;
  lifetime::std_stop_from_cancellation bridge(source.token());
  lifetime_test::event started;
  std::atomic<bool> saw_stop{false};
  {
    std::jthread worker([&](std::stop_token) {
      started.set();
      std::stop_token stop = bridge.get_token();
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      saw_stop = cv.wait_for(lock, stop, lifetime_test::patience, [] { return false; }) ||
                 stop.stop_requested();
    });
    REQUIRE(started.wait());
    source.cancel();
  }
  CHECK(saw_stop);
}

TEST_CASE("a lifetime token follows a std::stop_token with the chosen reason") {
  std::stop_source stop;
  lifetime::cancellation_from_std_stop bridge(stop.get_token(),
                                              cancellation_reason::application_stopping);
  const auto token = bridge.token();
  CHECK(token.can_be_cancelled());
  cancellation_reason seen = cancellation_reason::none;
  auto registration = token.register_callback([&](cancellation_reason r) { seen = r; });
  stop.request_stop();
  CHECK(token.is_cancellation_requested());
  CHECK(seen == cancellation_reason::application_stopping);
}

TEST_CASE("a lifetime token from a std::stop_token reports requested by default") {
  std::stop_source stop;
  lifetime::cancellation_from_std_stop bridge(stop.get_token());
  stop.request_stop();
  CHECK(bridge.token().reason() == cancellation_reason::requested);
}

TEST_CASE("a lifetime token from an already stopped std::stop_token is cancelled at once") {
  std::stop_source stop;
  stop.request_stop();
  lifetime::cancellation_from_std_stop bridge(stop.get_token(), cancellation_reason::restart);
  CHECK(bridge.token().is_cancellation_requested());
  CHECK(bridge.token().reason() == cancellation_reason::restart);
}

TEST_CASE("a lifetime token from a std::stop_token follows a stop requested on another thread",
          "[threads]") {
  std::stop_source stop;
  lifetime::cancellation_from_std_stop bridge(stop.get_token());
  lifetime_test::event fired;
  auto registration = bridge.token().register_callback([&] { fired.set(); });
  std::thread requester([&] { stop.request_stop(); });
  CHECK(fired.wait());
  requester.join();
}

TEST_CASE("a bridge destroyed while the other side fires is safe", "[threads]") {
  lifetime_test::stress_rounds rounds(5000);
  while (rounds.next()) {
    cancellation_source source;
    auto bridge = std::make_unique<lifetime::std_stop_from_cancellation>(source.token());
    std::thread canceller([&] { source.cancel(); });
    bridge.reset();
    canceller.join();
  }
}
