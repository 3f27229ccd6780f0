// SPDX-License-Identifier: MIT
// What the systemd tests need to play the service manager: a datagram socket that receives
// sd_notify messages (with SCM_RIGHTS descriptors), listening TCP sockets, clients, and child
// processes started the way systemd starts them (descriptors at 3, LISTEN_PID set to the child's
// own pid). Everything waits on events with a deadline; nothing sleeps.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace lifetime::test::systemd {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

[[noreturn]] inline void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::system_category(), what);
}

/// Milliseconds left until `deadline`, for poll(); 0 once it has passed.
inline int millis_until(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

/// An owned file descriptor.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset() noexcept {
    if (fd_ >= 0)
      ::close(std::exchange(fd_, -1));
  }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents at destruction.
class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/lifetime-systemd-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
      throw_errno("mkdtemp");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// A random suffix, so abstract socket names of concurrent test runs never collide.
inline std::string random_suffix() {
  static std::atomic<unsigned> counter{0};
  std::random_device device;
  return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(device());
}

/// One received notification: its text and the descriptors it carried (owned).
struct notification {
  std::string text;
  std::vector<unique_fd> fds;
};

/// The service manager's end of NOTIFY_SOCKET: a bound AF_UNIX datagram socket.
class notify_receiver {
 public:
  /// Binds at `path` (a filesystem socket).
  static notify_receiver at_path(const std::filesystem::path& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string text = path.string();
    if (text.size() >= sizeof address.sun_path)
      throw std::length_error("socket path too long");
    std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
    return notify_receiver(
        address, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + text.size() + 1), text);
  }

  /// Binds at the abstract name `name` (without the leading NUL), with the exact address length.
  static notify_receiver at_abstract(const std::string& name) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (name.size() + 1 > sizeof address.sun_path)
      throw std::length_error("name too long");
    std::memcpy(address.sun_path + 1, name.data(), name.size());
    return notify_receiver(
        address, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size()),
        "@" + name);
  }

  /// The value for NOTIFY_SOCKET.
  const std::string& address() const noexcept { return address_; }
  int fd() const noexcept { return fd_.get(); }

  /// The next notification, or nothing if none arrives before `timeout`.
  std::optional<notification> receive(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = clock::now() + timeout;
    while (true) {
      pollfd p{fd_.get(), POLLIN, 0};
      const int ready = ::poll(&p, 1, millis_until(deadline));
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready < 0)
        throw_errno("poll");
      if (ready == 0)
        return std::nullopt;
      if (auto message = receive_now())
        return message;
    }
  }

  /// A notification already queued, or nothing.
  std::optional<notification> receive_now() {
    std::string buffer(4096, '\0');
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 253)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return std::nullopt;
    if (n < 0)
      throw_errno("recvmsg");
    notification result;
    result.text.assign(buffer.data(), static_cast<std::size_t>(n));
    for (cmsghdr* header = CMSG_FIRSTHDR(&msg); header != nullptr;
         header = CMSG_NXTHDR(&msg, header)) {
      if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
        continue;
      const auto count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
        result.fds.emplace_back(fd);
      }
    }
    if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
      throw std::runtime_error("notification truncated");
    }
    return result;
  }

 private:
  notify_receiver(const sockaddr_un& address, socklen_t length, std::string name)
      : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)), address_(std::move(name)) {
    if (!fd_)
      throw_errno("socket");
    if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&address), length) < 0) {
      throw_errno("bind " + address_);
    }
  }

  unique_fd fd_;
  std::string address_;
};

/// A listening TCP socket on 127.0.0.1 at a kernel-chosen port.
struct tcp_listener {
  unique_fd fd;
  std::uint16_t port = 0;

  static tcp_listener open(int backlog = 128) {
    tcp_listener result;
    result.fd = unique_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!result.fd)
      throw_errno("socket");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(result.fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
      throw_errno("bind");
    }
    if (::listen(result.fd.get(), backlog) < 0)
      throw_errno("listen");
    socklen_t length = sizeof address;
    if (::getsockname(result.fd.get(), reinterpret_cast<sockaddr*>(&address), &length) < 0) {
      throw_errno("getsockname");
    }
    result.port = ntohs(address.sin_port);
    return result;
  }
};

