// SPDX-License-Identifier: MIT
// Request tokens end to end: client disconnect (FIN and RST), pipelining, deadlines, the host's
// shutdown phases, and the protocol limits.
#include <lifetime/http/server.hpp>

#include <future>
#include <memory>
#include <vector>

#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include "demo_client.hpp"
#include "test_server.hpp"

namespace lifetime::demo::test {
namespace {

constexpr const char* disconnected = "http_requests_aborted_total{reason=\"client_disconnected\"}";

// Starts /api/work on a fresh client and waits until the server is inside the handler.
std::unique_ptr<http_client> start_work(test_server& server,
                                        std::string_view query = "seconds=30") {
  const double before = metric(server.port(), "demo_work_in_progress");
  auto c = std::make_unique<http_client>(server.port());
  c->send_request("GET", std::string("/api/work?") + std::string(query));
  REQUIRE(eventually([&] { return metric(server.port(), "demo_work_in_progress") > before; }));
  return c;
}

}  // namespace

TEST_CASE("GET /hello answers 200 and keeps the connection alive") {
  test_server server;
  http_client c(server.port());
  for (int i = 0; i < 3; ++i) {
    c.send_request("GET", "/hello");
    const auto r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == "hello\n");
    CHECK_FALSE(r.closes());
  }
}

TEST_CASE("GET / serves the self-contained web page") {
  test_server server;
  const auto r = get(server.port(), "/");
  CHECK(r.status == 200);
  CHECK(r.header("content-type") == "text/html; charset=utf-8");
  CHECK(r.body.find("<title>lifetime-demo</title>") != std::string::npos);
  CHECK(r.body.find("AbortController") != std::string::npos);
  CHECK(r.body.find("new WebSocket(") != std::string::npos);
  // No external assets.
  CHECK(r.body.find("src=\"http") == std::string::npos);
  CHECK(r.body.find("href=\"http") == std::string::npos);
  CHECK(get(server.port(), "/nothing-here").status == 404);
}

// The page used to load with a 404: browsers ask for /favicon.ico.
TEST_CASE("the page has an icon: loading it asks the server for nothing missing") {
  test_server server;
  const auto page = get(server.port(), "/");
  CHECK(page.body.find("<link rel=\"icon\" href=\"/favicon.ico\"") != std::string::npos);
  const auto icon = get(server.port(), "/favicon.ico");
  CHECK(icon.status == 200);
  CHECK(icon.header("content-type") == "image/svg+xml");
  CHECK(icon.body.rfind("<svg", 0) == 0);
  CHECK(!icon.header("cache-control").empty());
}

TEST_CASE("a client that half-closes mid-/api/work cancels the work with client_disconnected",
          "[threads]") {
  test_server server;
  auto c = start_work(server);
  const auto closed_at = std::chrono::steady_clock::now();
  c->shutdown_write();
  REQUIRE(eventually([&] { return metric(server.port(), disconnected) == 1; }));
  const auto detected_after = std::chrono::steady_clock::now() - closed_at;
  CHECK(detected_after < std::chrono::seconds(2));
  CHECK(eventually([&] { return metric(server.port(), "demo_work_in_progress") == 0; }));
  // Nothing was written: the server closes without a response.
  CHECK(c->wait_closed());
  CHECK(c->buffered().empty());
}

TEST_CASE("a client that resets its connection mid-/api/work cancels the work", "[threads]") {
  test_server server;
  auto c = start_work(server);
  c->reset();
  REQUIRE(eventually([&] { return metric(server.port(), disconnected) == 1; }));
  CHECK(eventually([&] { return metric(server.port(), "demo_work_in_progress") == 0; }));
  const double steps = metric(server.port(), "demo_work_steps_total");
  // The work stopped: a further request's worth of time adds no step from the cancelled one.
  CHECK(get(server.port(), "/api/work?seconds=0.2").status == 200);
  CHECK(metric(server.port(), "demo_work_steps_total") - steps <= 5);
}

