// SPDX-License-Identifier: MIT
// The settings of one host: shutdown budget, drain delay, threads, signals, logging, upgrades.
//
// Fill it by hand, or from the command line, a config file and the environment with
// `lifetime::host::options` (options.hpp), whose to_host_options() also wires `reload_config`.
// A plain aggregate: copy it freely; not synchronised.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace lifetime::host {

struct host_options {
  /// The whole stop, from stopping() to the exit, must fit in this budget (--shutdown-timeout).
  std::chrono::milliseconds shutdown_timeout{30000};
  /// Phase 2: keep serving this long after the stop begins (--drain-delay).
  std::chrono::milliseconds drain_delay{0};
  /// How long the supervisor waits for a stop before it kills the process: systemd's
  /// TimeoutStopSec, Kubernetes' terminationGracePeriodSeconds (--supervisor-deadline). Zero when
  /// the host is not told. When set, the host refuses to start, with exit code 78, unless
  /// shutdown_timeout (which holds the drain delay) + supervisor_margin fit in it
  /// (check_supervisor_deadline()):
  /// otherwise the supervisor's SIGKILL, not the host, would end a slow stop.
  std::chrono::milliseconds supervisor_deadline{0};
  /// I/O threads when the host owns its io_context (the thread calling run() is one of them);
  /// above 1, as many connection threads again (host::connection_executors()).
  unsigned threads = 1;
  /// Owning mode only: handle SIGTERM/SIGINT/SIGQUIT/SIGHUP/SIGUSR2. Embedded hosts never do.
  bool handle_signals = true;
  /// Owning mode only: configure spdlog's default logger (logging.hpp) with log_level.
  bool configure_logging = true;
  /// trace, debug, info, warn, error, critical, off (--log-level).
  std::string log_level = "info";
  /// Owning mode only: once the stop is over (the services stopped, or the budget ran out), run()
  /// flushes the log and C stdio and ends the process with _exit(exit code) instead of returning,
  /// leaving what is still alive (connections, coroutine frames, pending operations) to the
  /// kernel rather than to destructors: with thousands of connections their destruction alone
  /// can outlast the budget. No destructor or atexit handler runs after the stop. Set it to false
  /// to have run() return and the host destroy everything normally (the exit enforcer still
  /// bounds that teardown). Embedded hosts never exit the process.
  bool exit_when_stopped = true;
  /// Binary upgrade (SIGUSR1, owning mode): how long the new process has to become ready before
  /// it is stopped and this process keeps serving (--upgrade-timeout).
  std::chrono::milliseconds upgrade_timeout{30000};
  /// Owning mode: write this process's pid to this file (atomically: a temporary file renamed
  /// over it) when it starts, or, when a binary upgrade started it, once it is ready; removed
  /// at the exit if it still names this process (--pid-file). Empty: no file.
  std::string pid_file;
  /// The name in log lines and the systemd STATUS= text.
  std::string name = "host";
  /// Called on the host's strand when a reload is requested (SIGHUP), before the services'
  /// reload(): re-reads the configuration. Throwing is logged and the old configuration stays;
  /// the services are not reloaded. Empty: nothing to re-read.
  std::function<void()> reload_config;
};

/// What check_supervisor_deadline() keeps free between the end of the host's budget and the
/// supervisor's kill: the exit enforcer's margin, flushing the log, the kernel's teardown.
inline constexpr std::chrono::milliseconds supervisor_margin{1000};

/// Why `options` would not stop within its supervisor_deadline (naming both numbers), or nothing
/// when it does or when no deadline is set. Never throws but std::bad_alloc.
std::optional<std::string> check_supervisor_deadline(const host_options& options);

}  // namespace lifetime::host
