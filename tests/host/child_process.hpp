// SPDX-License-Identifier: MIT
// A child process for tests: spawned with posix_spawn, stdout and stderr on one pipe that the test
// reads line by line with deadlines; signalled with real signals; reaped with a deadline (a child
// still alive at the deadline is killed with SIGKILL and reported as such).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace lifetime::test {

class child_process {
 public:
  using clock = std::chrono::steady_clock;

  /// Spawns `args[0]` with `args`, the current environment plus `env` ("NAME=value").
  explicit child_process(const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {}) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    read_fd_ = fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      // The tests decide about these.
      if (entry.rfind("LIFETIME_", 0) == 0 || entry.rfind("TSAN_OPTIONS=", 0) == 0 ||
          entry.rfind("JOURNAL_STREAM=", 0) == 0 || entry.rfind("NOTIFY_SOCKET=", 0) == 0 ||
          entry.rfind("LISTEN_", 0) == 0 || entry.rfind("WATCHDOG_", 0) == 0) {
        continue;
      }
      env_storage.push_back(entry);
    }
    for (const auto& e : env)
      env_storage.push_back(e);
    // ThreadSanitizer sleeps a second in exit() when threads remain (atexit_sleep_ms): the
    // process tests time the exit, so the child must not.
    const char* tsan_options = std::getenv("TSAN_OPTIONS");
    env_storage.push_back(std::string("TSAN_OPTIONS=") +
                          (tsan_options != nullptr ? std::string(tsan_options) + ":" : "") +
                          "atexit_sleep_ms=0");
    std::vector<char*> envp;
    for (auto& e : env_storage)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(read_fd_);
      throw std::runtime_error(std::string("posix_spawn failed: ") + std::strerror(rc));
    }
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  ~child_process() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    ::close(read_fd_);
  }

  void signal(int signal_number) { ::kill(pid_, signal_number); }
  pid_t pid() const noexcept { return pid_; }

  /// Reads until a line containing `text` arrives (returned), or nothing at `timeout`/EOF.
  std::optional<std::string> wait_for_line(
      const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = clock::now() + timeout;
    for (;;) {
      while (next_ < lines_.size()) {
        const std::string& line = lines_[next_++];
        if (line.find(text) != std::string::npos)
          return line;
      }
      if (!read_some(deadline))
        return std::nullopt;
    }
  }

  /// Reads everything until the child closes its output, then reaps it. The exit code, 128+signal
  /// if it was killed by a signal, or nothing if it was still running at `timeout` (then killed).
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = clock::now() + timeout;
    while (read_some(deadline)) {
    }
    if (!eof_)
      return std::nullopt;
    // Output closed: the process has exited (or is about to); reap it, with the same deadline.
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        exited_at_ = clock::now();
        if (WIFEXITED(status))
          return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
          return 128 + WTERMSIG(status);
        return std::nullopt;
      }
      if (clock::now() >= deadline)
        return std::nullopt;
      ::poll(nullptr, 0, 5);  // the pipe is closed; the exit itself is microseconds away
    }
  }

  /// Every line read so far.
  const std::vector<std::string>& lines() const noexcept { return lines_; }

  /// The whole output so far, for failure messages.
  std::string output() const {
    std::string all;
    for (const auto& l : lines_)
      all += l + "\n";
    return all + partial_;
  }

  /// The index of the first line containing `text`, or -1.
  int index_of(const std::string& text) const {
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      if (lines_[i].find(text) != std::string::npos)
        return static_cast<int>(i);
    }
    return -1;
  }

  clock::time_point exited_at() const noexcept { return exited_at_; }

 private:
  /// Reads what is available (waiting until `deadline`). False at EOF or deadline.
  bool read_some(clock::time_point deadline) {
    if (eof_)
      return false;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{read_fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0)
      return r < 0;  // EINTR: try again
    char buffer[4096];
    const ssize_t n = ::read(read_fd_, buffer, sizeof buffer);
    if (n <= 0) {
      eof_ = true;
      exited_at_ = clock::now();
      if (!partial_.empty())
        lines_.push_back(std::exchange(partial_, {}));
      return false;
    }
    partial_.append(buffer, static_cast<std::size_t>(n));
    for (std::size_t pos; (pos = partial_.find('\n')) != std::string::npos;) {
      lines_.push_back(partial_.substr(0, pos));
      partial_.erase(0, pos + 1);
    }
    return true;
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  std::vector<std::string> lines_;
  std::size_t next_ = 0;
  std::string partial_;
  clock::time_point exited_at_{};
};

}  // namespace lifetime::test
