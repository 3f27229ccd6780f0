// SPDX-License-Identifier: MIT
// How a request ended, what the server answers for it, and its access-log line.
//
// classify() reads the exception a handler (or a filter, or the body reader) ended with:
// operation_cancelled → its reason; a system_error while the token is cancelled → the token's
// reason; a system_error after the client left or a write broke → client_disconnected;
// http_error → that status; anything else → 500 (logged). answer() then writes, unless a header
// was already sent (then the connection closes):
//   client_disconnected          nothing; 499 in the access log
//   application_stopping/restart 503, Retry-After, Connection: close
//   deadline_exceeded            504
//   http_error                   its status, {"error": message}
//   internal error               500
// Every cancellation is counted in http_requests_aborted_total{reason}.
//
// Thread safety: call on the request's connection strand.
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>

#include <lifetime/cancellation_reason.hpp>
#include <lifetime/http/http_error.hpp>
#include <lifetime/http/metrics.hpp>
#include <lifetime/http/request_context.hpp>

#include "transport.hpp"

namespace lifetime::http::detail {

struct outcome {
  cancellation_reason reason = cancellation_reason::none;
  std::optional<http_error> error;
  bool internal_error = false;
};

/// What `failure` means for the request (see the header comment); `client_gone`: the watch or a
/// write saw the client leave. Logs an internal error with the request line.
outcome classify(std::exception_ptr failure, const request_context& ctx, bool client_gone,
                 std::string_view peer, std::string_view method, std::string_view target);

/// Answers for `result` if nothing was sent yet. @return true when the connection must close.
boost::asio::awaitable<bool> answer(const outcome& result, request_context& ctx);

/// One access-log line: peer, "METHOD target", status, duration, cancel reason, note. An empty
/// `target` logs `method` alone ("-" for a request that could not be read).
void log_access(std::string_view peer, std::string_view method, std::string_view target,
                unsigned status, std::chrono::steady_clock::time_point started,
                cancellation_reason reason, std::string_view note);

/// Answers a request that could not be read (400, 431, ...) and closes: no handler ran.
boost::asio::awaitable<void> answer_unreadable(transport& t, const server_config& config,
                                               metrics& stats, boost::beast::http::status status,
                                               std::string_view message, std::string_view method,
                                               std::string_view target,
                                               std::chrono::steady_clock::time_point started);

}  // namespace lifetime::http::detail
