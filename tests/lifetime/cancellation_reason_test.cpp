// SPDX-License-Identifier: MIT
// cancellation_reason, operation_cancelled and the callback exception handler.
#include <lifetime/cancellation_reason.hpp>

#include <cstring>
#include <exception>
#include <string_view>
#include <type_traits>

#include <lifetime/callback_exception_handler.hpp>
#include <lifetime/operation_cancelled.hpp>

#include <catch2/catch.hpp>

using lifetime::cancellation_reason;

static_assert(std::is_base_of_v<std::exception, lifetime::operation_cancelled>);
static_assert(std::is_nothrow_copy_constructible_v<lifetime::operation_cancelled>);
static_assert(lifetime::user_reason(0) == cancellation_reason::user);
static_assert(noexcept(lifetime::to_string(cancellation_reason::none)));

TEST_CASE("every named reason has its own name") {
  CHECK(lifetime::to_string(cancellation_reason::none) == "none");
  CHECK(lifetime::to_string(cancellation_reason::requested) == "requested");
  CHECK(lifetime::to_string(cancellation_reason::application_stopping) == "application_stopping");
  CHECK(lifetime::to_string(cancellation_reason::client_disconnected) == "client_disconnected");
  CHECK(lifetime::to_string(cancellation_reason::deadline_exceeded) == "deadline_exceeded");
  CHECK(lifetime::to_string(cancellation_reason::restart) == "restart");
}

TEST_CASE("user reasons start at cancellation_reason::user and are named user") {
  CHECK(static_cast<int>(lifetime::user_reason(3)) == 259);
  CHECK(lifetime::user_reason(3) != lifetime::user_reason(4));
  CHECK(lifetime::to_string(lifetime::user_reason(0)) == "user");
  CHECK(lifetime::to_string(lifetime::user_reason(1000)) == "user");
  CHECK(lifetime::to_string(static_cast<cancellation_reason>(100)) == "unknown");
}

TEST_CASE("operation_cancelled carries its reason and says it in what()") {
  const lifetime::operation_cancelled e(cancellation_reason::client_disconnected);
  CHECK(e.reason() == cancellation_reason::client_disconnected);
  CHECK(std::string_view(e.what()) == "operation cancelled: client_disconnected");
  const std::exception& base = e;
  CHECK(std::strstr(base.what(), "cancelled") != nullptr);
  CHECK(std::string_view(lifetime::operation_cancelled(lifetime::user_reason(2)).what()) ==
        "operation cancelled: user reason");
}

TEST_CASE("operation_cancelled is caught as std::exception") {
  try {
    throw lifetime::operation_cancelled(cancellation_reason::deadline_exceeded);
  } catch (const std::exception& e) {
    CHECK(std::string_view(e.what()) == "operation cancelled: deadline_exceeded");
  }
}
