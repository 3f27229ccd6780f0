// SPDX-License-Identifier: MIT
// The real lifetime-demo under the systemd protocols, with this test as the service manager:
// the notification sequence of start, reload, watchdog and a stop that drains a slow request;
// socket activation by systemd-socket-activate; and a restart through the fd store that refuses
// no connection.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lifetime/host/systemd/listen_fds.hpp"
#include "lifetime/host/systemd/parse.hpp"
#include "notification_log.hpp"
#include "support/adopted_process.hpp"
#include "test_support.hpp"

using namespace lifetime::test::systemd;
namespace systemd = lifetime::host::systemd;

namespace {

std::uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

// `where`: the arguments that say where it listens (or which config file does).
child_process start_demo(const temp_dir& dir, std::vector<std::string> env,
                         std::vector<int> listen_fds = {},
                         std::vector<std::string> where = {"--listen", "127.0.0.1:0"}) {
  spawn_options options;
  options.inherit_environment = false;
  std::vector<std::string> argv = {LIFETIME_DEMO_BINARY};
  argv.insert(argv.end(), where.begin(), where.end());
  for (std::string arg : {std::string("--storage-dir"), (dir.path() / "uploads").string(),
                          std::string("--shutdown-timeout"), std::string("10s")})
    argv.push_back(std::move(arg));
  options.env = std::move(env);
  if (!listen_fds.empty()) {
    options.listen_fds = std::move(listen_fds);
    options.set_listen_pid = true;
    options.env.push_back("LISTEN_FDS=" + std::to_string(options.listen_fds.size()));
    options.env.push_back("LISTEN_FDNAMES=http");
  }
  return child_process(argv, std::move(options));
}

// Polls GET /metrics until `line` appears (the event a test waits for), or the deadline.
bool wait_for_metric(std::uint16_t port, std::string_view line, std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (clock::now() < deadline) {
    std::error_code ec;
    const auto response = raw_exchange(port, http_get_request("/metrics"), ec);
    if (!ec && response.find(line) != std::string::npos)
      return true;
  }
  return false;
}

}  // namespace

TEST_CASE("lifetime-demo notifies start, reload, watchdog pings and a stop that drains slowly",
          "[systemd][demo]") {
  temp_dir dir;
  auto receiver = notify_receiver::at_path(dir.path() / "notify");
  // WATCHDOG_USEC=1s: the host pings every 500 ms from its event loop.
  auto demo = start_demo(dir, {"NOTIFY_SOCKET=" + receiver.address(), "WATCHDOG_USEC=1000000"});
  notification_log log(receiver);

  // Start: the listening socket goes to the fd store, then READY=1.
  auto store = log.next_state();
  REQUIRE(store.text == "FDSTORE=1\nFDNAME=http");
  REQUIRE(store.fds.size() == 1);
  std::error_code ec;
  systemd::check_listening_stream_socket(store.fds[0].get(), ec);
  CHECK_FALSE(ec);
  const auto port = local_port(store.fds[0].get());
  CHECK(log.next_state().text == "READY=1");
  CHECK(http_status(raw_exchange(port, http_get_request("/hello"), ec)) == 200);

  // Reload: RELOADING=1 with the monotonic time of the reload, then READY=1 again.
  const auto before_reload = monotonic_usec();
  demo.signal(SIGHUP);
  const auto reloading = log.next_state().text;
  REQUIRE(starts_with(reloading, "RELOADING=1\nMONOTONIC_USEC="));
  const auto stamp = systemd::parse_unsigned(std::string_view(reloading).substr(27));
  REQUIRE(stamp);
  CHECK(*stamp >= before_reload);
  CHECK(*stamp <= monotonic_usec());
  CHECK(log.next_state().text == "READY=1");

  // Watchdog: pings measured while this test does nothing but receive them; no gap reaches
  // WATCHDOG_USEC, and they are not a busy loop either.
  log.drain_queued();
  log.clear_pings();
  log.wait_for_pings(4);
  CHECK(log.unexpected().empty());
  const auto& pings = log.pings();
  for (std::size_t i = 1; i < pings.size(); ++i)
    CHECK(pings[i] - pings[i - 1] < 1s);
  CHECK(pings.back() - pings.front() > 600ms);  // three intervals of 500 ms

  // Stop with a slow request in flight: STOPPING=1, EXTEND_TIMEOUT_USEC= while the drain
  // progresses (at most budget + margin), the request completes, exit 0.
  std::string work_response;
  std::thread work([&] {
    std::error_code work_ec;
    work_response = raw_exchange(port, http_get_request("/api/work?seconds=1.5"), work_ec, 20s);
  });
  REQUIRE(wait_for_metric(port, "demo_work_in_progress 1", 10s));
  demo.signal(SIGTERM);
  int extensions = 0;
  bool stopping = false;
  while (true) {
    auto message = receiver.receive(20s);
    REQUIRE(message);
    if (message->text == "STOPPING=1") {
      stopping = true;
    } else if (starts_with(message->text, "EXTEND_TIMEOUT_USEC=")) {
      const auto usec = systemd::parse_unsigned(std::string_view(message->text).substr(20));
      REQUIRE(usec);
      CHECK(*usec > 0u);
      CHECK(*usec <= 15'000'000u);  // 10 s budget + the host's margin
      ++extensions;
    } else if (starts_with(message->text, "STATUS=stopped")) {
      break;
    } else {
      CHECK((message->text == "WATCHDOG=1" || starts_with(message->text, "STATUS=")));
    }
  }
  work.join();
  CHECK(stopping);
  CHECK(extensions >= 2);  // one when the stop begins, another a second later, still draining
  CHECK(http_status(work_response) == 200);
  CHECK(demo.wait_for_exit_code() == 0);
}

