// SPDX-License-Identifier: MIT
// eventually(): calls a predicate on the calling thread until it returns true or the timeout
// passes, polling every few milliseconds (a polling interval, not synchronisation). Returns
// whether the predicate held; the predicate's exceptions propagate.
#pragma once

#include <chrono>

#include <poll.h>

namespace lifetime::test {

/// Calls `predicate` until it returns true (true) or `timeout` passes (false, after one last call).
template <class Predicate>
bool eventually(Predicate&& predicate,
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate())
      return true;
    ::poll(nullptr, 0, 5);
  }
  return static_cast<bool>(predicate());
}

}  // namespace lifetime::test