TEST_CASE("a handler that answers without waiting never arms the disconnect watch") {
  test_server server;
  constexpr const char* watches = "http_disconnect_watches_total";
  const double before = metric(server.port(), watches);
  http_client c(server.port());
  for (int i = 0; i < 5; ++i) {
    c.send_request("GET", "/hello");
    CHECK(c.read_response().status == 200);
  }
  // Reading /metrics arms nothing either; /api/work waits, so it arms the watch once.
  CHECK(metric(server.port(), watches) == before);
  c.send_request("GET", "/api/work?seconds=0.01");
  CHECK(c.read_response().status == 200);
  CHECK(metric(server.port(), watches) == before + 1);
}

TEST_CASE("pipelined requests are answered in order and are not taken for a disconnect") {
  test_server server;
  http_client c(server.port());
  c.send(
      "GET /api/work?seconds=0.3 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /api/work?seconds=0.1 HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto first = c.read_response();
  const auto second = c.read_response();
  const auto third = c.read_response();
  CHECK(first.status == 200);
  CHECK(first.body.find("\"seconds\":3E-1") != std::string::npos);
  CHECK(second.body == "hello\n");
  CHECK(third.status == 200);
  CHECK(third.body.find("\"seconds\":1E-1") != std::string::npos);
  CHECK(metric(server.port(), disconnected) == 0);
}

TEST_CASE("pipelined responses larger than the socket takes at once arrive whole and in order") {
  // About 18 MB of pages for 37 KB of requests: the socket's buffers fill, so most responses go
  // out partly at once and the rest asynchronously, while the next requests wait in the buffer.
  test_server server;
  const auto page = get(server.port(), "/").body;
  REQUIRE(page.size() > 10000);
  http_client c(server.port());
  constexpr int pages = 1000;
  std::string requests;
  for (int i = 0; i < pages; ++i)
    requests += "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  requests += "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  c.send(requests);
  int whole = 0;
  for (int i = 0; i < pages; ++i) {
    const auto r = c.read_response();
    if (r.status == 200 && r.body == page)
      ++whole;
  }
  CHECK(whole == pages);
  const auto last = c.read_response();
  CHECK(last.body == "hello\n");
  CHECK_FALSE(last.closes());
}

TEST_CASE("a request past its ?timeout= deadline answers 504 and counts deadline_exceeded") {
  test_server server;
  const auto started = std::chrono::steady_clock::now();
  const auto r = get(server.port(), "/api/work?seconds=30&timeout=200ms");
  CHECK(r.status == 504);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(metric(server.port(), "http_requests_aborted_total{reason=\"deadline_exceeded\"}") == 1);
}

TEST_CASE("the server-wide request timeout caps every request's deadline") {
  demo_config config;
  config.request_timeout = std::chrono::milliseconds(150);
  test_server server(config);
  CHECK(get(server.port(), "/api/work?seconds=30").status == 504);
  CHECK(get(server.port(), "/api/work?seconds=30&timeout=1h").status == 504);
}

TEST_CASE("a malformed ?timeout= answers 400") {
  test_server server;
  CHECK(get(server.port(), "/api/work?seconds=1&timeout=soon").status == 400);
}

TEST_CASE("cancelling in-flight requests answers 503 with Retry-After and Connection: close",
          "[threads]") {
  test_server server;
  auto c = start_work(server);
  server.cancel_in_flight.cancel(cancellation_reason::application_stopping);
  const auto r = c->read_response();
  CHECK(r.status == 503);
  CHECK(r.header("retry-after") == "1");
  CHECK(r.closes());
  CHECK(r.body.find("application_stopping") != std::string::npos);
  CHECK(c->wait_closed());
  CHECK(metric(server.port(), "http_requests_aborted_total{reason=\"application_stopping\"}") == 1);
}

TEST_CASE("stop accepting closes idle keep-alive connections and the listener", "[threads]") {
  test_server server;
  http_client idle(server.port());
  idle.send_request("GET", "/hello");
  CHECK(idle.read_response().status == 200);
  auto busy = start_work(server, "seconds=0.5");
  server.stopping.cancel(cancellation_reason::application_stopping);
  server.stop_accepting.cancel(cancellation_reason::application_stopping);
  CHECK(idle.wait_closed());
  // The busy connection finishes its request, told to close.
  const auto r = busy->read_response();
  CHECK(r.status == 200);
  CHECK(r.closes());
  CHECK(busy->wait_closed());
  // The listener closes on its own strand; from then on connecting is refused.
  CHECK(eventually([&] {
    try {
      http_client late(server.port());
      return false;
    } catch (const std::runtime_error&) {
      return true;
    }
  }));
}

TEST_CASE("connections still in the accept queue when accepting stops are answered, not reset",
          "[threads]") {
  test_server server({}, 1);
  // Hold the only io thread so the next connections stay in the kernel's accept queue.
  std::promise<void> release;
  std::promise<void> holding;
  boost::asio::post(server.io(), [&] {
    holding.set_value();
    release.get_future().wait();
  });
  holding.get_future().wait();
  std::vector<std::unique_ptr<http_client>> queued;
  for (int i = 0; i < 8; ++i) {
    queued.push_back(std::make_unique<http_client>(server.port()));
    queued.back()->send_request("GET", "/hello");
  }
  server.stopping.cancel(cancellation_reason::application_stopping);
  server.stop_accepting.cancel(cancellation_reason::application_stopping);
  server.in_flight.close();  // as the host does right after stop-accepting
  release.set_value();
  for (auto& c : queued) {
    http_response r;
    REQUIRE_NOTHROW(r = c->read_response());
    CHECK(r.status == 200);
    CHECK(r.closes());
    CHECK(c->wait_closed());
  }
}

TEST_CASE("a request already received on a keep-alive connection when accepting stops is served",
          "[threads]") {
  test_server server({}, 1);
  http_client c(server.port());
  c.send_request("GET", "/hello");
  CHECK(c.read_response().status == 200);
  // Hold the only io thread; the next request reaches the socket before accepting stops and the
  // gate closes, and is read after: a proxy in front cannot retry a 503 the way it retries a
  // refused connection, so it is served.
  std::promise<void> release;
  std::promise<void> holding;
  boost::asio::post(server.io(), [&] {
    holding.set_value();
    release.get_future().wait();
  });
  holding.get_future().wait();
  c.send_request("GET", "/hello");
  REQUIRE(eventually([&] { return c.unacked_bytes() == 0; }));
  server.stopping.cancel(cancellation_reason::application_stopping);
  server.stop_accepting.cancel(cancellation_reason::application_stopping);
  server.in_flight.close();
  CHECK_FALSE(server.in_flight.is_drained());  // held until every connection was looked at
  release.set_value();
  const auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.closes());
  CHECK(c.wait_closed());
  CHECK(eventually([&] { return server.in_flight.is_drained(); }));
}

