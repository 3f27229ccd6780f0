// SPDX-License-Identifier: MIT
// A complete daemon on lifetime::http: options (command line, --config file, LIFETIME_*
// environment), the host (signals, the phased stop, systemd notifications, socket activation and
// the fd store), and one route whose work stops when its token fires.
//
//   http_daemon --listen 127.0.0.1:8080 --shutdown-timeout 10s
//   curl 'http://127.0.0.1:8080/work?seconds=5&timeout=1.5s'
//
// What GET /work answers: 200 when its work is done; 504 past ?timeout= (deadline_exceeded); 503
// with Retry-After and Connection: close when the daemon stops or restarts (SIGHUP); nothing,
// logged as 499, when the client leaves (seen while the handler waits).
#include <chrono>
#include <memory>
#include <string>

#include <boost/json/object.hpp>

#include <lifetime/host/host.hpp>
#include <lifetime/host/options.hpp>
#include <lifetime/http/request_context.hpp>
#include <lifetime/http/server_service.hpp>

namespace {

namespace http = lifetime::http;
namespace po = boost::program_options;
using verb = boost::beast::http::verb;

// Work in 100 ms steps; each step waits on the request's token and throws
// lifetime::operation_cancelled when it fires, which the server turns into 499/503/504.
boost::asio::awaitable<void> work(http::request_context& ctx) {
  const int steps = std::stoi(ctx.query("seconds").value_or("1")) * 10;
  for (int step = 0; step < steps; ++step)
    co_await ctx.sleep_for(std::chrono::milliseconds(100));
  boost::json::object body;
  body["steps"] = steps;
  co_await ctx.send_json(boost::beast::http::status::ok, body);
}

}  // namespace

int main(int argc, char* argv[]) {
  lifetime::host::options options("http-daemon");
  options.add_options()("listen", po::value<std::string>()->default_value("127.0.0.1:8080"),
                        "address:port to listen on");
  if (auto code = options.parse(argc, argv))
    return *code;  // 64 usage, 78 config, 0 --help

  lifetime::host::host host(options.to_host_options());
  http::router routes;
  routes.add(verb::get, "/work", work);
  host.add_service<http::server_service>(host, std::move(routes), [&options] {
    auto config = std::make_shared<http::server_config>();
    config->listen = {options.value<std::string>("listen")};
    return std::shared_ptr<const http::server_config>(std::move(config));
  });
  return host.run();  // the exit code: 0 graceful, 1 a service failed, 70 budget overrun
}
