// SPDX-License-Identifier: MIT
// The server's counters and gauges, rendered as Prometheus text (GET /metrics).
//
// Every member is a relaxed atomic: any thread may update or read them at any time without
// blocking. Counters only grow; gauges go up and down with what they count. render() takes a
// consistent-enough snapshot (each value read once) plus the lifetime state it is given.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include <lifetime/cancellation_reason.hpp>

namespace lifetime::demo {

class metrics {
 public:
  /// The reasons http_requests_aborted_total is labelled with, in output order.
  static constexpr std::array<cancellation_reason, 4> abort_reasons{
      cancellation_reason::client_disconnected, cancellation_reason::application_stopping,
      cancellation_reason::deadline_exceeded, cancellation_reason::restart};

  std::atomic<std::uint64_t> requests_total{0};            ///< requests whose header was read
  std::atomic<std::int64_t> requests_in_flight{0};         ///< requests inside a handler
  std::atomic<std::uint64_t> disconnect_watches_total{0};  ///< requests that armed the watch
  std::atomic<std::uint64_t> responses_2xx{0}, responses_3xx{0}, responses_4xx{0}, responses_5xx{0};
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::int64_t> work_in_progress{0};   ///< /api/work and /api/stream handlers running
  std::atomic<std::uint64_t> work_steps_total{0};  ///< steps those handlers completed
  std::atomic<std::int64_t> operations_running{0};
  std::atomic<std::uint64_t> operations_started_total{0};
  std::atomic<std::uint64_t> uploads_committed_total{0};
  std::atomic<std::uint64_t> uploads_aborted_total{0};
  std::atomic<std::uint64_t> restarts_total{0};

  /// Counts one request aborted for `reason` (ignored unless it is one of abort_reasons).
  void count_aborted(cancellation_reason reason) noexcept;
  std::uint64_t aborted(cancellation_reason reason) const noexcept;
  /// Counts a response by status class.
  void count_response(unsigned status) noexcept;

  /// Prometheus text exposition format 0.0.4. `state` is the lifetime state ("started", ...).
  std::string render(std::string_view state, bool ready) const;

 private:
  std::array<std::atomic<std::uint64_t>, abort_reasons.size()> aborted_{};
};

}  // namespace lifetime::demo
