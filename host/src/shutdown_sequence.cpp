// SPDX-License-Identifier: MIT
#include <lifetime/host/shutdown_sequence.hpp>

#include <algorithm>
#include <cstdint>

namespace lifetime::host {

std::string_view to_string(shutdown_phase phase) noexcept {
  switch (phase) {
    case shutdown_phase::running:
      return "running";
    case shutdown_phase::stopping:
      return "stopping";
    case shutdown_phase::drain_delay:
      return "drain-delay";
    case shutdown_phase::stop_accepting:
      return "stop-accepting";
    case shutdown_phase::drain:
      return "drain";
    case shutdown_phase::cancel:
      return "cancel";
    case shutdown_phase::stop_services:
      return "stop-services";
    case shutdown_phase::stopped:
      return "stopped";
  }
  return "unknown";
}

std::chrono::milliseconds shutdown_budget::reserve(std::chrono::milliseconds budget,
                                                   std::size_t in_flight,
                                                   std::chrono::microseconds per_request) noexcept {
  using std::chrono::milliseconds;
  budget = std::max(budget, milliseconds{0});
  const milliseconds floor = std::min<milliseconds>(budget / 4, std::chrono::seconds(1));
  // Bounded so that the product cannot overflow; half the budget caps the result anyway.
  const auto count = static_cast<std::int64_t>(std::min<std::size_t>(in_flight, 1'000'000));
  per_request = std::clamp(per_request, reserve_per_request, std::chrono::microseconds{1'000'000});
  const auto by_count = std::chrono::ceil<milliseconds>(reserve_base + per_request * count);
  return std::max(floor, std::min(by_count, budget / 2));
}

std::chrono::microseconds shutdown_budget::cost_per_request(std::chrono::microseconds cpu,
                                                            std::uint64_t admitted) noexcept {
  if (admitted == 0 || cpu <= std::chrono::microseconds{0})
    return reserve_per_request;
  const auto average =
      cpu / static_cast<std::int64_t>(std::min<std::uint64_t>(admitted, std::uint64_t{1} << 62));
  return std::max(reserve_per_request, average * 2);
}

shutdown_budget shutdown_budget::compute(clock::time_point began, std::chrono::milliseconds budget,
                                         std::chrono::milliseconds drain_delay,
                                         std::size_t in_flight,
                                         std::chrono::microseconds per_request) noexcept {
  budget = std::max(budget, std::chrono::milliseconds{0});
  drain_delay = std::max(drain_delay, std::chrono::milliseconds{0});
  const std::chrono::milliseconds reserve =
      shutdown_budget::reserve(budget, in_flight, per_request);
  shutdown_budget result;
  result.began = began;
  result.budget_end = began + budget;
  result.drain_end = result.budget_end - reserve;
  result.drain_delay_end = std::min(began + drain_delay, result.drain_end);
  result.cancel_end = result.drain_end + reserve * 3 / 4;
  return result;
}

}  // namespace lifetime::host
