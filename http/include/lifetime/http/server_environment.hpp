// SPDX-License-Identifier: MIT
// What the server needs from the process around it: the shutdown phases as tokens, the in-flight
// gate and the lifetime state. server_service fills it from lifetime::host::host; tests fill it
// from their own sources to drive each phase by hand.
//
// Every member is optional: a default token never fires, a null gate admits everything.
#pragma once

#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>
#include <lifetime/host/lifecycle_events.hpp>

namespace lifetime::http {

struct server_environment {
  /// Fires when the stop begins (phase 1): readiness turns false and every response from then on
  /// carries `Connection: close`.
  cancellation_token stopping;
  /// Fires at phase 3: listeners close, idle keep-alive connections close, WebSocket sessions are
  /// told to go away.
  cancellation_token stop_accepting;
  /// Fires at phase 5 (reason application_stopping): every request token fires with it.
  cancellation_token cancel_in_flight;
  /// Requests and WebSocket sessions hold it while they run (nullptr: not counted). A closed gate
  /// answers 503.
  lifetime::gate* in_flight = nullptr;
  /// The lifetime state for the metrics ("starting", "started", "stopping", "stopped").
  std::function<std::string()> state;
  /// The lifecycle feed the server publishes its generations and the ends of a replaced
  /// generation's requests on (server.hpp, @par Lifecycle events); null: none.
  lifetime::host::lifecycle_events* events = nullptr;
  /// The executor a new connection runs on (called on the accepting thread for each one). Its
  /// handlers must never run concurrently (an io_context run by one thread, or a strand).
  /// server_service passes host::next_io_executor(), which spreads connections over the I/O
  /// threads. Null: a strand on the server's own executor.
  std::function<boost::asio::any_io_executor()> connection_executor;
};

}  // namespace lifetime::http
