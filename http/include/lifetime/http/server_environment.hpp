// SPDX-License-Identifier: MIT
// What the server needs from the process around it: the shutdown phases as tokens, the in-flight
// gate and the lifetime state. server_service fills it from lifetime::host::host; tests fill it
// from their own sources to drive each phase by hand.
//
// Every member is optional: a default token never fires, a null gate admits everything.
#pragma once

#include <functional>
#include <string>
#include <vector>

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
  /// Executors of threads that each run their handlers one at a time (an io_context run by one
  /// thread): a new connection goes to the one with the fewest connections, so that no thread
  /// serves two while another serves none. server_service passes host::connection_executors().
  /// Empty: each connection gets a strand on the server's own executor.
  std::vector<boost::asio::any_io_executor> connection_threads;
};

}  // namespace lifetime::http
