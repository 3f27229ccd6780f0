// SPDX-License-Identifier: MIT
#include <lifetime/cancellation_reason.hpp>
#include <lifetime/operation_cancelled.hpp>

namespace lifetime {

std::string_view to_string(cancellation_reason reason) noexcept {
  switch (reason) {
    case cancellation_reason::none:
      return "none";
    case cancellation_reason::requested:
      return "requested";
    case cancellation_reason::application_stopping:
      return "application_stopping";
    case cancellation_reason::client_disconnected:
      return "client_disconnected";
    case cancellation_reason::deadline_exceeded:
      return "deadline_exceeded";
    case cancellation_reason::restart:
      return "restart";
    default:
      return static_cast<std::uint16_t>(reason) >=
                     static_cast<std::uint16_t>(cancellation_reason::user)
                 ? "user"
                 : "unknown";
  }
}

const char* operation_cancelled::what() const noexcept {
  switch (reason_) {
    case cancellation_reason::none:
      return "operation cancelled";
    case cancellation_reason::requested:
      return "operation cancelled: requested";
    case cancellation_reason::application_stopping:
      return "operation cancelled: application_stopping";
    case cancellation_reason::client_disconnected:
      return "operation cancelled: client_disconnected";
    case cancellation_reason::deadline_exceeded:
      return "operation cancelled: deadline_exceeded";
    case cancellation_reason::restart:
      return "operation cancelled: restart";
    default:
      return "operation cancelled: user reason";
  }
}

}  // namespace lifetime
