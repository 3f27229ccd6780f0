// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/parse.hpp"

#include <cstddef>
#include <cstring>
#include <limits>

#include "lifetime/host/systemd/error.hpp"

namespace lifetime::host::systemd {

std::optional<std::uint64_t> parse_unsigned(std::string_view text) noexcept {
  if (text.empty())
    return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<notify_address> parse_notify_socket(std::string_view value,
                                                  std::error_code& ec) noexcept {
  ec.clear();
  notify_address result;
  result.address.sun_family = AF_UNIX;
  constexpr auto path_offset = offsetof(sockaddr_un, sun_path);
  constexpr auto capacity = sizeof(result.address.sun_path);
  if (value.size() < 2 || (value[0] != '/' && value[0] != '@') ||
      value.find('\0') != std::string_view::npos) {
    ec = errc::invalid_notify_socket;
    return std::nullopt;
  }
  if (value[0] == '@') {
    // Abstract: a leading NUL, then exactly the name's bytes; no terminator.
    if (value.size() > capacity) {
      ec = errc::notify_socket_too_long;
      return std::nullopt;
    }
    result.address.sun_path[0] = '\0';
    std::memcpy(result.address.sun_path + 1, value.data() + 1, value.size() - 1);
    result.length = static_cast<socklen_t>(path_offset + value.size());
    return result;
  }
  if (value.size() + 1 > capacity) {  // room for the terminating NUL
    ec = errc::notify_socket_too_long;
    return std::nullopt;
  }
  std::memcpy(result.address.sun_path, value.data(), value.size());
  result.address.sun_path[value.size()] = '\0';
  result.length = static_cast<socklen_t>(path_offset + value.size() + 1);
  return result;
}

bool is_valid_fd_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 255)
    return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == ':')
      return false;
  }
  return true;
}

std::vector<std::string> split_fd_names(std::string_view value) {
  std::vector<std::string> names;
  std::size_t begin = 0;
  while (true) {
    const auto colon = value.find(':', begin);
    names.emplace_back(value.substr(begin, colon - begin));
    if (colon == std::string_view::npos)
      break;
    begin = colon + 1;
  }
  return names;
}

std::optional<listen_environment> parse_listen_environment(
    std::optional<std::string_view> listen_pid, std::optional<std::string_view> listen_fds,
    std::optional<std::string_view> listen_fdnames, pid_t self, std::error_code& ec) {
  ec.clear();
  listen_environment result;
  if (!listen_pid && !listen_fds)
    return result;
  if (!listen_pid) {
    ec = errc::listen_fds_without_pid;
    return std::nullopt;
  }
  const auto pid = parse_unsigned(*listen_pid);
  if (!pid || *pid == 0 || *pid > static_cast<std::uint64_t>(std::numeric_limits<pid_t>::max())) {
    ec = errc::invalid_listen_pid;
    return std::nullopt;
  }
  if (static_cast<pid_t>(*pid) != self) {
    ec = errc::listen_pid_mismatch;
    return std::nullopt;
  }
  const auto count = listen_fds ? parse_unsigned(*listen_fds) : std::nullopt;
  if (!count || *count > max_listen_fds) {
    ec = errc::invalid_listen_fds;
    return std::nullopt;
  }
  result.count = static_cast<unsigned>(*count);
  if (result.count == 0)
    return result;
  if (listen_fdnames) {
    result.names = split_fd_names(*listen_fdnames);
    if (result.names.size() != result.count) {
      ec = errc::fd_names_mismatch;
      return std::nullopt;
    }
    for (auto& name : result.names) {
      if (name.empty())
        name = "unknown";
    }
  } else {
    result.names.assign(result.count, "unknown");
  }
  return result;
}

std::chrono::microseconds parse_watchdog_environment(std::optional<std::string_view> watchdog_usec,
                                                     std::optional<std::string_view> watchdog_pid,
                                                     pid_t self, std::error_code& ec) noexcept {
  ec.clear();
  if (!watchdog_usec)
    return std::chrono::microseconds{0};
  const auto usec = parse_unsigned(*watchdog_usec);
  if (!usec || *usec > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    ec = errc::invalid_watchdog_usec;
    return std::chrono::microseconds{0};
  }
  if (watchdog_pid) {
    const auto pid = parse_unsigned(*watchdog_pid);
    if (!pid || *pid == 0 || *pid > static_cast<std::uint64_t>(std::numeric_limits<pid_t>::max())) {
      ec = errc::invalid_watchdog_pid;
      return std::chrono::microseconds{0};
    }
    if (static_cast<pid_t>(*pid) != self)
      return std::chrono::microseconds{0};
  }
  return std::chrono::microseconds{static_cast<std::int64_t>(*usec)};
}

std::string single_line(std::string_view text) {
  std::string line(text);
  for (auto& c : line) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      c = ' ';
  }
  return line;
}

}  // namespace lifetime::host::systemd
