// SPDX-License-Identifier: MIT
// Internal: how the C ABI turns C++ exceptions into a status and a message.
//
// guarded(f) runs f and returns its status; any exception is caught, mapped to a status
// (bad_alloc → no_memory, usage_error → usage, config_error → config, system_error → system,
// invalid_argument → invalid_argument, logic_error → state, anything else → internal) and its
// what() kept as this thread's last error. Nothing escapes: this is the boundary.
#pragma once

#include <exception>
#include <string>

#include <lifetime/lifetime.h>

namespace lifetime::capi {

/// Records `message` as this thread's last error and returns `status`.
lifetime_status fail(lifetime_status status, const std::string& message) noexcept;

/// Maps the exception in flight (call inside a catch block) to a status and records it.
lifetime_status fail_current() noexcept;

/// Clears this thread's last error.
void clear_error() noexcept;

template <class F>
lifetime_status guarded(F&& f) noexcept {
  try {
    return f();
  } catch (...) {
    return fail_current();
  }
}

}  // namespace lifetime::capi
