// SPDX-License-Identifier: MIT
#include "support/adopted_process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "support/eventually.hpp"

namespace lifetime::test {

void adopt_orphans() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
    throw std::system_error(errno, std::system_category(), "PR_SET_CHILD_SUBREAPER");
}

adopted_process::adopted_process(pid_t pid)
    : pid_(pid), pidfd_(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))) {
  if (pidfd_ < 0)
    throw std::system_error(errno, std::system_category(), "pidfd_open " + std::to_string(pid));
}

adopted_process::~adopted_process() {
  if (!code_) {
    ::kill(pid_, SIGKILL);
    (void)wait_for_exit_code(std::chrono::seconds(5));
  }
  ::close(pidfd_);
}

void adopted_process::signal(int signal_number) const {
  if (!code_)
    ::kill(pid_, signal_number);
}

std::optional<int> adopted_process::wait_for_exit_code(std::chrono::milliseconds timeout) {
  if (code_)
    return code_;
  pollfd p{pidfd_, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0)
    return std::nullopt;
  // It has exited; it is ours to reap once the process that started it is gone.
  int status = 0;
  if (!eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout))
    return std::nullopt;
  code_ = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  return code_;
}

pid_t pid_after_as_process(const std::string& line) {
  const auto at = line.find("as process ");
  if (at == std::string::npos)
    throw std::invalid_argument("no \"as process <pid>\" in: " + line);
  return static_cast<pid_t>(std::stol(line.substr(at + 11)));
}

}  // namespace lifetime::test
