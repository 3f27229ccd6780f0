// SPDX-License-Identifier: MIT
// A server generation (http/src/generation.hpp): requests entering on many threads while it is
// retired are each either counted in the retirement or refused (and then enter the newer
// generation), and the drain report is made once, when the last counted one has left.
#include <atomic>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "generation.hpp"

namespace lifetime::http::test {
namespace {
using detail::generation;
}  // namespace

TEST_CASE("a generation retired while requests enter counts each entered one exactly once",
          "[generation]") {
  constexpr int threads = 4;
  boost::asio::io_context io;
  for (int round = 0; round < 50; ++round) {
    auto g = std::make_shared<generation>(1);
    std::atomic<bool> go{false};
    std::atomic<bool> retire_returned{false};
    std::atomic<int> entered_after_retire{0};
    std::atomic<int> reports{0};
    std::atomic<int> entries{0};
    drain_report report;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        while (!go.load())
          std::this_thread::yield();
        for (;;) {
          const bool retire_done = retire_returned.load();
          if (!g->try_enter())
            return;  // retired: a real request would enter the newer generation
          if (retire_done)
            entered_after_retire.fetch_add(1);
          entries.fetch_add(1);
          g->leave(cancellation_reason::none);
        }
      });
    }
    go = true;
    while (entries.load() < 100 * threads)  // every worker is entering and leaving
      std::this_thread::yield();
    const auto in_flight =
        g->retire(io.get_executor(), std::chrono::milliseconds(0), [&](const drain_report& r) {
          report = r;
          reports.fetch_add(1);
        });
    retire_returned = true;
    for (auto& w : workers)
      w.join();
    CHECK(entered_after_retire.load() == 0);
    CHECK(in_flight <= static_cast<std::size_t>(threads));
    REQUIRE(reports.load() == 1);
    CHECK(report.in_flight_at_restart == in_flight);
    CHECK(report.completed + report.cancelled + report.other == in_flight);
    CHECK(g->in_flight() == 0);
    CHECK(g->retired());
    CHECK_FALSE(g->try_enter());
  }
}

TEST_CASE("a retired generation's report waits for the request still inside", "[generation]") {
  boost::asio::io_context io;
  auto g = std::make_shared<generation>(7);
  REQUIRE(g->try_enter());
  REQUIRE(g->try_enter());
  g->leave(cancellation_reason::none);
  int reports = 0;
  drain_report report;
  CHECK(g->retire(io.get_executor(), std::chrono::milliseconds(0), [&](const drain_report& r) {
    report = r;
    ++reports;
  }) == 1);
  CHECK(reports == 0);
  CHECK(g->token().is_cancellation_requested());  // no grace: cancelled at once
  CHECK_FALSE(g->try_enter());
  g->leave(cancellation_reason::restart);
  REQUIRE(reports == 1);
  CHECK(report.generation == 7);
  CHECK(report.in_flight_at_restart == 1);
  CHECK(report.cancelled == 1);
  CHECK(report.completed == 0);
}

}  // namespace lifetime::http::test
