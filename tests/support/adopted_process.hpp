// SPDX-License-Identifier: MIT
// A process the test did not start itself: the new process of a binary upgrade, started by the
// test's child. adopt_orphans() makes the test process their reaper (PR_SET_CHILD_SUBREAPER):
// once the process that started one exits, the kernel reparents it here, so its exit code can
// be read.
//
// Guarantees: every wait returns at its deadline at the latest (the exit is awaited on a pidfd,
// the reparenting polled with eventually()); a process still running when this object goes is
// killed with SIGKILL and, once reparented, reaped. The constructor throws std::system_error when
// the pid names no process. One test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace lifetime::test {

/// Makes this process the reaper of its descendants' orphans. @throws std::system_error.
void adopt_orphans();

class adopted_process {
 public:
  explicit adopted_process(pid_t pid);
  adopted_process(const adopted_process&) = delete;
  adopted_process& operator=(const adopted_process&) = delete;
  ~adopted_process();

  pid_t pid() const noexcept { return pid_; }
  /// Sends `signal_number`, unless the process has been reaped.
  void signal(int signal_number) const;
  /// The exit code (128 + the signal number if killed), once the process has exited and been
  /// reparented here (adopt_orphans()); nothing at `timeout`.
  std::optional<int> wait_for_exit_code(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  pid_t pid_;
  int pidfd_;
  std::optional<int> code_;
};

/// The pid after "as process " in a line such as the host's "upgrade: started ... as process
/// 1234, ...". @throws std::invalid_argument when there is none.
pid_t pid_after_as_process(const std::string& line);

}  // namespace lifetime::test
