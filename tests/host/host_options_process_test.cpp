// SPDX-License-Identifier: MIT
// host_test_app's command line, environment and log format as a user meets them: unknown options,
// malformed durations, config files and LIFETIME_ variables exit 64 or 78 naming what is wrong;
// --help and --version; the journal's priority prefixes.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "host_process.hpp"

using namespace std::chrono_literals;
using lifetime::test::child_process;
using namespace lifetime::test::host_process;

TEST_CASE("an unknown option exits 64 naming it", "[host][process]") {
  child_process child(app({"--bogus"}));
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 64);
  CHECK(child.index_of("--bogus") >= 0);
}

TEST_CASE("a malformed duration exits 64 naming the option and the value", "[host][process]") {
  child_process child(app({"--shutdown-timeout", "soon"}));
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 64);
  const int index = child.index_of("soon");
  REQUIRE(index >= 0);
  CHECK(child.lines()[static_cast<std::size_t>(index)].find("shutdown-timeout") !=
        std::string::npos);
}

TEST_CASE("a bad config file exits 78 naming the file and the line", "[host][process]") {
  const auto config = temp_file("bad.ini", "# comment\ngreeting = hi\nthis is not an option\n");
  child_process child(app({"--config", config}));
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 78);
  CHECK(child.index_of(config + ":3:") >= 0);
  std::remove(config.c_str());
}

TEST_CASE("a missing config file exits 78 naming it", "[host][process]") {
  child_process child(app({"--config", "/nonexistent/lifetime.ini"}));
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 78);
  CHECK(child.index_of("/nonexistent/lifetime.ini") >= 0);
}

TEST_CASE("--help and --version print and exit 0", "[host][process]") {
  {
    child_process child(app({"--help"}));
    REQUIRE(child.wait_for_exit_code(10s) == 0);
    INFO(child.output());
    CHECK(child.index_of("--shutdown-timeout") >= 0);
    CHECK(child.index_of("--lease-never") >= 0);
    CHECK(child.index_of("LIFETIME_SHUTDOWN_TIMEOUT") >= 0);
  }
  {
    child_process child(app({"--version"}));
    REQUIRE(child.wait_for_exit_code(10s) == 0);
    CHECK(child.index_of("host_test_app 1.2.3") >= 0);
  }
}

TEST_CASE("options come from LIFETIME_ environment variables", "[host][process][threads]") {
  child_process child(app({}), {"LIFETIME_SHUTDOWN_TIMEOUT=7s", "LIFETIME_DRAIN_DELAY=50ms"});
  require_ready(child);
  child.signal(SIGTERM);
  REQUIRE(child.wait_for_exit_code(10s) == 0);
  INFO(child.output());
  CHECK(child.index_of("budget 7s, drain delay 50ms") >= 0);
}

TEST_CASE("a malformed LIFETIME_ variable exits 78 naming the variable", "[host][process]") {
  child_process child(app({}), {"LIFETIME_DRAIN_DELAY=-5s"});
  REQUIRE(child.wait_for_exit_code(10s) == 78);
  INFO(child.output());
  CHECK(child.index_of("LIFETIME_DRAIN_DELAY") >= 0);
}

TEST_CASE("with JOURNAL_STREAM set every log line starts with its syslog priority",
          "[host][process][threads]") {
  child_process child(app({"--log-level", "debug"}), {"JOURNAL_STREAM=8:1234"});
  REQUIRE_LINE(child, "<6>host_test_app: started in");
  child.signal(SIGTERM);
  REQUIRE(child.wait_for_exit_code(10s) == 0);
  INFO(child.output());
  CHECK(child.index_of("<7>") >= 0);
  for (const auto& line : child.lines()) {
    CHECK(line.size() > 3);
    CHECK(line[0] == '<');
    CHECK(line.find("] [") == std::string::npos);  // no timestamp
  }
}
