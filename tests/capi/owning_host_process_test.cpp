// SPDX-License-Identifier: MIT
// The C ABI's owning host in a real process (capi_test_app, written in C): real signals, exit
// codes, the budget.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <string>

#include "support/child_process.hpp"

using lifetime::test::child_process;
using std::chrono::milliseconds;

TEST_CASE("a C daemon stops gracefully on SIGTERM: its run token fires and it exits 0") {
  child_process app({LIFETIME_CAPI_TEST_APP, "graceful"});
  REQUIRE(app.wait_for_line("ready"));
  app.signal(SIGTERM);
  auto cancelled = app.wait_for_line("run cancelled:");
  REQUIRE(cancelled);
  CHECK(cancelled->find("application_stopping") != std::string::npos);
  CHECK(app.wait_for_exit_code() == 0);
  // The stopping callback (its own time box not yet cancelled) and the run hook's cancellation
  // come in either order.
  CHECK(app.output().find("stopping callback, cancelled=0") != std::string::npos);
  CHECK(app.output().find("run returned 0") != std::string::npos);
}

TEST_CASE("a C daemon whose stop hook never completes exits 70 within the budget plus 100 ms") {
  child_process app({LIFETIME_CAPI_TEST_APP, "blocking-stop"});
  REQUIRE(app.wait_for_line("ready"));
  const auto sent = std::chrono::steady_clock::now();
  app.signal(SIGTERM);
  REQUIRE(app.wait_for_line("stop entered"));
  CHECK(app.wait_for_exit_code() == 70);
  const auto took = std::chrono::steady_clock::now() - sent;
  CHECK(took < milliseconds(500 + 100 + 150));  // budget + enforcer margin + process noise
  CHECK(app.output().find("run returned") == std::string::npos);  // _exit, as configured
}

TEST_CASE("a C daemon whose background run fails exits 1 with the message in the log") {
  child_process app({LIFETIME_CAPI_TEST_APP, "failing-run"});
  CHECK(app.wait_for_exit_code() == 1);
  CHECK(app.output().find("the worker broke") != std::string::npos);
}

TEST_CASE("a second SIGTERM to a C daemon is a fast stop, not a crash") {
  child_process app({LIFETIME_CAPI_TEST_APP, "graceful"});
  REQUIRE(app.wait_for_line("ready"));
  app.signal(SIGTERM);
  app.signal(SIGTERM);
  const auto code = app.wait_for_exit_code();
  REQUIRE(code);
  CHECK(*code == 0);
}
