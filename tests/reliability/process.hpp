// SPDX-License-Identifier: MIT
// A child process for the reliability tests: spawned with fork/exec so that resource limits can be
// set in the child before exec; stdout and stderr on one pipe, read by a thread of this object at
// once (so a chatty child never blocks on a full pipe) and waited for line by line with deadlines;
// stdin on a pipe the test writes to; signalled with real signals; reaped with a deadline.
//
// Unlike a plain exit code, the outcome says whether the process exited or was killed by a
// signal: `_exit(143)` after a third SIGTERM is a decision of the host, death by SIGTERM is not.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace lifetime::test {

/// How a process ended.
struct exit_status {
  bool signalled = false;  ///< killed by a signal (then `code` is the signal number)
  int code = 0;            ///< exit code, or the signal number
  bool exited(int expected) const noexcept { return !signalled && code == expected; }
  std::string describe() const {
    return signalled ? "killed by signal " + std::to_string(code)
                     : "exited with code " + std::to_string(code);
  }
};

struct spawn_options {
  std::vector<std::string> env;  ///< "NAME=value", added to a cleaned environment (replacing NAME)
  std::optional<rlim_t> max_open_files;  ///< RLIMIT_NOFILE (soft and hard) for the child
};

class process {
  /// Whether `entry` ("NAME=value") names a variable that one of `env` sets.
  static bool overridden(const std::string& entry, const std::vector<std::string>& env) {
    const std::string name = entry.substr(0, entry.find('=') + 1);
    for (const auto& e : env) {
      if (e.rfind(name, 0) == 0)
        return true;
    }
    return false;
  }

 public:
  using clock = std::chrono::steady_clock;

  explicit process(const std::vector<std::string>& args, spawn_options options = {}) {
    int out[2];
    int in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    read_fd_ = out[0];
    write_fd_ = in[1];
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      if (entry.rfind("LIFETIME_", 0) == 0 || entry.rfind("JOURNAL_STREAM=", 0) == 0 ||
          entry.rfind("NOTIFY_SOCKET=", 0) == 0 || entry.rfind("LISTEN_", 0) == 0 ||
          entry.rfind("WATCHDOG_", 0) == 0 || overridden(entry, options.env)) {
        continue;
      }
      env_storage.push_back(entry);
    }
    for (const auto& e : options.env)
      env_storage.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_storage)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    const rlimit limit{options.max_open_files.value_or(0), options.max_open_files.value_or(0)};
    const bool set_limit = options.max_open_files.has_value();

    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Only async-signal-safe calls until exec.
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      if (set_limit && ::setrlimit(RLIMIT_NOFILE, &limit) != 0)
        ::_exit(127);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    reader_ = std::thread([this] { read_all(); });
  }

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  ~process() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (reader_.joinable())
      reader_.join();
    ::close(read_fd_);
    if (write_fd_ >= 0)
      ::close(write_fd_);
  }

  pid_t pid() const noexcept { return pid_; }
  void signal(int signal_number) { ::kill(pid_, signal_number); }

  /// Writes a line to the child's stdin.
  void write_line(const std::string& line) {
    const std::string data = line + "\n";
    if (::write(write_fd_, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
      throw std::runtime_error("write to child's stdin failed");
  }

  /// Waits until a line containing `text` arrives (returned), or nothing at `timeout`/EOF.
  std::optional<std::string> wait_for_line(
      const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    const auto deadline = clock::now() + timeout;
    for (;;) {
      while (next_ < lines_.size()) {
        const std::string& line = lines_[next_++];
        if (line.find(text) != std::string::npos)
          return line;
      }
      if (eof_ ||
          !changed_.wait_until(lock, deadline, [&] { return eof_ || next_ < lines_.size(); }))
        return std::nullopt;
    }
  }

  /// Waits until the child closes its output, then reaps it; nothing if it is still running at
  /// `timeout` (it is then killed when this object goes).
  std::optional<exit_status> wait_for_exit(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = clock::now() + timeout;
    {
      std::unique_lock lock(mutex_);
      changed_.wait_until(lock, deadline, [&] { return eof_; });
    }
    for (;;) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        exited_at_ = clock::now();
        if (WIFSIGNALED(status))
          return exit_status{true, WTERMSIG(status)};
        return exit_status{false, WEXITSTATUS(status)};
      }
      if (clock::now() >= deadline)
        return std::nullopt;
      // Output closed (or held open by a grandchild): the exit is at most moments away.
      ::poll(nullptr, 0, 5);
    }
  }

  /// The number of lines containing `text`.
  int count(const std::string& text) const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& l : lines_)
      n += l.find(text) != std::string::npos ? 1 : 0;
    return n;
  }

  /// The index of the first line containing `text`, or -1.
  int index_of(const std::string& text) const {
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      if (lines_[i].find(text) != std::string::npos)
        return static_cast<int>(i);
    }
    return -1;
  }

  std::string output() const {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& l : lines_)
      all += l + "\n";
    return all + partial_;
  }

  clock::time_point exited_at() const noexcept { return exited_at_; }

  /// Kept for readability at call sites: output is read continuously by the reader thread.
  void drain_output() {}

  /// utime + stime of the running child, in clock ticks (/proc/<pid>/stat fields 14 and 15).
  long cpu_ticks() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos)
      return -1;
    std::istringstream fields(stat.substr(close_paren + 2));
    std::string field;
    long utime = 0;
    long stime = 0;
    // Field 3 (state) is the first after ')'; utime is field 14, stime 15.
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14)
        utime = std::stol(field);
      if (i == 15)
        stime = std::stol(field);
    }
    return utime + stime;
  }

  /// Open descriptors of the running child.
  int open_fds() const {
    std::error_code ec;
    int n = 0;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid_) + "/fd", ec), end;
         !ec && it != end; it.increment(ec)) {
      ++n;
    }
    return n;
  }

 private:
  void read_all() {
    char buffer[8192];
    for (;;) {
      const ssize_t n = ::read(read_fd_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR)
        continue;
      std::lock_guard lock(mutex_);
      if (n <= 0) {
        eof_ = true;
        if (!partial_.empty())
          lines_.push_back(std::exchange(partial_, {}));
        changed_.notify_all();
        return;
      }
      partial_.append(buffer, static_cast<std::size_t>(n));
      for (std::size_t pos; (pos = partial_.find('\n')) != std::string::npos;) {
        lines_.push_back(partial_.substr(0, pos));
        partial_.erase(0, pos + 1);
      }
      changed_.notify_all();
    }
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  int write_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool eof_ = false;  // guarded by mutex_, as are lines_, next_ and partial_
  bool reaped_ = false;
  std::thread reader_;
  std::vector<std::string> lines_;
  std::size_t next_ = 0;
  std::string partial_;
  clock::time_point exited_at_{};
};

}  // namespace lifetime::test
