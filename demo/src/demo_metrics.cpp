// SPDX-License-Identifier: MIT
#include "demo_metrics.hpp"

#include <lifetime/http/metrics.hpp>

namespace lifetime::demo {

void demo_metrics::collect(std::string& out) const {
  using http::metrics;
  const auto value = [](const auto& v) {
    return static_cast<std::int64_t>(v.load(std::memory_order_relaxed));
  };
  metrics::scalar(out, "demo_work_in_progress", "gauge",
                  "/api/work and /api/stream handlers running.", value(work_in_progress));
  metrics::scalar(out, "demo_work_steps_total", "counter",
                  "Steps of work completed by those handlers.", value(work_steps_total));
  metrics::scalar(out, "demo_operations_running", "gauge", "Background operations running.",
                  value(operations_running));
  metrics::scalar(out, "demo_operations_started_total", "counter", "Background operations started.",
                  value(operations_started_total));
  metrics::scalar(out, "demo_uploads_committed_total", "counter", "Uploads committed to storage.",
                  value(uploads_committed_total));
  metrics::scalar(out, "demo_uploads_aborted_total", "counter",
                  "Uploads abandoned (nothing was kept).", value(uploads_aborted_total));
  metrics::scalar(out, "demo_web_host_restarts_total", "counter",
                  "In-process restarts of the web host.", value(restarts_total));
}

}  // namespace lifetime::demo
