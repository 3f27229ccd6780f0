// SPDX-License-Identifier: MIT
#include "support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace lifetime::test {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

int millis_until(child_process::clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - child_process::clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

/// Whether `entry` ("NAME=value") names a variable that one of `env` sets.
bool overridden(const std::string& entry, const std::vector<std::string>& env) {
  const std::string name = entry.substr(0, entry.find('=') + 1);
  for (const auto& e : env) {
    if (starts_with(e, name))
      return true;
  }
  return false;
}

std::vector<std::string> environment_for(const spawn_options& options) {
  std::vector<std::string> result;
  if (options.inherit_environment) {
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      // The tests decide about these.
      if (starts_with(entry, "LIFETIME_") || starts_with(entry, "TSAN_OPTIONS=") ||
          starts_with(entry, "JOURNAL_STREAM=") || starts_with(entry, "NOTIFY_SOCKET=") ||
          starts_with(entry, "LISTEN_") || starts_with(entry, "WATCHDOG_") ||
          overridden(entry, options.env)) {
        continue;
      }
      result.push_back(entry);
    }
    // ThreadSanitizer sleeps a second in exit() when threads remain (atexit_sleep_ms): the
    // process tests time the exit, so the child must not.
    const char* tsan_options = std::getenv("TSAN_OPTIONS");
    if (!overridden("TSAN_OPTIONS=", options.env))
      result.push_back(std::string("TSAN_OPTIONS=") +
                       (tsan_options != nullptr ? std::string(tsan_options) + ":" : "") +
                       "atexit_sleep_ms=0");
  }
  result.insert(result.end(), options.env.begin(), options.env.end());
  return result;
}

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(std::exchange(fd, -1));
}

}  // namespace

std::string exit_status::describe() const {
  return signalled ? "killed by signal " + std::to_string(code)
                   : "exited with code " + std::to_string(code);
}

struct child_process::state {
  pid_t pid = -1;
  int pidfd = -1;
  int output_fd = -1;  // read end of stdout+stderr, owned by the reader thread's lifetime
  int input_fd = -1;   // write end of stdin
  int stop_read = -1;  // the reader also stops when this becomes readable
  int stop_write = -1;
  std::optional<exit_status> status;  // once reaped

  mutable std::mutex mutex;
  std::condition_variable changed;
  // Guarded by mutex:
  bool eof = false;
  std::vector<std::string> lines;
  std::string partial;
  std::size_t next = 0;  // the first line wait_for_line() has not looked at
  std::optional<clock::time_point> exited_at;
  std::thread reader;

