// SPDX-License-Identifier: MIT
// Runs the lifetime-demo binary as a child process with its output on a pipe, so tests can send
// it real signals and read its log. Waits are poll()s against deadlines; nothing sleeps.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

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
  /// As above, run through `sh -c '<shell_prefix> "$0" "$@"'` (e.g. to mount something first).
  demo_process(std::string shell_prefix, std::vector<std::string> args);
  ~demo_process();
  demo_process(const demo_process&) = delete;
  demo_process& operator=(const demo_process&) = delete;

  unsigned short port() const { return port_; }
  int pid() const { return pid_; }
  void signal(int signal_number);
  /// Reads output until a line contains `text`; false at the deadline or at the end of output.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout);
  /// Reads output until the child exits; its exit code (128+signal if killed), or nothing at the
  /// deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  const std::string& output() const { return output_; }

 private:
  bool read_some(std::chrono::steady_clock::time_point deadline);
  void launch(std::vector<std::string> argv, int listen_fd, const std::string& notify_socket,
              bool wait_serving = true);

  int pid_ = -1;
  int out_ = -1;
  std::string output_;
  std::size_t scanned_ = 0;
  unsigned short port_ = 0;
  std::optional<int> exit_code_;
};

}  // namespace lifetime::demo::test
