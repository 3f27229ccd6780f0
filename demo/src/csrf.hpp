// SPDX-License-Identifier: MIT
// Browser sessions and their antiforgery (CSRF) tokens.
//
// GET /csrf-token gives a browser a session (cookie `lifetime_session`, HttpOnly, SameSite=Strict)
// and a token bound to it. A state-changing request is accepted only if it carries that cookie
// and the `X-CSRF-TOKEN` header equal to the session's token; the comparison takes the same time
// whatever the header holds. Session ids and tokens are 128-bit random (random_id.hpp). Sessions
// also own background operations (operations.hpp).
//
// Thread safety: every member may be called from any thread (one mutex, held briefly).
// At most `max_sessions` are kept; the oldest is forgotten first.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lifetime::demo {

inline constexpr std::string_view session_cookie_name = "lifetime_session";
inline constexpr std::string_view csrf_header_name = "X-CSRF-TOKEN";

/// Compares in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string_view> find_cookie(std::string_view cookie_header,
                                            std::string_view name) noexcept;

class session_store {
 public:
  struct session {
    std::string id;
    std::string csrf_token;
  };

  explicit session_store(std::size_t max_sessions = 10000) : max_sessions_(max_sessions) {}

  /// The session named by `id` if it is known, else a new one. @throws std::system_error.
  session get_or_create(std::optional<std::string_view> id);

  /// True if the session `id` is known, and `token` is its antiforgery token.
  bool verify(std::string_view id, std::string_view token) const noexcept;

  /// True if the session is known.
  bool contains(std::string_view id) const;

 private:
  mutable std::mutex mutex_;
  std::size_t max_sessions_;
  std::unordered_map<std::string, std::string> tokens_;
  std::deque<std::string> order_;
};

}  // namespace lifetime::demo
