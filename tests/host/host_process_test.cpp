// SPDX-License-Identifier: MIT
// The host as a real process: host_test_app is spawned, signalled with real signals, and its log,
// phase order, timings (generous bounds) and exit code are asserted. Readiness is a log line read
// from the child's pipe with a deadline; nothing sleeps.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "host_process.hpp"

using namespace std::chrono_literals;
using lifetime::test::child_process;
using namespace lifetime::test::host_process;

TEST_CASE("SIGTERM with nothing running stops through the six phases in order and exits 0",
          "[host][process][threads]") {
  child_process child(app({}));
  require_ready(child);
  const auto sent = clock_type::now();
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 0);
  CHECK(seconds_since(sent, child.exited_at()) < 3.0);
  int previous = child.index_of("SIGTERM received: stopping gracefully");
  REQUIRE(previous >= 0);
  for (const char* phase :
       {"phase 1/6 stopping took", "phase 2/6 drain-delay took", "phase 3/6 stop-accepting took",
        "phase 4/6 drain took", "phase 5/6 cancel took", "phase 6/6 stop-services took",
        "stopped in"}) {
    const int index = child.index_of(phase);
    INFO(phase);
    CHECK(index > previous);
    previous = index;
  }
  CHECK(child.index_of("exit code 0") >= 0);
  CHECK(child.index_of("lifetime: stopped fired") > child.index_of("phase 6/6"));
}

TEST_CASE("services start in registration order and stop in reverse order",
          "[host][process][threads]") {
  child_process child(app({}));
  require_ready(child);
  child.signal(SIGINT);
  REQUIRE(child.wait_for_exit_code(10s) == 0);
  INFO(child.output());
  const std::vector<std::string> order = {"hook: recorder.starting()",
                                          "hook: last.starting()",
                                          "hook: recorder.start()",
                                          "hook: last.start()",
                                          "hook: recorder.started()",
                                          "hook: last.started()",
                                          "started in",
                                          "hook: last.stopping()",
                                          "hook: recorder.stopping()",
                                          "hook: last.stop()",
                                          "hook: worker.stop()",
                                          "hook: recorder.stop()",
                                          "hook: last.stopped()",
                                          "hook: recorder.stopped()"};
  int previous = -1;
  for (const auto& line : order) {
    const int index = child.index_of(line);
    INFO(line);
    CHECK(index > previous);
    previous = index;
  }
  // run() begins after the worker's start(), on an I/O thread, concurrently with the hooks that
  // follow; its token fires when the stop begins; run() returns before the worker's stop().
  CHECK(child.index_of("hook: worker.run()") > child.index_of("service 'worker' started"));
  CHECK(child.index_of("worker: token fired") > child.index_of("started in"));
  CHECK(child.index_of("worker: token fired") < child.index_of("hook: worker.stop()"));
}

TEST_CASE("a lease that is released in time holds the drain and the exit code stays 0",
          "[host][process][threads]") {
  child_process child(app({"--lease-release-after", "400ms", "--shutdown-timeout", "10s"}));
  require_ready(child);
  const auto sent = clock_type::now();
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 0);
  const double took = seconds_since(sent, child.exited_at());
  CHECK(took >= 0.35);
  CHECK(took < 5.0);
  CHECK(child.index_of("releasing test-lease") < child.index_of("phase 4/6 drain took"));
  CHECK(child.index_of("abandoned") < 0);
}

TEST_CASE(
    "a lease and a callback that never finish are abandoned, named, and the exit is 70 "
    "within the budget plus one second",
    "[host][process][threads]") {
  child_process child(app({"--lease-never", "--callback-block", "--shutdown-timeout", "2s"}));
  require_ready(child);
  const auto sent = clock_type::now();
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 70);
  CHECK(seconds_since(sent, child.exited_at()) < 3.0);
  CHECK(child.index_of("blocking-callback: blocking forever") >= 0);
  CHECK(child.index_of("lease 'test-lease' held shutdown for") >= 0);
  CHECK(child.index_of("callback 'blocking-callback' held shutdown for") >= 0);
  CHECK(child.index_of("exit code 70") >= 0);
}

