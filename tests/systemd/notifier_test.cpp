// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/notifier.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "lifetime/host/systemd/error.hpp"
#include "test_support.hpp"

namespace systemd = lifetime::host::systemd;
using namespace lifetime::test::systemd;

static_assert(std::is_nothrow_move_constructible_v<systemd::notifier>);
static_assert(!std::is_copy_constructible_v<systemd::notifier>);

namespace {

std::uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

std::string next_text(notify_receiver& receiver) {
  auto message = receiver.receive();
  REQUIRE(message);
  CHECK(message->fds.empty());
  return message->text;
}

// The receiver's and the notifier's view of one socket, path or abstract.
struct endpoint {
  temp_dir dir;
  notify_receiver receiver;
  explicit endpoint(bool abstract)
      : receiver(abstract ? notify_receiver::at_abstract("lifetime-test/" + random_suffix())
                          : notify_receiver::at_path(dir.path() / "notify")) {}
};

bool same_file(int a, int b) {
  struct stat sa {
  }, sb{};
  REQUIRE(::fstat(a, &sa) == 0);
  REQUIRE(::fstat(b, &sb) == 0);
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

TEST_CASE("a notifier without NOTIFY_SOCKET is disabled and every call succeeds silently",
          "[systemd][notifier]") {
  systemd::notifier notifier;
  CHECK_FALSE(notifier.enabled());
  int warnings = 0;
  notifier.set_warning_handler([&](std::string_view) { ++warnings; });
  std::error_code ec = std::make_error_code(std::errc::io_error);
  notifier.notify("READY=1", ec);
  CHECK_FALSE(ec);
  CHECK_NOTHROW(notifier.notify("READY=1"));
  notifier.ready();
  notifier.store_fd(0, "stdin");
  CHECK(warnings == 0);

  CHECK_FALSE(systemd::notifier("").enabled());
}

TEST_CASE("from_environment reads NOTIFY_SOCKET and leaves it set", "[systemd][notifier]") {
  endpoint e(false);
  ::setenv("NOTIFY_SOCKET", e.receiver.address().c_str(), 1);
  auto notifier = systemd::notifier::from_environment();
  CHECK(notifier.enabled());
  CHECK(notifier.socket_name() == e.receiver.address());
  notifier.ready();
  CHECK(next_text(e.receiver) == "READY=1");
  CHECK(std::getenv("NOTIFY_SOCKET") != nullptr);
  ::unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(systemd::notifier::from_environment().enabled());
}

TEST_CASE("each state change is one datagram with exactly the documented assignments",
          "[systemd][notifier]") {
  const bool abstract = GENERATE(false, true);
  INFO((abstract ? "abstract socket" : "path socket"));
  endpoint e(abstract);
  systemd::notifier notifier(e.receiver.address());
  int warnings = 0;
  notifier.set_warning_handler([&](std::string_view) { ++warnings; });

  notifier.ready();
  CHECK(next_text(e.receiver) == "READY=1");
  notifier.stopping();
  CHECK(next_text(e.receiver) == "STOPPING=1");
  notifier.status("draining 12 requests, 18 s left");
  CHECK(next_text(e.receiver) == "STATUS=draining 12 requests, 18 s left");
  notifier.status("two\nlines");
  CHECK(next_text(e.receiver) == "STATUS=two lines");
  notifier.extend_timeout(std::chrono::seconds(5));
  CHECK(next_text(e.receiver) == "EXTEND_TIMEOUT_USEC=5000000");
  notifier.watchdog();
  CHECK(next_text(e.receiver) == "WATCHDOG=1");
  notifier.error_number(ENOENT);
  CHECK(next_text(e.receiver) == "ERRNO=" + std::to_string(ENOENT));
  notifier.notify("STATUS=raw\nMAINPID=1\n");
  CHECK(next_text(e.receiver) == "STATUS=raw\nMAINPID=1\n");
  CHECK(warnings == 0);
}

TEST_CASE("reloading() sends RELOADING=1 with the CLOCK_MONOTONIC time in microseconds",
          "[systemd][notifier]") {
  endpoint e(GENERATE(false, true));
  systemd::notifier notifier(e.receiver.address());
  const auto before = monotonic_usec();
  notifier.reloading();
  const auto after = monotonic_usec();
  const auto text = next_text(e.receiver);
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  REQUIRE(text.rfind(prefix, 0) == 0);
  const auto stamp = systemd::parse_unsigned(std::string_view(text).substr(prefix.size()));
  REQUIRE(stamp);
  CHECK(*stamp >= before);
  CHECK(*stamp <= after);
}

TEST_CASE("store_fd sends FDSTORE=1 and FDNAME= with the descriptor attached as SCM_RIGHTS",
          "[systemd][notifier]") {
  endpoint e(GENERATE(false, true));
  systemd::notifier notifier(e.receiver.address());
  auto listener = tcp_listener::open();
  notifier.store_fd(listener.fd.get(), "http");
  auto message = e.receiver.receive();
  REQUIRE(message);
  CHECK(message->text == "FDSTORE=1\nFDNAME=http");
  REQUIRE(message->fds.size() == 1);
  CHECK(message->fds[0].get() != listener.fd.get());
  CHECK(same_file(message->fds[0].get(), listener.fd.get()));
  // The caller keeps its own descriptor.
  CHECK(::fcntl(listener.fd.get(), F_GETFD) >= 0);
}

TEST_CASE("notify_with_fds attaches every descriptor in order", "[systemd][notifier]") {
  endpoint e(false);
  systemd::notifier notifier(e.receiver.address());
  auto a = tcp_listener::open();
  auto b = tcp_listener::open();
  const int fds[] = {a.fd.get(), b.fd.get()};
  notifier.notify_with_fds("FDSTORE=1\nFDNAME=pair", fds);
  auto message = e.receiver.receive();
  REQUIRE(message);
  CHECK(message->text == "FDSTORE=1\nFDNAME=pair");
  REQUIRE(message->fds.size() == 2);
  CHECK(same_file(message->fds[0].get(), a.fd.get()));
  CHECK(same_file(message->fds[1].get(), b.fd.get()));
}

TEST_CASE("an abstract NOTIFY_SOCKET is addressed with the exact name length",
          "[systemd][notifier]") {
  // A receiver bound at the same name padded with NULs to sizeof(sockaddr_un) is a different
  // socket; a notifier that sent with sizeof(sockaddr_un) would reach it and not the real one.
  const std::string name = "lifetime-test/" + random_suffix();
  auto exact = notify_receiver::at_abstract(name);
  auto padded = notify_receiver::at_abstract(name + std::string(107 - name.size(), '\0'));
  systemd::notifier notifier(exact.address());
  notifier.notify("READY=1");
  CHECK(next_text(exact) == "READY=1");
  CHECK_FALSE(padded.receive_now());
}

TEST_CASE("a NOTIFY_SOCKET nobody listens on gives one warning, then the notifier is silent",
          "[systemd][notifier]") {
  temp_dir dir;
  systemd::notifier notifier((dir.path() / "nobody").string());
  CHECK(notifier.enabled());
  std::vector<std::string> warnings;
  notifier.set_warning_handler([&](std::string_view text) { warnings.emplace_back(text); });
  notifier.ready();
  notifier.status("still here");
  notifier.watchdog();
  notifier.stopping();
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("READY=1") != std::string::npos);
  CHECK(warnings[0].find((dir.path() / "nobody").string()) != std::string::npos);

  std::error_code ec;
  notifier.notify("READY=1", ec);
  CHECK(ec == std::error_code(ENOENT, std::system_category()));
  CHECK_THROWS_AS(notifier.notify("READY=1"), std::system_error);
  CHECK(warnings.size() == 1);
}

TEST_CASE("a notifier whose receiver went away warns once and keeps running",
          "[systemd][notifier]") {
  temp_dir dir;
  std::optional<notify_receiver> receiver = notify_receiver::at_path(dir.path() / "notify");
  systemd::notifier notifier(receiver->address());
  int warnings = 0;
  notifier.set_warning_handler([&](std::string_view) { ++warnings; });
  notifier.ready();
  CHECK(next_text(*receiver) == "READY=1");
  receiver.reset();  // closed, the path is left behind: ECONNREFUSED
  notifier.watchdog();
  notifier.watchdog();
  CHECK(warnings == 1);
  std::error_code ec;
  notifier.notify("WATCHDOG=1", ec);
  CHECK(ec == std::error_code(ECONNREFUSED, std::system_category()));
}

TEST_CASE("a malformed NOTIFY_SOCKET leaves the notifier enabled, reporting the parse error",
          "[systemd][notifier]") {
  systemd::notifier notifier("relative/notify");
  CHECK(notifier.enabled());
  std::error_code ec;
  notifier.notify("READY=1", ec);
  CHECK(ec == systemd::errc::invalid_notify_socket);
  int warnings = 0;
  notifier.set_warning_handler([&](std::string_view) { ++warnings; });
  notifier.ready();
  notifier.ready();
  CHECK(warnings == 1);
}

TEST_CASE("a warning handler that throws does not escape the notification", "[systemd][notifier]") {
  systemd::notifier notifier("relative/notify");
  notifier.set_warning_handler([](std::string_view) { throw std::runtime_error("handler"); });
  CHECK_NOTHROW(notifier.ready());
}

TEST_CASE("an empty message or one with a NUL byte is refused and nothing is sent",
          "[systemd][notifier]") {
  endpoint e(false);
  systemd::notifier notifier(e.receiver.address());
  std::error_code ec;
  notifier.notify("", ec);
  CHECK(ec == systemd::errc::invalid_notify_message);
  notifier.notify(std::string_view("READY=1\0X=1", 11), ec);
  CHECK(ec == systemd::errc::invalid_notify_message);
  CHECK_THROWS_AS(notifier.notify(""), std::system_error);
  CHECK_FALSE(e.receiver.receive_now());
}

TEST_CASE("store_fd with an invalid name sends nothing: a warning, or the error code",
          "[systemd][notifier]") {
  endpoint e(false);
  systemd::notifier notifier(e.receiver.address());
  std::vector<std::string> warnings;
  notifier.set_warning_handler([&](std::string_view text) { warnings.emplace_back(text); });
  auto listener = tcp_listener::open();
  notifier.store_fd(listener.fd.get(), "http:8080");
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("http:8080") != std::string::npos);
  std::error_code ec;
  notifier.store_fd(listener.fd.get(), "", ec);
  CHECK(ec == systemd::errc::invalid_fd_name);
  CHECK_FALSE(e.receiver.receive_now());
  // The socket is fine: the next valid call goes through.
  notifier.store_fd(listener.fd.get(), "http", ec);
  CHECK_FALSE(ec);
  CHECK(e.receiver.receive());
}

