// SPDX-License-Identifier: MIT
// The process exit codes of a host, and the errors that map to them.
//
// | code        | meaning                                                        |
// |-------------|----------------------------------------------------------------|
// | 0           | graceful stop                                                  |
// | 1           | a hosted service failed to start, or a background service threw |
// | 64          | usage error: unknown option, malformed value (EX_USAGE)        |
// | 70          | the shutdown budget ran out and the exit was forced (EX_SOFTWARE) |
// | 78          | configuration error: bad config file or environment (EX_CONFIG) |
// | 128+signal  | immediate exit on the third stop signal                        |
//
// `usage_error` and `config_error` are thrown by options parsing (options.hpp) and by systemd
// socket activation; `exit_code_of()` maps any exception to the code the process should exit
// with. Plain values and exceptions: every member is thread-safe.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace lifetime::host {

enum class exit_code : int {
  success = 0,         ///< graceful stop
  service_failed = 1,  ///< a service failed to start or a background service threw
  usage = 64,          ///< bad command line (EX_USAGE)
  software = 70,       ///< shutdown budget overrun forced the exit (EX_SOFTWARE)
  config = 78,         ///< bad configuration (EX_CONFIG)
};

/// The integer value, for returning from main().
constexpr int to_int(exit_code code) noexcept {
  return static_cast<int>(code);
}

/// The exit code for an immediate exit on `signal_number`: 128 + signal.
constexpr int signal_exit_code(int signal_number) noexcept {
  return 128 + signal_number;
}

/// A command-line mistake: unknown option, malformed value. Exit code 64. what() names the
/// option and the value.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A configuration mistake: a config file that cannot be read or parsed (what() names the file
/// and line), a bad environment variable, a socket-activation mismatch. Exit code 78.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// 64 for usage_error, 78 for config_error, 1 for anything else. Never throws.
int exit_code_of(const std::exception_ptr& error) noexcept;

}  // namespace lifetime::host
