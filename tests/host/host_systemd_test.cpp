// SPDX-License-Identifier: MIT
// What a host process tells systemd: a test plays the service manager on a NOTIFY_SOCKET of its
// own, spawns host_test_app and reads the datagrams it sends (with deadlines, never sleeping).
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "host_process.hpp"
#include "support/child_process.hpp"

using namespace std::chrono_literals;
using lifetime::test::child_process;
using lifetime::test::host_process::app;

namespace {

/// A bound AF_UNIX datagram socket that collects sd_notify messages.
class fake_manager {
 public:
  fake_manager() {
    path_ = "/tmp/lifetime_notify_" + std::to_string(::getpid()) + "_" + std::to_string(++count_);
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  }
  fake_manager(const fake_manager&) = delete;
  fake_manager& operator=(const fake_manager&) = delete;
  ~fake_manager() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }

  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  /// Reads messages until one contains `text` (returned) or `timeout` passes.
  std::optional<std::string> wait_for(const std::string& text,
                                      std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      while (next_ < messages_.size()) {
        const std::string& m = messages_[next_++];
        if (m.find(text) != std::string::npos)
          return m;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0)
        messages_.emplace_back(buffer, static_cast<std::size_t>(n));
    }
  }

  /// Reads what has arrived, without waiting; returns how many of those messages contain `text`.
  std::size_t count_arrived(const std::string& text) {
    std::size_t count = 0;
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0)
        break;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0)
        messages_.emplace_back(buffer, static_cast<std::size_t>(n));
    }
    for (; next_ < messages_.size(); ++next_)
      count += messages_[next_].find(text) != std::string::npos ? 1 : 0;
    return count;
  }

  std::string all() const {
    std::string result;
    for (const auto& m : messages_)
      result += "[" + m + "]\n";
    return result;
  }

 private:
  static inline int count_ = 0;
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
  std::size_t next_ = 0;
};

}  // namespace

TEST_CASE(
    "a host process sends READY=1, WATCHDOG=1, RELOADING=1 with MONOTONIC_USEC, then "
    "STOPPING=1, STATUS= per phase and EXTEND_TIMEOUT_USEC=",
    "[host][process][systemd][threads]") {
  fake_manager manager;
  child_process child(app({"--lease-release-after", "1200ms", "--shutdown-timeout", "10s"}),
                      {manager.env(), "WATCHDOG_USEC=200000"});
  {
    const auto ready = manager.wait_for("READY=1");
    INFO(manager.all() << child.output());
    REQUIRE(ready);
    REQUIRE(manager.wait_for("WATCHDOG=1"));
    REQUIRE(manager.wait_for("WATCHDOG=1"));  // every half interval, from the event loop
  }
  REQUIRE(child.wait_for_line("started in"));
  child.signal(SIGHUP);
  {
    const auto reloading = manager.wait_for("RELOADING=1");
    INFO(manager.all() << child.output());
    REQUIRE(reloading);
    CHECK(reloading->find("MONOTONIC_USEC=") != std::string::npos);
    REQUIRE(manager.wait_for("READY=1"));
  }
  child.signal(SIGTERM);
  {
    const auto stopping = manager.wait_for("STOPPING=1");
    INFO(manager.all() << child.output());
    REQUIRE(stopping);
    const auto draining = manager.wait_for("STATUS=stopping: phase 4/6 drain");
    REQUIRE(draining);
    CHECK(draining->find("request(s) in flight") != std::string::npos);
    CHECK(draining->find("s left") != std::string::npos);
    const auto extend = manager.wait_for("EXTEND_TIMEOUT_USEC=");
    REQUIRE(extend);
    const long usec = std::stol(extend->substr(extend->find('=') + 1));
    CHECK(usec > 5'000'000);  // time left in the 10 s budget plus a margin
    CHECK(usec <= 15'000'000);
    REQUIRE(manager.wait_for("STATUS=stopped: exit code 0"));
  }
  CHECK(child.wait_for_exit_code(10s) == 0);
}

TEST_CASE("a wedged connection thread stops the watchdog pings until it runs again",
          "[host][process][systemd][threads]") {
  fake_manager manager;
  child_process child(app({"--wedge-connection-thread", "1500ms"}),
                      {manager.env(), "WATCHDOG_USEC=200000"});
  REQUIRE(manager.wait_for("READY=1"));
  REQUIRE(manager.wait_for("WATCHDOG=1"));
  const auto withheld = child.wait_for_line("watchdog pings withheld");
  INFO(child.output());
  REQUIRE(withheld);
  // Names the thread (1, the wedged one; on a loaded machine the other may be named first).
  CHECK(withheld->find("has not run a handler") != std::string::npos);
  (void)manager.count_arrived("WATCHDOG=1");  // sent before the wedge was noticed
  REQUIRE(child.wait_for_line("watchdog pings resume"));
  // None was sent between the two lines; the one right after the second may have arrived.
  CHECK(manager.count_arrived("WATCHDOG=1") <= 1);
  CHECK(child.output().find("connection thread 1 runs again") != std::string::npos);
  REQUIRE(manager.wait_for("WATCHDOG=1"));  // and they go on
  child.signal(SIGTERM);
  CHECK(child.wait_for_exit_code(10s) == 0);
}

TEST_CASE("a host process whose service fails to start sends ERRNO=", "[host][process][systemd]") {
  fake_manager manager;
  child_process child(app({"--fail-start"}), {manager.env()});
  CHECK(child.wait_for_exit_code(10s) == 1);
  const auto errno_message = manager.wait_for("ERRNO=", 2s);
  INFO(manager.all() << child.output());
  CHECK(errno_message);
  CHECK_FALSE(manager.wait_for("READY=1", 0ms));
}
