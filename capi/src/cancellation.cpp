// SPDX-License-Identifier: MIT
// The C ABI's cancellation: sources, linked sources, tokens, registrations, reasons and time.
#include <time.h>

#include <string>
#include <vector>

#include <lifetime/cancellation_reason.hpp>

#include "error.hpp"
#include "handles.hpp"

using lifetime::capi::fail;
using lifetime::capi::guarded;
using lifetime::capi::token_of;

extern "C" {

const char* lifetime_reason_name(lifetime_reason reason) noexcept {
  // to_string() returns views of string literals, so data() is NUL-terminated.
  return lifetime::to_string(lifetime::capi::to_reason(reason)).data();
}

int64_t lifetime_now_ns(void) noexcept {
  return lifetime::capi::from_deadline(lifetime::deadline_clock::now());
}

lifetime_status lifetime_source_create(int64_t deadline_ns, lifetime_source** out) noexcept {
  if (out == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_source_create: out is NULL");
  return guarded([&] {
    *out = new lifetime_source{
        lifetime::cancellation_source(lifetime::capi::to_deadline(deadline_ns))};
    return LIFETIME_OK;
  });
}

lifetime_status lifetime_source_create_linked(const lifetime_token* const* parents, size_t count,
                                              int64_t deadline_ns, lifetime_source** out) noexcept {
  if (out == nullptr || (parents == nullptr && count != 0))
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT,
                "lifetime_source_create_linked: out is NULL, or parents is NULL with a count");
  return guarded([&] {
    std::vector<lifetime::cancellation_token> tokens;
    tokens.reserve(count);
    for (size_t i = 0; i < count; ++i)
      tokens.push_back(token_of(parents[i]));
    *out = new lifetime_source{
        lifetime::cancellation_source::linked(tokens, lifetime::capi::to_deadline(deadline_ns))};
    return LIFETIME_OK;
  });
}

void lifetime_source_release(lifetime_source* source) noexcept {
  delete source;
}

int lifetime_source_cancel(lifetime_source* source, lifetime_reason reason) noexcept {
  return source != nullptr && source->source.cancel(lifetime::capi::to_reason(reason)) ? 1 : 0;
}

lifetime_status lifetime_source_token(const lifetime_source* source,
                                      lifetime_token** out) noexcept {
  if (source == nullptr || out == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_source_token: NULL argument");
  return guarded([&] {
    *out = new lifetime_token{source->source.token()};
    return LIFETIME_OK;
  });
}

int lifetime_source_is_cancelled(const lifetime_source* source) noexcept {
  return source != nullptr && source->source.is_cancellation_requested() ? 1 : 0;
}

lifetime_reason lifetime_source_reason(const lifetime_source* source) noexcept {
  return source != nullptr ? static_cast<lifetime_reason>(source->source.reason())
                           : LIFETIME_REASON_NONE;
}

int64_t lifetime_source_deadline(const lifetime_source* source) noexcept {
  return source != nullptr ? lifetime::capi::from_deadline(source->source.deadline())
                           : LIFETIME_NO_DEADLINE;
}

lifetime_status lifetime_token_clone(const lifetime_token* token, lifetime_token** out) noexcept {
  if (out == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_token_clone: out is NULL");
  return guarded([&] {
    *out = new lifetime_token{token_of(token)};
    return LIFETIME_OK;
  });
}

void lifetime_token_release(lifetime_token* token) noexcept {
  delete token;
}

int lifetime_token_is_cancelled(const lifetime_token* token) noexcept {
  return token != nullptr && token->token.is_cancellation_requested() ? 1 : 0;
}

int lifetime_token_can_be_cancelled(const lifetime_token* token) noexcept {
  return token_of(token).can_be_cancelled() ? 1 : 0;
}

lifetime_reason lifetime_token_reason(const lifetime_token* token) noexcept {
  return static_cast<lifetime_reason>(token_of(token).reason());
}

int64_t lifetime_token_deadline(const lifetime_token* token) noexcept {
  return lifetime::capi::from_deadline(token_of(token).deadline());
}

lifetime_status lifetime_token_register(const lifetime_token* token, lifetime_callback_fn callback,
                                        void* user, lifetime_registration** out) noexcept {
  if (callback == nullptr || out == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT,
                "lifetime_token_register: callback or out is NULL");
  return guarded([&] {
    *out = new lifetime_registration{{token_of(token), lifetime::capi::c_callback{callback, user}}};
    return LIFETIME_OK;
  });
}

void lifetime_registration_unregister(lifetime_registration* registration) noexcept {
  if (registration != nullptr)
    registration->registration.unregister();
}

void lifetime_registration_release(lifetime_registration* registration) noexcept {
  delete registration;
}

int lifetime_registration_is_registered(const lifetime_registration* registration) noexcept {
  return registration != nullptr && registration->registration.is_registered() ? 1 : 0;
}

}  // extern "C"
