// SPDX-License-Identifier: MIT
// notifier: tells the service manager about the process's state (the sd_notify protocol).
//
// systemd documents the protocol as stable and recommends reimplementing it; this one does not
// link libsystemd. Each notification is one datagram of newline-separated KEY=VALUE assignments,
// sent with sendmsg() on an AF_UNIX SOCK_DGRAM socket (SOCK_CLOEXEC) to the address in
// NOTIFY_SOCKET: an absolute path, or "@name" for an abstract socket (sent with the exact address
// length). File descriptors (FDSTORE=1) travel as SCM_RIGHTS; the kernel duplicates them, the
// caller keeps its own.
//
// A notifier built without NOTIFY_SOCKET is *disabled*: every call succeeds and sends nothing,
// so a program runs the same under systemd, in a terminal or in a container.
//
// There are two levels:
// - notify() / notify_with_fds() send a raw message and report errors: the ec overloads fill
//   the error_code, the others throw std::system_error.
// - ready(), reloading(), stopping(), status(), extend_timeout(), watchdog(), error_number() and
//   store_fd() never throw. The first failure of any of them (an unusable NOTIFY_SOCKET, nobody
//   listening, a full queue past the send timeout) is passed once to the warning handler, on the
//   thread whose call failed; later failures are silent. They keep trying on later calls, so a
//   manager that comes back is heard.
//
// @par Thread safety
// Distinct objects: safe. Shared object: notify(), notify_with_fds(), enabled() and the
// conveniences may be called concurrently from any thread (each is a single sendmsg() on a
// socket that is never re-created). set_warning_handler(), moves and destruction must not run
// concurrently with anything else on the same object.
//
// @par Blocking
// A send blocks only while the manager's receive queue is full, and at most about one second
// (SO_SNDTIMEO); then it fails with EAGAIN.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "lifetime/host/systemd/parse.hpp"

namespace lifetime::host::systemd {

class notifier {
 public:
  /// Receives the one warning about a failing notification, e.g. "sd_notify to
  /// /run/systemd/notify failed (READY=1): Connection refused; further notification failures are
  /// not logged". An exception it throws is swallowed.
  using warning_handler = std::function<void(std::string_view)>;

  /// A disabled notifier.
  notifier() noexcept;

  /// A notifier sending to `notify_socket` (the NOTIFY_SOCKET syntax; empty = disabled). Never
  /// throws for a bad address: the notifier is enabled but broken, notify() reports the parse
  /// error and the conveniences warn once. Throws std::bad_alloc only.
  explicit notifier(std::string_view notify_socket);

  /// Reads NOTIFY_SOCKET (leaving it set). Disabled when unset or empty.
  static notifier from_environment();

  notifier(notifier&& other) noexcept;
  notifier& operator=(notifier&& other) noexcept;
  notifier(const notifier&) = delete;
  notifier& operator=(const notifier&) = delete;
  ~notifier();

  /// True when NOTIFY_SOCKET was given (even if it turns out unusable).
  bool enabled() const noexcept { return enabled_; }

  /// The NOTIFY_SOCKET value this notifier sends to ("" when disabled).
  const std::string& socket_name() const noexcept { return socket_name_; }

  /// Sends `state` ("READY=1", "STATUS=...\nMAINPID=..."; a trailing newline is optional).
  /// @param ec cleared on success or when disabled; errc::invalid_notify_message for an empty
  ///           message or one with a NUL byte; the parse error of a bad address; the errno of
  ///           socket()/sendmsg() (ENOENT, ECONNREFUSED, EAGAIN, ...).
  void notify(std::string_view state, std::error_code& ec) noexcept;
  /// @throws std::system_error with the code the ec overload would give.
  void notify(std::string_view state);

  /// Sends `state` with `fds` attached as SCM_RIGHTS (at most 253, the kernel's SCM_MAX_FD).
  void notify_with_fds(std::string_view state, std::span<const int> fds,
                       std::error_code& ec) noexcept;
  /// @throws std::system_error with the code the ec overload would give.
  void notify_with_fds(std::string_view state, std::span<const int> fds);

  /// "READY=1": startup finished, or a reload finished.
  void ready() noexcept;
  /// "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC in µs>": a reload begins (Type=notify-reload
  /// requires the timestamp; older systemd ignores it).
  void reloading() noexcept;
  /// "STOPPING=1": shutdown begins.
  void stopping() noexcept;
  /// "STATUS=<text>" with line breaks turned into spaces, shown by `systemctl status`.
  void status(std::string_view text) noexcept;
  /// "EXTEND_TIMEOUT_USEC=<usec>": the current start/stop/reload may take `usec` more from now.
  void extend_timeout(std::chrono::microseconds usec) noexcept;
  /// "WATCHDOG=1": the process is alive.
  void watchdog() noexcept;
  /// "ERRNO=<errno_value>": why the service failed.
  void error_number(int errno_value) noexcept;
  /// "FDSTORE=1\nFDNAME=<name>" with `fd` attached: the manager keeps a duplicate of `fd` across
  /// restarts and passes it back through LISTEN_FDS/LISTEN_FDNAMES (needs
  /// FileDescriptorStoreMax= > 0 in the unit). An invalid name (see is_valid_fd_name) is reported
  /// to the warning handler and nothing is sent.
  void store_fd(int fd, std::string_view name) noexcept;
  /// As above, reporting errors (errc::invalid_fd_name, or what notify_with_fds gives).
  void store_fd(int fd, std::string_view name, std::error_code& ec) noexcept;

  /// From now on every call sends nothing and succeeds, as if disabled: a process whose service
  /// a new main process has taken over (a binary upgrade) must not tell the manager it is
  /// stopping. Any thread; cannot be undone.
  void silence() noexcept { silenced_.store(true, std::memory_order_release); }
  bool is_silenced() const noexcept { return silenced_.load(std::memory_order_acquire); }

  /// Replaces the warning handler (default: one line on stderr). Not thread-safe; set it before
  /// sharing the notifier.
  void set_warning_handler(warning_handler handler);

 private:
  void convenience(std::string_view state, std::span<const int> fds) noexcept;
  void warn(std::string_view text) noexcept;
  void open_socket(std::error_code& ec) noexcept;

  bool enabled_ = false;
  std::string socket_name_;
  std::optional<notify_address> address_;
  std::error_code address_error_;
  int fd_ = -1;
  std::atomic<bool> warned_{false};
  std::atomic<bool> silenced_{false};
  warning_handler warning_handler_;
};

}  // namespace lifetime::host::systemd