TEST_CASE(
    "a hook that blocks the event loop forever cannot keep the process past the budget "
    "plus one second",
    "[host][process][threads]") {
  child_process child(app({"--wedge", "--shutdown-timeout", "1s"}));
  require_ready(child);
  const auto sent = clock_type::now();
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 70);
  CHECK(seconds_since(sent, child.exited_at()) < 2.0);
  CHECK(child.index_of("forcing exit with code 70") >= 0);
}

TEST_CASE("the exit enforcer ends a wedged stop 100 ms after the budget, with code 70",
          "[host][process][threads]") {
  child_process child(app({"--wedge", "--shutdown-timeout", "1s"}));
  require_ready(child);
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 70);
  // The state dump is written by the enforcer when it wakes: never before budget + 100 ms, and
  // (with slack for a loaded machine) well before the 1,500 ms an older margin gave.
  const int dump = child.index_of("forcing exit with code 70");
  REQUIRE(dump >= 0);
  const std::string line = child.lines().at(static_cast<std::size_t>(dump) + 1);
  const auto at = line.find("elapsed ");
  REQUIRE(at != std::string::npos);
  const int elapsed_ms = std::stoi(line.substr(at + 8));
  CHECK(elapsed_ms >= 1100);
  CHECK(elapsed_ms < 1450);
}

TEST_CASE(
    "by default run() ends the process once the stop is over, without destroying the services",
    "[host][process][threads]") {
  child_process child(app({}));
  require_ready(child);
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 0);
  CHECK(child.index_of("lifetime: stopped fired") >= 0);
  CHECK(child.index_of("stopped in") >= 0);
  CHECK(child.index_of("run() returned") < 0);
  CHECK(child.index_of("destroyed") < 0);
}

TEST_CASE("with exit_when_stopped off run() returns and the host destroys its services",
          "[host][process][threads]") {
  child_process child(app({"--return-from-run"}));
  require_ready(child);
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 0);
  CHECK(child.index_of("run() returned 0") > child.index_of("stopped in"));
  CHECK(child.index_of("hook: recorder destroyed") > child.index_of("run() returned 0"));
  CHECK(child.index_of("hook: last destroyed") > child.index_of("run() returned 0"));
  CHECK(child.index_of("host destroyed") > child.index_of("hook: recorder destroyed"));
  CHECK(child.index_of("host destroyed") > child.index_of("hook: last destroyed"));
}

TEST_CASE(
    "a stop that is over exits with its own code when the teardown after it never ends, "
    "100 ms after the budget",
    "[host][process][threads]") {
  child_process child(app({"--return-from-run", "--block-after-run", "--shutdown-timeout", "1s"}));
  require_ready(child);
  const auto sent = clock_type::now();
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 0);
  CHECK(seconds_since(sent, child.exited_at()) >= 1.1);
  CHECK(seconds_since(sent, child.exited_at()) < 3.0);
  CHECK(child.index_of("blocking after run()") >= 0);
  CHECK(child.index_of("the teardown did not end in time: exiting with code 0") >
        child.index_of("blocking after run()"));
  CHECK(child.index_of("forcing exit") < 0);
}

