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
  CHECK(b.cancel_end == t0 + 29500ms);
}

TEST_CASE("a short budget keeps a quarter of itself in reserve", "[host][shutdown]") {
  const auto t0 = shutdown_budget::clock::time_point{} + 1h;
  const auto b = shutdown_budget::compute(t0, 2s, 0ms);
  CHECK(b.drain_end == t0 + 1500ms);
  CHECK(b.drain_delay_end == t0);
  CHECK(b.cancel_end == t0 + 1750ms);
  CHECK(b.budget_end == t0 + 2s);
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