TEST_CASE("a reload that changes --listen says in STATUS= that it needs a new process",
          "[systemd][demo]") {
  temp_dir dir;
  const auto config = dir.path() / "demo.ini";
  { std::ofstream(config) << "listen = 127.0.0.1:0\n"; }
  auto receiver = notify_receiver::at_path(dir.path() / "notify");
  auto demo =
      start_demo(dir, {"NOTIFY_SOCKET=" + receiver.address()}, {}, {"--config", config.string()});
  notification_log log(receiver);
  REQUIRE(log.next_state().text == "FDSTORE=1\nFDNAME=http");
  REQUIRE(log.next_state().text == "READY=1");
  { std::ofstream(config) << "listen = 127.0.0.1:1\n"; }
  demo.signal(SIGHUP);
  REQUIRE(starts_with(log.next_state().text, "RELOADING=1"));
  REQUIRE(log.next_state().text == "READY=1");
  CHECK(log.wait_for_status("running; --listen 127.0.0.1:1 needs a new process", true));
  CHECK(demo.wait_for_line("--listen changed to 127.0.0.1:1", 10s));
  // The next reload that asks for nothing new clears the note.
  { std::ofstream(config) << "listen = 127.0.0.1:0\n"; }
  demo.signal(SIGHUP);
  REQUIRE(starts_with(log.next_state().text, "RELOADING=1"));
  REQUIRE(log.next_state().text == "READY=1");
  CHECK(log.wait_for_status("running", false));
  demo.signal(SIGTERM);
  CHECK(demo.wait_for_exit_code(20s) == 0);
}

TEST_CASE("lifetime-demo notifies over an abstract NOTIFY_SOCKET", "[systemd][demo]") {
  temp_dir dir;
  auto receiver = notify_receiver::at_abstract("lifetime-test/" + random_suffix());
  auto demo = start_demo(dir, {"NOTIFY_SOCKET=" + receiver.address()});
  notification_log log(receiver);
  auto store = log.next_state();
  CHECK(store.text == "FDSTORE=1\nFDNAME=http");
  CHECK(store.fds.size() == 1);
  CHECK(log.next_state().text == "READY=1");
  demo.signal(SIGTERM);
  // STOPPING=1 is the first thing systemd hears of the stop; EXTEND_TIMEOUT_USEC= follows.
  CHECK(log.next_state().text == "STOPPING=1");
  CHECK(demo.wait_for_exit_code() == 0);
  log.drain_queued();  // everything it sent before exiting is queued by now
  CHECK(log.saw_status("stopping: phase 6/6"));
  for (const auto& message : log.unexpected())
    CHECK(starts_with(message, "EXTEND_TIMEOUT_USEC="));
}

TEST_CASE("lifetime-demo that cannot listen sends ERRNO= and exits 1", "[systemd][demo]") {
  temp_dir dir;
  auto receiver = notify_receiver::at_path(dir.path() / "notify");
  auto taken = tcp_listener::open();  // the address the demo is told to bind is in use
  spawn_options options;
  options.inherit_environment = false;
  const std::vector<std::string> argv = {LIFETIME_DEMO_BINARY, "--listen",
                                         "127.0.0.1:" + std::to_string(taken.port), "--storage-dir",
                                         (dir.path() / "uploads").string()};
  options.env = {"NOTIFY_SOCKET=" + receiver.address()};
  auto demo = child_process(argv, std::move(options));
  notification_log log(receiver);
  const auto failure = log.next_state();
  REQUIRE(starts_with(failure.text, "ERRNO="));
  const auto value = systemd::parse_unsigned(std::string_view(failure.text).substr(6));
  REQUIRE(value);
  CHECK(*value == static_cast<unsigned>(EADDRINUSE));  // Asio's error code, not a generic EIO
  CHECK(demo.wait_for_exit_code() == 1);
  log.drain_queued();
  const auto& after = log.unexpected();  // the stop that follows a failed start
  CHECK(std::find(after.begin(), after.end(), "STOPPING=1") != after.end());
  CHECK(std::find(after.begin(), after.end(), "READY=1") == after.end());
  CHECK_FALSE(log.saw_status("running"));
}