TEST_CASE("only the signal listener's thread hears the host's signals while run() runs",
          "[host][process]") {
  child_process child(app({}));
  require_ready(child);
  // /proc/<pid>/task/<tid>/status: "SigBlk:" is the thread's blocked set, in hex, bit n-1 for
  // signal n.
  const auto blocks = [](const std::filesystem::path& status, int signal_number) {
    std::ifstream in(status);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("SigBlk:", 0) == 0) {
        const auto mask = std::stoull(line.substr(7), nullptr, 16);
        return (mask >> (signal_number - 1) & 1) != 0;
      }
    }
    FAIL("no SigBlk in " << status);
    return false;
  };
  int threads = 0;
  int hearing = 0;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(child.pid()) + "/task")) {
    ++threads;
    const bool blocked = blocks(task.path() / "status", SIGTERM);
    for (const int s : {SIGINT, SIGQUIT, SIGHUP, SIGUSR2})
      CHECK(blocks(task.path() / "status", s) == blocked);
    if (!blocked)
      ++hearing;
  }
  // main (the I/O thread here), the sequence's thread, the listener's.
  CHECK(threads >= 3);
  // The listener's only: main blocks them while it runs the host's I/O, so that a signal never
  // lands on a thread parked where ThreadSanitizer would hold it back.
  CHECK(hearing == 1);
  child.signal(SIGTERM);
  CHECK(child.wait_for_exit_code(10s) == 0);
}

TEST_CASE(
    "a second stop signal makes a fast stop: the drain delay is skipped and in-flight work "
    "is cancelled at once",
    "[host][process][threads]") {
  child_process child(app({"--drain-delay", "20s", "--hold-request", "--shutdown-timeout", "30s"}));
  require_ready(child);
  child.signal(SIGTERM);
  REQUIRE_LINE(child, "phase 1/6 stopping took");
  const auto sent = clock_type::now();
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 0);
  CHECK(seconds_since(sent, child.exited_at()) < 3.0);
  CHECK(child.index_of("fast stop") >= 0);
  CHECK(child.index_of("skipped (fast stop)") >= 0);
  CHECK(child.index_of("request cancelled: application_stopping") <
        child.index_of("phase 2/6 drain-delay took"));
}

TEST_CASE(
    "a third stop signal exits at once with 128 plus the signal, even with a wedged event loop",
    "[host][process][threads]") {
  child_process child(app({"--wedge", "--shutdown-timeout", "60s"}));
  require_ready(child);
  child.signal(SIGTERM);
  // The event loop is wedged in a stopping() hook: only the signal thread still listens.
  REQUIRE_LINE(child, "blocks its thread");
  child.signal(SIGINT);
  REQUIRE_LINE(child, "fast stop");
  const auto sent = clock_type::now();
  child.signal(SIGQUIT);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 128 + SIGQUIT);
  CHECK(seconds_since(sent, child.exited_at()) < 2.0);
  CHECK(child.index_of("third stop signal (SIGQUIT): exiting now with code 131") >= 0);
}

TEST_CASE("a service failing in start stops the services already started and exits 1",
          "[host][process][threads]") {
  child_process child(app({"--fail-start"}));
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 1);
  CHECK(child.index_of("service 'failing' failed in start(): cannot bind port 1") >= 0);
  CHECK(child.index_of("hook: recorder.stop()") >= 0);
  CHECK(child.index_of("hook: worker.stop()") >= 0);
  CHECK(child.index_of("hook: failing.stop()") < 0);
  CHECK(child.index_of("hook: last.start()") < 0);
  CHECK(child.index_of("started in") < 0);
}

TEST_CASE("a start that fails exits at once, without waiting out the drain delay",
          "[host][process][threads]") {
  const auto began = clock_type::now();
  child_process child(app({"--fail-start", "--drain-delay", "5s"}));
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 1);
  CHECK(seconds_since(began, child.exited_at()) < 3.0);  // the drain delay alone is 5 s
  CHECK(child.index_of("drain-delay took") >= 0);
  CHECK(child.index_of("skipped (the start failed)") >= 0);
}

TEST_CASE("a callback registered on stopping() is waited for before the process exits",
          "[host][process][threads]") {
  child_process child(app({"--token-callback-busy", "300ms", "--shutdown-timeout", "5s"}));
  require_ready(child);
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 0);
  const auto done = child.index_of("flush journal: done");
  REQUIRE(done >= 0);
  CHECK(done < child.index_of("phase 4/6 drain took"));
}

