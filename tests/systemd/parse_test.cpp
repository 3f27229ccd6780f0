// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/parse.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>

#include "lifetime/host/systemd/error.hpp"

namespace systemd = lifetime::host::systemd;
using systemd::errc;

TEST_CASE("parse_unsigned accepts plain decimal digits up to the largest 64-bit value",
          "[systemd][parse]") {
  CHECK(systemd::parse_unsigned("0") == 0u);
  CHECK(systemd::parse_unsigned("42") == 42u);
  CHECK(systemd::parse_unsigned("007") == 7u);
  CHECK(systemd::parse_unsigned("18446744073709551615") == 18446744073709551615ull);
}

TEST_CASE("parse_unsigned rejects empty text, signs, blanks, other characters and overflow",
          "[systemd][parse]") {
  for (const char* text : {"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0", "18446744073709551616",
                           "99999999999999999999999"}) {
    INFO(text);
    CHECK_FALSE(systemd::parse_unsigned(text));
  }
}

TEST_CASE("a NOTIFY_SOCKET path gets the path's length plus its terminating NUL",
          "[systemd][parse]") {
  std::error_code ec;
  const auto address = systemd::parse_notify_socket("/run/systemd/notify", ec);
  REQUIRE_FALSE(ec);
  REQUIRE(address);
  CHECK(address->address.sun_family == AF_UNIX);
  CHECK_FALSE(address->is_abstract());
  CHECK(std::string(address->address.sun_path) == "/run/systemd/notify");
  CHECK(address->length == offsetof(sockaddr_un, sun_path) + 19 + 1);
}

TEST_CASE("an @abstract NOTIFY_SOCKET becomes a leading NUL and the exact name length",
          "[systemd][parse]") {
  std::error_code ec;
  const auto address = systemd::parse_notify_socket("@lifetime/notify", ec);
  REQUIRE_FALSE(ec);
  REQUIRE(address);
  CHECK(address->is_abstract());
  CHECK(address->address.sun_path[0] == '\0');
  CHECK(std::string(address->address.sun_path + 1, 15) == "lifetime/notify");
  CHECK(address->length == offsetof(sockaddr_un, sun_path) + 1 + 15);
  CHECK(address->length < sizeof(sockaddr_un));
}

TEST_CASE("NOTIFY_SOCKET values that are not an absolute path or an @name are rejected",
          "[systemd][parse]") {
  for (const std::string& text :
       {std::string(""), std::string("@"), std::string("/"), std::string("relative/path"),
        std::string("vsock:2:1"), std::string("/with\0nul", 9)}) {
    INFO(text);
    std::error_code ec;
    CHECK_FALSE(systemd::parse_notify_socket(text, ec));
    CHECK(ec == errc::invalid_notify_socket);
  }
}

TEST_CASE("a NOTIFY_SOCKET that does not fit into sun_path is rejected, one that just fits is not",
          "[systemd][parse]") {
  constexpr auto capacity = sizeof(sockaddr_un{}.sun_path);  // 108 on Linux
  std::error_code ec;
  // A path needs room for its NUL; an abstract name fills sun_path entirely.
  CHECK(systemd::parse_notify_socket("/" + std::string(capacity - 2, 'p'), ec));
  CHECK_FALSE(ec);
  CHECK_FALSE(systemd::parse_notify_socket("/" + std::string(capacity - 1, 'p'), ec));
  CHECK(ec == errc::notify_socket_too_long);
  const auto longest = systemd::parse_notify_socket("@" + std::string(capacity - 1, 'a'), ec);
  REQUIRE(longest);
  CHECK(longest->length == sizeof(sockaddr_un));
  CHECK_FALSE(systemd::parse_notify_socket("@" + std::string(capacity, 'a'), ec));
  CHECK(ec == errc::notify_socket_too_long);
}

TEST_CASE("fd names are 1 to 255 printable characters without a colon", "[systemd][parse]") {
  CHECK(systemd::is_valid_fd_name("http"));
  CHECK(systemd::is_valid_fd_name("admin-8081.v6"));
  CHECK(systemd::is_valid_fd_name(std::string(255, 'n')));
  CHECK_FALSE(systemd::is_valid_fd_name(""));
  CHECK_FALSE(systemd::is_valid_fd_name(std::string(256, 'n')));
  CHECK_FALSE(systemd::is_valid_fd_name("a:b"));
  CHECK_FALSE(systemd::is_valid_fd_name("a\nb"));
  CHECK_FALSE(systemd::is_valid_fd_name("tab\t"));
  CHECK_FALSE(systemd::is_valid_fd_name("caf\xc3\xa9"));
}

TEST_CASE("LISTEN_FDNAMES splits at every colon and keeps empty entries", "[systemd][parse]") {
  using names = std::vector<std::string>;
  CHECK(systemd::split_fd_names("http") == names{"http"});
  CHECK(systemd::split_fd_names("http:admin") == names{"http", "admin"});
  CHECK(systemd::split_fd_names("a::b") == names{"a", "", "b"});
  CHECK(systemd::split_fd_names("") == names{""});
  CHECK(systemd::split_fd_names(":") == names{"", ""});
}

