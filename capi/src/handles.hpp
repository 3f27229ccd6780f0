// SPDX-License-Identifier: MIT
// Internal: what the C ABI's opaque handles are, and the conversions between C and C++ values.
//
// Each handle is a heap object holding one C++ value (a source, a token, a registration, a
// lease); *_release deletes it. lifetime_app is the host's application_lifetime itself
// (borrowed, never allocated). Every function here is noexcept.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include <lifetime/lifetime.h>
#include <lifetime/application_lifetime.hpp>
#include <lifetime/cancellation.hpp>
#include <lifetime/shutdown_lease.hpp>

struct lifetime_source {
  lifetime::cancellation_source source;
};

struct lifetime_token {
  lifetime::cancellation_token token;
};

struct lifetime_lease {
  lifetime::shutdown_lease lease;
};

namespace lifetime::capi {

/// The C callback and its user pointer, as a cancellation_registration's callable.
struct c_callback {
  lifetime_callback_fn fn;
  void* user;
  void operator()(cancellation_reason reason) const noexcept {
    fn(user, static_cast<lifetime_reason>(reason));
  }
};

inline deadline_clock::time_point to_deadline(std::int64_t ns) noexcept {
  if (ns == LIFETIME_NO_DEADLINE)
    return no_deadline;
  return deadline_clock::time_point(
      std::chrono::duration_cast<deadline_clock::duration>(std::chrono::nanoseconds(ns)));
}

inline std::int64_t from_deadline(deadline_clock::time_point deadline) noexcept {
  if (deadline == no_deadline)
    return LIFETIME_NO_DEADLINE;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
}

inline cancellation_reason to_reason(lifetime_reason reason) noexcept {
  return static_cast<cancellation_reason>(reason);
}

inline const cancellation_token& token_of(const lifetime_token* token) noexcept {
  static const cancellation_token never;
  return token != nullptr ? token->token : never;
}

inline application_lifetime& app_of(lifetime_app* app) noexcept {
  return *reinterpret_cast<application_lifetime*>(app);
}
inline const application_lifetime& app_of(const lifetime_app* app) noexcept {
  return *reinterpret_cast<const application_lifetime*>(app);
}

}  // namespace lifetime::capi

/// Allocated from a small per-thread cache of freed blocks (registration_cache.cpp): register +
/// release is the C ABI's hot path, and malloc + free would cost about as much as the
/// registration itself.
struct lifetime_registration {
  lifetime::cancellation_registration<lifetime::capi::c_callback> registration;

  static void* operator new(std::size_t size);
  static void operator delete(void* block, std::size_t size) noexcept;
};
