// SPDX-License-Identifier: MIT
// What SIGUSR2 logs (and the exit enforcer's last words), and systemd's STATUS= during a stop.
#include <sstream>

#include <fmt/format.h>

#include <lifetime/host/duration.hpp>

#include "host_impl.hpp"

namespace lifetime::host {

using detail::millis;

std::string_view to_string(service_state state) noexcept {
  switch (state) {
    case service_state::registered:
      return "registered";
    case service_state::starting:
      return "starting";
    case service_state::started:
      return "started";
    case service_state::failed:
      return "failed";
    case service_state::stopping:
      return "stopping";
    case service_state::stopped:
      return "stopped";
  }
  return "unknown";
}

std::string host::impl::stop_status() const {
  const shutdown_phase phase = phase_.load();
  const auto now = clock::now();
  const auto left = budget_.budget_end > now ? budget_.budget_end - now : clock::duration::zero();
  const auto seconds_left = std::chrono::duration_cast<std::chrono::seconds>(
      left + std::chrono::milliseconds(500));  // rounded
  return fmt::format("stopping: phase {}/6 {}, {} request(s) in flight, {}s left",
                     phase_number(phase), to_string(phase), in_flight_.count(),
                     seconds_left.count());
}

std::string host::impl::state_dump() const {
  std::ostringstream out;
  const shutdown_phase phase = phase_.load();
  out << options_.name << ": lifetime " << lifetime::to_string(lifetime_.state()) << ", phase "
      << to_string(phase);
  if (phase_number(phase) != 0)
    out << " (" << phase_number(phase) << "/6)";
  if (is_stop_begun()) {
    const auto now = clock::now();
    const auto b = budget_;
    const auto left = b.budget_end > now ? b.budget_end - now : clock::duration::zero();
    out << ", stop reason " << lifetime::to_string(lifetime_.stop_reason()) << ", elapsed "
        << millis(now - b.began) << ", budget " << format_duration(options_.shutdown_timeout)
        << ", time left " << millis(left) << (fast_ ? ", fast stop" : "");
  } else {
    out << ", budget " << format_duration(options_.shutdown_timeout) << " (not stopping)";
  }
  out << "\n";
  if (owned_io_) {
    out << "upgrades: " << upgrades_succeeded_.load() << " handed over, " << upgrades_failed_.load()
        << " failed";
    if (upgrading_.load() && upgrade_pid_.load() > 0)
      out << ", upgrade to process " << upgrade_pid_.load() << " in progress";
    out << "\n";
  }
  out << "in flight: " << in_flight_.count() << (in_flight_.is_closed() ? " (closed)" : "") << "\n";
  for (const auto& entry : services_) {
    out << "service '" << entry->service->name() << "': " << to_string(entry->state.load());
    if (entry->background != nullptr)
      out << (entry->running ? ", run() running" : ", run() done");
    if (const char* hook = entry->hook.load()) {
      const auto began = clock::time_point(clock::duration(entry->hook_began.load()));
      out << ", in " << hook << "() for " << millis(clock::now() - began);
    }
    out << "\n";
  }
  const auto work = lifetime_.shutdown_work();
  if (work.items.empty())
    out << "shutdown work: none\n";
  for (const auto& item : work.items) {
    out << lifetime::to_string(item.kind) << " '" << item.name
        << "': " << lifetime::to_string(item.status) << ", held " << millis(item.held);
    if (item.max != clock::duration::max()) {
      out << " (max "
          << format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(item.max))
          << ")";
    }
    if (!item.error.empty())
      out << ", error: " << item.error;
    out << "\n";
  }
  return out.str();
}

}  // namespace lifetime::host
