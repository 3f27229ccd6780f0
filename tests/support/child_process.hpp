// SPDX-License-Identifier: MIT
// A child process for tests, started the way a service manager starts a service: fork/exec with
// an empty signal mask, descriptors placed at 3, 4, ... (LISTEN_PID may name the child itself),
// resource limits set before exec. stdout and stderr go to one pipe that a thread of this object
// reads at once (a chatty child never blocks on a full pipe); the test waits for lines or text
// with deadlines. stdin is a pipe the test writes to. Signals are real; the exit is awaited on a
// pidfd with a deadline.
//
// Guarantees: every wait returns at its deadline at the latest; nothing sleeps except the reader
// thread blocking on the pipe. The constructor throws std::system_error when the process cannot
// be started (an exec failure is exit code 127). A child still running when this object goes is
// killed with SIGKILL and reaped. Methods are called from one test thread; the reader thread only
// appends output under a lock.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifetime::test {

/// How a process ended.
struct exit_status {
  bool signalled = false;  ///< killed by a signal (then `code` is the signal number)
  int code = 0;            ///< exit code, or the signal number
  bool exited(int expected) const noexcept { return !signalled && code == expected; }
  /// The exit code, or 128 + the signal number (as a shell reports it).
  int shell_code() const noexcept { return signalled ? 128 + code : code; }
  std::string describe() const;
};

struct spawn_options {
  /// "NAME=value", added to the environment (replacing NAME).
  std::vector<std::string> env;
  /// Start from this process's environment, without what the tests decide about (LIFETIME_*,
  /// JOURNAL_STREAM, NOTIFY_SOCKET, LISTEN_*, WATCHDOG_*) and with TSAN_OPTIONS extended by
  /// atexit_sleep_ms=0. False: the environment is `env` alone (as systemd gives a service).
  bool inherit_environment = true;
  /// Placed at 3, 4, ... in the child (LISTEN_FDS is not added).
  std::vector<int> listen_fds;
  /// Adds LISTEN_PID=<the child's pid>.
  bool set_listen_pid = false;
  /// Adds LISTEN_PID=<this> instead.
  std::optional<pid_t> listen_pid_value;
  /// RLIMIT_NOFILE (soft and hard) for the child.
  std::optional<unsigned long> max_open_files;
};

class child_process {
 public:
  using clock = std::chrono::steady_clock;

  /// Starts `args[0]` (a path) with `args`.
  explicit child_process(const std::vector<std::string>& args, spawn_options options = {});
  /// Starts `args[0]` with this process's environment plus `env` ("NAME=value").
  child_process(const std::vector<std::string>& args, std::vector<std::string> env);
  child_process(child_process&&) noexcept;
  child_process& operator=(child_process&&) = delete;
  ~child_process();

  pid_t pid() const noexcept;
  /// Sends `signal_number`, unless the child has been reaped.
  void signal(int signal_number) const;
  /// Writes `line` and a newline to the child's stdin.
  void write_line(const std::string& line);

  /// Waits until a line containing `text` arrives after the last line this returned, and returns
  /// it; nothing at `timeout` or when the output ends first.
  std::optional<std::string> wait_for_line(
      std::string_view text, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Waits until the whole output so far contains `text`; false at `timeout` or when the output
  /// ends first.
  bool wait_for_output(std::string_view text,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

  /// Waits until the child exits and reaps it, then, if `output_too`, waits (within the same
  /// deadline) for the end of its output; nothing if it is still running at `timeout`. A process
  /// the child started (a binary upgrade) may hold the output open: pass false.
  std::optional<exit_status> wait_for_exit(
      std::chrono::milliseconds timeout = std::chrono::seconds(10), bool output_too = true);
  /// As wait_for_exit(): the exit code, or 128 + the signal number.
  std::optional<int> wait_for_exit_code(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// When the child's output ended or it was reaped, whichever came first.
  clock::time_point exited_at() const;

  /// The complete lines read so far.
  std::vector<std::string> lines() const;
  /// Everything read so far (lines and any unterminated rest).
  std::string output() const;
  /// The number of lines containing `text`.
  int count(std::string_view text) const;
  /// The index of the first line containing `text`, or -1.
  int index_of(std::string_view text) const;

  /// utime + stime of the running child, in clock ticks (/proc/<pid>/stat).
  long cpu_ticks() const;
  /// Open descriptors of the running child.
  int open_fds() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace lifetime::test
