// SPDX-License-Identifier: MIT
// Restarting the web host in-process: in-flight requests cancelled with reason restart, no
// connection refused, the new configuration served; POST /admin/restart's authorisation.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "demo_client.hpp"
#include "test_server.hpp"

namespace lifetime::demo::test {

TEST_CASE("a restart answers in-flight requests 503 with reason restart", "[threads]") {
  test_server server;
  auto c = std::make_unique<http_client>(server.port());
  c->send_request("GET", "/api/work?seconds=30");
  REQUIRE(eventually([&] { return metric(server.port(), "demo_work_in_progress") == 1; }));
  server.host().restart();
  const auto r = c->read_response();
  CHECK(r.status == 503);
  CHECK(r.header("retry-after") == "1");
  CHECK(r.closes());
  CHECK(r.body.find("\"reason\":\"restart\"") != std::string::npos);
  CHECK(metric(server.port(), "http_requests_aborted_total{reason=\"restart\"}") == 1);
  CHECK(get(server.port(), "/api/work?seconds=0.05").status == 200);
}

TEST_CASE("restarts under concurrent requests refuse no connection", "[threads]") {
  test_server server;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      while (!done.load()) {
        try {
          const auto r = get(server.port(), "/hello");
          if (r.status != 200 && r.status != 503)
            failures.fetch_add(1);
          answered.fetch_add(1);
        } catch (const std::exception&) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    const int before = answered.load();
    server.host().restart();
    REQUIRE(eventually([&] { return answered.load() > before + 5; }));
  }
  done = true;
  for (auto& t : clients)
    t.join();
  CHECK(failures.load() == 0);
  CHECK(metric(server.port(), "demo_web_host_restarts_total") == 20);
}

TEST_CASE("after a restart the server serves the re-read configuration") {
  test_server server;
  CHECK(get(server.port(), "/api/work?seconds=0.3").status == 200);
  demo_config stricter;
  stricter.request_timeout = std::chrono::milliseconds(100);
  stricter.storage_dir = server.storage().string();
  server.set_next_config(stricter);
  // An idle keep-alive connection survives the restart and gets the new rules.
  http_client c(server.port());
  c.send_request("GET", "/hello");
  CHECK(c.read_response().status == 200);
  server.host().restart();
  c.send_request("GET", "/api/work?seconds=0.3");
  CHECK(c.read_response().status == 504);
}

TEST_CASE("POST /admin/restart needs the admin token") {
  demo_config config;
  config.admin_token = "let-me-in";
  test_server server(config);
  CHECK(request(server.port(), "POST", "/admin/restart").status == 401);
  CHECK(
      request(server.port(), "POST", "/admin/restart", {{"Authorization", "Bearer nope"}}).status ==
      403);
  CHECK(metric(server.port(), "demo_web_host_restarts_total") == 0);
  CHECK(request(server.port(), "POST", "/admin/restart", {{"Authorization", "Bearer let-me-in"}})
            .status == 202);
  CHECK(eventually([&] { return metric(server.port(), "demo_web_host_restarts_total") == 1; }));
}

TEST_CASE("POST /admin/restart is refused when no admin token is configured") {
  test_server server;
  CHECK(request(server.port(), "POST", "/admin/restart", {{"Authorization", "Bearer "}}).status ==
        401);
  CHECK(request(server.port(), "POST", "/admin/restart", {{"X-Admin-Token", "x"}}).status == 401);
}

TEST_CASE("a restart cancels running operations with reason restart", "[threads]") {
  test_server server;
  const auto s = new_session(server.port());
  const auto r = request(server.port(), "POST", "/api/operations?seconds=30", s.headers());
  REQUIRE(r.status == 202);
  const auto id = r.body.substr(7, 32);
  server.host().restart();
  CHECK(eventually([&] {
    return request(server.port(), "GET", "/api/operations/" + id, s.headers())
               .body.find("\"reason\":\"restart\"") != std::string::npos;
  }));
}

}  // namespace lifetime::demo::test
