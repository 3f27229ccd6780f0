// SPDX-License-Identifier: MIT
// The server's metrics (http/src/metrics.cpp) with an application's own collector, and the
// sharded counters they are made of (sharded_counter.hpp): exact sums from many threads.
#include <lifetime/http/metrics.hpp>

#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "running_server.hpp"

namespace lifetime::http::test {

TEST_CASE("an application's collector is rendered next to the server's metrics") {
  running_server s(router{});
  s.web().stats().add_collector([](std::string& out) {
    metrics::scalar(out, "app_widgets_total", "counter", "Widgets.", 7);
  });
  const auto text = s.web().metrics_text();
  CHECK(text.find("app_widgets_total 7\n") != std::string::npos);
  CHECK(text.find("http_requests_total ") != std::string::npos);
  CHECK(text.find("http_websocket_sessions_open 0\n") != std::string::npos);
}

TEST_CASE("a sharded counter sums what every thread added, and a gauge what they left",
          "[threads]") {
  metrics::counter total;
  metrics::gauge open;
  constexpr int threads = 12;  // more than the slots: some threads share one
  constexpr int rounds = 20000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        total.fetch_add(1);
        open.fetch_add(2);
        open.fetch_sub(1);
      }
    });
  }
  for (auto& w : workers)
    w.join();
  CHECK(total.load() == std::uint64_t{threads} * rounds);
  CHECK(open == std::int64_t{threads} * rounds);
}

TEST_CASE("a gauge that one thread raises and another lowers reads zero, never below") {
  metrics::gauge open;
  std::thread([&] { open.fetch_add(1); }).join();
  CHECK(open.load() == 1);
  std::thread([&] { open.fetch_sub(1); }).join();
  CHECK(open.load() == 0);
  // A thread lowering it before the raise is seen (a load racing the two) reads zero.
  std::thread([&] { open.fetch_sub(1); }).join();
  CHECK(open.load() == 0);
  std::thread([&] { open.fetch_add(1); }).join();
  CHECK(open.load() == 0);
}

}  // namespace lifetime::http::test
