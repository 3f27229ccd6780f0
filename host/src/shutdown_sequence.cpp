// SPDX-License-Identifier: MIT
#include <lifetime/host/shutdown_sequence.hpp>

#include <algorithm>

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

shutdown_budget shutdown_budget::compute(clock::time_point began, std::chrono::milliseconds budget,
                                         std::chrono::milliseconds drain_delay) noexcept {
  budget = std::max(budget, std::chrono::milliseconds{0});
  drain_delay = std::max(drain_delay, std::chrono::milliseconds{0});
  const std::chrono::milliseconds reserve =
      std::min<std::chrono::milliseconds>(budget / 4, std::chrono::seconds(1));
  shutdown_budget result;
  result.began = began;
  result.budget_end = began + budget;
  result.drain_end = result.budget_end - reserve;
  result.drain_delay_end = std::min(began + drain_delay, result.drain_end);
  result.cancel_end = result.drain_end + reserve / 2;
  return result;
}

}  // namespace lifetime::host
