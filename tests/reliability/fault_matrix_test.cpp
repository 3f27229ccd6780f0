// SPDX-License-Identifier: MIT
// The fault matrix: every place user code runs in a host × every way it can misbehave × one
// SIGTERM or three SIGTERMs 100 ms apart. Each combination runs fault_app as a child process with
// `--shutdown-timeout 1s --threads 2 --site S --fault K`, waits for its readiness in the log, sends
// the signals, and asserts the exit code, the exit time (measured from the first signal) and that
// the log names the culprit. Nothing sleeps: the test waits on log lines and on the exit, each
// with a deadline.
//
// Exit time: budget (1 s) + the host's exit margin (100 ms) + a slack for the machine: 350 ms,
// 800 ms under a sanitizer (LIFETIME_TEST_SLACK_MS overrides it on a loaded machine). Every
// culprit misbehaves forever, so a process that waited for it never meets the bound. A case that
// holds nothing (a throw) must exit within 300 ms + slack, before the 750 ms box of the shutdown
// work ends, so that waiting for the box is caught too.
//
// | site               | block | await | throw    | ignore-token |
// |--------------------|-------|-------|----------|--------------|
// | started-callback   | 70    | 70    | 0        | skip (a)     |
// | stopping-callback  | 70    | 70    | 0        | skip (a)     |
// | stopped-callback   | 70    | 70    | 0        | skip (a)     |
// | on-stopping        | 70    | 70    | 0        | 70           |
// | lease              | 70    | skip (b) | skip (b) | skip (b)  |
// | service.starting   | 70 E  | 70 E  | 1 (c)    | 70 E         |
// | service.start      | 70 E  | 70 E  | 1 (c)    | 70 E         |
// | service.started    | 70 E  | 70 E  | 1 (c)    | skip (a)     |
// | service.stopping   | 70 E  | 70    | 0 (d)    | skip (a)     |
// | service.stop       | 70 E  | 70    | 1        | 70           |
// | service.stopped    | 70 E  | 70    | 0 (d)    | skip (a)     |
// | background.run     | 70 T  | 70    | 1 (e)    | 70           |
// | io-handler         | 0 T   | 0 T   | 0 (f)    | skip (a)     |
// | destructor         | 0 T   | 0 T   | skip (g) | skip (a)     |
// | none (baseline)    | 0     |       |          |              |
//
// E: the hook holds the host's sequence, so the exit enforcer ends the process at budget + 100 ms
//    and its state dump names the service and the hook ("service 'culprit': ..., in stop() for").
// T: the stop itself is over but the teardown is not; the enforcer exits at budget + 100 ms with
//    the stop's own code, logging "the stop is over but the teardown did not end in time".
// (a) the site is given no token: "ignores its token" is "awaits forever" there (for
//     synchronous sites, block and await are both a wait that never ends: a sleep, and a future
//     never set).
// (b) a lease is not code: it holds (never released) or it does not; it cannot throw or await.
// (c) it throws during startup: the host stops at once, without a signal (one run, no signal;
//     the time is measured from the culprit's first log line).
// (d) host.hpp: exit code 1 is for start, started, stop and run; a throwing stopping() or
//     stopped() is logged and the shutdown goes on.
// (e) run() throws once its token fired (a throw at once stops the host like (c)).
// (f) nothing but the exception's text names a posted handler: the log line is "an I/O handler
//     threw: fault injected".
// (g) destructors are noexcept: a throw is std::terminate, which no host can catch.
//
// Three signals: the second is a fast stop (leases, on_stopping and token callbacks are no longer
// waited for: abandoned with "(fast stop)", exit 0), the third exits with 143 at once. A case the
// fast stop cannot end must hear the third signal; one it ends (or that ended before) must exit
// with the code of a stop without it and name the culprit. A process whose run() has returned
// (destructor) no longer listens to signals: the enforcer still ends it at budget + 100 ms.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"

using namespace std::chrono_literals;
using lifetime::test::child_process;
using lifetime::test::exit_status;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto budget = 1000ms;
constexpr auto exit_margin = 100ms;  // the host's exit enforcer fires at budget + this
constexpr auto prompt = 300ms;       // a stop that holds nothing ends before the box (750 ms)

std::chrono::milliseconds slack() {
  if (const char* value = std::getenv("LIFETIME_TEST_SLACK_MS"))
    return std::chrono::milliseconds(std::atoi(value));
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  return 800ms;
#else
  return 350ms;
#endif
}