TEST_CASE("at stop-accepting the in-flight gate counts each request in flight once", "[threads]") {
  test_server server;
  auto busy = start_work(server);
  http_client idle(server.port());
  idle.send_request("GET", "/hello");
  CHECK(idle.read_response().status == 200);
  // The /hello request leaves the gate just after its response is out.
  REQUIRE(eventually([&] { return server.in_flight.count() == 1; }));
  server.stopping.cancel(cancellation_reason::application_stopping);
  server.stop_accepting.cancel(cancellation_reason::application_stopping);
  server.in_flight.close();
  CHECK(idle.wait_closed());
  // The stop's own hold is gone once it has looked at every connection; the busy connection,
  // which closes after its response, took no second one.
  CHECK(eventually([&] { return server.in_flight.count() == 1; }));
  server.cancel_in_flight.cancel(cancellation_reason::application_stopping);
  CHECK(busy->read_response().status == 503);
  CHECK(eventually([&] { return server.in_flight.is_drained(); }));
}

TEST_CASE(
    "from the moment the stop begins /readyz answers 503; responses close once accepting stops") {
  test_server server;
  CHECK(get(server.port(), "/readyz").status == 200);
  http_client c(server.port());
  c.send_request("GET", "/hello");
  CHECK_FALSE(c.read_response().closes());
  server.stopping.cancel(cancellation_reason::application_stopping);
  c.send_request("GET", "/readyz");
  const auto r = c.read_response();
  CHECK(r.status == 503);
  CHECK_FALSE(r.closes());
  CHECK(metric(server.port(), "lifetime_ready") == 0);
  server.stop_accepting.cancel(cancellation_reason::application_stopping);
  c.send_request("GET", "/hello");
  const auto last = c.read_response();
  CHECK(last.status == 200);
  CHECK(last.closes());
  CHECK(c.wait_closed());
}

