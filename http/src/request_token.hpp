// SPDX-License-Identifier: MIT
// A request's token, made lazily.
//
// begin() fixes the token's parents (the server's cancel_in_flight, reason application_stopping,
// and the generation the request started in, reason restart) and its deadline (the earliest of
// `?timeout=` and server_config::request_timeout). The source itself — one linked
// cancellation_source, one allocation, and a timer for the deadline — is made by the first get(),
// carrying whatever happened since the request started; a handler that never asks (GET /hello)
// costs nothing. cancel() cancels it with client_disconnected (the disconnect watch, a broken
// body). With cancellation off, get() returns a default token and nothing runs.
//
// The parents are held by reference, not copied (a copy of a token is a reference count shared
// with every other request): both outlive the request (the server's environment; the generation
// the connection's snapshot holds until the request ends). Only the source links to them.
//
// Thread safety: everything runs on the connection's strand.
#pragma once

#include <optional>

#include <boost/asio/any_io_executor.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/cancellation.hpp>

namespace lifetime::http::detail {

class request_token {
 public:
  /// A token that never fires: the parent a request lacks (an observer's, or with no generation).
  static const cancellation_token& none() noexcept { return none_; }
  /// `cancel_in_flight` and `generation` must outlive end().
  void begin(bool cancellable, const cancellation_token& cancel_in_flight,
             const cancellation_token& generation, deadline_clock::time_point deadline) noexcept;
  /// The token; made on the first call. `peer_gone`: the client left before it was made.
  cancellation_token get(const boost::asio::any_io_executor& executor, bool peer_gone);
  /// Cancels the source if it was made.
  void cancel(cancellation_reason reason) noexcept;
  /// The generation the request started in (fires with restart).
  const cancellation_token& generation() const noexcept { return *generation_; }
  bool cancellable() const noexcept { return cancellable_; }
  /// Forgets the source and its deadline timer (between requests).
  void end() noexcept;

 private:
  static const cancellation_token none_;  // the parents between requests
  const cancellation_token* cancel_in_flight_ = &none_;
  const cancellation_token* generation_ = &none_;
  std::optional<cancellation_source> source_;
  scoped_deadline deadline_timer_;
  deadline_clock::time_point deadline_ = no_deadline;
  bool cancellable_ = false;  // false between requests and with cancellation off
};

}  // namespace lifetime::http::detail
