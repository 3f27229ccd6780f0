// SPDX-License-Identifier: MIT
// lifetime-demo's own metrics, rendered next to the server's (http::metrics::add_collector).
//
// Every member is a relaxed atomic: any thread may update or read them without blocking.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace lifetime::demo {

struct demo_metrics {
  std::atomic<std::int64_t> work_in_progress{0};   ///< /api/work and /api/stream handlers running
  std::atomic<std::uint64_t> work_steps_total{0};  ///< steps those handlers completed
  std::atomic<std::int64_t> operations_running{0};
  std::atomic<std::uint64_t> operations_started_total{0};
  std::atomic<std::uint64_t> uploads_committed_total{0};
  std::atomic<std::uint64_t> uploads_aborted_total{0};
  std::atomic<std::uint64_t> restarts_total{0};

  /// Appends the demo_* families (Prometheus text).
  void collect(std::string& out) const;
};

}  // namespace lifetime::demo
