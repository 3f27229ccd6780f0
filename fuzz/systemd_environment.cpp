// SPDX-License-Identifier: MIT
// Fuzzes the parsers of what systemd passes in the environment (host/systemd/parse.hpp):
// NOTIFY_SOCKET, LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES, WATCHDOG_USEC / WATCHDOG_PID, FDNAME=
// names and STATUS= texts.
//
// Input layout (FuzzedDataProvider): one selector byte, then the variables as length-prefixed
// strings, each possibly unset. Seeds in corpus/systemd_environment were written in this layout.
//
// Checks, besides the sanitizers, the documented contracts: a parsed NOTIFY_SOCKET address holds
// exactly the value's bytes with the documented length, never more than sockaddr_un; a parsed
// LISTEN_* environment has one valid name per descriptor and no more than max_listen_fds; an
// error always comes with an error code and no value; split_fd_names() joins back to its input.
#include <fuzzer/FuzzedDataProvider.h>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include <lifetime/host/systemd/parse.hpp>

namespace sd = lifetime::host::systemd;

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

std::optional<std::string> maybe_string(FuzzedDataProvider& in) {
  if (in.ConsumeBool())
    return std::nullopt;
  return in.ConsumeRandomLengthString(512);
}

std::optional<std::string_view> view(const std::optional<std::string>& s) {
  if (!s)
    return std::nullopt;
  return std::string_view(*s);
}

void notify_socket(const std::string& value) {
  std::error_code ec;
  const auto address = sd::parse_notify_socket(value, ec);
  if (!address) {
    check(static_cast<bool>(ec));
    return;
  }
  check(!ec);
  constexpr auto offset = offsetof(sockaddr_un, sun_path);
  check(address->address.sun_family == AF_UNIX);
  check(address->length <= sizeof(sockaddr_un));
  check(value.find('\0') == std::string::npos);
  if (value[0] == '@') {
    check(address->is_abstract());
    check(address->length == offset + value.size());
    check(std::memcmp(address->address.sun_path + 1, value.data() + 1, value.size() - 1) == 0);
  } else {
    check(value[0] == '/' && !address->is_abstract());
    check(address->length == offset + value.size() + 1);
    check(std::memcmp(address->address.sun_path, value.data(), value.size()) == 0);
    check(address->address.sun_path[value.size()] == '\0');
  }
}

void listen_environment(FuzzedDataProvider& in) {
  const auto pid = maybe_string(in);
  const auto fds = maybe_string(in);
  const auto names = maybe_string(in);
  const pid_t self = in.ConsumeBool() ? ::getpid() : in.ConsumeIntegral<pid_t>();
  std::error_code ec;
  const auto env = sd::parse_listen_environment(view(pid), view(fds), view(names), self, ec);
  if (!env) {
    check(static_cast<bool>(ec));
    return;
  }
  check(!ec);
  check(env->count <= sd::max_listen_fds);
  check(env->names.size() == env->count);
  if (env->count > 0) {
    check(pid && fds);
    check(sd::parse_unsigned(*pid) == static_cast<std::uint64_t>(self));
  }
  for (const auto& name : env->names)
    check(!name.empty());
}

void fd_names(const std::string& value) {
  const auto names = sd::split_fd_names(value);
  std::string joined;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      joined += ':';
    joined += names[i];
    check(names[i].find(':') == std::string::npos);
  }
  check(joined == value);
  if (sd::is_valid_fd_name(value)) {
    check(!value.empty() && value.size() <= 255 && value.find(':') == std::string::npos);
    for (const char c : value)
      check(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f);
  }
}

void watchdog(FuzzedDataProvider& in) {
  const auto usec = maybe_string(in);
  const auto pid = maybe_string(in);
  std::error_code ec;
  const auto interval = sd::parse_watchdog_environment(view(usec), view(pid), ::getpid(), ec);
  check(interval.count() >= 0);
  if (ec)
    check(interval.count() == 0);
}

void status(const std::string& value) {
  const auto line = sd::single_line(value);
  check(line.size() == value.size());
  for (const char c : line)
    check(c != '\n' && c != '\r' && c != '\0');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      notify_socket(in.ConsumeRemainingBytesAsString());
      break;
    case 1:
      listen_environment(in);
      break;
    case 2:
      fd_names(in.ConsumeRemainingBytesAsString());
      break;
    case 3:
      watchdog(in);
      break;
    case 4:
      status(in.ConsumeRemainingBytesAsString());
      break;
    default: {
      const auto text = in.ConsumeRemainingBytesAsString();
      if (const auto value = sd::parse_unsigned(text))
        check(!text.empty() && text.find_first_not_of("0123456789") == std::string::npos);
      break;
    }
  }
  return 0;
}