/// The host ends the process with _exit() while abandoned threads still run, by design: under
/// ThreadSanitizer that is a "thread leak" report and exit code 66 unless told otherwise.
lifetime::test::spawn_options child_options() {
  lifetime::test::spawn_options options;
#if defined(__SANITIZE_THREAD__)
  const char* inherited = std::getenv("TSAN_OPTIONS");
  options.env.push_back(std::string("TSAN_OPTIONS=") + (inherited ? inherited : "") +
                        ":report_thread_leaks=0");
#endif
  return options;
}

/// What one combination must do.
struct expectation {
  int code = 0;       ///< exit code after one signal (or none, for a throw during startup)
  bool holds = true;  ///< the exit waits for a box, the budget or the enforcer
  std::vector<std::string> culprit;  ///< one log line contains all of these
  bool before_ready = false;         ///< misbehaves during startup: wait for its line, not "ready"
  bool no_signal = false;            ///< stops by itself (a throw during startup)
  bool fast_stop_ends_it = false;    ///< with three signals, it may end before the third (code 0)
  bool deaf_after_run = false;       ///< run() returned: later signals are not heard
};

std::vector<std::string> kinds_for(const std::string& site) {
  if (site == "none" || site == "lease")
    return {"block"};
  if (site == "destructor")
    return {"block", "await"};
  if (site == "on-stopping" || site == "service.starting" || site == "service.start" ||
      site == "service.stop" || site == "background.run")
    return {"block", "await", "throw", "ignore-token"};
  return {"block", "await", "throw"};
}

expectation token_callback(const std::string& token, const std::string& kind) {
  expectation e;
  e.before_ready = token == "started";
  if (kind == "throw") {
    e.holds = false;
    e.culprit = {"culprit-callback", "fault injected"};
    e.fast_stop_ends_it = true;
    return e;
  }
  e.code = 70;
  e.culprit = {"'" + token + "(): culprit-callback'", "abandoned"};
  e.fast_stop_ends_it = token != "stopped";  // the stopped() callbacks are waited for anyway
  return e;
}

expectation service_hook(const std::string& hook, const std::string& kind) {
  expectation e;
  const bool startup = hook == "starting" || hook == "start" || hook == "started";
  e.before_ready = startup;
  if (kind == "throw") {
    e.holds = false;
    e.code = startup || hook == "stop" ? 1 : 0;
    e.culprit = {"service 'culprit' failed in " + hook + "(): fault injected"};
    e.no_signal = startup;
    e.fast_stop_ends_it = true;
    return e;
  }
  e.code = 70;
  if (kind == "block" || startup)  // the sequence is held: the enforcer's state dump names it
    e.culprit = {"service 'culprit': ", "in " + hook + "() for"};
  else
    e.culprit = {"service 'culprit' " + hook + "() still running after", "abandoned"};
  return e;
}

expectation expect(const std::string& site, const std::string& kind) {
  if (site.ends_with("-callback"))
    return token_callback(site.substr(0, site.find('-')), kind);
  if (site.starts_with("service."))
    return service_hook(site.substr(8), kind);
  expectation e;
  if (site == "none") {
    e.holds = false;
    e.fast_stop_ends_it = true;
  } else if (site == "on-stopping") {
    e.code = kind == "throw" ? 0 : 70;
    e.holds = kind != "throw";
    e.culprit = {"callback 'culprit-callback'",
                 kind == "throw" ? "threw: fault injected" : "abandoned"};
    e.fast_stop_ends_it = true;
  } else if (site == "lease") {
    e.code = 70;
    e.culprit = {"lease 'culprit-lease'", "abandoned"};
    e.fast_stop_ends_it = true;
  } else if (site == "background.run") {
    e.code = kind == "throw" ? 1 : 70;
    e.holds = kind != "throw";
    e.culprit = kind == "throw" ? std::vector<std::string>{"background service 'culprit' failed: "
                                                           "fault injected"}
                                : std::vector<std::string>{"background service 'culprit' run() "
                                                           "still running after"};
    e.fast_stop_ends_it = kind == "throw";
  } else if (site == "io-handler") {
    e.holds = kind != "throw";
    e.culprit = {kind == "throw" ? "an I/O handler threw: fault injected"
                                 : "the stop is over but the teardown did not end in time"};
    e.fast_stop_ends_it = kind == "throw";
  } else if (site == "destructor") {
    e.culprit = {"the stop is over but the teardown did not end in time"};
    e.deaf_after_run = true;
  }
  return e;
}

