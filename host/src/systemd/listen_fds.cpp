// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/listen_fds.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "lifetime/host/systemd/parse.hpp"

namespace lifetime::host::systemd {
namespace {

std::optional<std::string_view> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr)
    return std::nullopt;
  return std::string_view(value);
}

std::string quoted(std::optional<std::string_view> value) {
  return value ? "\"" + std::string(*value) + "\"" : std::string("unset");
}

std::vector<listen_fd> take(std::error_code& ec, std::string* detail) {
  const auto pid_text = env("LISTEN_PID");
  const auto fds_text = env("LISTEN_FDS");
  const auto names_text = env("LISTEN_FDNAMES");
  const pid_t self = ::getpid();
  auto parsed = parse_listen_environment(pid_text, fds_text, names_text, self, ec);
  if (detail != nullptr && ec) {
    *detail = "LISTEN_PID=" + quoted(pid_text) + " LISTEN_FDS=" + quoted(fds_text) +
              " LISTEN_FDNAMES=" + quoted(names_text) + " (our pid is " + std::to_string(self) +
              ")";
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  std::vector<listen_fd> result;
  if (ec || parsed->count == 0)
    return result;

  for (unsigned i = 0; i < parsed->count; ++i) {
    const int fd = listen_fds_start + static_cast<int>(i);
    check_listening_stream_socket(fd, ec);
    if (ec) {
      if (detail != nullptr) {
        *detail = "descriptor " + std::to_string(fd) + " (\"" + parsed->names[i] + "\", " +
                  std::to_string(i + 1) + " of LISTEN_FDS=" + std::to_string(parsed->count) + ")";
      }
      return {};
    }
  }
  for (unsigned i = 0; i < parsed->count; ++i) {
    const int fd = listen_fds_start + static_cast<int>(i);
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0 || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
      ec.assign(errno, std::system_category());
      if (detail != nullptr)
        *detail = "setting FD_CLOEXEC on descriptor " + std::to_string(fd);
      return {};
    }
    result.push_back(listen_fd{fd, std::move(parsed->names[i])});
  }
  return result;
}

}  // namespace

void check_listening_stream_socket(int fd, std::error_code& ec) noexcept {
  ec.clear();
  if (::fcntl(fd, F_GETFD) < 0) {
    ec = errc::listen_fd_not_open;
    return;
  }
  int type = 0;
  socklen_t length = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) < 0) {
    ec = errno == ENOTSOCK ? std::error_code(errc::listen_fd_not_socket)
                           : std::error_code(errno, std::system_category());
    return;
  }
  if (type != SOCK_STREAM) {
    ec = errc::listen_fd_not_stream;
    return;
  }
  int accepting = 0;
  length = sizeof accepting;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) < 0) {
    ec.assign(errno, std::system_category());
    return;
  }
  if (accepting == 0)
    ec = errc::listen_fd_not_listening;
}

std::vector<listen_fd> take_listen_fds(std::error_code& ec) {
  ec.clear();
  return take(ec, nullptr);
}

std::vector<listen_fd> take_listen_fds() {
  std::error_code ec;
  std::string detail;
  auto result = take(ec, &detail);
  if (ec)
    throw environment_error(ec, "socket activation: " + detail);
  return result;
}

}  // namespace lifetime::host::systemd