TEST_CASE("lifetime-demo with a NOTIFY_SOCKET nobody listens on warns once and runs on",
          "[systemd][demo]") {
  temp_dir dir;
  const auto nowhere = (dir.path() / "nobody-listens").string();
  spawn_options options;
  options.inherit_environment = false;
  const std::vector<std::string> argv = {LIFETIME_DEMO_BINARY, "--listen", "127.0.0.1:0",
                                         "--storage-dir", (dir.path() / "uploads").string()};
  options.env = {"NOTIFY_SOCKET=" + nowhere, "WATCHDOG_USEC=200000"};
  auto demo = child_process(argv, std::move(options));
  REQUIRE(demo.wait_for_output("serving http://127.0.0.1:"));
  REQUIRE(demo.wait_for_output(" started in "));  // a later line: the port is complete
  const auto shown = demo.output();
  const auto at =
      shown.find("serving http://127.0.0.1:") + std::strlen("serving http://127.0.0.1:");
  const auto port = static_cast<std::uint16_t>(std::atoi(shown.c_str() + at));
  std::error_code ec;
  CHECK(http_status(raw_exchange(port, http_get_request("/hello"), ec)) == 200);
  demo.signal(SIGTERM);
  CHECK(demo.wait_for_exit_code() == 0);
  const auto output = demo.output();
  const auto first = output.find("sd_notify to " + nowhere);
  CHECK(first != std::string::npos);
  CHECK(output.find("sd_notify to " + nowhere, first + 1) == std::string::npos);
}

TEST_CASE("lifetime-demo started by systemd-socket-activate serves on the passed socket",
          "[systemd][demo][activation]") {
  temp_dir dir;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto port = free_port();
    const auto address = "127.0.0.1:" + std::to_string(port);
    spawn_options options;
    options.inherit_environment = false;
    // --listen names the same port: binding it would fail, so serving proves the passed socket
    // was used.
    const std::vector<std::string> argv = {LIFETIME_SYSTEMD_SOCKET_ACTIVATE,
                                           "-l",
                                           address,
                                           "--fdname=http",
                                           LIFETIME_DEMO_BINARY,
                                           "--listen",
                                           address,
                                           "--storage-dir",
                                           (dir.path() / "uploads").string()};
    auto activated = child_process(argv, std::move(options));
    if (!activated.wait_for_output("Listening on " + address)) {
      CHECK(activated.wait_for_exit_code() != 0);
      continue;
    }
    std::error_code ec;
    const auto response = raw_exchange(port, http_get_request("/hello"), ec);
    REQUIRE_FALSE(ec);
    CHECK(http_status(response) == 200);
    CHECK(activated.wait_for_output("started"));
    activated.signal(SIGTERM);
    CHECK(activated.wait_for_exit_code() == 0);
    return;
  }
  FAIL("systemd-socket-activate could not bind a free port in 3 attempts");
}

