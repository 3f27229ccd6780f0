// SPDX-License-Identifier: MIT
// Internal: the inline or eventfd-queued dispatcher of a C host's user code.
#include "dispatch.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <exception>
#include <system_error>

#include <lifetime/callback_exception_handler.hpp>

namespace lifetime::capi {

dispatcher::dispatcher(bool queued) {
  if (!queued)
    return;
  fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "eventfd");
}

dispatcher::~dispatcher() {
  if (fd_ >= 0)
    ::close(fd_);
}

void dispatcher::push(std::function<void()> work) {
  if (fd_ < 0) {
    work();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(work));
  }
  const std::uint64_t one = 1;
  // Only EAGAIN (the counter is full, so the fd is readable anyway) can fail here.
  [[maybe_unused]] const auto written = ::write(fd_, &one, sizeof one);
}

int dispatcher::run_pending() {
  if (fd_ < 0)
    return 0;
  std::uint64_t count = 0;
  [[maybe_unused]] const auto read = ::read(fd_, &count, sizeof count);
  std::deque<std::function<void()>> ready;
  {
    std::lock_guard lock(mutex_);
    ready.swap(queue_);
  }
  int ran = 0;
  for (auto& work : ready) {
    try {
      work();
    } catch (...) {
      // A C++ hook that threw through its C signature: report it, run the rest.
      lifetime::detail::report_callback_exception(std::current_exception());
    }
    ++ran;
  }
  return ran;
}

}  // namespace lifetime::capi
