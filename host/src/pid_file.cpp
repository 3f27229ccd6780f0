// SPDX-License-Identifier: MIT
#include "pid_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace lifetime::host::detail {

void write_pid_file(const std::string& path, pid_t pid, std::error_code& ec) noexcept {
  ec.clear();
  try {
    const std::string temporary = path + "." + std::to_string(pid) + ".tmp";
    const std::string text = std::to_string(pid) + "\n";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      ec.assign(errno, std::system_category());
      return;
    }
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int write_errno = errno;
    if (::close(fd) != 0 || !written) {
      ec.assign(written ? errno : write_errno, std::system_category());
      ::unlink(temporary.c_str());
      return;
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
      ec.assign(errno, std::system_category());
      ::unlink(temporary.c_str());
    }
  } catch (...) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
}

void remove_pid_file_if_ours(const std::string& path, pid_t pid) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  char text[32] = {};
  const ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0)
    return;
  char* end = nullptr;
  const long named = std::strtol(text, &end, 10);
  if (end != text && (*end == '\n' || *end == '\0') && named == static_cast<long>(pid))
    ::unlink(path.c_str());
}

}  // namespace lifetime::host::detail