  void read_all() {
    char buffer[8192];
    for (;;) {
      pollfd fds[2] = {{output_fd, POLLIN, 0}, {stop_read, POLLIN, 0}};
      const int ready = ::poll(fds, 2, -1);
      if (ready < 0 && errno == EINTR)
        continue;
      ssize_t n = 0;
      if (ready > 0 && fds[1].revents == 0) {
        n = ::read(output_fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
          continue;
      }
      std::lock_guard lock(mutex);
      if (n <= 0) {
        eof = true;
        if (!exited_at)
          exited_at = clock::now();
        if (!partial.empty())
          lines.push_back(std::exchange(partial, {}));
        changed.notify_all();
        return;
      }
      partial.append(buffer, static_cast<std::size_t>(n));
      for (std::size_t pos; (pos = partial.find('\n')) != std::string::npos;) {
        lines.push_back(partial.substr(0, pos));
        partial.erase(0, pos + 1);
      }
      changed.notify_all();
    }
  }

  std::string all_output() const {  // mutex held
    std::string all;
    for (const auto& l : lines)
      all += l + "\n";
    return all + partial;
  }

  ~state() {
    if (pid > 0 && !status) {
      ::kill(pid, SIGKILL);
      int ignored = 0;
      ::waitpid(pid, &ignored, 0);
    }
    if (reader.joinable()) {
      close_fd(stop_write);  // wakes the reader if a grandchild still holds the pipe
      reader.join();
    }
    close_fd(stop_write);
    close_fd(stop_read);
    close_fd(output_fd);
    close_fd(input_fd);
    close_fd(pidfd);
  }
};

namespace {
spawn_options with_env(std::vector<std::string> env) {
  spawn_options options;
  options.env = std::move(env);
  return options;
}
}  // namespace

child_process::child_process(const std::vector<std::string>& args, std::vector<std::string> env)
    : child_process(args, with_env(std::move(env))) {}

child_process::child_process(const std::vector<std::string>& args, spawn_options options)
    : state_(std::make_unique<state>()) {
  state& s = *state_;
  // Everything the child needs is prepared here: after fork() only async-signal-safe calls.
  // Descriptors to place at 3.. are first copied above the target range, so dup2 never
  // overwrites a source that is still needed.
  const int count = static_cast<int>(options.listen_fds.size());
  std::vector<int> sources;
  for (int fd : options.listen_fds) {
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3 + count + 16);
    if (high < 0) {
      for (int f : sources)
        ::close(f);
      throw_errno("F_DUPFD_CLOEXEC");
    }
    sources.push_back(high);
  }
  struct close_sources {
    std::vector<int>& fds;
    ~close_sources() {
      for (int f : fds)
        ::close(f);
    }
  } closer{sources};

  int out[2];
  int in[2];
  int stop[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw_errno("pipe2");
  s.output_fd = out[0];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    ::close(out[1]);
    throw_errno("pipe2");
  }
  s.input_fd = in[1];
  if (::pipe2(stop, O_CLOEXEC) != 0) {
    ::close(out[1]);
    ::close(in[0]);
    throw_errno("pipe2");
  }
  s.stop_read = stop[0];
  s.stop_write = stop[1];

  std::vector<std::string> env = environment_for(options);
  std::size_t pid_slot = static_cast<std::size_t>(-1);
  if (options.listen_pid_value) {
    env.push_back("LISTEN_PID=" + std::to_string(*options.listen_pid_value));
  } else if (options.set_listen_pid) {
    env.push_back("LISTEN_PID=" + std::string(20, '\0'));
    pid_slot = env.size() - 1;
  }
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_storage = args;
  std::vector<char*> argv;
  for (auto& a : arg_storage)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const bool set_limit = options.max_open_files.has_value();
  const rlimit limit{options.max_open_files.value_or(0), options.max_open_files.value_or(0)};

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out[1]);
    ::close(in[0]);
    throw_errno("fork");
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(in[0], 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(out[1], 2) < 0)
      ::_exit(126);
    for (int i = 0; i < count; ++i) {
      if (::dup2(sources[static_cast<std::size_t>(i)], 3 + i) < 0)
        ::_exit(126);
    }
    if (pid_slot != static_cast<std::size_t>(-1)) {
      char* digits = envp[pid_slot] + std::strlen("LISTEN_PID=");
      char reversed[20];
      int n = 0;
      for (pid_t self = ::getpid(); self > 0; self /= 10)
        reversed[n++] = static_cast<char>('0' + self % 10);
      for (int i = 0; i < n; ++i)
        digits[i] = reversed[n - 1 - i];
      digits[n] = '\0';
    }
    if (set_limit && ::setrlimit(RLIMIT_NOFILE, &limit) != 0)
      ::_exit(127);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  s.pid = pid;
  ::close(out[1]);
  ::close(in[0]);
  s.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (s.pidfd < 0)
    throw_errno("pidfd_open");  // ~state kills and reaps the child
  s.reader = std::thread([&s] { s.read_all(); });
}

child_process::child_process(child_process&&) noexcept = default;
child_process::~child_process() = default;

pid_t child_process::pid() const noexcept {
  return state_->pid;
}

void child_process::signal(int signal_number) const {
  if (!state_->status)
    ::kill(state_->pid, signal_number);
}

