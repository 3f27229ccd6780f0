// SPDX-License-Identifier: MIT
// A daemon on lifetime::http (the installed API, as a user writes one) whose long requests stay
// idle, for bench/http/streams.py: what an idle keep-alive connection, event stream, WebSocket
// session and plain request each cost in memory, and how long the stop takes to close 10,000 of
// each.
//
//   lifetime_stream_server --listen 127.0.0.1:8080 [--threads N] [--shutdown-timeout 10s]
//
//   GET /healthz   200 "ok"
//   GET /hello     200 "hello"
//   GET /metrics   the server's metrics (Prometheus text) and bench_idle_handlers
//   GET /wait      a plain request that waits on its token for an hour
//   GET /events    a server-sent event stream: its header, then nothing, until its token fires
//   GET /socket    a WebSocket session that waits on its token (for an hour)
//
// Each waiting handler counts in bench_idle_handlers while it waits; the stop cancels them all
// (a plain request answers 503, a stream ends, a session closes with 1001).
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <lifetime/host/host.hpp>
#include <lifetime/host/options.hpp>
#include <lifetime/http/request_context.hpp>
#include <lifetime/http/server_service.hpp>
#include <lifetime/http/websocket.hpp>

namespace {

namespace http = lifetime::http;
namespace po = boost::program_options;
using verb = boost::beast::http::verb;
using status = boost::beast::http::status;
using namespace std::chrono_literals;

std::atomic<long> idle_handlers{0};

/// Counts a handler in bench_idle_handlers while it waits.
class idle_scope {
 public:
  idle_scope() noexcept { idle_handlers.fetch_add(1, std::memory_order_relaxed); }
  idle_scope(const idle_scope&) = delete;
  idle_scope& operator=(const idle_scope&) = delete;
  ~idle_scope() { idle_handlers.fetch_sub(1, std::memory_order_relaxed); }
};

boost::asio::awaitable<void> text(http::request_context& ctx, std::string body) {
  co_await ctx.send(ctx.make_response(status::ok, std::move(body), "text/plain"));
}

boost::asio::awaitable<void> wait(http::request_context& ctx) {
  idle_scope scope;
  co_await ctx.sleep_for(1h);
  co_await text(ctx, "waited\n");
}

boost::asio::awaitable<void> events(http::request_context& ctx) {
  co_await ctx.begin_events();
  idle_scope scope;
  co_await ctx.sleep_for(1h);
  co_await ctx.end_events();
}

boost::asio::awaitable<void> idle_socket(http::websocket_session& ws) {
  idle_scope scope;
  co_await ws.sleep_for(1h);
}

boost::asio::awaitable<void> metrics(http::request_context& ctx) {
  co_await text(ctx, ctx.server().metrics_text() + "bench_idle_handlers " +
                         std::to_string(idle_handlers.load(std::memory_order_relaxed)) + "\n");
}

}  // namespace

int main(int argc, char* argv[]) {
  lifetime::host::options options("lifetime-stream-server");
  options.add_options()("listen", po::value<std::string>()->default_value("127.0.0.1:8080"),
                        "address:port to listen on")(
      "threads", po::value<unsigned>()->default_value(1), "I/O threads");
  if (auto code = options.parse(argc, argv))
    return *code;

  auto host_options = options.to_host_options();
  host_options.threads = std::max(1u, options.value<unsigned>("threads"));
  lifetime::host::host host(host_options);
  http::router routes;
  routes.add(verb::get, "/healthz", [](http::request_context& ctx) { return text(ctx, "ok\n"); })
      .add(verb::get, "/hello", [](http::request_context& ctx) { return text(ctx, "hello\n"); })
      .add(verb::get, "/metrics", metrics)
      .add(verb::get, "/wait", wait)
      .add(verb::get, "/events", events)
      .add_websocket("/socket", idle_socket);
  host.add_service<http::server_service>(host, std::move(routes), [&options] {
    auto config = std::make_shared<http::server_config>();
    config->listen = {options.value<std::string>("listen")};
    config->idle_timeout = 1h;  // idle connections stay for the measurement
    return std::shared_ptr<const http::server_config>(std::move(config));
  });
  return host.run();
}
