// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/error.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <exception>
#include <set>
#include <string>
#include <type_traits>

namespace systemd = lifetime::host::systemd;
using systemd::errc;

static_assert(std::is_error_code_enum_v<errc>);
static_assert(std::is_base_of_v<lifetime::host::config_error, systemd::environment_error>);

TEST_CASE("every systemd error has its own message in the lifetime.systemd category",
          "[systemd][error]") {
  CHECK(std::string(systemd::error_category().name()) == "lifetime.systemd");
  std::set<std::string> messages;
  for (int value = static_cast<int>(errc::invalid_notify_socket);
       value <= static_cast<int>(errc::invalid_watchdog_pid); ++value) {
    const std::error_code ec = static_cast<errc>(value);
    INFO(value);
    CHECK(ec.category() == systemd::error_category());
    CHECK(messages.insert(ec.message()).second);
  }
}

TEST_CASE("errors of the environment are configuration errors, errors of the caller are not",
          "[systemd][error]") {
  CHECK(systemd::is_configuration_error(errc::listen_pid_mismatch));
  CHECK(systemd::is_configuration_error(errc::listen_fd_not_socket));
  CHECK(systemd::is_configuration_error(errc::invalid_watchdog_usec));
  CHECK(systemd::is_configuration_error(std::error_code(EBADF, std::system_category())));
  CHECK_FALSE(systemd::is_configuration_error(errc::invalid_notify_message));
  CHECK_FALSE(systemd::is_configuration_error(errc::invalid_fd_name));
  CHECK_FALSE(
      systemd::is_configuration_error(std::error_code(ECONNREFUSED, std::system_category())));
  CHECK_FALSE(systemd::is_configuration_error(std::error_code()));
}

TEST_CASE("an environment_error is a config_error that carries its code and names the cause",
          "[systemd][error]") {
  const systemd::environment_error error(errc::listen_pid_mismatch, "LISTEN_PID=\"1\"");
  CHECK(error.code() == errc::listen_pid_mismatch);
  CHECK(std::string(error.what()) == "LISTEN_PID=\"1\": LISTEN_PID names another process");
  CHECK(lifetime::host::exit_code_of(std::make_exception_ptr(error)) == 78);
}
