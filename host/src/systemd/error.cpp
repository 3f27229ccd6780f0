// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/error.hpp"

#include <cerrno>

namespace lifetime::host::systemd {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "lifetime.systemd"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_notify_socket:
        return "NOTIFY_SOCKET is neither an absolute path nor an @abstract name";
      case errc::notify_socket_too_long:
        return "NOTIFY_SOCKET is too long for a unix socket address";
      case errc::invalid_notify_message:
        return "notification message is empty or contains a NUL byte";
      case errc::invalid_fd_name:
        return "file descriptor name is empty, longer than 255 characters, or contains ':' or a "
               "control character";
      case errc::invalid_listen_pid:
        return "LISTEN_PID is not a process id";
      case errc::listen_pid_mismatch:
        return "LISTEN_PID names another process";
      case errc::invalid_listen_fds:
        return "LISTEN_FDS is missing or not a valid descriptor count";
      case errc::listen_fds_without_pid:
        return "LISTEN_FDS is set without LISTEN_PID";
      case errc::fd_names_mismatch:
        return "LISTEN_FDNAMES does not name exactly LISTEN_FDS descriptors";
      case errc::listen_fd_not_open:
        return "a passed file descriptor is not open";
      case errc::listen_fd_not_socket:
        return "a passed file descriptor is not a socket";
      case errc::listen_fd_not_stream:
        return "a passed socket is not a stream socket";
      case errc::listen_fd_not_listening:
        return "a passed stream socket is not listening";
      case errc::invalid_watchdog_usec:
        return "WATCHDOG_USEC is not a number of microseconds";
      case errc::invalid_watchdog_pid:
        return "WATCHDOG_PID is not a process id";
    }
    return "unknown lifetime.systemd error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

bool is_configuration_error(const std::error_code& ec) noexcept {
  if (ec.category() == error_category()) {
    const auto e = static_cast<errc>(ec.value());
    return e != errc::invalid_notify_message && e != errc::invalid_fd_name;
  }
  if (ec.category() == std::system_category())
    return ec.value() == EBADF || ec.value() == ENOTSOCK;
  return false;
}

}  // namespace lifetime::host::systemd
