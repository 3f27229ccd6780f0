// SPDX-License-Identifier: MIT
// The server's counters and gauges, and the application's own metrics next to them, rendered as
// Prometheus text.
//
// Every counter is a sharded_counter (relaxed, one slot per thread, so that connection threads
// counting the same requests do not share a cache line): any thread may update or read them at
// any time without blocking. Counters only grow; gauges go up and down with what they count.
// render() reads each value once, then appends what every collector writes (an application's own
// families, written with metrics::family()), then the lifetime state it is given.
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
#include <lifetime/http/sharded_counter.hpp>

namespace lifetime::http {

class metrics {
 public:
  /// The reasons http_requests_aborted_total is labelled with, in output order.
  static constexpr std::array<cancellation_reason, 4> abort_reasons{
      cancellation_reason::client_disconnected, cancellation_reason::application_stopping,
      cancellation_reason::deadline_exceeded, cancellation_reason::restart};

  using counter = sharded_counter<std::uint64_t>;
  using gauge = sharded_counter<std::int64_t>;

  counter requests_total;            ///< requests whose header was read
  gauge requests_in_flight;          ///< requests inside a handler
  counter disconnect_watches_total;  ///< requests that armed the watch
  counter responses_2xx, responses_3xx, responses_4xx, responses_5xx;
  counter connections_total;
  gauge connections_open;
  /// Connections waiting for a request (keep-alive ones between requests, new ones before their
  /// first): a read pending, no coroutine.
  gauge connections_idle;
  counter websocket_sessions_total;  ///< upgrades accepted
  gauge websocket_sessions_open;
  counter restarts_total;  ///< in-process restarts of the server

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
  std::array<counter, abort_reasons.size()> aborted_;
  mutable std::mutex mutex_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

}  // namespace lifetime::http
