// SPDX-License-Identifier: MIT
#include "exit_enforcer.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <lifetime/host/logging.hpp>

#include "signals.hpp"

namespace lifetime::host::detail {

void exit_enforcer::arm(clock::time_point deadline, int code,
                        std::function<std::string()> describe) {
  std::lock_guard lock(mutex_);
  if (armed_ || disarmed_)
    return;
  armed_ = true;
  thread_ = std::thread([this, deadline, code, describe = std::move(describe)] {
    block_host_signals();
    bool settled = false;
    int exit_with = code;
    {
      std::unique_lock lock(mutex_);
      if (changed_.wait_until(lock, deadline, [this] { return disarmed_; }))
        return;
      settled = settled_;
      if (settled)
        exit_with = settled_code_;
    }
    try {
      if (settled) {
        spdlog::warn("the stop is over but the teardown did not end in time: exiting with code {}",
                     exit_with);
      } else {
        spdlog::critical("shutdown did not finish within its budget: forcing exit with code {}",
                         exit_with);
        if (describe)
          spdlog::critical("{}", describe());
      }
    } catch (...) {
    }
    flush_logs();
    ::_exit(exit_with);
  });
}

void exit_enforcer::settle(int code) noexcept {
  std::lock_guard lock(mutex_);
  settled_ = true;
  settled_code_ = code;
}

void exit_enforcer::disarm() noexcept {
  {
    std::lock_guard lock(mutex_);
    disarmed_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

}  // namespace lifetime::host::detail
