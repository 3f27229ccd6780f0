// SPDX-License-Identifier: MIT
// The server's metrics (http/src/metrics.cpp) with an application's own collector.
#include <lifetime/http/metrics.hpp>

#include <string>

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

}  // namespace lifetime::http::test
