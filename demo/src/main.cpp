// SPDX-License-Identifier: MIT
// lifetime-demo: the HTTP server whose requests can be aborted (by the client, by shutdown, by a
// deadline) or restarted. Run it and open the URL it prints.
#include <charconv>
#include <cstdint>
#include <iostream>
#include <limits>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/program_options.hpp>

#include <lifetime/host/duration.hpp>
#include <lifetime/host/host.hpp>
#include <lifetime/host/options.hpp>

#include <lifetime/http/server_service.hpp>

#include "application.hpp"
#include "demo_config.hpp"

namespace {

namespace po = boost::program_options;
using lifetime::host::duration_value;
using namespace std::chrono_literals;

// Option types whose validate() overloads check the text while Program_options parses it, so a
// bad value is reported with its source: the option on the command line (exit 64), the file and
// line in a config file (exit 78).

/// A non-negative decimal integer no larger than its option's bound; "-1", "+1", "0x10" and
/// overflowing values are rejected (Program_options' own unsigned conversion wraps "-1").
template <std::uint64_t Max>
struct bounded_count {
  std::uint64_t value = 0;
};
using byte_count = bounded_count<std::numeric_limits<std::size_t>::max()>;
using thread_count = bounded_count<1024>;

template <std::uint64_t Max>
std::ostream& operator<<(std::ostream& out, const bounded_count<Max>& count) {
  return out << count.value;
}

template <std::uint64_t Max>
void validate(boost::any& result, const std::vector<std::string>& values, bounded_count<Max>*,
              int) {
  po::validators::check_first_occurrence(result);
  const std::string& text = po::validators::get_single_string(values);
  std::uint64_t parsed = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, parsed);
  if (text.empty() || text.front() < '0' || text.front() > '9' || ec != std::errc() || ptr != end ||
      parsed > Max) {
    throw po::invalid_option_value(text);
  }
  result = bounded_count<Max>{parsed};
}

/// One --listen address, checked by http::parse_listen_address().
struct listen_address {
  std::string text;
};

void validate(boost::any& result, const std::vector<std::string>& values, listen_address*, int) {
  po::validators::check_first_occurrence(result);
  const std::string& text = po::validators::get_single_string(values);
  try {
    (void)lifetime::http::parse_listen_address(text);
  } catch (const std::exception&) {
    throw po::invalid_option_value(text);
  }
  result = listen_address{text};
}

/// "on" or "off".
struct on_off {
  bool on = true;
};

std::ostream& operator<<(std::ostream& out, const on_off& value) {
  return out << (value.on ? "on" : "off");
}

void validate(boost::any& result, const std::vector<std::string>& values, on_off*, int) {
  po::validators::check_first_occurrence(result);
  const std::string& text = po::validators::get_single_string(values);
  if (text != "on" && text != "off")
    throw po::invalid_option_value(text);
  result = on_off{text == "on"};
}

void declare_options(lifetime::host::options& opts) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  opts.add_options()(
      "listen", po::value<std::vector<listen_address>>()->composing()->value_name("ADDR:PORT"),
      "address:port to listen on; repeatable (default 127.0.0.1:8080; [::1]:8080, :8080 for all)")(
      "threads",
      po::value<thread_count>()->default_value(thread_count{std::min(cores, 4u)})->value_name("N"),
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
      "restart-grace",
      po::value<duration_value>()->default_value(duration_value{10s})->value_name("DURATION"),
      "after a reload (SIGHUP, POST /admin/restart), how long requests that started before it "
      "may still run before they are cancelled with reason restart (0: at once)")(
      "max-header-size",
      po::value<byte_count>()->default_value(byte_count{8 * 1024})->value_name("BYTES"),
      "largest request header in bytes (431 past it)")(
      "max-body-size",
      po::value<byte_count>()->default_value(byte_count{64 * 1024})->value_name("BYTES"),
      "largest request body in bytes, uploads aside (413 past it)")(
      "max-upload-size",
      po::value<byte_count>()->default_value(byte_count{1024 * 1024 * 1024})->value_name("BYTES"),
      "largest upload in bytes (413 past it)")(
      "request-cancellation",
      po::value<on_off>()->default_value(on_off{true})->value_name("on|off"),
      "on: every request gets a token linked to its connection, the stop, restarts and its "
      "deadline; off: none of that (for benchmarks)");
}

lifetime::demo::demo_config config_from(const lifetime::host::options& opts) {
  lifetime::demo::demo_config config;
  if (opts.has("listen")) {
    config.listen.clear();
    for (const auto& address : opts.value<std::vector<listen_address>>("listen"))
      config.listen.push_back(address.text);
  }
  config.storage_dir = opts.value<std::string>("storage-dir");
  config.admin_token = opts.value<std::string>("admin-token");
  config.request_timeout = opts.duration("request-timeout");
  config.header_timeout = opts.duration("header-timeout");
  config.idle_timeout = opts.duration("idle-timeout");
  config.restart_grace = opts.duration("restart-grace");
  config.max_header_size =
      static_cast<std::size_t>(opts.value<byte_count>("max-header-size").value);
  config.max_body_size = static_cast<std::size_t>(opts.value<byte_count>("max-body-size").value);
  config.max_upload_size =
      static_cast<std::size_t>(opts.value<byte_count>("max-upload-size").value);
  config.request_cancellation = opts.value<on_off>("request-cancellation").on;
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
  host_options.threads =
      std::max(1u, static_cast<unsigned>(opts.value<thread_count>("threads").value));
  try {
    lifetime::host::host host(host_options);
    lifetime::demo::application app;
    host.add_service<lifetime::http::server_service>(
        host, app.routes(),
        [&opts]() -> std::shared_ptr<const lifetime::http::server_config> {
          auto config = std::make_shared<const lifetime::demo::demo_config>(config_from(opts));
          return config;
        },
        [&app, &opts](lifetime::http::server& server) {
          lifetime::demo::application::prepare(config_from(opts));
          app.setup(server);
        });
    return host.run();
  } catch (const std::exception& e) {
    // The host's constructor rejects an inconsistent systemd environment.
    std::cerr << "lifetime-demo: " << e.what() << "\n";
    return static_cast<int>(lifetime::host::exit_code::config);
  }
}
