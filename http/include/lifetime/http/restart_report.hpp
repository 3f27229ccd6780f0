// SPDX-License-Identifier: MIT
// What a restart of the server did, and how the generation it replaced ended.
//
// Plain values: server::restart() returns a restart_report; the server logs a drain_report (and
// hands it to on_drained() observers) once every request of a replaced generation has ended.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lifetime::http {

struct restart_report {
  std::uint64_t generation = 0;        ///< the generation now serving (1 before any restart)
  std::uint64_t previous = 0;          ///< the generation it replaced
  std::size_t previous_in_flight = 0;  ///< requests of `previous` still running at the restart
  /// How long they may still run before they are cancelled with reason restart.
  std::chrono::milliseconds grace{0};
  bool config_loaded = true;  ///< false: loading threw and the previous configuration was kept
  /// The new configuration asks for other listening addresses: only a new process can bind them
  /// (a process restart or a binary upgrade); the server keeps its sockets.
  bool listen_changed = false;
  std::vector<std::string> listen_wanted;  ///< the new configuration's `listen`, when changed
};

/// How the requests of a replaced generation ended.
struct drain_report {
  std::uint64_t generation = 0;
  std::size_t in_flight_at_restart = 0;
  std::size_t completed = 0;          ///< answered without being cancelled
  std::size_t cancelled = 0;          ///< cancelled with reason restart when the grace ran out
  std::size_t other = 0;              ///< ended by something else (client left, deadline, stop)
  std::chrono::milliseconds took{0};  ///< from the restart to the last request's end
  bool grace_ran_out = false;
};

}  // namespace lifetime::http
