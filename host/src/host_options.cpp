// SPDX-License-Identifier: MIT
#include <lifetime/host/host_options.hpp>

#include <lifetime/host/duration.hpp>

namespace lifetime::host {

std::optional<std::string> check_supervisor_deadline(const host_options& options) {
  if (options.supervisor_deadline <= std::chrono::milliseconds{0})
    return std::nullopt;
  // The budget runs from the stop's first moment and holds the drain delay (phase 2).
  const auto needed = options.shutdown_timeout + supervisor_margin;
  if (needed <= options.supervisor_deadline)
    return std::nullopt;
  return "the supervisor kills the process " + format_duration(options.supervisor_deadline) +
         " after asking it to stop (--supervisor-deadline), but the stop may take " +
         format_duration(needed) + ": --shutdown-timeout " +
         format_duration(options.shutdown_timeout) + " (the drain delay included) + " +
         format_duration(supervisor_margin) +
         " margin; shorten it or raise the supervisor's timeout (TimeoutStopSec=, "
         "terminationGracePeriodSeconds)";
}

}  // namespace lifetime::host
