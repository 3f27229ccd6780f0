// SPDX-License-Identifier: MIT
// Runs the lifetime-demo binary as a child process (support/child_process.hpp), so tests can send
// it real signals and read its log. Every wait has a deadline; nothing sleeps. The constructors
// throw when the binary cannot be started or (unless no_wait) does not serve within 10 s; they
// return once the host has started too (its "started in" line), so that signals are not refused.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace lifetime::demo::test {

class demo_process {
 public:
  /// Starts `binary args...` listening on 127.0.0.1:0 (unless args say otherwise) and waits for
  /// the "serving http://...:PORT/" line. `listen_fd` ≥ 0 is passed as systemd socket activation
  /// (fd 3, LISTEN_FDS=1, LISTEN_FDNAMES=http).
  /// `notify_socket`, if not empty, becomes the child's NOTIFY_SOCKET (otherwise it is unset).
  explicit demo_process(std::vector<std::string> args, int listen_fd = -1,
                        std::string notify_socket = {});
  /// Starts `binary args...` without waiting for it to serve (for a start that fails).
  struct no_wait_t {};
  static constexpr no_wait_t no_wait{};
  demo_process(std::vector<std::string> args, no_wait_t);
  /// Starts `binary` (a copy of lifetime-demo, say) with `args` and `env` ("NAME=value") added to
  /// the environment, and waits for it to serve as the first constructor does.
  demo_process(const std::string& binary, std::vector<std::string> args,
               std::vector<std::string> env);
  /// As above, run through `sh -c '<shell_prefix> "$0" "$@"'` (e.g. to mount something first).
  demo_process(std::string shell_prefix, std::vector<std::string> args);

  unsigned short port() const { return port_; }
  int pid() const { return child_.pid(); }
  void signal(int signal_number) { child_.signal(signal_number); }
  /// Waits for a line containing `text` after the last one found; false at the deadline or at
  /// the end of output.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout) {
    return child_.wait_for_line(text, timeout).has_value();
  }
  /// Waits for the child to exit; its exit code (128+signal if killed), or nothing at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    return child_.wait_for_exit_code(timeout);
  }
  /// As wait_exit(), without waiting for the end of the output, which a process this one started
  /// (a binary upgrade) shares.
  std::optional<int> wait_exit_only(std::chrono::milliseconds timeout) {
    const auto status = child_.wait_for_exit(timeout, false);
    return status ? std::optional<int>(status->shell_code()) : std::nullopt;
  }
  /// Waits until the whole output so far contains `text`, wherever (false at the deadline).
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
    return child_.wait_for_output(text, timeout);
  }
  /// Waits for a line containing `text` after the last one found and returns it.
  std::optional<std::string> wait_for_line(const std::string& text,
                                           std::chrono::milliseconds timeout) {
    return child_.wait_for_line(text, timeout);
  }
  std::string output() const { return child_.output(); }

 private:
  demo_process(std::vector<std::string> argv, lifetime::test::spawn_options options,
               bool wait_serving);

  lifetime::test::child_process child_;
  unsigned short port_ = 0;
};

}  // namespace lifetime::demo::test
