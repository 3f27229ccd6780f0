// SPDX-License-Identifier: MIT
// The six phases of a host's shutdown, and the deadlines one budget gives them.
//
// The stop begins at `began`; everything must be over at `budget_end = began + budget`.
// Leases, named stopping callbacks and the drain (phases 1-4) must be over by `drain_end`, a
// reserve before the budget ends, so that cancelling what remains (phase 5) and stopping the
// services (phase 6) always keep some time. The drain delay (phase 2) ends at `drain_delay_end`,
// never after drain_end. Phase 5 waits for the cancelled requests until `cancel_end`, three
// quarters into the reserve; the last quarter is phase 6's.
//
// The reserve rule. Every request still in flight at drain_end must be cancelled, answered and
// closed within the reserve, and that costs time in proportion to their number (about 30-50 us
// of CPU each for lifetime-demo's 503s), so the reserve grows with the requests in flight when
// the stop begins (`in_flight`):
//
//     reserve = min(max(min(budget / 4, 1 s), reserve_base + in_flight * reserve_per_request),
//                   budget / 2)          with reserve_base = 25 ms, reserve_per_request = 50 us
//
// With few requests in flight it is the quarter of the budget (at most one second) it always
// was; with many, cancelling starts earlier: with a 1 s budget, 10,000 requests in flight start
// phase 5 at 500 ms instead of 750 ms. It never takes more than half the budget from the drain.
//
// The cost per request is not a constant of one machine: the host passes what this process has
// spent per request so far (cost_per_request(): CPU time over requests admitted, twice over),
// so a machine four times slower, or a busier one, gets a reserve four times larger; 50 us is
// only the floor.
// The count is the one when the stop begins (the gate only closes at phase 3, but the drain
// deadline is fixed at phase 1, when leases and callbacks start their time boxes).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <chrono>
#include <cstddef>
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

  /// The reserve's fixed part and its part per request in flight (see the reserve rule above).
  static constexpr std::chrono::microseconds reserve_base{25000};
  static constexpr std::chrono::microseconds reserve_per_request{50};

  /// The reserve before budget_end for a stop with `budget` and `in_flight` requests in flight
  /// (the reserve rule above): between min(budget / 4, 1 s) and budget / 2.
  /// `per_request` replaces reserve_per_request in the rule (see cost_per_request()).
  static std::chrono::milliseconds reserve(
      std::chrono::milliseconds budget, std::size_t in_flight = 0,
      std::chrono::microseconds per_request = reserve_per_request) noexcept;

  /// The reserve's cost per request in flight for a process that has spent `cpu` (user + system
  /// time) on `admitted` requests: twice the average (answering a cancelled request costs about
  /// what admitting it did, and the machine is busiest just then), never below
  /// reserve_per_request; reserve_per_request when nothing was admitted yet.
  static std::chrono::microseconds cost_per_request(std::chrono::microseconds cpu,
                                                    std::uint64_t admitted) noexcept;

  /// The deadlines for a stop that began at `began` with `budget` and `drain_delay`, with
  /// `in_flight` requests in flight at that moment, each costing `per_request`.
  static shutdown_budget compute(
      clock::time_point began, std::chrono::milliseconds budget,
      std::chrono::milliseconds drain_delay, std::size_t in_flight = 0,
      std::chrono::microseconds per_request = reserve_per_request) noexcept;
};

}  // namespace lifetime::host
