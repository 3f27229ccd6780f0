// SPDX-License-Identifier: MIT
#include "metrics.hpp"

#include <fmt/format.h>

namespace lifetime::demo {

void metrics::count_aborted(cancellation_reason reason) noexcept {
  for (std::size_t i = 0; i < abort_reasons.size(); ++i) {
    if (abort_reasons[i] == reason)
      aborted_[i].fetch_add(1, std::memory_order_relaxed);
  }
}

std::uint64_t metrics::aborted(cancellation_reason reason) const noexcept {
  for (std::size_t i = 0; i < abort_reasons.size(); ++i) {
    if (abort_reasons[i] == reason)
      return aborted_[i].load(std::memory_order_relaxed);
  }
  return 0;
}

void metrics::count_response(unsigned status) noexcept {
  if (status >= 500) {
    responses_5xx.fetch_add(1, std::memory_order_relaxed);
  } else if (status >= 400) {
    responses_4xx.fetch_add(1, std::memory_order_relaxed);
  } else if (status >= 300) {
    responses_3xx.fetch_add(1, std::memory_order_relaxed);
  } else {
    responses_2xx.fetch_add(1, std::memory_order_relaxed);
  }
}

std::string metrics::render(std::string_view state, bool ready) const {
  std::string out;
  auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  // A metric with a single, unlabelled sample.
  auto scalar = [&](std::string_view name, std::string_view type, std::string_view help,
                    const auto& v) {
    family(name, type, help);
    fmt::format_to(std::back_inserter(out), "{} {}\n", name, v.load(std::memory_order_relaxed));
  };
  scalar("http_requests_total", "counter", "HTTP requests received.", requests_total);
  scalar("http_requests_in_flight", "gauge", "HTTP requests being handled.", requests_in_flight);
  scalar("http_disconnect_watches_total", "counter",
         "HTTP requests whose handler waited with a pending read watching for a disconnect.",
         disconnect_watches_total);
  family("http_requests_aborted_total", "counter",
         "HTTP requests whose handler was cancelled, by reason.");
  for (std::size_t i = 0; i < abort_reasons.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "http_requests_aborted_total{{reason=\"{}\"}} {}\n",
                   to_string(abort_reasons[i]), aborted_[i].load(std::memory_order_relaxed));
  }
  family("http_responses_total", "counter", "HTTP responses sent, by status class.");
  fmt::format_to(
      std::back_inserter(out),
      "http_responses_total{{code=\"2xx\"}} {}\nhttp_responses_total{{code=\"3xx\"}} "
      "{}\nhttp_responses_total{{code=\"4xx\"}} {}\nhttp_responses_total{{code=\"5xx\"}} "
      "{}\n",
      responses_2xx.load(), responses_3xx.load(), responses_4xx.load(), responses_5xx.load());
  scalar("http_connections_total", "counter", "TCP connections accepted.", connections_total);
  scalar("http_connections_open", "gauge", "TCP connections open.", connections_open);
  scalar("demo_work_in_progress", "gauge", "/api/work and /api/stream handlers running.",
         work_in_progress);
  scalar("demo_work_steps_total", "counter", "Steps of work completed by those handlers.",
         work_steps_total);
  scalar("demo_operations_running", "gauge", "Background operations running.", operations_running);
  scalar("demo_operations_started_total", "counter", "Background operations started.",
         operations_started_total);
  scalar("demo_uploads_committed_total", "counter", "Uploads committed to storage.",
         uploads_committed_total);
  scalar("demo_uploads_aborted_total", "counter", "Uploads abandoned (nothing was kept).",
         uploads_aborted_total);
  scalar("demo_web_host_restarts_total", "counter", "In-process restarts of the web host.",
         restarts_total);
  family("lifetime_state", "gauge", "The application's lifetime state (1 for the current one).");
  for (std::string_view s : {"starting", "started", "stopping", "stopped"}) {
    fmt::format_to(std::back_inserter(out), "lifetime_state{{state=\"{}\"}} {}\n", s,
                   s == state ? 1 : 0);
  }
  family("lifetime_ready", "gauge", "1 while /readyz answers 200.");
  fmt::format_to(std::back_inserter(out), "lifetime_ready {}\n", ready ? 1 : 0);
  return out;
}

}  // namespace lifetime::demo