/// A port on 127.0.0.1 that was free a moment ago (for programs that bind it themselves).
inline std::uint16_t free_port() {
  return tcp_listener::open().port;
}

/// Connects to 127.0.0.1:`port`. ECONNREFUSED is returned as the error, not retried.
inline unique_fd connect_tcp(std::uint16_t port, std::error_code& ec) {
  ec.clear();
  unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd)
    throw_errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    ec.assign(errno, std::system_category());
    return {};
  }
  return fd;
}

/// Reads until EOF or `deadline`; returns what arrived.
inline std::string read_all(int fd, clock::time_point deadline) {
  std::string result;
  char buffer[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, millis_until(deadline));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return result;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return result;
    result.append(buffer, static_cast<std::size_t>(n));
  }
}

/// Sends `request` on a new connection to 127.0.0.1:`port` and reads the answer until the server
/// closes the connection (send "Connection: close"). `ec` is the connect error, if any.
inline std::string exchange(std::uint16_t port, std::string_view request, std::error_code& ec,
                            std::chrono::milliseconds timeout = 10s) {
  auto fd = connect_tcp(port, ec);
  if (ec)
    return {};
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      ec.assign(errno, std::system_category());
      return {};
    }
    sent += static_cast<std::size_t>(n);
  }
  return read_all(fd.get(), clock::now() + timeout);
}

/// "GET <target> HTTP/1.1" with Connection: close.
inline std::string http_get_request(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

/// The status code of an HTTP/1.1 response, or 0 if there is none.
inline int http_status(std::string_view response) {
  if (response.size() < 12 || response.substr(0, 9) != "HTTP/1.1 ")
    return 0;
  return std::atoi(std::string(response.substr(9, 3)).c_str());
}

/// The local port of a bound socket.
inline std::uint16_t local_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) < 0) {
    throw_errno("getsockname");
  }
  return ntohs(address.sin_port);
}

/// A child process started the way a service manager starts a service.
class child_process {
 public:
  struct options {
    std::vector<std::string> argv;          ///< argv[0] is the program path
    std::vector<std::string> env;           ///< "KEY=VALUE"; the parent's environment is not used
    std::vector<int> listen_fds;            ///< placed at 3, 4, ...; LISTEN_FDS is not added
    bool set_listen_pid = false;            ///< add LISTEN_PID=<child pid>
    std::optional<pid_t> listen_pid_value;  ///< add LISTEN_PID=<this> instead
    bool capture_output = true;             ///< stdout+stderr to a pipe (output())
  };

  static child_process spawn(options opts) {
    // Descriptors to place at 3.. are first moved above the target range, so dup2 never
    // overwrites a source that is still needed.
    const int count = static_cast<int>(opts.listen_fds.size());
    std::vector<unique_fd> sources;
    for (int fd : opts.listen_fds) {
      const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 3 + count + 16);
      if (high < 0)
        throw_errno("F_DUPFD_CLOEXEC");
      sources.emplace_back(high);
    }
    int pipe_fds[2] = {-1, -1};
    if (opts.capture_output && ::pipe2(pipe_fds, O_CLOEXEC) < 0)
      throw_errno("pipe2");
    unique_fd read_end(pipe_fds[0]);
    unique_fd write_end(pipe_fds[1]);

    // Everything the child needs is prepared here: after fork() only async-signal-safe calls.
    std::vector<std::string> env = opts.env;
    std::size_t pid_slot = static_cast<std::size_t>(-1);
    if (opts.listen_pid_value) {
      env.push_back("LISTEN_PID=" + std::to_string(*opts.listen_pid_value));
    } else if (opts.set_listen_pid) {
      env.push_back("LISTEN_PID=" + std::string(20, '\0'));
      pid_slot = env.size() - 1;
    }
    std::vector<char*> envp;
    for (auto& e : env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& a : opts.argv)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<int> source_fds;
    for (auto& s : sources)
      source_fds.push_back(s.get());

