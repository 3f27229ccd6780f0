// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/notifier.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "lifetime/host/systemd/error.hpp"

namespace lifetime::host::systemd {
namespace {

constexpr std::size_t max_fds = 253;  // SCM_MAX_FD

void default_warning(std::string_view text) {
  std::fprintf(stderr, "lifetime: %.*s\n", static_cast<int>(text.size()), text.data());
}

std::uint64_t monotonic_usec() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

notifier::notifier() noexcept = default;

notifier::notifier(std::string_view notify_socket)
    : enabled_(!notify_socket.empty()), socket_name_(notify_socket) {
  if (!enabled_)
    return;
  address_ = parse_notify_socket(notify_socket, address_error_);
}

notifier notifier::from_environment() {
  const char* value = std::getenv("NOTIFY_SOCKET");
  return notifier(value != nullptr ? std::string_view(value) : std::string_view());
}

notifier::notifier(notifier&& other) noexcept
    : enabled_(std::exchange(other.enabled_, false)),
      socket_name_(std::move(other.socket_name_)),
      address_(std::exchange(other.address_, std::nullopt)),
      address_error_(std::exchange(other.address_error_, {})),
      fd_(std::exchange(other.fd_, -1)),
      warned_(other.warned_.load(std::memory_order_relaxed)),
      silenced_(other.silenced_.load(std::memory_order_relaxed)),
      warning_handler_(std::move(other.warning_handler_)) {
  other.socket_name_.clear();
}

notifier& notifier::operator=(notifier&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0)
      ::close(fd_);
    enabled_ = std::exchange(other.enabled_, false);
    socket_name_ = std::move(other.socket_name_);
    other.socket_name_.clear();
    address_ = std::exchange(other.address_, std::nullopt);
    address_error_ = std::exchange(other.address_error_, {});
    fd_ = std::exchange(other.fd_, -1);
    warned_.store(other.warned_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    silenced_.store(other.silenced_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    warning_handler_ = std::move(other.warning_handler_);
  }
  return *this;
}

notifier::~notifier() {
  if (fd_ >= 0)
    ::close(fd_);
}

void notifier::open_socket(std::error_code& ec) noexcept {
  // Opened on first use. Two threads racing on the first send may both create a socket; the
  // compare-exchange keeps one and the loser closes its own.
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ec.assign(errno, std::system_category());
    return;
  }
  timeval timeout{};
  timeout.tv_sec = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::atomic_ref<int> slot(fd_);
  int expected = -1;
  if (!slot.compare_exchange_strong(expected, fd, std::memory_order_acq_rel))
    ::close(fd);
}

void notifier::notify(std::string_view state, std::error_code& ec) noexcept {
  notify_with_fds(state, {}, ec);
}

void notifier::notify(std::string_view state) {
  std::error_code ec;
  notify(state, ec);
  if (ec)
    throw std::system_error(ec, "sd_notify to " + socket_name_);
}

void notifier::notify_with_fds(std::string_view state, std::span<const int> fds,
                               std::error_code& ec) noexcept {
  ec.clear();
  if (!enabled_ || is_silenced())
    return;
  if (state.empty() || state.find('\0') != std::string_view::npos) {
    ec = errc::invalid_notify_message;
    return;
  }
  if (!address_) {
    ec = address_error_;
    return;
  }
  if (fds.size() > max_fds) {
    ec.assign(EINVAL, std::system_category());
    return;
  }
  if (std::atomic_ref<int>(fd_).load(std::memory_order_acquire) < 0) {
    open_socket(ec);
    if (ec)
      return;
  }
  const int fd = std::atomic_ref<int>(fd_).load(std::memory_order_acquire);

  iovec iov{};
  iov.iov_base = const_cast<char*>(state.data());
  iov.iov_len = state.size();
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_un*>(&address_->address);
  msg.msg_namelen = address_->length;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // Control buffer sized for max_fds, aligned for cmsghdr.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * max_fds)];
  if (!fds.empty()) {
    const auto bytes = sizeof(int) * fds.size();
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(bytes);
    std::memset(control, 0, msg.msg_controllen);
    cmsghdr* header = CMSG_FIRSTHDR(&msg);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(bytes);
    std::memcpy(CMSG_DATA(header), fds.data(), bytes);
  }
  ssize_t sent;
  do {
    sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0)
    ec.assign(errno, std::system_category());
}

void notifier::notify_with_fds(std::string_view state, std::span<const int> fds) {
  std::error_code ec;
  notify_with_fds(state, fds, ec);
  if (ec)
    throw std::system_error(ec, "sd_notify to " + socket_name_);
}

void notifier::warn(std::string_view text) noexcept {
  try {
    if (warning_handler_) {
      warning_handler_(text);
    } else {
      default_warning(text);
    }
  } catch (...) {
    // A throwing handler must not turn a notification into a failure of the caller.
  }
}

void notifier::convenience(std::string_view state, std::span<const int> fds) noexcept {
  if (!enabled_)
    return;
  std::error_code ec;
  notify_with_fds(state, fds, ec);
  if (!ec)
    return;
  if (warned_.exchange(true, std::memory_order_acq_rel))
    return;
  try {
    const auto key = state.substr(0, state.find('\n'));
    warn("sd_notify to " + socket_name_ + " failed (" + std::string(key) + "): " + ec.message() +
         "; further notification failures are not logged");
  } catch (...) {
    // Out of memory while formatting the warning: stay silent.
  }
}

void notifier::ready() noexcept {
  convenience("READY=1", {});
}

void notifier::reloading() noexcept {
  try {
    convenience("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()), {});
  } catch (...) {
  }
}

void notifier::stopping() noexcept {
  convenience("STOPPING=1", {});
}

void notifier::status(std::string_view text) noexcept {
  if (!enabled_)
    return;
  try {
    convenience("STATUS=" + single_line(text), {});
  } catch (...) {
  }
}

void notifier::extend_timeout(std::chrono::microseconds usec) noexcept {
  try {
    const auto value = usec.count() > 0 ? usec.count() : 0;
    convenience("EXTEND_TIMEOUT_USEC=" + std::to_string(value), {});
  } catch (...) {
  }
}

void notifier::watchdog() noexcept {
  convenience("WATCHDOG=1", {});
}

void notifier::error_number(int errno_value) noexcept {
  try {
    convenience("ERRNO=" + std::to_string(errno_value), {});
  } catch (...) {
  }
}

void notifier::store_fd(int fd, std::string_view name, std::error_code& ec) noexcept {
  ec.clear();
  if (!is_valid_fd_name(name)) {
    ec = errc::invalid_fd_name;
    return;
  }
  try {
    const int fds[] = {fd};
    notify_with_fds("FDSTORE=1\nFDNAME=" + std::string(name), fds, ec);
  } catch (...) {
    ec = std::make_error_code(std::errc::not_enough_memory);
  }
}

void notifier::store_fd(int fd, std::string_view name) noexcept {
  if (!enabled_)
    return;
  if (!is_valid_fd_name(name)) {
    try {
      warn("not storing descriptor " + std::to_string(fd) + " under the name \"" +
           single_line(name) + "\": " + make_error_code(errc::invalid_fd_name).message());
    } catch (...) {
    }
    return;
  }
  try {
    const int fds[] = {fd};
    convenience("FDSTORE=1\nFDNAME=" + std::string(name), fds);
  } catch (...) {
  }
}

void notifier::set_warning_handler(warning_handler handler) {
  warning_handler_ = std::move(handler);
}

}  // namespace lifetime::host::systemd
