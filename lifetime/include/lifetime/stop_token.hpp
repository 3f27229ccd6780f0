// SPDX-License-Identifier: MIT
// Interop with std::stop_token, both ways.
//
// `std_stop_from_cancellation` owns a std::stop_source that is requested when a lifetime token is
// cancelled: hand its get_token() to std::jthread or any API that takes a std::stop_token.
// `cancellation_from_std_stop` owns a cancellation_source that is cancelled (with a reason of
// your choice) when a std::stop_token is stop-requested.
//
// @par Thread safety
// Construction and destruction have the guarantees of the registrations they own (the
// destructor waits for a callback of its own running on another thread). Accessors may be called
// concurrently. Neither type is copyable or movable: each owns a registration.
#pragma once

#include <stop_token>

#include <lifetime/cancellation.hpp>

namespace lifetime {

/// A std::stop_token that follows a lifetime token.
class std_stop_from_cancellation {
 public:
  explicit std_stop_from_cancellation(const cancellation_token& token)
      : registration_(token, request_stop{&source_}) {}

  std::stop_token get_token() const noexcept { return source_.get_token(); }

 private:
  struct request_stop {
    std::stop_source* source;
    void operator()() const noexcept { source->request_stop(); }
  };
  std::stop_source source_;
  cancellation_registration<request_stop> registration_;
};

/// A lifetime token that follows a std::stop_token.
class cancellation_from_std_stop {
 public:
  explicit cancellation_from_std_stop(const std::stop_token& token,
                                      cancellation_reason reason = cancellation_reason::requested)
      : callback_(token, cancel{&source_, reason}) {}

  cancellation_token token() const noexcept { return source_.token(); }

 private:
  struct cancel {
    cancellation_source* source;
    cancellation_reason reason;
    void operator()() const noexcept { source->cancel(reason); }
  };
  cancellation_source source_;
  std::stop_callback<cancel> callback_;
};

}  // namespace lifetime