TEST_CASE(
    "a callback on stopping() still blocking at the box is named in the log and the exit code "
    "is 70, within the budget",
    "[host][process][threads]") {
  child_process child(app({"--token-callback-block", "--shutdown-timeout", "2s"}));
  require_ready(child);
  const auto sent = clock_type::now();
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 70);
  CHECK(seconds_since(sent, child.exited_at()) < 2.0 + 0.6);
  CHECK(child.index_of("flush journal: blocking forever") >= 0);
  CHECK(child.index_of("'stopping(): flush journal' held shutdown") >= 0);
}

TEST_CASE(
    "three SIGTERMs 100 ms apart exit 128+15 at once while a stopping() callback and a stop() "
    "hang",
    "[host][process][threads]") {
  child_process child(app({"--token-callback-block", "--stuck-stop", "--shutdown-timeout", "20s"}));
  require_ready(child);
  child.signal(SIGTERM);
  REQUIRE_LINE(child, "flush journal: blocking forever");
  child.signal(SIGTERM);
  REQUIRE_LINE(child, "second stop signal");
  const auto third = clock_type::now();
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 128 + SIGTERM);
  CHECK(seconds_since(third, child.exited_at()) < 2.0);
}

TEST_CASE("a stop that cannot fit the supervisor's deadline refuses to start with 78 naming both",
          "[host][process]") {
  child_process child(
      app({"--drain-delay", "10s", "--shutdown-timeout", "30s", "--supervisor-deadline", "30s"}));
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 78);
  CHECK(child.index_of("--supervisor-deadline") >= 0);
  CHECK(child.index_of("30s") >= 0);
  CHECK(child.index_of("31s") >= 0);
  CHECK(child.index_of("started in") < 0);
}

TEST_CASE("a background service throwing in a host process makes it exit 1",
          "[host][process][threads]") {
  child_process child(app({"--background-throw-after", "100ms"}));
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  REQUIRE(code == 1);
  CHECK(child.index_of("background service 'worker' failed: worker exploded") >= 0);
  CHECK(child.index_of("hook: recorder.stopped()") >= 0);
}

TEST_CASE("SIGHUP re-reads the config file and calls the services' reload",
          "[host][process][threads]") {
  const auto config = temp_file("reload.ini", "greeting = before\n");
  child_process child(app({"--config", config}));
  require_ready(child);
  std::ofstream(config) << "# changed\ngreeting = after\n";
  child.signal(SIGHUP);
  REQUIRE_LINE(child, "reload complete");
  child.signal(SIGTERM);
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  CHECK(code == 0);
  CHECK(child.index_of("hook: recorder.reload()") >= 0);
  CHECK(child.index_of("hook: last.reload()") >= 0);
  CHECK(child.index_of("greeting: after") >= 0);
  std::remove(config.c_str());
}

TEST_CASE(
    "SIGUSR2 logs the phase, the time left, the leases and their holders, and the "
    "in-flight count",
    "[host][process][threads]") {
  child_process child(app(
      {"--lease-never", "--hold-request", "--shutdown-timeout", "20s", "--log-level", "debug"}));
  require_ready(child);
  child.signal(SIGUSR2);
  REQUIRE_LINE(child, "state: in flight: 1");
  REQUIRE_LINE(child, "state: lease 'test-lease': holding");
  child.signal(SIGTERM);
  REQUIRE_LINE(child, "phase 4/6 drain begins");
  child.signal(SIGUSR2);
  const auto line = child.wait_for_line("phase drain (4/6)");
  INFO(child.output());
  REQUIRE(line);
  CHECK(line->find("time left") != std::string::npos);
  REQUIRE_LINE(child, "state: in flight: 1 (closed)");
  child.signal(SIGTERM);  // fast stop
  const auto code = child.wait_for_exit_code(10s);
  INFO(child.output());
  CHECK(code == 0);
}
