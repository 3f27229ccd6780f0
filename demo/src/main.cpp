// SPDX-License-Identifier: MIT
// lifetime-demo: the HTTP server whose requests can be aborted (by the client, by shutdown, by a
// deadline) or restarted. Run it and open the URL it prints.
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/program_options.hpp>

#include <lifetime/host/duration.hpp>
#include <lifetime/host/host.hpp>
#include <lifetime/host/options.hpp>

#include "http/server_config.hpp"
#include "server_service.hpp"

namespace {

namespace po = boost::program_options;
using lifetime::host::duration_value;
using namespace std::chrono_literals;

void declare_options(lifetime::host::options& opts) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  opts.add_options()(
      "listen", po::value<std::vector<std::string>>()->composing()->value_name("ADDR:PORT"),
      "address:port to listen on; repeatable (default 127.0.0.1:8080; [::1]:8080, :8080 for all)")(
      "threads", po::value<unsigned>()->default_value(std::min(cores, 4u))->value_name("N"),
      "I/O threads")(
      "storage-dir",
      po::value<std::string>()->default_value("lifetime-demo-storage")->value_name("DIR"),
      "folder where uploads are committed")(
      "admin-token", po::value<std::string>()->default_value("")->value_name("TOKEN"),
      "token POST /admin/restart requires (Authorization: Bearer TOKEN); empty disables it")(
      "request-timeout",
      po::value<duration_value>()->default_value(duration_value{0ms})->value_name("DURATION"),
      "upper bound for every request's deadline; ?timeout= may only shorten it (0: none)")(
      "header-timeout",
      po::value<duration_value>()->default_value(duration_value{10s})->value_name("DURATION"),
      "time allowed to send a request header")(
      "idle-timeout",
      po::value<duration_value>()->default_value(duration_value{30s})->value_name("DURATION"),
      "time a keep-alive connection may stay idle")(
      "max-header-size", po::value<std::size_t>()->default_value(8 * 1024)->value_name("BYTES"),
      "largest request header in bytes (431 past it)")(
      "max-body-size", po::value<std::size_t>()->default_value(64 * 1024)->value_name("BYTES"),
      "largest request body in bytes, uploads aside (413 past it)")(
      "max-upload-size",
      po::value<std::size_t>()->default_value(1024 * 1024 * 1024)->value_name("BYTES"),
      "largest upload in bytes (413 past it)")(
      "request-cancellation", po::value<std::string>()->default_value("on")->value_name("on|off"),
      "on: every request gets a token linked to its connection, the stop, restarts and its "
      "deadline; off: none of that (for benchmarks)");
}

lifetime::demo::server_config config_from(const lifetime::host::options& opts) {
  lifetime::demo::server_config config;
  if (opts.has("listen"))
    config.listen = opts.value<std::vector<std::string>>("listen");
  for (const auto& address : config.listen) {
    (void)lifetime::demo::parse_listen_address(address);  // throws naming the bad value
  }
  config.storage_dir = opts.value<std::string>("storage-dir");
  config.admin_token = opts.value<std::string>("admin-token");
  config.request_timeout = opts.duration("request-timeout");
  config.header_timeout = opts.duration("header-timeout");
  config.idle_timeout = opts.duration("idle-timeout");
  config.max_header_size = opts.value<std::size_t>("max-header-size");
  config.max_body_size = opts.value<std::size_t>("max-body-size");
  config.max_upload_size = opts.value<std::size_t>("max-upload-size");
  const auto cancellation = opts.value<std::string>("request-cancellation");
  if (cancellation != "on" && cancellation != "off") {
    throw std::invalid_argument("--request-cancellation must be on or off, not " + cancellation);
  }
  config.request_cancellation = cancellation == "on";
  return config;
}

}  // namespace

int main(int argc, char* argv[]) {
  lifetime::host::options opts("lifetime-demo");
  declare_options(opts);
  if (auto code = opts.parse(argc, argv))
    return *code;
  try {
    (void)config_from(opts);
  } catch (const std::exception& e) {
    std::cerr << "lifetime-demo: " << e.what() << "\n";
    return static_cast<int>(lifetime::host::exit_code::usage);
  }
  auto host_options = opts.to_host_options();
  host_options.name = "lifetime-demo";
  host_options.threads = std::max(1u, opts.value<unsigned>("threads"));
  try {
    lifetime::host::host host(host_options);
    host.add_service<lifetime::demo::server_service>(host, [&opts] { return config_from(opts); });
    return host.run();
  } catch (const std::exception& e) {
    // The host's constructor rejects an inconsistent systemd environment.
    std::cerr << "lifetime-demo: " << e.what() << "\n";
    return static_cast<int>(lifetime::host::exit_code::config);
  }
}
