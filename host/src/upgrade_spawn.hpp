// SPDX-License-Identifier: MIT
// Internal: starting the new process of a binary upgrade (SIGUSR1), and its side of the handover.
//
// The parent (host_upgrade.cpp) calls spawn_upgrade() on the host's strand. It starts the file
// at the path this process was started from — resolved at startup, so a file renamed over it is
// what runs — with the same arguments and this process's environment, and hands over:
// - the listening sockets, at descriptors 3, 4, ... with LISTEN_FDS=<n>, LISTEN_FDNAMES=<names>
//   and LISTEN_PID=<the new process's pid>, the socket-activation protocol the new host already
//   reads (systemd/listen_fds.hpp);
// - one end of a readiness channel (a socket pair), at descriptor 3 + n, named by
//   LIFETIME_UPGRADE_READY_FD.
//   The new host writes one byte to it once every service has started (signal_upgrade_ready());
//   a process that exits or fails first closes it without writing.
// Nothing else is inherited: the new process closes every other descriptor above 2 before exec
// (Asio's sockets are not close-on-exec), and its signal mask is emptied. After fork() the new
// process makes only async-signal-safe calls; everything it needs is prepared before.
//
// Errors: spawn_upgrade() throws std::system_error when a descriptor, the channel or the fork
// fails; a failed exec is the new process's exit code 127 (126 when its descriptors could not be
// placed). The other calls never throw.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <lifetime/host/systemd/listen_fds.hpp>

namespace lifetime::host::detail {

/// The variable naming the readiness descriptor in the new process.
inline constexpr const char* upgrade_ready_fd_variable = "LIFETIME_UPGRADE_READY_FD";

/// What this process was started as.
struct process_image {
  std::string executable;         ///< realpath of /proc/self/exe; empty if unreadable
  std::vector<std::string> args;  ///< /proc/self/cmdline, argv[0] first
};

/// Reads the executable's path and the arguments of this process. Call at startup, before the
/// file can be replaced. Never throws but std::bad_alloc.
process_image current_process_image();

/// A new process started by spawn_upgrade(); the caller owns both descriptors (close-on-exec).
struct spawned_process {
  pid_t pid = -1;
  int ready_fd = -1;  ///< this process's end of the readiness channel
  int pidfd = -1;     ///< readable once the process has exited; -1 if pidfd_open is unavailable
};

/// Starts `image` with `sockets` handed over (see the header comment). The caller's descriptors
/// are left open and unchanged.
/// @throws std::system_error
spawned_process spawn_upgrade(const process_image& image,
                              const std::vector<systemd::listen_fd>& sockets);

/// The new process's side: takes the descriptor LIFETIME_UPGRADE_READY_FD names (close-on-exec
/// from here on) and unsets the variable. -1 when this process was not started by an upgrade or
/// the variable names no open descriptor.
int take_upgrade_ready_fd() noexcept;

/// Sends the readiness byte on `fd` (never SIGPIPE) and closes it; `fd` becomes -1. Nothing if
/// `fd` < 0.
void signal_upgrade_ready(int& fd) noexcept;

}  // namespace lifetime::host::detail
