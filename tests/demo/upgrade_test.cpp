// SPDX-License-Identifier: MIT
// Binary upgrade on SIGUSR1, with the real lifetime-demo: the new process gets the listening
// socket, the old one finishes what it has and exits 0, a broken new binary leaves the old one
// serving, and an upgrade may follow another while the first old process still drains.
//
// The test process adopts the processes its children leave behind (support/adopted_process.hpp),
// so the new processes, started by the demo and not by the test, are reaped here with their codes.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "demo_client.hpp"
#include "demo_process.hpp"
#include "support/adopted_process.hpp"

namespace lifetime::demo::test {
namespace {

namespace fs = std::filesystem;
using lifetime::test::adopt_orphans;
using lifetime::test::adopted_process;

struct temp_dir {
  fs::path path = fs::temp_directory_path() /
                  ("lifetime-upgrade-test-" + std::to_string(std::random_device{}()));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// The new process of the upgrade whose "upgrade: started" line is `started_line`.
pid_t new_pid(const std::optional<std::string>& started_line) {
  REQUIRE(started_line);
  return lifetime::test::pid_after_as_process(*started_line);
}

/// Puts `content` (or a copy of `source`) at `path` the way a deployment does: a new file
/// renamed over the old one, which a running process keeps executing.
void replace_file(const fs::path& path, const std::string& content) {
  const auto next = path.string() + ".next";
  std::ofstream(next, std::ios::binary | std::ios::trunc) << content;
  fs::permissions(next, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  fs::rename(next, path);
}
void replace_file_with_copy(const fs::path& path, const fs::path& source) {
  const auto next = path.string() + ".next";
  fs::copy_file(source, next, fs::copy_options::overwrite_existing);
  fs::rename(next, path);
}

}  // namespace

TEST_CASE(
    "SIGUSR1 starts the binary anew with the same arguments and environment on the same socket, "
    "the old process answers its in-flight request 200 and exits 0, and the pid file follows") {
  adopt_orphans();
  temp_dir dir;
  const auto pid_file = dir.path / "demo.pid";
  demo_process old(LIFETIME_DEMO_BINARY, {"--pid-file", pid_file.string()},
                   {"UPGRADE_TEST_MARK=42"});
  const auto port = old.port();
  CHECK(read_file(pid_file) == std::to_string(old.pid()) + "\n");
  const auto arguments = read_file("/proc/" + std::to_string(old.pid()) + "/cmdline");

  http_client busy(port);
  busy.send_request("GET", "/api/work?seconds=1");
  REQUIRE(eventually([&] { return metric(port, "demo_work_in_progress") == 1; }));
  old.signal(SIGUSR1);
  adopted_process next(new_pid(old.wait_for_line("upgrade: started", 10s)));
  REQUIRE(old.wait_for_line("is ready after", 10s));
  CHECK(get(port, "/hello").status == 200);  // either process answers meanwhile

  const auto answer = busy.read_response();
  CHECK(answer.status == 200);
  CHECK(old.wait_exit_only(10s) == 0);
  CHECK(read_file(pid_file) == std::to_string(next.pid()) + "\n");
  CHECK(get(port, "/hello").status == 200);
  CHECK(read_file("/proc/" + std::to_string(next.pid()) + "/cmdline") == arguments);
  const auto environment = read_file("/proc/" + std::to_string(next.pid()) + "/environ");
  CHECK(environment.find(std::string("UPGRADE_TEST_MARK=42\0", 21)) != std::string::npos);
  CHECK(environment.find(std::string("LISTEN_FDNAMES=http\0", 20)) != std::string::npos);
  // The old process's connections did not come along: its exit closed them.
  CHECK(busy.wait_closed(5s));

  next.signal(SIGTERM);
  CHECK(next.wait_for_exit_code(10s) == 0);
  CHECK_FALSE(fs::exists(pid_file));
}

TEST_CASE(
    "a new binary that exits at once fails the upgrade: the old process keeps serving and logs "
    "why, and the next upgrade with a good binary works") {
  adopt_orphans();
  temp_dir dir;
  const auto binary = dir.path / "lifetime-demo";
  fs::copy_file(LIFETIME_DEMO_BINARY, binary);
  demo_process old(binary.string(), {}, {});
  const auto port = old.port();
  http_client keep_alive(port);
  keep_alive.send_request("GET", "/hello");
  CHECK(keep_alive.read_response().status == 200);

  replace_file(binary, "#!/bin/sh\nexit 1\n");
  old.signal(SIGUSR1);
  const auto failed = old.wait_for_line("upgrade failed", 10s);
  REQUIRE(failed);
  CHECK(failed->find("exited with code 1 before it was ready; this process keeps serving") !=
        std::string::npos);
  keep_alive.send_request("GET", "/hello");
  CHECK(keep_alive.read_response().status == 200);
  CHECK(metric(port, "lifetime_upgrades_failed_total") == 1);

  replace_file_with_copy(binary, LIFETIME_DEMO_BINARY);
  old.signal(SIGUSR1);
  adopted_process next(new_pid(old.wait_for_line("upgrade: started", 10s)));
  REQUIRE(old.wait_for_line("is ready after", 10s));
  CHECK(old.wait_exit_only(10s) == 0);
  CHECK(keep_alive.wait_closed(5s));  // closed by the old process, not held by the new one
  CHECK(get(port, "/hello").status == 200);
  CHECK(metric(port, "lifetime_upgrades_failed_total") == 0);  // the new process's own count
  next.signal(SIGTERM);
  CHECK(next.wait_for_exit_code(10s) == 0);
}

TEST_CASE(
    "a second SIGUSR1 during an upgrade is refused, and the new process may be upgraded while the "
    "old one still drains") {
  adopt_orphans();
  demo_process first(LIFETIME_DEMO_BINARY, {"--shutdown-timeout=5s"}, {});
  const auto port = first.port();
  http_client busy(port);
  busy.send_request("GET", "/api/work?seconds=2");
  REQUIRE(eventually([&] { return metric(port, "demo_work_in_progress") == 1; }));

  first.signal(SIGUSR1);
  adopted_process second(new_pid(first.wait_for_line("upgrade: started", 10s)));
  first.signal(SIGUSR1);
  CHECK(first.wait_for_output("upgrade refused", 10s));
  REQUIRE(first.wait_for_output("is ready after", 10s));

  second.signal(SIGUSR1);
  adopted_process third(new_pid(first.wait_for_line("upgrade: started", 10s)));
  REQUIRE(first.wait_for_line("is ready after", 10s));
  CHECK(busy.read_response().status == 200);
  CHECK(first.wait_exit_only(10s) == 0);
  CHECK(second.wait_for_exit_code(10s) == 0);
  CHECK(get(port, "/hello").status == 200);
  third.signal(SIGTERM);
  CHECK(third.wait_for_exit_code(10s) == 0);
}

TEST_CASE(
    "a new process not ready within --upgrade-timeout is stopped and reaped, and the old one "
    "keeps serving") {
  adopt_orphans();
  temp_dir dir;
  const auto binary = dir.path / "lifetime-demo";
  fs::copy_file(LIFETIME_DEMO_BINARY, binary);
  demo_process old(binary.string(), {"--upgrade-timeout=300ms"}, {});
  const auto port = old.port();

  replace_file(binary, "#!/bin/sh\nexec sleep 30\n");
  old.signal(SIGUSR1);
  const auto failed = old.wait_for_line("upgrade failed", 10s);
  REQUIRE(failed);
  CHECK(failed->find("not ready within 300ms; this process keeps serving") != std::string::npos);
  CHECK(old.wait_for_line("was killed by signal 15", 10s));
  CHECK(get(port, "/hello").status == 200);
  CHECK(metric(port, "lifetime_upgrades_failed_total") == 1);
  old.signal(SIGTERM);
  CHECK(old.wait_exit(10s) == 0);
}

}  // namespace lifetime::demo::test
