// SPDX-License-Identifier: MIT
#include <lifetime/http/metrics.hpp>

#include <iterator>

#include <fmt/format.h>

namespace lifetime::http {

std::size_t detail::counter_slot() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t slot =
      next.fetch_add(1, std::memory_order_relaxed) % sharded_counter<int>::slots;
  return slot;
}

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

void metrics::add_collector(std::function<void(std::string&)> collect) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collect));
}

void metrics::family(std::string& out, std::string_view name, std::string_view type,
                     std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void metrics::scalar(std::string& out, std::string_view name, std::string_view type,
                     std::string_view help, std::int64_t value) {
  family(out, name, type, help);
  fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
}

std::string metrics::render(std::string_view state, bool ready) const {
  std::string out;
  const auto value = [](const auto& v) {
    return static_cast<std::int64_t>(v.load(std::memory_order_relaxed));
  };
  scalar(out, "http_requests_total", "counter", "HTTP requests received.", value(requests_total));
  scalar(out, "http_requests_in_flight", "gauge", "HTTP requests being handled.",
         value(requests_in_flight));
  scalar(out, "http_disconnect_watches_total", "counter",
         "HTTP requests whose handler waited with a pending read watching for a disconnect.",
         value(disconnect_watches_total));
  family(out, "http_requests_aborted_total", "counter",
         "HTTP requests whose handler was cancelled, by reason.");
  for (std::size_t i = 0; i < abort_reasons.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "http_requests_aborted_total{{reason=\"{}\"}} {}\n",
                   to_string(abort_reasons[i]), aborted_[i].load(std::memory_order_relaxed));
  }
  family(out, "http_responses_total", "counter", "HTTP responses sent, by status class.");
  fmt::format_to(
      std::back_inserter(out),
      "http_responses_total{{code=\"2xx\"}} {}\nhttp_responses_total{{code=\"3xx\"}} "
      "{}\nhttp_responses_total{{code=\"4xx\"}} {}\nhttp_responses_total{{code=\"5xx\"}} "
      "{}\n",
      value(responses_2xx), value(responses_3xx), value(responses_4xx), value(responses_5xx));
  scalar(out, "http_connections_total", "counter", "TCP connections accepted.",
         value(connections_total));
  scalar(out, "http_connections_open", "gauge", "TCP connections open.", value(connections_open));
  scalar(out, "http_connections_idle", "gauge", "TCP connections waiting for a request.",
         value(connections_idle));
  scalar(out, "http_websocket_sessions_total", "counter", "WebSocket sessions accepted.",
         value(websocket_sessions_total));
  scalar(out, "http_websocket_sessions_open", "gauge", "WebSocket sessions open.",
         value(websocket_sessions_open));
  scalar(out, "http_server_restarts_total", "counter", "In-process restarts of the server.",
         value(restarts_total));
  {
    std::lock_guard lock(mutex_);
    for (const auto& collect : collectors_)
      collect(out);
  }
  family(out, "lifetime_state", "gauge",
         "The application's lifetime state (1 for the current one).");
  for (std::string_view s : {"starting", "started", "stopping", "stopped"}) {
    fmt::format_to(std::back_inserter(out), "lifetime_state{{state=\"{}\"}} {}\n", s,
                   s == state ? 1 : 0);
  }
  family(out, "lifetime_ready", "gauge", "1 while readiness answers 200.");
  fmt::format_to(std::back_inserter(out), "lifetime_ready {}\n", ready ? 1 : 0);
  return out;
}

}  // namespace lifetime::http