bool has_line_with(const child_process& child, const std::vector<std::string>& parts) {
  std::istringstream lines(child.output());
  for (std::string line; std::getline(lines, line);) {
    bool all = true;
    for (const auto& part : parts)
      all = all && line.find(part) != std::string::npos;
    if (all)
      return true;
  }
  return false;
}

std::chrono::milliseconds since(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from);
}

/// Runs one combination and checks it; `signals` is 1 or 3 (ignored when e.no_signal).
void check(const std::string& site, const std::string& kind, int signals) {
  const expectation e = expect(site, kind);
  child_process child({LIFETIME_FAULT_APP, "--shutdown-timeout", "1s", "--threads", "2", "--site",
                       site, "--fault", kind},
                      child_options());
  const std::string fault_line = "fault: " + site + " " + kind + " begins";
  {
    INFO(child.output());
    REQUIRE(child.wait_for_line(e.before_ready ? fault_line : "ready: all services started", 20s));
  }
  const auto first = clock_type::now();
  std::optional<exit_status> status;
  std::optional<clock_type::time_point> third;
  if (!e.no_signal) {
    child.signal(SIGTERM);
    for (int sent = 1; sent < signals && !(status = child.wait_for_exit(100ms)); ++sent) {
      if (sent == 2)
        third = clock_type::now();
      child.signal(SIGTERM);
    }
  }
  if (!status)  // a process that never exits is reported, not waited for
    status = child.wait_for_exit(budget + exit_margin + slack() + 2s);
  INFO(child.output());
  REQUIRE(status);
  INFO(status->describe());
  const auto took = since(first, child.exited_at());
  INFO("exited " << took.count() << " ms after the first signal (slack " << slack().count()
                 << " ms)");
  REQUIRE_FALSE(status->signalled);
  for (const char* text : {"AddressSanitizer", "runtime error:", "ThreadSanitizer",
                           "terminate called", "Segmentation fault"}) {
    CHECK(child.count(text) == 0);
  }
  CHECK(took <= budget + exit_margin + slack());
  if (child.count("third stop signal") > 0) {
    CHECK(!e.fast_stop_ends_it);
    CHECK(status->code == 128 + SIGTERM);
    CHECK(since(*third, child.exited_at()) <= exit_margin + slack());
    return;
  }
  CHECK((!third || e.fast_stop_ends_it || e.deaf_after_run));
  const bool fast = signals == 3 && e.fast_stop_ends_it && e.holds;
  CHECK(status->code == (fast ? 0 : e.code));
  if (!e.holds)
    CHECK(took <= prompt + slack());
  if (!e.culprit.empty())
    CHECK(has_line_with(child, e.culprit));
}

/// Every applicable combination of `site`, each in a section
/// of its own.
void check_site(const std::string& site) {
  for (const auto& kind : kinds_for(site)) {
    const bool no_signal = expect(site, kind).no_signal;
    for (const int signals : {1, 3}) {
      if (no_signal && signals == 3)
        continue;
      DYNAMIC_SECTION(site << " " << kind << ", " << (no_signal ? 0 : signals) << " SIGTERM") {
        check(site, kind, signals);
      }
    }
  }
}

}  // namespace

TEST_CASE("a host with only well-behaved services stops at once with code 0",
          "[reliability][faults]") {
  check_site("none");
}

TEST_CASE("a callback on started() that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("started-callback");
}

TEST_CASE("a callback on stopping() that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("stopping-callback");
}

TEST_CASE("a callback on stopped() that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("stopped-callback");
}

TEST_CASE("an on_stopping callback that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("on-stopping");
}

TEST_CASE("a lease never released is named and abandoned at its box, and the exit is 70 in time",
          "[reliability][faults]") {
  check_site("lease");
}

TEST_CASE("a starting() hook that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("service.starting");
}

TEST_CASE("a start() hook that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("service.start");
}

TEST_CASE("a started() hook that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("service.started");
}

TEST_CASE("a stopping() hook that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("service.stopping");
}

TEST_CASE("a stop() hook that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("service.stop");
}

TEST_CASE("a stopped() hook that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("service.stopped");
}

TEST_CASE("a background run() that never returns or throws is named, and the exit is in time",
          "[reliability][faults]") {
  check_site("background.run");
}

TEST_CASE("an I/O handler that never returns or throws cannot keep the process past its budget",
          "[reliability][faults]") {
  check_site("io-handler");
}