TEST_CASE("lifetime-demo restarted with its socket from the fd store refuses no connection",
          "[systemd][demo][fdstore][threads]") {
  temp_dir dir;
  auto receiver = notify_receiver::at_path(dir.path() / "notify");
  const std::vector<std::string> env = {"NOTIFY_SOCKET=" + receiver.address()};
  auto first = start_demo(dir, env);
  notification_log log(receiver);
  auto store = log.next_state();
  REQUIRE(store.text == "FDSTORE=1\nFDNAME=http");
  REQUIRE(store.fds.size() == 1);
  const auto port = local_port(store.fds[0].get());
  REQUIRE(log.next_state().text == "READY=1");

  std::mutex mutex;
  std::condition_variable changed;
  int ok = 0;
  std::vector<std::string> refused;
  std::vector<std::string> other_failures;       // while the first process was stopping
  std::vector<std::string> sent_before_exit;     // sent while it ran, turned away by its exit
  std::vector<std::string> failures_after_exit;  // connected once it had exited: none allowed
  bool first_exited = false;
  bool stop = false;
  std::thread client([&] {
    while (true) {
      {
        std::lock_guard lock(mutex);
        if (stop)
          return;
      }
      // Filed by when the connection was made, not when its answer came: a request sent to the
      // stopping process may be turned away only after this thread has heard of the exit.
      bool sent_after_exit = false;
      {
        std::lock_guard lock(mutex);
        sent_after_exit = first_exited;
      }
      std::error_code ec;
      const auto response = raw_exchange(port, http_get_request("/hello"), ec);
      {
        std::lock_guard lock(mutex);
        if (ec == std::errc::connection_refused) {
          refused.push_back(ec.message());
        } else if (ec || http_status(response) != 200) {
          auto what = ec ? ec.message() : "response: " + response.substr(0, 80);
          if (sent_after_exit)
            failures_after_exit.push_back(std::move(what));
          else if (first_exited)
            sent_before_exit.push_back(std::move(what));
          else
            other_failures.push_back(std::move(what));
        } else {
          ++ok;
        }
      }
      changed.notify_all();
    }
  });
  auto wait_for_ok = [&](int count) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 20s, [&] { return ok >= count; });
  };

  CHECK(wait_for_ok(20));
  first.signal(SIGTERM);
  CHECK(first.wait_for_exit_code() == 0);
  int served_before_restart = 0;
  {
    std::lock_guard lock(mutex);
    served_before_restart = ok;
    first_exited = true;
  }
  // The stored socket goes to the new process, as systemd passes it after a restart.
  auto second = start_demo(dir, env, {store.fds[0].get()});
  bool ready = false;
  while (!ready) {
    auto message = receiver.receive(20s);
    REQUIRE(message);
    ready = message->text == "READY=1";
  }
  CHECK(wait_for_ok(served_before_restart + 20));
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  client.join();
  second.signal(SIGTERM);
  CHECK(second.wait_for_exit_code() == 0);

  std::string failures;
  for (const auto& f : refused)
    failures += "refused: " + f + "\n";
  for (const auto& f : other_failures)
    failures += "while stopping: " + f + "\n";
  for (const auto& f : sent_before_exit)
    failures += "request sent before the exit, unanswered: " + f + "\n";
  for (const auto& f : failures_after_exit)
    failures += "connection after the exit, unanswered: " + f + "\n";
  INFO(failures);
  // The fd store's promise: while the socket is handed from one process to the next, the kernel
  // queues connections and refuses none, and the next process answers every one of them.
  CHECK(refused.empty());
  CHECK(failures_after_exit.empty());
  // The stopping process itself may turn away a connection it accepted just before it stopped
  // accepting: closed before the request is read (no byte of a response), or answered 503 (the
  // stop began). Both tell an HTTP client to retry; anything else would be a broken drain.
  other_failures.insert(other_failures.end(), sent_before_exit.begin(), sent_before_exit.end());
  for (const auto& f : other_failures) {
    CHECK((f == "response: " || starts_with(f, "response: HTTP/1.1 503 ")));
  }
  if (!other_failures.empty()) {
    WARN(other_failures.size() << " connection(s) accepted by the stopping process were turned "
                                  "away (closed unread or 503)");
  }
}

TEST_CASE(
    "lifetime-demo upgraded by SIGUSR1: the new process sends MAINPID= with READY=1, the old one "
    "says nothing more and exits 0",
    "[systemd][demo][upgrade]") {
  lifetime::test::adopt_orphans();
  temp_dir dir;
  auto receiver = notify_receiver::at_path(dir.path() / "notify");
  auto old = start_demo(dir, {"NOTIFY_SOCKET=" + receiver.address()});
  notification_log log(receiver);
  auto store = log.next_state();
  REQUIRE(store.text == "FDSTORE=1\nFDNAME=http");
  const auto port = local_port(store.fds[0].get());
  REQUIRE(log.next_state().text == "READY=1");

  old.signal(SIGUSR1);
  const auto started = old.wait_for_line("upgrade: started", 10s);
  REQUIRE(started);
  lifetime::test::adopted_process next(lifetime::test::pid_after_as_process(*started));
  // The socket it was handed is not stored again: the manager has it.
  CHECK(log.next_state().text == "MAINPID=" + std::to_string(next.pid()) + "\nREADY=1");
  const auto old_exit = old.wait_for_exit(10s, false);  // the new process shares its output
  REQUIRE(old_exit);
  CHECK(old_exit->exited(0));
  // Nothing from the old process's stop: a STOPPING=1 would make the manager stop the service.
  log.drain_queued();
  CHECK(log.unexpected().empty());
  CHECK_FALSE(log.saw_status("stopping"));
  std::error_code ec;
  CHECK(http_status(raw_exchange(port, http_get_request("/hello"), ec)) == 200);

  next.signal(SIGTERM);
  CHECK(log.next_state().text == "STOPPING=1");
  CHECK(next.wait_for_exit_code() == 0);
}