void child_process::write_line(const std::string& line) {
  const std::string data = line + "\n";
  if (::write(state_->input_fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()))
    throw std::system_error(errno, std::system_category(), "write to the child's stdin");
}

std::optional<std::string> child_process::wait_for_line(std::string_view text,
                                                        std::chrono::milliseconds timeout) {
  state& s = *state_;
  const auto deadline = clock::now() + timeout;
  std::unique_lock lock(s.mutex);
  for (;;) {
    while (s.next < s.lines.size()) {
      const std::string& line = s.lines[s.next++];
      if (line.find(text) != std::string::npos)
        return line;
    }
    if (s.eof ||
        !s.changed.wait_until(lock, deadline, [&] { return s.eof || s.next < s.lines.size(); }))
      return std::nullopt;
  }
}

bool child_process::wait_for_output(std::string_view text, std::chrono::milliseconds timeout) {
  state& s = *state_;
  std::unique_lock lock(s.mutex);
  return s.changed.wait_until(lock, clock::now() + timeout, [&] {
    return s.eof || s.all_output().find(text) != std::string::npos;
  }) && s.all_output().find(text) != std::string::npos;
}

std::optional<exit_status> child_process::wait_for_exit(std::chrono::milliseconds timeout,
                                                        bool output_too) {
  state& s = *state_;
  if (s.status)
    return s.status;
  const auto deadline = clock::now() + timeout;
  for (;;) {
    pollfd p{s.pidfd, POLLIN, 0};
    const int ready = ::poll(&p, 1, millis_until(deadline));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready < 0)
      throw_errno("poll(pidfd)");
    if (ready == 0)
      return std::nullopt;
    break;
  }
  const auto exited = clock::now();
  int status = 0;
  while (::waitpid(s.pid, &status, 0) < 0) {
    if (errno != EINTR)
      throw_errno("waitpid");
  }
  s.status = WIFSIGNALED(status) ? exit_status{true, WTERMSIG(status)}
                                 : exit_status{false, WEXITSTATUS(status)};
  std::unique_lock lock(s.mutex);
  if (!s.exited_at)
    s.exited_at = exited;
  if (!output_too)
    return s.status;
  // The rest of the output is in the pipe (unless a grandchild still holds it open).
  s.changed.wait_until(lock, deadline, [&] { return s.eof; });
  return s.status;
}

std::optional<int> child_process::wait_for_exit_code(std::chrono::milliseconds timeout) {
  const auto status = wait_for_exit(timeout);
  if (!status)
    return std::nullopt;
  return status->shell_code();
}

child_process::clock::time_point child_process::exited_at() const {
  std::lock_guard lock(state_->mutex);
  return state_->exited_at.value_or(clock::time_point{});
}

std::vector<std::string> child_process::lines() const {
  std::lock_guard lock(state_->mutex);
  return state_->lines;
}

std::string child_process::output() const {
  std::lock_guard lock(state_->mutex);
  return state_->all_output();
}

int child_process::count(std::string_view text) const {
  std::lock_guard lock(state_->mutex);
  int n = 0;
  for (const auto& l : state_->lines)
    n += l.find(text) != std::string::npos ? 1 : 0;
  return n;
}

int child_process::index_of(std::string_view text) const {
  std::lock_guard lock(state_->mutex);
  for (std::size_t i = 0; i < state_->lines.size(); ++i) {
    if (state_->lines[i].find(text) != std::string::npos)
      return static_cast<int>(i);
  }
  return -1;
}

long child_process::cpu_ticks() const {
  std::ifstream in("/proc/" + std::to_string(state_->pid) + "/stat");
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

int child_process::open_fds() const {
  std::error_code ec;
  int n = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(state_->pid) + "/fd", ec),
       end;
       !ec && it != end; it.increment(ec)) {
    ++n;
  }
  return n;
}

}  // namespace lifetime::test
