// SPDX-License-Identifier: MIT
// Pure parsers for the values systemd passes in the environment.
//
// These functions read only their arguments (no environment, no system calls), never throw and
// never allocate except for the strings they return, so they can be unit-tested and fuzzed on any
// input. The OS-facing calls in notifier.hpp, listen_fds.hpp and watchdog.hpp are built on them.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace lifetime::host::systemd {

/// A strict unsigned decimal: one or more ASCII digits, no sign, no blanks, no overflow.
std::optional<std::uint64_t> parse_unsigned(std::string_view text) noexcept;

/// The datagram address NOTIFY_SOCKET names.
struct notify_address {
  sockaddr_un address{};  ///< sun_family == AF_UNIX
  socklen_t length = 0;   ///< the exact length to pass to sendmsg()/bind()
  bool is_abstract() const noexcept { return length > 0 && address.sun_path[0] == '\0'; }
};

/// Parses NOTIFY_SOCKET: "/absolute/path" or "@abstract-name".
/// - A path gets length offsetof(sun_path) + strlen(path) + 1 (the terminating NUL included).
/// - "@name" becomes a leading NUL followed by name, with length offsetof(sun_path) + 1 +
///   name.size(): exactly the bytes of the name, never sizeof(sockaddr_un), since trailing NULs
///   would be part of an abstract name.
/// Errors: errc::invalid_notify_socket (empty, relative, "@" alone, contains NUL),
/// errc::notify_socket_too_long.
std::optional<notify_address> parse_notify_socket(std::string_view value,
                                                  std::error_code& ec) noexcept;

/// True if `name` is a valid FDNAME / LISTEN_FDNAMES entry: 1 to 255 characters, printable
/// ASCII, no ':'.
bool is_valid_fd_name(std::string_view name) noexcept;

/// What the LISTEN_* variables say, before any descriptor is looked at.
struct listen_environment {
  unsigned count = 0;              ///< descriptors 3 .. 3 + count - 1
  std::vector<std::string> names;  ///< one per descriptor
};

/// The highest LISTEN_FDS accepted; a larger value is errc::invalid_listen_fds.
inline constexpr unsigned max_listen_fds = 1024;

/// Interprets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES (nullopt = variable unset) for the
/// process `self`.
/// - Neither LISTEN_PID nor LISTEN_FDS set: not activated, count 0, no error.
/// - LISTEN_PID must be a positive decimal equal to `self` (errc::invalid_listen_pid,
///   errc::listen_pid_mismatch); LISTEN_FDS must be a decimal <= max_listen_fds
///   (errc::invalid_listen_fds), and set whenever LISTEN_PID is (LISTEN_FDS alone is
///   errc::listen_fds_without_pid; LISTEN_PID alone is errc::invalid_listen_fds).
/// - LISTEN_FDNAMES unset: every name is "unknown". Set: colon-separated, exactly `count` entries
///   (errc::fd_names_mismatch otherwise); an empty entry becomes "unknown". With count 0 the
///   names are ignored.
std::optional<listen_environment> parse_listen_environment(
    std::optional<std::string_view> listen_pid, std::optional<std::string_view> listen_fds,
    std::optional<std::string_view> listen_fdnames, pid_t self, std::error_code& ec);

/// Splits LISTEN_FDNAMES at ':' keeping empty entries ("a::b" is three entries, "" is one).
std::vector<std::string> split_fd_names(std::string_view value);

/// Interprets WATCHDOG_USEC and WATCHDOG_PID (nullopt = unset) for the process `self`. Returns the
/// interval, or 0 when the watchdog is off: WATCHDOG_USEC unset or 0, or WATCHDOG_PID set to
/// another process. Errors: errc::invalid_watchdog_usec, errc::invalid_watchdog_pid.
std::chrono::microseconds parse_watchdog_environment(std::optional<std::string_view> watchdog_usec,
                                                     std::optional<std::string_view> watchdog_pid,
                                                     pid_t self, std::error_code& ec) noexcept;

/// The one-line form of a STATUS= text: '\n' and '\r' (and other control characters) become
/// spaces, since a newline would start a new KEY=VALUE assignment.
std::string single_line(std::string_view text);

}  // namespace lifetime::host::systemd
