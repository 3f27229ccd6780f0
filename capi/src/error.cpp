// SPDX-License-Identifier: MIT
// The C ABI's errors: status names, the per-thread last message, exceptions to statuses.
#include "error.hpp"

#include <new>
#include <stdexcept>
#include <system_error>

#include <lifetime/host/exit_code.hpp>

namespace lifetime::capi {
namespace {
thread_local std::string last_error;
}

lifetime_status fail(lifetime_status status, const std::string& message) noexcept {
  try {
    last_error = message;
  } catch (...) {
    last_error.clear();
  }
  return status;
}

lifetime_status fail_current() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return fail(LIFETIME_ERROR_NO_MEMORY, "out of memory");
  } catch (const lifetime::host::usage_error& e) {
    return fail(LIFETIME_ERROR_USAGE, e.what());
  } catch (const lifetime::host::config_error& e) {
    return fail(LIFETIME_ERROR_CONFIG, e.what());
  } catch (const std::system_error& e) {
    return fail(LIFETIME_ERROR_SYSTEM, e.what());
  } catch (const std::invalid_argument& e) {
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, e.what());
  } catch (const std::logic_error& e) {
    return fail(LIFETIME_ERROR_STATE, e.what());
  } catch (const std::exception& e) {
    return fail(LIFETIME_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(LIFETIME_ERROR_INTERNAL, "a non-standard exception");
  }
}

void clear_error() noexcept {
  last_error.clear();
}

}  // namespace lifetime::capi

extern "C" {

const char* lifetime_last_error(void) noexcept {
  return lifetime::capi::last_error.c_str();
}

const char* lifetime_status_name(lifetime_status status) noexcept {
  switch (status) {
    case LIFETIME_OK:
      return "ok";
    case LIFETIME_ERROR_INVALID_ARGUMENT:
      return "invalid_argument";
    case LIFETIME_ERROR_NO_MEMORY:
      return "no_memory";
    case LIFETIME_ERROR_STATE:
      return "state";
    case LIFETIME_ERROR_USAGE:
      return "usage";
    case LIFETIME_ERROR_CONFIG:
      return "config";
    case LIFETIME_ERROR_SYSTEM:
      return "system";
    case LIFETIME_ERROR_INTERNAL:
      return "internal";
    default:
      return "unknown";
  }
}

}  // extern "C"
