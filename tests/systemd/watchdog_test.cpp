// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/watchdog.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace systemd = lifetime::host::systemd;
using namespace std::chrono_literals;

namespace {
void set(const char* name, const std::string& value) {
  ::setenv(name, value.c_str(), 1);
}
}  // namespace

TEST_CASE("without WATCHDOG_USEC the watchdog is off", "[systemd][watchdog]") {
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  const auto settings = systemd::watchdog_from_environment();
  CHECK_FALSE(settings.enabled());
  CHECK(settings.interval == 0us);
}

TEST_CASE("WATCHDOG_USEC for this process enables the watchdog, pinged at half the interval",
          "[systemd][watchdog]") {
  set("WATCHDOG_USEC", "10000000");
  ::unsetenv("WATCHDOG_PID");
  auto settings = systemd::watchdog_from_environment();
  CHECK(settings.enabled());
  CHECK(settings.interval == 10s);
  CHECK(settings.ping_interval() == 5s);

  set("WATCHDOG_PID", std::to_string(::getpid()));
  settings = systemd::watchdog_from_environment();
  CHECK(settings.interval == 10s);
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST_CASE("WATCHDOG_PID naming another process leaves the watchdog off", "[systemd][watchdog]") {
  set("WATCHDOG_USEC", "10000000");
  set("WATCHDOG_PID", std::to_string(::getppid()));
  CHECK_FALSE(systemd::watchdog_from_environment().enabled());
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST_CASE("a malformed WATCHDOG_USEC is a configuration error", "[systemd][watchdog]") {
  set("WATCHDOG_USEC", "10s");
  ::unsetenv("WATCHDOG_PID");
  std::error_code ec;
  CHECK_FALSE(systemd::watchdog_from_environment(ec).enabled());
  CHECK(ec == systemd::errc::invalid_watchdog_usec);
  try {
    (void)systemd::watchdog_from_environment();
    FAIL("watchdog_from_environment() did not throw");
  } catch (const systemd::environment_error& e) {
    CHECK(e.code() == systemd::errc::invalid_watchdog_usec);
    CHECK(std::string(e.what()).find("WATCHDOG_USEC=\"10s\"") != std::string::npos);
  }
  ::unsetenv("WATCHDOG_USEC");
}
