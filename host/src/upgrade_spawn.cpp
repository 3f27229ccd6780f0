// SPDX-License-Identifier: MIT
#include "upgrade_spawn.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <system_error>

extern char** environ;

namespace lifetime::host::detail {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::system_category(), what);
}

bool same_file(const std::string& a, const char* b) {
  struct stat sa {};
  struct stat sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

bool is_handover_variable(std::string_view entry) {
  for (const std::string_view name : {"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=",
                                      "WATCHDOG_PID=", "LIFETIME_UPGRADE_READY_FD="}) {
    if (entry.substr(0, name.size()) == name)
      return true;
  }
  return false;
}

/// Descriptors this process owns for the length of one spawn; closed when it goes.
struct owned_fds {
  std::vector<int> fds;
  owned_fds() = default;
  owned_fds(const owned_fds&) = delete;
  owned_fds& operator=(const owned_fds&) = delete;
  ~owned_fds() {
    for (const int fd : fds)
      ::close(fd);
  }
  int add(int fd) {
    fds.push_back(fd);
    return fd;
  }
};

/// Writes `value` in decimal at `out` (async-signal-safe).
void write_decimal(char* out, long value) {
  char reversed[24];
  int n = 0;
  do {
    reversed[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  for (int i = 0; i < n; ++i)
    out[i] = reversed[n - 1 - i];
  out[n] = '\0';
}

}  // namespace

process_image current_process_image() {
  process_image image;
  std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(cmdline)),
                        std::istreambuf_iterator<char>());
  for (std::size_t begin = 0; begin < all.size();) {
    const std::size_t end = all.find('\0', begin);
    image.args.push_back(all.substr(begin, end - begin));
    if (end == std::string::npos)
      break;
    begin = end + 1;
  }
  // A path given as argv[0] that names this very file is kept as given (made absolute): a
  // deployment that switches a symbolic link along that path is followed. Otherwise the file
  // /proc/self/exe names.
  std::error_code ec;
  if (!image.args.empty() && image.args.front().find('/') != std::string::npos) {
    const auto given = std::filesystem::absolute(image.args.front(), ec).lexically_normal();
    if (!ec && same_file(given.string(), "/proc/self/exe")) {
      image.executable = given.string();
      return image;
    }
  }
  const auto resolved = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec)
    image.executable = resolved.string();
  return image;
}

spawned_process spawn_upgrade(const process_image& image,
                              const std::vector<systemd::listen_fd>& sockets) {
  if (image.executable.empty() || image.args.empty())
    throw std::system_error(std::make_error_code(std::errc::no_such_file_or_directory),
                            "this process's executable path is unknown");
  const int count = static_cast<int>(sockets.size());
  const int ready_target = systemd::listen_fds_start + count;
  // Copies of what the new process gets, above the range it is placed in: dup2() never
  // overwrites a source still needed, and a socket closed meanwhile by its service cannot be
  // replaced by another under the same number.
  const int above = ready_target + 1;
  owned_fds held;
  std::vector<int> sources;
  for (const auto& socket : sockets) {
    const int copy = ::fcntl(socket.fd, F_DUPFD_CLOEXEC, above);
    if (copy < 0)
      throw_errno("duplicating a listening socket for the upgrade");
    sources.push_back(held.add(copy));
  }
  int channel[2];  // a socket pair: the new process's send() cannot raise SIGPIPE
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) != 0)
    throw_errno("socketpair");
  spawned_process result;
  result.ready_fd = channel[0];
  owned_fds read_end;  // the caller's once spawned
  read_end.add(channel[0]);
  const int write_copy = ::fcntl(channel[1], F_DUPFD_CLOEXEC, above);
  ::close(channel[1]);
  if (write_copy < 0)
    throw_errno("duplicating the readiness channel");
  held.add(write_copy);

  // The environment, prepared before fork(): LISTEN_PID's digits are written by the new process.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!is_handover_variable(*e))
      env.emplace_back(*e);
  }
  std::size_t pid_slot = 0;
  if (count > 0) {
    std::string names;
    for (const auto& socket : sockets)
      names += (names.empty() ? "" : ":") + socket.name;
    env.push_back("LISTEN_FDS=" + std::to_string(count));
    env.push_back("LISTEN_FDNAMES=" + names);
    env.push_back("LISTEN_PID=" + std::string(23, ' '));
    pid_slot = env.size() - 1;
  }
  env.push_back(std::string(upgrade_ready_fd_variable) + "=" + std::to_string(ready_target));
  std::vector<char*> envp;
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_storage = image.args;
  std::vector<char*> argv;
  for (auto& a : arg_storage)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string path = image.executable;
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  const long last_fd = files.rlim_cur == RLIM_INFINITY ? 65536 : static_cast<long>(files.rlim_cur);

  const pid_t pid = ::fork();
  if (pid < 0)
    throw_errno("fork");
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int i = 0; i < count; ++i) {
      if (::dup2(sources[static_cast<std::size_t>(i)], systemd::listen_fds_start + i) < 0)
        ::_exit(126);
    }
    if (::dup2(write_copy, ready_target) < 0)
      ::_exit(126);
    if (::syscall(SYS_close_range, above, ~0U, 0) != 0) {
      for (long fd = above; fd < last_fd; ++fd)
        ::close(static_cast<int>(fd));
    }
    if (count > 0)
      write_decimal(envp[pid_slot] + std::strlen("LISTEN_PID="), ::getpid());
    ::execve(path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  read_end.fds.clear();
  result.pid = pid;
  result.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return result;
}

int take_upgrade_ready_fd() noexcept {
  const char* value = std::getenv(upgrade_ready_fd_variable);
  if (value == nullptr)
    return -1;
  char* end = nullptr;
  const long fd = std::strtol(value, &end, 10);
  ::unsetenv(upgrade_ready_fd_variable);
  if (end == value || *end != '\0' || fd < 3 || fd > 65535)
    return -1;
  const int flags = ::fcntl(static_cast<int>(fd), F_GETFD);
  if (flags < 0 || ::fcntl(static_cast<int>(fd), F_SETFD, flags | FD_CLOEXEC) < 0)
    return -1;
  return static_cast<int>(fd);
}

void signal_upgrade_ready(int& fd) noexcept {
  if (fd < 0)
    return;
  const char ready = '1';
  ssize_t written;
  do {
    written = ::send(fd, &ready, 1, MSG_NOSIGNAL);
  } while (written < 0 && errno == EINTR);
  ::close(fd);
  fd = -1;
}

}  // namespace lifetime::host::detail