    const pid_t pid = ::fork();
    if (pid < 0)
      throw_errno("fork");
    if (pid == 0) {
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      for (int i = 0; i < count; ++i) {
        if (::dup2(source_fds[static_cast<std::size_t>(i)], 3 + i) < 0)
          ::_exit(126);
      }
      if (write_end) {
        if (::dup2(write_end.get(), 1) < 0 || ::dup2(write_end.get(), 2) < 0)
          ::_exit(126);
      }
      if (pid_slot != static_cast<std::size_t>(-1)) {
        char* digits = envp[pid_slot] + std::strlen("LISTEN_PID=");
        char reversed[20];
        int n = 0;
        for (pid_t self = ::getpid(); self > 0; self /= 10) {
          reversed[n++] = static_cast<char>('0' + self % 10);
        }
        for (int i = 0; i < n; ++i)
          digits[i] = reversed[n - 1 - i];
        digits[n] = '\0';
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    child_process child;
    child.pid_ = pid;
    child.output_fd_ = std::move(read_end);
    child.pidfd_ = unique_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!child.pidfd_)
      throw_errno("pidfd_open");
    return child;
  }

  child_process() = default;
  child_process(child_process&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)),
        pidfd_(std::move(other.pidfd_)),
        output_fd_(std::move(other.output_fd_)),
        output_(std::move(other.output_)),
        status_(other.status_) {}
  child_process& operator=(child_process&&) = delete;
  ~child_process() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }

  /// The child's pid (still valid after wait(), for comparisons).
  pid_t pid() const noexcept { return pid_; }
  void signal(int signal_number) const {
    if (!status_)
      ::kill(pid_, signal_number);
  }

  /// Waits for the exit until `timeout`; returns the wait status, or nothing on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = 10s) {
    if (status_)
      return status_;
    const auto deadline = clock::now() + timeout;
    while (true) {
      pollfd p{pidfd_.get(), POLLIN, 0};
      const int ready = ::poll(&p, 1, millis_until(deadline));
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready < 0)
        throw_errno("poll pidfd");
      if (ready == 0)
        return std::nullopt;
      int status = 0;
      if (::waitpid(pid_, &status, 0) == pid_) {
        status_ = status;
        return status_;
      }
    }
  }

  /// The exit code, or -signal if killed, or nothing on timeout.
  std::optional<int> wait_exit_code(std::chrono::milliseconds timeout = 10s) {
    const auto status = wait(timeout);
    if (!status)
      return std::nullopt;
    if (WIFEXITED(*status))
      return WEXITSTATUS(*status);
    return -WTERMSIG(*status);
  }

  /// Reads the child's output until it contains `needle`; false if it does not before `timeout`
  /// (or the child closes its output first).
  bool wait_for_output(std::string_view needle, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = clock::now() + timeout;
    char buffer[4096];
    while (output_.find(needle) == std::string::npos) {
      if (!output_fd_)
        return false;
      pollfd p{output_fd_.get(), POLLIN, 0};
      const int ready = ::poll(&p, 1, millis_until(deadline));
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready <= 0)
        return false;
      const ssize_t n = ::read(output_fd_.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        output_fd_.reset();
        return output_.find(needle) != std::string::npos;
      }
      output_.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
  }

  /// What wait_for_output() has read so far.
  const std::string& output_so_far() const noexcept { return output_; }

  /// Everything the child wrote to stdout/stderr until it closed them (or `timeout`).
  std::string output(std::chrono::milliseconds timeout = 10s) {
    if (output_fd_) {
      output_ += read_all(output_fd_.get(), clock::now() + timeout);
      output_fd_.reset();
    }
    return output_;
  }

 private:
  pid_t pid_ = -1;
  unique_fd pidfd_;
  unique_fd output_fd_;
  std::string output_;
  std::optional<int> status_;
};

}  // namespace lifetime::test::systemd
