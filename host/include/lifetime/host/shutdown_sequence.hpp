// SPDX-License-Identifier: MIT
// The six phases of a host's shutdown, and the deadlines one budget gives them.
//
// The stop begins at `began`; everything must be over at `budget_end = began + budget`.
// Leases, named stopping callbacks and the drain (phases 1-4) must be over by `drain_end`, a
// reserve before the budget ends (min(budget/4, 1s)), so that cancelling what remains (phase 5)
// and stopping the services (phase 6) always keep some time. The drain delay (phase 2) ends at
// `drain_delay_end`, never after drain_end. Phase 5 waits for cancelled requests until
// `cancel_end`, halfway through the reserve.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace lifetime::host {

enum class shutdown_phase : std::uint8_t {
  running = 0,         ///< not stopping (starting or started)
  stopping = 1,        ///< 1: services' stopping(), STOPPING=1, leases and callbacks start
  drain_delay = 2,     ///< 2: keep serving while load balancers notice
  stop_accepting = 3,  ///< 3: stop_accepting_token() fires, in_flight() closes
  drain = 4,           ///< 4: wait for in-flight requests, leases and callbacks
  cancel = 5,          ///< 5: in_flight_token() fires; wait briefly for the requests
  stop_services = 6,   ///< 6: background run()s awaited, stop() and stopped()
  stopped = 7,         ///< all over
};

/// "running", "stopping", "drain-delay", "stop-accepting", "drain", "cancel", "stop-services",
/// "stopped".
std::string_view to_string(shutdown_phase phase) noexcept;

/// 1..6 for the six phases, 0 otherwise.
constexpr int phase_number(shutdown_phase phase) noexcept {
  const int n = static_cast<int>(phase);
  return n >= 1 && n <= 6 ? n : 0;
}

struct shutdown_budget {
  using clock = std::chrono::steady_clock;

  clock::time_point began;
  clock::time_point drain_delay_end;
  clock::time_point drain_end;
  clock::time_point cancel_end;
  clock::time_point budget_end;

  /// The deadlines for a stop that began at `began` with `budget` and `drain_delay`.
  static shutdown_budget compute(clock::time_point began, std::chrono::milliseconds budget,
                                 std::chrono::milliseconds drain_delay) noexcept;
};

}  // namespace lifetime::host
