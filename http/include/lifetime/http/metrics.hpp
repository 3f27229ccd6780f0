// SPDX-License-Identifier: MIT
// The server's counters and gauges, and the application's own metrics next to them, rendered as
// Prometheus text.
//
// Every counter is a relaxed atomic: any thread may update or read them at any time without
// blocking. Counters only grow; gauges go up and down with what they count. render() reads each
// value once, then appends what every collector writes (an application's own families, written
// with metrics::family()), then the lifetime state it is given.
//
// @par Thread safety
// add_collector() and render() may be called from any thread (a mutex guards the collectors; a
// collector runs on the thread that renders and must not call add_collector()).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <lifetime/cancellation_reason.hpp>

namespace lifetime::http {

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
  std::atomic<std::uint64_t> websocket_sessions_total{0};  ///< upgrades accepted
  std::atomic<std::int64_t> websocket_sessions_open{0};
  std::atomic<std::uint64_t> restarts_total{0};  ///< in-process restarts of the server

  /// Counts one request aborted for `reason` (ignored unless it is one of abort_reasons).
  void count_aborted(cancellation_reason reason) noexcept;
  std::uint64_t aborted(cancellation_reason reason) const noexcept;
  /// Counts a response by status class.
  void count_response(unsigned status) noexcept;

  /// Adds the application's metrics: `collect` appends Prometheus text to its argument at every
  /// render().
  void add_collector(std::function<void(std::string&)> collect);

  /// Prometheus text exposition format 0.0.4. `state` is the lifetime state ("started", ...).
  std::string render(std::string_view state, bool ready) const;

  /// Appends `# HELP` and `# TYPE` lines for a family (for collectors).
  static void family(std::string& out, std::string_view name, std::string_view type,
                     std::string_view help);
  /// Appends a family with one unlabelled sample.
  static void scalar(std::string& out, std::string_view name, std::string_view type,
                     std::string_view help, std::int64_t value);

 private:
  std::array<std::atomic<std::uint64_t>, abort_reasons.size()> aborted_{};
  mutable std::mutex mutex_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

}  // namespace lifetime::http
