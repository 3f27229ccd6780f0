// SPDX-License-Identifier: MIT
// Socket activation: takes the listening sockets the service manager passed (LISTEN_FDS).
//
// systemd (or systemd-socket-activate, or anything speaking the protocol) starts the process with
// descriptors 3, 4, ... open, and LISTEN_PID=<our pid>, LISTEN_FDS=<count>,
// LISTEN_FDNAMES=<name>:<name>... in the environment. The same path brings back the sockets a
// previous run left in the fd store (notifier::store_fd), under the names it gave them.
//
// take_listen_fds() validates all of it, so a mistake is a clear startup error and not a server
// that silently listens nowhere: LISTEN_PID must be ours, every descriptor must be an open,
// listening SOCK_STREAM socket. It sets FD_CLOEXEC on each descriptor and unsets the three
// variables, so a second call (or a child process) sees nothing.
//
// @par Thread safety
// Reads and changes the environment (getenv/unsetenv): call it at startup, before other threads
// read the environment. The host calls it once, at construction.
#pragma once

#include <string>
#include <system_error>
#include <vector>

#include "lifetime/host/systemd/error.hpp"

namespace lifetime::host::systemd {

/// The first descriptor the protocol passes (SD_LISTEN_FDS_START).
inline constexpr int listen_fds_start = 3;

/// One passed listening socket. The caller owns `fd` (take it into an acceptor or close it).
struct listen_fd {
  int fd = -1;
  std::string name;  ///< from LISTEN_FDNAMES / FileDescriptorName= / FDNAME=; "unknown" if none
  friend bool operator==(const listen_fd&, const listen_fd&) = default;
};

/// Takes the passed sockets, in descriptor order. Empty when the process was not activated
/// (neither LISTEN_PID nor LISTEN_FDS set).
/// @param ec on failure one of the LISTEN_* codes of systemd::errc (see parse_listen_environment
///           and errc::listen_fd_*), and the result is empty; every such error is a configuration
///           error (is_configuration_error), for which the host exits with 78. The variables are
///           unset whatever the outcome; descriptors are left as they were on failure.
std::vector<listen_fd> take_listen_fds(std::error_code& ec);
/// @throws environment_error (a config_error: exit 78) with the code the ec overload would give,
///         its message naming the variables or the descriptor at fault; std::bad_alloc.
std::vector<listen_fd> take_listen_fds();

/// Checks that `fd` is an open, listening SOCK_STREAM socket.
/// @param ec cleared, or errc::listen_fd_not_open / _not_socket / _not_stream / _not_listening.
void check_listening_stream_socket(int fd, std::error_code& ec) noexcept;

}  // namespace lifetime::host::systemd