TEST_CASE("a moved notifier sends to the same socket and the moved-from one is disabled",
          "[systemd][notifier]") {
  endpoint e(true);
  systemd::notifier first(e.receiver.address());
  first.ready();
  CHECK(next_text(e.receiver) == "READY=1");
  systemd::notifier second(std::move(first));
  CHECK_FALSE(first.enabled());  // NOLINT(bugprone-use-after-move): documented state
  second.watchdog();
  CHECK(next_text(e.receiver) == "WATCHDOG=1");
  systemd::notifier third;
  third = std::move(second);
  third.stopping();
  CHECK(next_text(e.receiver) == "STOPPING=1");
}

TEST_CASE("notifications sent concurrently from several threads all arrive intact",
          "[systemd][notifier][threads]") {
  endpoint e(GENERATE(false, true));
  systemd::notifier notifier(e.receiver.address());
  int warnings = 0;
  notifier.set_warning_handler([&](std::string_view) { ++warnings; });
  constexpr int threads = 4;
  constexpr int per_thread = 200;
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        notifier.status("thread " + std::to_string(t) + " message " + std::to_string(i));
      }
    });
  }
  std::vector<int> next(threads, 0);
  int received = 0;
  while (received < threads * per_thread) {
    auto message = e.receiver.receive();
    if (!message)
      break;
    int t = -1, i = -1;
    REQUIRE(std::sscanf(message->text.c_str(), "STATUS=thread %d message %d", &t, &i) == 2);
    REQUIRE(t >= 0);
    REQUIRE(t < threads);
    CHECK(i == next[static_cast<std::size_t>(t)]++);  // each thread's messages stay in order
    ++received;
  }
  for (auto& sender : senders)
    sender.join();
  CHECK(received == threads * per_thread);
  CHECK(warnings == 0);
}
