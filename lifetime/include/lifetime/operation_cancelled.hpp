// SPDX-License-Identifier: MIT
// The exception thrown by `cancellation_token::throw_if_cancellation_requested()`.
//
// It derives from std::exception (not std::system_error) so that `catch (const std::exception&)`
// handlers see it, and it carries the reason so that a handler can map it to an outcome
// (client gone → 499, stopping → 503, deadline → 504).
//
// Thread safety: immutable after construction; every member is noexcept.
#pragma once

#include <exception>

#include <lifetime/cancellation_reason.hpp>

namespace lifetime {

class operation_cancelled : public std::exception {
 public:
  explicit operation_cancelled(cancellation_reason reason) noexcept : reason_(reason) {}

  /// Why the operation was cancelled.
  cancellation_reason reason() const noexcept { return reason_; }

  /// "operation cancelled: <reason>", from static storage.
  const char* what() const noexcept override;

 private:
  cancellation_reason reason_;
};

}  // namespace lifetime
