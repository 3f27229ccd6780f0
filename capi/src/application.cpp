// SPDX-License-Identifier: MIT
// The C ABI's application lifetime: its tokens, the stop, stopping callbacks and leases.
#include <chrono>
#include <string>

#include "error.hpp"
#include "handles.hpp"

using lifetime::capi::app_of;
using lifetime::capi::fail;
using lifetime::capi::guarded;

namespace {

lifetime_status new_token(lifetime_app* app, lifetime_token** out,
                          lifetime::cancellation_token (lifetime::application_lifetime::*which)()
                              const noexcept) {
  if (app == nullptr || out == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_app_*: app or out is NULL");
  return guarded([&] {
    *out = new lifetime_token{(app_of(app).*which)()};
    return LIFETIME_OK;
  });
}

std::chrono::steady_clock::duration to_max(int64_t max_ms) noexcept {
  if (max_ms < 0)
    return std::chrono::steady_clock::duration::max();
  return std::chrono::milliseconds(max_ms);
}

}  // namespace

extern "C" {

lifetime_status lifetime_app_started(lifetime_app* app, lifetime_token** out) noexcept {
  return new_token(app, out, &lifetime::application_lifetime::started);
}

lifetime_status lifetime_app_stopping(lifetime_app* app, lifetime_token** out) noexcept {
  return new_token(app, out, &lifetime::application_lifetime::stopping);
}

lifetime_status lifetime_app_stopped(lifetime_app* app, lifetime_token** out) noexcept {
  return new_token(app, out, &lifetime::application_lifetime::stopped);
}

int lifetime_app_state(const lifetime_app* app) noexcept {
  return app != nullptr ? static_cast<int>(app_of(app).state()) : LIFETIME_STATE_STARTING;
}

int lifetime_app_stop(lifetime_app* app, lifetime_reason reason) noexcept {
  return app != nullptr && app_of(app).stop_application(lifetime::capi::to_reason(reason)) ? 1 : 0;
}

lifetime_reason lifetime_app_stop_reason(const lifetime_app* app) noexcept {
  return app != nullptr ? static_cast<lifetime_reason>(app_of(app).stop_reason())
                        : LIFETIME_REASON_NONE;
}

lifetime_status lifetime_app_on_stopping(lifetime_app* app, const char* name,
                                         lifetime_stopping_fn callback, void* user,
                                         int64_t max_ms) noexcept {
  if (app == nullptr || name == nullptr || callback == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_app_on_stopping: NULL argument");
  return guarded([&] {
    app_of(app).on_stopping(
        name,
        [callback, user](lifetime::cancellation_token token) {
          const lifetime_token borrowed{std::move(token)};
          callback(user, &borrowed);
        },
        to_max(max_ms));
    return LIFETIME_OK;
  });
}

lifetime_status lifetime_app_delay_shutdown(lifetime_app* app, const char* name, int64_t max_ms,
                                            lifetime_lease** out) noexcept {
  if (app == nullptr || name == nullptr || out == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_app_delay_shutdown: NULL argument");
  return guarded([&] {
    *out = new lifetime_lease{app_of(app).delay_shutdown(name, to_max(max_ms))};
    return LIFETIME_OK;
  });
}

void lifetime_lease_release(lifetime_lease* lease) noexcept {
  delete lease;
}

int lifetime_lease_is_holding(const lifetime_lease* lease) noexcept {
  return lease != nullptr && lease->lease.is_holding() ? 1 : 0;
}

}  // extern "C"