TEST_CASE("without LISTEN_PID and LISTEN_FDS the process is not socket-activated",
          "[systemd][parse]") {
  std::error_code ec;
  const auto result =
      systemd::parse_listen_environment(std::nullopt, std::nullopt, "ignored", 100, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(result);
  CHECK(result->count == 0);
  CHECK(result->names.empty());
}

TEST_CASE("LISTEN_FDS with LISTEN_PID naming this process gives the count and the names",
          "[systemd][parse]") {
  std::error_code ec;
  auto result = systemd::parse_listen_environment("100", "2", "http:admin", 100, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(result);
  CHECK(result->count == 2);
  CHECK(result->names == std::vector<std::string>{"http", "admin"});

  result = systemd::parse_listen_environment("100", "0", std::nullopt, 100, ec);
  REQUIRE(result);
  CHECK(result->count == 0);
}

TEST_CASE("descriptors without a name, or with an empty one, are named unknown",
          "[systemd][parse]") {
  std::error_code ec;
  auto result = systemd::parse_listen_environment("7", "3", std::nullopt, 7, ec);
  REQUIRE(result);
  CHECK(result->names == std::vector<std::string>{"unknown", "unknown", "unknown"});
  result = systemd::parse_listen_environment("7", "3", "a::c", 7, ec);
  REQUIRE(result);
  CHECK(result->names == std::vector<std::string>{"a", "unknown", "c"});
}

TEST_CASE("a LISTEN_* environment meant for another process or malformed is an error",
          "[systemd][parse]") {
  struct example {
    std::optional<std::string_view> pid, fds, names;
    errc expected;
  };
  const example examples[] = {
      {"101", "1", std::nullopt, errc::listen_pid_mismatch},
      {"abc", "1", std::nullopt, errc::invalid_listen_pid},
      {"0", "1", std::nullopt, errc::invalid_listen_pid},
      {"-100", "1", std::nullopt, errc::invalid_listen_pid},
      {"99999999999", "1", std::nullopt, errc::invalid_listen_pid},
      {std::nullopt, "1", std::nullopt, errc::listen_fds_without_pid},
      {"100", std::nullopt, std::nullopt, errc::invalid_listen_fds},
      {"100", "one", std::nullopt, errc::invalid_listen_fds},
      {"100", "1025", std::nullopt, errc::invalid_listen_fds},
      {"100", "2", "http", errc::fd_names_mismatch},
      {"100", "1", "http:admin", errc::fd_names_mismatch},
  };
  for (const auto& e : examples) {
    INFO("LISTEN_PID=" << e.pid.value_or("(unset)") << " LISTEN_FDS=" << e.fds.value_or("(unset)")
                       << " LISTEN_FDNAMES=" << e.names.value_or("(unset)"));
    std::error_code ec;
    CHECK_FALSE(systemd::parse_listen_environment(e.pid, e.fds, e.names, 100, ec));
    CHECK(ec == e.expected);
    CHECK(systemd::is_configuration_error(ec));
  }
}

TEST_CASE("WATCHDOG_USEC gives the interval, WATCHDOG_PID of another process turns it off",
          "[systemd][parse]") {
  using std::chrono::microseconds;
  std::error_code ec;
  CHECK(systemd::parse_watchdog_environment(std::nullopt, std::nullopt, 5, ec) == microseconds{0});
  CHECK(systemd::parse_watchdog_environment("0", std::nullopt, 5, ec) == microseconds{0});
  CHECK(systemd::parse_watchdog_environment("10000000", std::nullopt, 5, ec) ==
        microseconds{10000000});
  CHECK(systemd::parse_watchdog_environment("10000000", "5", 5, ec) == microseconds{10000000});
  CHECK(systemd::parse_watchdog_environment("10000000", "6", 5, ec) == microseconds{0});
  CHECK_FALSE(ec);
}

TEST_CASE("a malformed WATCHDOG_USEC or WATCHDOG_PID is an error and leaves the watchdog off",
          "[systemd][parse]") {
  using std::chrono::microseconds;
  std::error_code ec;
  CHECK(systemd::parse_watchdog_environment("10s", std::nullopt, 5, ec) == microseconds{0});
  CHECK(ec == errc::invalid_watchdog_usec);
  CHECK(systemd::parse_watchdog_environment("18446744073709551615", std::nullopt, 5, ec) ==
        microseconds{0});
  CHECK(ec == errc::invalid_watchdog_usec);
  CHECK(systemd::parse_watchdog_environment("1000", "me", 5, ec) == microseconds{0});
  CHECK(ec == errc::invalid_watchdog_pid);
  CHECK(systemd::is_configuration_error(ec));
}

TEST_CASE("a STATUS= text is made one line by turning control characters into spaces",
          "[systemd][parse]") {
  CHECK(systemd::single_line("draining 12 requests, 18 s left") ==
        "draining 12 requests, 18 s left");
  CHECK(systemd::single_line("one\ntwo\r\nthree\tfour") == "one two  three four");
  CHECK(systemd::single_line("") == "");
}