TEST_CASE(
    "once accepting stops an idle keep-alive connection answers one more request, then closes",
    "[threads]") {
  demo_config config;
  config.closing_linger = std::chrono::seconds(30);  // the request below comes well within it
  test_server server(config);
  http_client pooled(server.port());
  pooled.send_request("GET", "/hello");
  CHECK_FALSE(pooled.read_response().closes());
  server.stopping.cancel(cancellation_reason::application_stopping);
  server.stop_accepting.cancel(cancellation_reason::application_stopping);
  server.in_flight.close();
  // The stop's own hold is gone once it has looked at every connection; the idle connection keeps
  // a copy for the request it may still get, so the drain waits for it.
  REQUIRE(eventually([&] { return server.in_flight.count() == 1; }));
  pooled.send_request("GET", "/hello");
  const auto r = pooled.read_response();
  CHECK(r.status == 200);
  CHECK(r.closes());
  CHECK(pooled.wait_closed());
  CHECK(eventually([&] { return server.in_flight.is_drained(); }));
}

TEST_CASE("once accepting stops an idle keep-alive connection closes after the linger",
          "[threads]") {
  demo_config config;
  config.closing_linger = std::chrono::milliseconds(300);
  test_server server(config);
  http_client pooled(server.port());
  pooled.send_request("GET", "/hello");
  CHECK(pooled.read_response().status == 200);
  server.stopping.cancel(cancellation_reason::application_stopping);
  const auto stopped = std::chrono::steady_clock::now();
  server.stop_accepting.cancel(cancellation_reason::application_stopping);
  server.in_flight.close();
  CHECK(pooled.wait_closed());
  // The linger counts from the later of its last response and the stop.
  CHECK(std::chrono::steady_clock::now() - stopped >= config.closing_linger);
  CHECK(eventually([&] { return server.in_flight.is_drained(); }));
}

TEST_CASE("a header larger than the limit answers 431") {
  test_server server;
  http_client c(server.port());
  c.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'a') + "\r\n\r\n");
  CHECK(c.read_response().status == 431);
}

TEST_CASE("a body larger than the limit answers 413") {
  test_server server;
  const auto s = new_session(server.port());
  auto headers = s.headers();
  headers["Content-Length"] = std::to_string(1024 * 1024);
  http_client c(server.port());
  c.send_request("POST", "/api/operations?seconds=1", headers);
  const auto r = c.read_response();
  CHECK(r.status == 413);
  CHECK(r.closes());
}

TEST_CASE("a malformed request answers 400") {
  test_server server;
  http_client c(server.port());
  c.send("GET /hello HTTP/1.1\r\nHost x\r\n\r\n");
  CHECK(c.read_response().status == 400);
  http_client d(server.port());
  d.send("GET /api/work?seconds=lots HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(d.read_response().status == 400);
}

TEST_CASE("a connection that sends no header within the header timeout is closed") {
  demo_config config;
  config.header_timeout = std::chrono::milliseconds(200);
  test_server server(config);
  http_client c(server.port());
  c.send("GET /hello HTTP/1.1\r\n");
  CHECK(c.wait_closed());
}

TEST_CASE("a keep-alive connection idle for longer than the idle timeout is closed") {
  demo_config config;
  config.idle_timeout = std::chrono::milliseconds(200);
  test_server server(config);
  http_client c(server.port());
  c.send_request("GET", "/hello");
  CHECK(c.read_response().status == 200);
  const auto idle_since = std::chrono::steady_clock::now();
  CHECK(c.wait_closed());
  CHECK(std::chrono::steady_clock::now() - idle_since >= std::chrono::milliseconds(150));
}

TEST_CASE("with request cancellation off a disconnect goes unnoticed until the work ends") {
  demo_config config;
  config.request_cancellation = false;
  test_server server(config);
  auto c = start_work(server, "seconds=0.3");
  c->reset();
  CHECK(eventually([&] { return metric(server.port(), "demo_work_in_progress") == 0; }));
  // Every one of the 6 steps ran: nothing told the handler.
  CHECK(metric(server.port(), "demo_work_steps_total") == 6);
}

}  // namespace lifetime::demo::test
