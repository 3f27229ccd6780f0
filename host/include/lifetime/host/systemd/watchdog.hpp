// SPDX-License-Identifier: MIT
// The service manager's watchdog settings (WATCHDOG_USEC, WATCHDOG_PID).
//
// With WatchdogSec= set, systemd passes WATCHDOG_USEC (and WATCHDOG_PID) and kills the service if
// it does not send "WATCHDOG=1" (notifier::watchdog()) within that interval. The host pings every
// interval / 2 from a timer on its event loop, so a wedged loop stops the pings and systemd
// restarts the service.
//
// @par Thread safety
// Reads the environment (getenv) and does not change it: do not call it while another thread
// modifies the environment.
#pragma once

#include <chrono>
#include <system_error>

#include "lifetime/host/systemd/error.hpp"

namespace lifetime::host::systemd {

struct watchdog_settings {
  /// The manager's timeout; 0 = no watchdog.
  std::chrono::microseconds interval{0};
  bool enabled() const noexcept { return interval.count() > 0; }
  /// How often to send WATCHDOG=1: half the interval, as sd_watchdog_enabled(3) recommends.
  std::chrono::microseconds ping_interval() const noexcept { return interval / 2; }
};

/// Reads WATCHDOG_USEC and WATCHDOG_PID. Disabled when WATCHDOG_USEC is unset or 0, or
/// WATCHDOG_PID names another process (the settings were meant for a parent).
/// @param ec errc::invalid_watchdog_usec / errc::invalid_watchdog_pid for a malformed value; the
///           result is then disabled.
watchdog_settings watchdog_from_environment(std::error_code& ec) noexcept;
/// @throws environment_error (a config_error: exit 78) for a malformed value.
watchdog_settings watchdog_from_environment();

}  // namespace lifetime::host::systemd
