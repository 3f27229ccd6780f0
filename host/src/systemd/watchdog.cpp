// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/watchdog.hpp"

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "lifetime/host/systemd/parse.hpp"

namespace lifetime::host::systemd {
namespace {

std::optional<std::string_view> env(const char* name) noexcept {
  const char* value = std::getenv(name);
  if (value == nullptr)
    return std::nullopt;
  return std::string_view(value);
}

}  // namespace

watchdog_settings watchdog_from_environment(std::error_code& ec) noexcept {
  return watchdog_settings{
      parse_watchdog_environment(env("WATCHDOG_USEC"), env("WATCHDOG_PID"), ::getpid(), ec)};
}

watchdog_settings watchdog_from_environment() {
  std::error_code ec;
  auto settings = watchdog_from_environment(ec);
  if (ec) {
    const auto usec = env("WATCHDOG_USEC").value_or("");
    const auto pid = env("WATCHDOG_PID").value_or("");
    throw environment_error(ec, "watchdog: WATCHDOG_USEC=\"" + std::string(usec) +
                                    "\" WATCHDOG_PID=\"" + std::string(pid) + "\"");
  }
  return settings;
}

}  // namespace lifetime::host::systemd
