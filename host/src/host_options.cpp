// SPDX-License-Identifier: MIT
#include <lifetime/host/host_options.hpp>

#include <lifetime/host/duration.hpp>

namespace lifetime::host {

std::optional<std::string> check_supervisor_deadline(const host_options& options) {
  if (options.supervisor_deadline <= std::chrono::milliseconds{0})
    return std::nullopt;
  const auto needed = options.drain_delay + options.shutdown_timeout + supervisor_margin;
  if (needed <= options.supervisor_deadline)
    return std::nullopt;
  return "the supervisor kills the process " + format_duration(options.supervisor_deadline) +
         " after asking it to stop (--supervisor-deadline), but the stop may take " +
         format_duration(needed) + ": --drain-delay " + format_duration(options.drain_delay) +
         " + --shutdown-timeout " + format_duration(options.shutdown_timeout) + " + " +
         format_duration(supervisor_margin) +
         " margin; shorten them or raise the supervisor's timeout (TimeoutStopSec=, "
         "terminationGracePeriodSeconds)";
}

}  // namespace lifetime::host
