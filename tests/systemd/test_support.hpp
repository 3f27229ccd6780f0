// SPDX-License-Identifier: MIT
// What the systemd tests need to play the service manager: a datagram socket that receives
// sd_notify messages (with SCM_RIGHTS descriptors), listening TCP sockets, clients, and child
// processes started the way systemd starts them (support/child_process.hpp: descriptors at 3,
// LISTEN_PID set to the child's own pid). Everything waits on events with a deadline; nothing
// sleeps.
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

#include "support/child_process.hpp"

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
inline std::string raw_exchange(std::uint16_t port, std::string_view request, std::error_code& ec,
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

/// Child processes are started with the parent's environment left out (inherit_environment
/// false), as a service manager does: see support/child_process.hpp.
using lifetime::test::child_process;
using lifetime::test::spawn_options;

}  // namespace lifetime::test::systemd
