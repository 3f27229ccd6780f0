// SPDX-License-Identifier: MIT
// Error codes for the systemd protocols (sd_notify, socket activation, watchdog).
//
// Every call in lifetime/host/systemd that can fail comes as two overloads, as in Boost.Asio: one
// throws std::system_error, one fills a std::error_code&. Errors that come from the environment the
// service manager set up (NOTIFY_SOCKET, LISTEN_*, WATCHDOG_*) use the codes below, in
// systemd::error_category(); failing system calls report the errno in std::system_category().
//
// is_configuration_error(ec) says whether an error means "the process was started wrongly" (the
// host exits with 78, EX_CONFIG, for those at startup). The throwing overloads of the calls that
// read LISTEN_* and WATCHDOG_* throw environment_error, a lifetime::host::config_error that also
// carries the error_code, so exit_code_of() maps it to 78.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>

#include "lifetime/host/exit_code.hpp"

namespace lifetime::host::systemd {

enum class errc {
  // NOTIFY_SOCKET
  invalid_notify_socket = 1,  ///< not an absolute path or an @abstract name
  notify_socket_too_long,     ///< does not fit into sockaddr_un::sun_path
  invalid_notify_message,     ///< empty, or contains a NUL byte
  invalid_fd_name,            ///< FDNAME: empty, too long, or has ':' or a control character
  // LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES
  invalid_listen_pid,       ///< LISTEN_PID is not a positive decimal number
  listen_pid_mismatch,      ///< LISTEN_PID names another process
  invalid_listen_fds,       ///< LISTEN_FDS is not a decimal number, or is too large
  listen_fds_without_pid,   ///< LISTEN_FDS is set but LISTEN_PID is not
  fd_names_mismatch,        ///< LISTEN_FDNAMES does not name exactly LISTEN_FDS descriptors
  listen_fd_not_open,       ///< a passed descriptor is not open
  listen_fd_not_socket,     ///< a passed descriptor is not a socket
  listen_fd_not_stream,     ///< a passed socket is not SOCK_STREAM
  listen_fd_not_listening,  ///< a passed stream socket is not listening
  // WATCHDOG_USEC / WATCHDOG_PID
  invalid_watchdog_usec,  ///< WATCHDOG_USEC is not a positive decimal number
  invalid_watchdog_pid,   ///< WATCHDOG_PID is not a positive decimal number
};

/// The category of errc; its name() is "lifetime.systemd".
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// True for every errc except invalid_notify_message and invalid_fd_name (those are programming
/// errors of the caller, not of the environment), and for EBADF/ENOTSOCK from the system.
bool is_configuration_error(const std::error_code& ec) noexcept;

/// A malformed or mismatched LISTEN_* / WATCHDOG_* environment. what() names the variables or
/// the descriptor at fault and ends with code().message().
class environment_error : public lifetime::host::config_error {
 public:
  environment_error(std::error_code ec, const std::string& what_arg)
      : config_error(what_arg + ": " + ec.message()), code_(ec) {}
  const std::error_code& code() const noexcept { return code_; }

 private:
  std::error_code code_;
};

}  // namespace lifetime::host::systemd

template <>
struct std::is_error_code_enum<lifetime::host::systemd::errc> : std::true_type {};
