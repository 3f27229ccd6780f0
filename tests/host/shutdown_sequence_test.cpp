// SPDX-License-Identifier: MIT
#include <lifetime/host/shutdown_sequence.hpp>

#include <catch2/catch.hpp>

#include <lifetime/host/logging.hpp>

using namespace std::chrono_literals;
using lifetime::host::shutdown_budget;
using lifetime::host::shutdown_phase;

TEST_CASE("one budget gives each phase its deadline, keeping a reserve for cancel and stop",
          "[host][shutdown]") {
  const auto t0 = shutdown_budget::clock::time_point{} + 1h;
  const auto b = shutdown_budget::compute(t0, 30s, 5s);
  CHECK(b.began == t0);
  CHECK(b.budget_end == t0 + 30s);
  CHECK(b.drain_end == t0 + 29s);  // reserve: min(budget/4, 1s)
  CHECK(b.drain_delay_end == t0 + 5s);
  CHECK(b.cancel_end == t0 + 29750ms);  // three quarters into the reserve
}

TEST_CASE("a short budget keeps a quarter of itself in reserve", "[host][shutdown]") {
  const auto t0 = shutdown_budget::clock::time_point{} + 1h;
  const auto b = shutdown_budget::compute(t0, 2s, 0ms);
  CHECK(b.drain_end == t0 + 1500ms);
  CHECK(b.drain_delay_end == t0);
  CHECK(b.cancel_end == t0 + 1875ms);
  CHECK(b.budget_end == t0 + 2s);
}

TEST_CASE("with few requests in flight the reserve is a quarter of the budget, at most 1 s",
          "[host][shutdown]") {
  CHECK(shutdown_budget::reserve(1s, 0) == 250ms);
  CHECK(shutdown_budget::reserve(1s, 1000) == 250ms);  // 25 ms + 1,000 x 50 us = 75 ms
  CHECK(shutdown_budget::reserve(30s, 10000) == 1s);   // 525 ms
  CHECK(shutdown_budget::reserve(30s) == 1s);
}

TEST_CASE("the reserve grows by 50 us per request in flight when the stop begins",
          "[host][shutdown]") {
  CHECK(shutdown_budget::reserve(2s, 9000) == 500ms);   // 475 ms: the quarter is more
  CHECK(shutdown_budget::reserve(2s, 19000) == 975ms);  // 25 ms + 950 ms
  CHECK(shutdown_budget::reserve(30s, 100000) == 5025ms);
  CHECK(shutdown_budget::reserve(10s, 1) == 1s);
  CHECK(shutdown_budget::reserve(10s, 60000) == 3025ms);
}

TEST_CASE("the reserve never takes more than half the budget from the drain", "[host][shutdown]") {
  CHECK(shutdown_budget::reserve(1s, 10000) == 500ms);  // 525 ms wanted
  CHECK(shutdown_budget::reserve(1s, std::size_t(-1)) == 500ms);
  CHECK(shutdown_budget::reserve(0ms, 10000) == 0ms);
  CHECK(shutdown_budget::reserve(-5s, 10000) == 0ms);
}

TEST_CASE("10,000 requests in flight with a 1 s budget are cancelled at 500 ms, not 750 ms",
          "[host][shutdown]") {
  const auto t0 = shutdown_budget::clock::time_point{} + 1h;
  const auto b = shutdown_budget::compute(t0, 1s, 0ms, 10000);
  CHECK(b.drain_end == t0 + 500ms);
  CHECK(b.cancel_end == t0 + 875ms);
  CHECK(b.budget_end == t0 + 1s);
  const auto few = shutdown_budget::compute(t0, 1s, 0ms, 10);
  CHECK(few.drain_end == t0 + 750ms);
  CHECK(few.cancel_end == t0 + 937ms);
}

TEST_CASE("a drain delay longer than the budget ends at the drain deadline", "[host][shutdown]") {
  const auto t0 = shutdown_budget::clock::time_point{} + 1h;
  const auto b = shutdown_budget::compute(t0, 10s, 1min);
  CHECK(b.drain_delay_end == b.drain_end);
  CHECK(b.drain_end < b.budget_end);
}

TEST_CASE("a zero budget puts every deadline at the start", "[host][shutdown]") {
  const auto t0 = shutdown_budget::clock::time_point{} + 1h;
  const auto b = shutdown_budget::compute(t0, 0ms, 5s);
  CHECK(b.drain_delay_end == t0);
  CHECK(b.drain_end == t0);
  CHECK(b.cancel_end == t0);
  CHECK(b.budget_end == t0);
}

TEST_CASE("the phases are numbered one to six and named as in the log", "[host][shutdown]") {
  CHECK(lifetime::host::phase_number(shutdown_phase::running) == 0);
  CHECK(lifetime::host::phase_number(shutdown_phase::stopping) == 1);
  CHECK(lifetime::host::phase_number(shutdown_phase::stop_services) == 6);
  CHECK(lifetime::host::phase_number(shutdown_phase::stopped) == 0);
  CHECK(lifetime::host::to_string(shutdown_phase::drain_delay) == "drain-delay");
  CHECK(lifetime::host::to_string(shutdown_phase::stop_accepting) == "stop-accepting");
}

TEST_CASE("log levels map to syslog priorities for the journal", "[host][logging]") {
  using lifetime::host::syslog_priority;
  CHECK(syslog_priority(spdlog::level::critical) == 2);
  CHECK(syslog_priority(spdlog::level::err) == 3);
  CHECK(syslog_priority(spdlog::level::warn) == 4);
  CHECK(syslog_priority(spdlog::level::info) == 6);
  CHECK(syslog_priority(spdlog::level::debug) == 7);
  CHECK(syslog_priority(spdlog::level::trace) == 7);
  CHECK(lifetime::host::try_parse_log_level("warning") == spdlog::level::warn);
  CHECK_FALSE(lifetime::host::try_parse_log_level("verbose"));
}

TEST_CASE("the cost per request is what this process spent per request, twice, at least 50 us",
          "[host][shutdown]") {
  using std::chrono::microseconds;
  CHECK(shutdown_budget::cost_per_request(microseconds(0), 0) == microseconds(50));
  CHECK(shutdown_budget::cost_per_request(microseconds(1000), 0) == microseconds(50));
  CHECK(shutdown_budget::cost_per_request(microseconds(10'000), 1000) == microseconds(50));
  // A machine four times slower spends four times as much per request.
  CHECK(shutdown_budget::cost_per_request(microseconds(100'000), 1000) == microseconds(200));
  CHECK(shutdown_budget::cost_per_request(microseconds(400'000), 1000) == microseconds(800));
}

TEST_CASE("a measured cost per request grows the reserve, still at most half the budget",
          "[host][shutdown]") {
  using std::chrono::microseconds;
  CHECK(shutdown_budget::reserve(1s, 1000, microseconds(50)) == 250ms);
  CHECK(shutdown_budget::reserve(1s, 1000, microseconds(400)) == 425ms);  // 25 + 400 ms
  CHECK(shutdown_budget::reserve(1s, 10000, microseconds(400)) == 500ms);
  CHECK(shutdown_budget::reserve(10s, 1000, microseconds(2000)) == 2025ms);
  const auto t0 = shutdown_budget::clock::now();
  const auto b = shutdown_budget::compute(t0, 1s, 0ms, 1000, microseconds(400));
  CHECK(b.drain_end == t0 + 575ms);
}
