// SPDX-License-Identifier: MIT
#include <lifetime/host/host.hpp>
#include <lifetime/host/options.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace po = boost::program_options;
using lifetime::host::config_error;
using lifetime::host::usage_error;

namespace {

struct argv_builder {
  explicit argv_builder(std::vector<std::string> args) : args_(std::move(args)) {
    args_.insert(args_.begin(), "app");
    for (auto& a : args_)
      pointers_.push_back(a.c_str());
  }
  int argc() const { return static_cast<int>(pointers_.size()); }
  const char* const* argv() const { return pointers_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<const char*> pointers_;
};

std::optional<int> parse(lifetime::host::options& opts, std::vector<std::string> args) {
  argv_builder a(std::move(args));
  return opts.parse_or_throw(a.argc(), a.argv());
}

std::string write_config(const std::string& name, const std::string& content) {
  const std::string path = "/tmp/lifetime_options_test_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << content;
  return path;
}

/// Sets an environment variable for the scope of a test.
struct scoped_env {
  scoped_env(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~scoped_env() { ::unsetenv(name_); }
  const char* name_;
};

}  // namespace

TEST_CASE("the built-in options have the documented defaults", "[host][options]") {
  lifetime::host::options opts("app");
  REQUIRE_FALSE(parse(opts, {}));
  const auto host = opts.to_host_options();
  CHECK(host.shutdown_timeout == 30s);
  CHECK(host.drain_delay == 0ms);
  CHECK(host.log_level == "info");
  CHECK(host.name == "app");
  CHECK(opts.config_file().empty());
}

TEST_CASE("application options are parsed alongside the built-in ones", "[host][options]") {
  lifetime::host::options opts("app");
  opts.add_options()("listen", po::value<std::string>()->default_value("127.0.0.1:8080"), "")(
      "request-timeout", po::value<lifetime::host::duration_value>(), "")(
      "threads", po::value<unsigned>()->default_value(1), "");
  REQUIRE_FALSE(parse(opts, {"--listen", "0.0.0.0:80", "--request-timeout=250ms",
                             "--shutdown-timeout", "2m", "--threads", "4"}));
  CHECK(opts.value<std::string>("listen") == "0.0.0.0:80");
  CHECK(opts.duration("request-timeout") == 250ms);
  CHECK(opts.value<unsigned>("threads") == 4);
  CHECK(opts.to_host_options().shutdown_timeout == 2min);
}

TEST_CASE("an unknown option is a usage error naming it", "[host][options]") {
  lifetime::host::options opts("app");
  try {
    parse(opts, {"--no-such-option"});
    FAIL("no exception");
  } catch (const usage_error& e) {
    CHECK(std::string(e.what()).find("--no-such-option") != std::string::npos);
  }
  lifetime::host::options again("app");
  argv_builder a({"--no-such-option"});
  CHECK(again.parse(a.argc(), a.argv()) == 64);
}

TEST_CASE("a malformed value is a usage error naming the option and the value", "[host][options]") {
  lifetime::host::options opts("app");
  try {
    parse(opts, {"--drain-delay", "-1s"});
    FAIL("no exception");
  } catch (const usage_error& e) {
    const std::string what = e.what();
    CHECK(what.find("-1s") != std::string::npos);
    CHECK(what.find("drain-delay") != std::string::npos);
  }
  lifetime::host::options level("app");
  CHECK_THROWS_AS(parse(level, {"--log-level", "loud"}), usage_error);
}

TEST_CASE("--help and --version return 0 even next to a mistake", "[host][options]") {
  lifetime::host::options opts("app", "9.9");
  CHECK(parse(opts, {"--bogus", "--help"}) == 0);
  lifetime::host::options version("app", "9.9");
  CHECK(parse(version, {"--version"}) == 0);
  CHECK(opts.help().find("--shutdown-timeout") != std::string::npos);
}

TEST_CASE("a config file is read, and the command line wins over it", "[host][options]") {
  const auto path = write_config("good.ini",
                                 "# a comment\n; another\n\nshutdown-timeout = 10s\n"
                                 "drain-delay=2s\n[demo]\nlisten = 0.0.0.0:9000\n");
  lifetime::host::options opts("app");
  opts.add_options()("demo.listen", po::value<std::string>(), "");
  REQUIRE_FALSE(parse(opts, {"--config", path, "--drain-delay", "1s"}));
  CHECK(opts.duration("shutdown-timeout") == 10s);
  CHECK(opts.duration("drain-delay") == 1s);
  CHECK(opts.value<std::string>("demo.listen") == "0.0.0.0:9000");
  CHECK(opts.config_file() == path);
  std::remove(path.c_str());
}

TEST_CASE("a config file error names the file and the line", "[host][options]") {
  struct bad_case {
    const char* content;
    const char* expected;
  };
  for (const auto& c : {bad_case{"shutdown-timeout = 1s\nnot a pair\n", ":2: expected"},
                        bad_case{"\n\nunknown-key = 1\n", ":3: unknown option 'unknown-key'"},
                        bad_case{"drain-delay = forever\n", ":1: invalid value 'forever'"},
                        bad_case{"[broken\n", ":1: malformed section"}}) {
    const auto path = write_config("bad.ini", c.content);
    lifetime::host::options opts("app");
    try {
      parse(opts, {"--config", path});
      FAIL("no exception for " << c.content);
    } catch (const config_error& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find(path + c.expected) != std::string::npos);
    }
    std::remove(path.c_str());
  }
  lifetime::host::options missing("app");
  argv_builder a({"--config", "/nonexistent/app.ini"});
  CHECK(missing.parse(a.argc(), a.argv()) == 78);
}

TEST_CASE(
    "LIFETIME_ environment variables set options below the command line and above the "
    "config file",
    "[host][options]") {
  const auto path = write_config("env.ini", "shutdown-timeout = 10s\ndrain-delay = 3s\n");
  scoped_env timeout("LIFETIME_SHUTDOWN_TIMEOUT", "20s");
  scoped_env delay("LIFETIME_DRAIN_DELAY", "4s");
  scoped_env unrelated("LIFETIME_NOT_AN_OPTION", "x");
  lifetime::host::options opts("app");
  REQUIRE_FALSE(parse(opts, {"--config", path, "--drain-delay", "5s"}));
  CHECK(opts.duration("shutdown-timeout") == 20s);
  CHECK(opts.duration("drain-delay") == 5s);
  std::remove(path.c_str());
}

TEST_CASE("a malformed LIFETIME_ variable is a config error naming it", "[host][options]") {
  scoped_env bad("LIFETIME_SHUTDOWN_TIMEOUT", "often");
  lifetime::host::options opts("app");
  try {
    parse(opts, {});
    FAIL("no exception");
  } catch (const config_error& e) {
    const std::string what = e.what();
    CHECK(what.find("LIFETIME_SHUTDOWN_TIMEOUT") != std::string::npos);
    CHECK(what.find("often") != std::string::npos);
  }
}

TEST_CASE("reload re-reads the config file and keeps the old values on error", "[host][options]") {
  const auto path = write_config("reload.ini", "drain-delay = 1s\n");
  lifetime::host::options opts("app");
  REQUIRE_FALSE(parse(opts, {"--config", path}));
  auto host = opts.to_host_options();
  std::ofstream(path) << "drain-delay = 2s\n";
  host.reload_config();
  CHECK(opts.duration("drain-delay") == 2s);
  std::ofstream(path) << "drain-delay = ???\n";
  CHECK_THROWS_AS(opts.reload(), config_error);
  CHECK(opts.duration("drain-delay") == 2s);
  std::remove(path.c_str());
}

TEST_CASE("exit_code_of maps usage and config errors to 64 and 78, anything else to 1",
          "[host][options]") {
  using lifetime::host::exit_code_of;
  CHECK(exit_code_of(std::make_exception_ptr(usage_error("x"))) == 64);
  CHECK(exit_code_of(std::make_exception_ptr(config_error("x"))) == 78);
  CHECK(exit_code_of(std::make_exception_ptr(std::runtime_error("x"))) == 1);
  CHECK(exit_code_of(nullptr) == 0);
}

TEST_CASE("a malformed log-level in the config file is a config error naming the file and line",
          "[host][options]") {
  const auto path = write_config("log_level.ini", "# levels\n\nlog-level = loud\n");
  lifetime::host::options opts("app");
  try {
    parse(opts, {"--config", path});
    FAIL("no error");
  } catch (const config_error& e) {
    const std::string what = e.what();
    CHECK(what.find(path + ":3") != std::string::npos);
    CHECK(what.find("log-level") != std::string::npos);
    CHECK(what.find("loud") != std::string::npos);
  }
}

TEST_CASE("a malformed LIFETIME_LOG_LEVEL is a config error naming the variable",
          "[host][options]") {
  scoped_env env("LIFETIME_LOG_LEVEL", "loud");
  lifetime::host::options opts("app");
  try {
    parse(opts, {});
    FAIL("no error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()).find("LIFETIME_LOG_LEVEL") != std::string::npos);
  }
}

TEST_CASE("an argument holding a Program_options message placeholder is a usage error, not a hang",
          "[host][options]") {
  // Boost.Program_options 1.81 loops forever building the message for "--%canonical_option%".
  lifetime::host::options opts("app");
  CHECK_THROWS_AS(parse(opts, {"--%canonical_option%"}), usage_error);
  CHECK_THROWS_AS(parse(opts, {"--shutdown-timeout", "%value%"}), usage_error);
  const auto path = write_config("placeholder.ini", "drain-delay = %original_token%\n");
  CHECK_THROWS_AS(parse(opts, {"--config", path}), config_error);
  // An ordinary percent sign is a value like any other.
  CHECK_THROWS_WITH(parse(opts, {"--shutdown-timeout", "50%"}),
                    Catch::Contains("shutdown-timeout"));
}

TEST_CASE("the supervisor deadline accepts a stop that fits and refuses one that does not",
          "[host][options]") {
  {
    lifetime::host::options opts("app");
    CHECK_FALSE(parse(opts, {"app", "--drain-delay", "5s", "--shutdown-timeout", "25s",
                             "--supervisor-deadline", "45s"}));
    CHECK(opts.to_host_options().supervisor_deadline == std::chrono::seconds(45));
  }
  {
    // The budget holds the drain delay: 30 s + 1 s fit in 31 s whatever the delay.
    lifetime::host::options opts("app");
    CHECK_FALSE(parse(opts, {"app", "--drain-delay", "12s", "--shutdown-timeout", "30s",
                             "--supervisor-deadline", "31s"}));
  }
  {
    lifetime::host::options opts("app");
    try {
      parse(opts, {"app", "--shutdown-timeout", "30s", "--supervisor-deadline", "30s"});
      FAIL("expected a config_error");
    } catch (const lifetime::host::config_error& e) {
      const std::string what = e.what();
      CHECK(what.find("30s") != std::string::npos);
      CHECK(what.find("31s") != std::string::npos);
      CHECK(what.find("--supervisor-deadline") != std::string::npos);
    }
  }
  {
    scoped_env deadline("LIFETIME_SUPERVISOR_DEADLINE", "10s");
    lifetime::host::options opts("app");
    CHECK_THROWS_AS(parse(opts, {"app"}), lifetime::host::config_error);  // 30 s default budget
  }
}

TEST_CASE("a host given options that do not fit its supervisor deadline does not start",
          "[host][options]") {
  lifetime::host::host_options options;
  options.shutdown_timeout = std::chrono::seconds(5);
  options.supervisor_deadline = std::chrono::seconds(5);
  options.configure_logging = false;
  options.handle_signals = false;
  lifetime::host::host h(options);
  CHECK(h.run() == 78);
}

TEST_CASE(
    "the upgrade timeout and the pid file come from the command line, the environment or "
    "their defaults, and a zero timeout is refused",
    "[host][options]") {
  {
    lifetime::host::options opts("app");
    REQUIRE_FALSE(parse(opts, {}));
    const auto host = opts.to_host_options();
    CHECK(host.upgrade_timeout == 30s);
    CHECK(host.pid_file.empty());
  }
  {
    lifetime::host::options opts("app");
    REQUIRE_FALSE(parse(opts, {"--upgrade-timeout", "2s", "--pid-file", "/run/app.pid"}));
    const auto host = opts.to_host_options();
    CHECK(host.upgrade_timeout == 2s);
    CHECK(host.pid_file == "/run/app.pid");
  }
  {
    scoped_env timeout("LIFETIME_UPGRADE_TIMEOUT", "1m");
    scoped_env pid_file("LIFETIME_PID_FILE", "/tmp/app.pid");
    lifetime::host::options opts("app");
    REQUIRE_FALSE(parse(opts, {}));
    const auto host = opts.to_host_options();
    CHECK(host.upgrade_timeout == 60s);
    CHECK(host.pid_file == "/tmp/app.pid");
  }
  {
    lifetime::host::options opts("app");
    CHECK_THROWS_WITH(parse(opts, {"--upgrade-timeout", "0"}),
                      Catch::Contains("--upgrade-timeout"));
  }
}
