// SPDX-License-Identifier: MIT
// What the web host needs from the process around it: the shutdown phases as tokens, the
// in-flight gate and the lifetime state. The host service (server_service.hpp) fills it from
// lifetime::host::host; tests fill it from their own sources to drive each phase by hand.
//
// Every member is optional: a default token never fires, a null gate admits everything.
#pragma once

#include <functional>
#include <string>

#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>

namespace lifetime::demo {

struct server_environment {
  /// Fires when the stop begins (phase 1): /readyz turns 503 and every response from then on
  /// carries `Connection: close`.
  cancellation_token stopping;
  /// Fires at phase 3: listeners close, idle keep-alive connections close.
  cancellation_token stop_accepting;
  /// Fires at phase 5 (reason application_stopping): every request token fires with it.
  cancellation_token cancel_in_flight;
  /// Requests hold it while they run (nullptr: not counted). A closed gate answers 503.
  lifetime::gate* in_flight = nullptr;
  /// The lifetime state for /metrics ("starting", "started", "stopping", "stopped").
  std::function<std::string()> state;
};

}  // namespace lifetime::demo
