// SPDX-License-Identifier: MIT
// Why a piece of work was cancelled.
//
// Every cancellation carries one reason, set by the call that cancelled and never changed after.
// Linked sources report the reason of the parent that fired. The five named reasons cover what
// the host and the demo server need; values from `cancellation_reason::user` upwards are free for
// applications (`lifetime::user_reason(n)`).
//
// Thread safety: plain values; to_string() is noexcept and returns static storage.
#pragma once

#include <cstdint>
#include <string_view>

namespace lifetime {

enum class cancellation_reason : std::uint16_t {
  none = 0,                  ///< not cancelled
  requested = 1,             ///< someone called cancel() without saying why
  application_stopping = 2,  ///< the application is shutting down
  client_disconnected = 3,   ///< the peer closed or reset its connection
  deadline_exceeded = 4,     ///< a deadline or timeout passed
  restart = 5,               ///< the component is restarting in-process
  user = 256,                ///< first value reserved for applications
};

/// A reason of the application's own: `user_reason(0)` is `cancellation_reason::user`.
constexpr cancellation_reason user_reason(std::uint16_t n) noexcept {
  return static_cast<cancellation_reason>(static_cast<std::uint16_t>(cancellation_reason::user) +
                                          n);
}

/// "requested", "application_stopping", ...; "user" for any application reason.
std::string_view to_string(cancellation_reason reason) noexcept;

}  // namespace lifetime
