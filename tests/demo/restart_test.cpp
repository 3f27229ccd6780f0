// SPDX-License-Identifier: MIT
// Restarting the web host in-process: the old generation's requests finish under the restart
// grace and only those still running after it are cancelled with reason restart; no connection
// refused; the new configuration served; POST /admin/restart's authorisation and answer.
#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "demo_client.hpp"
#include "test_server.hpp"

namespace lifetime::demo::test {

namespace {

demo_config with_grace(std::chrono::milliseconds grace) {
  demo_config config;
  config.restart_grace = grace;
  return config;
}

// The drain reports the server gives, as they come.
struct drain_reports {
  explicit drain_reports(http::server& server) {
    server.on_drained([this](const http::drain_report& r) {
      std::lock_guard lock(mutex);
      reports.push_back(r);
    });
  }
  std::optional<http::drain_report> first() {
    std::lock_guard lock(mutex);
    if (reports.empty())
      return std::nullopt;
    return reports.front();
  }
  std::mutex mutex;
  std::vector<http::drain_report> reports;
};

}  // namespace

TEST_CASE("with no restart grace a restart answers in-flight requests 503 with reason restart",
          "[threads]") {
  test_server server(with_grace(std::chrono::milliseconds(0)));
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

TEST_CASE("a restart lets the old generation's requests finish within the grace", "[threads]") {
  test_server server(with_grace(std::chrono::seconds(20)));
  drain_reports drained(server.host());
  auto c = std::make_unique<http_client>(server.port());
  c->send_request("GET", "/api/work?seconds=0.5");
  REQUIRE(eventually([&] { return metric(server.port(), "demo_work_in_progress") == 1; }));
  const auto report = server.host().restart();
  CHECK(report.generation == 2);
  CHECK(report.previous == 1);
  // The work, and perhaps the last metrics request (answered, its log line not yet written).
  CHECK(report.previous_in_flight >= 1);
  // The new generation serves at once, while the old request still runs.
  CHECK(get(server.port(), "/hello").status == 200);
  CHECK(metric(server.port(), "demo_work_in_progress") == 1);
  const auto r = c->read_response();
  CHECK(r.status == 200);
  CHECK_FALSE(r.closes());
  CHECK(metric(server.port(), "http_requests_aborted_total{reason=\"restart\"}") == 0);
  REQUIRE(eventually([&] { return drained.first().has_value(); }));
  const auto d = *drained.first();
  CHECK(d.generation == 1);
  CHECK(d.in_flight_at_restart == report.previous_in_flight);
  CHECK(d.completed == d.in_flight_at_restart);
  CHECK(d.cancelled == 0);
  CHECK_FALSE(d.grace_ran_out);
  // The same connection's next request runs in the new generation.
  c->send_request("GET", "/hello");
  CHECK(c->read_response().status == 200);
}

TEST_CASE(
    "requests still running when the restart grace runs out are cancelled with reason "
    "restart",
    "[threads]") {
  test_server server(with_grace(std::chrono::milliseconds(1500)));
  drain_reports drained(server.host());
  http_client slow(server.port());
  slow.send_request("GET", "/api/work?seconds=30");
  http_client quick(server.port());
  quick.send_request("GET", "/api/work?seconds=0.05");
  REQUIRE(eventually([&] { return metric(server.port(), "demo_work_in_progress") == 2; }));
  const auto started = std::chrono::steady_clock::now();
  CHECK(server.host().restart().previous_in_flight >= 2);
  CHECK(quick.read_response().status == 200);
  const auto r = slow.read_response();
  CHECK(r.status == 503);
  CHECK(r.closes());
  CHECK(r.body.find("\"reason\":\"restart\"") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(1500));
  REQUIRE(eventually([&] { return drained.first().has_value(); }));
  const auto d = *drained.first();
  CHECK(d.in_flight_at_restart >= 2);
  CHECK(d.completed == d.in_flight_at_restart - 1);
  CHECK(d.cancelled == 1);
  CHECK(d.grace_ran_out);
}

TEST_CASE("a stop during a restart grace cancels the old generation's requests with the stop",
          "[threads]") {
  test_server server(with_grace(std::chrono::seconds(30)));
  http_client c(server.port());
  c.send_request("GET", "/api/work?seconds=30");
  REQUIRE(eventually([&] { return metric(server.port(), "demo_work_in_progress") == 1; }));
  server.host().restart();
  server.stop_accepting.cancel(cancellation_reason::application_stopping);
  server.cancel_in_flight.cancel(cancellation_reason::application_stopping);
  const auto r = c.read_response();
  CHECK(r.status == 503);
  CHECK(r.body.find("\"reason\":\"application_stopping\"") != std::string::npos);
}

TEST_CASE(
    "a restart whose configuration changes the listen address says a new process is "
    "needed") {
  test_server server;
  demo_config moved;
  moved.listen = {"127.0.0.1:1"};
  moved.storage_dir = server.storage().string();
  server.set_next_config(moved);
  const auto report = server.host().restart();
  CHECK(report.listen_changed);
  CHECK(report.listen_wanted == std::vector<std::string>{"127.0.0.1:1"});
  CHECK(get(server.port(), "/hello").status == 200);  // still on the old socket
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
  const auto r =
      request(server.port(), "POST", "/admin/restart", {{"Authorization", "Bearer let-me-in"}});
  CHECK(r.status == 200);
  // Answered once the new generation serves.
  CHECK(metric(server.port(), "demo_web_host_restarts_total") == 1);
  CHECK(r.body.find("\"generation\":2") != std::string::npos);
}

TEST_CASE("POST /admin/restart says what happens to the old generation's requests", "[threads]") {
  demo_config config = with_grace(std::chrono::seconds(20));
  config.admin_token = "let-me-in";
  test_server server(config);
  http_client c(server.port());
  c.send_request("GET", "/api/work?seconds=0.5");
  REQUIRE(eventually([&] { return metric(server.port(), "demo_work_in_progress") == 1; }));
  const auto r =
      request(server.port(), "POST", "/admin/restart", {{"Authorization", "Bearer let-me-in"}});
  CHECK(r.status == 200);
  CHECK(r.body.find("\"previous\":{\"generation\":1,\"in_flight\":") != std::string::npos);
  CHECK(r.body.find("\"in_flight\":0") == std::string::npos);  // the work is counted
  CHECK(r.body.find("\"restart_grace_ms\":20000") != std::string::npos);
  CHECK(c.read_response().status == 200);
}

TEST_CASE("POST /admin/restart with no restart grace still answers the one who asked") {
  demo_config config = with_grace(std::chrono::milliseconds(0));
  config.admin_token = "let-me-in";
  test_server server(config);
  const auto r =
      request(server.port(), "POST", "/admin/restart", {{"Authorization", "Bearer let-me-in"}});
  CHECK(r.status == 200);
  CHECK(r.body.find("\"generation\":2") != std::string::npos);
}

TEST_CASE("POST /admin/restart is refused when no admin token is configured") {
  test_server server;
  CHECK(request(server.port(), "POST", "/admin/restart", {{"Authorization", "Bearer "}}).status ==
        401);
  CHECK(request(server.port(), "POST", "/admin/restart", {{"X-Admin-Token", "x"}}).status == 401);
}

TEST_CASE("a restart cancels running operations with reason restart once its grace is over",
          "[threads]") {
  test_server server(with_grace(std::chrono::milliseconds(100)));
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
