// SPDX-License-Identifier: MIT
// Internal: the owning host's signal listener.
//
// Listens for a set of signals with a Boost.Asio signal_set on an io_context and thread of its
// own, so that a wedged event loop (a hook blocking the host's threads) still hears a second or
// third SIGTERM. The handler runs on that thread — never inside an OS signal handler — so it may
// log, lock and cancel. One handler call at a time.
//
// Construction installs the handlers (throws std::system_error if it cannot); destruction
// stops the thread, joins it and leaves the signals caught and dropped until the process ends:
// the host has stopped by then, and a late SIGHUP or SIGTERM must not kill a process that is on
// its way to a graceful exit.
//
// The listener's thread unblocks its signals. The host's other threads (the sequence's, the I/O
// threads it starts, the exit enforcer) block them with block_host_signals(), so a signal reaches
// the listener's thread or one of the application's, never a host thread parked in a wait (where
// ThreadSanitizer, which defers a signal until the receiving thread enters an intercepted call,
// may never deliver it).
#pragma once

#include <array>
#include <csignal>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

namespace lifetime::host::detail {

/// The signals an owning host handles: SIGTERM, SIGINT and SIGQUIT stop it, SIGHUP reloads, SIGUSR1
/// upgrades the binary, SIGUSR2 dumps its state.
inline constexpr std::array<int, 6> host_signals{SIGTERM, SIGINT,  SIGQUIT,
                                                 SIGHUP,  SIGUSR1, SIGUSR2};

/// Blocks host_signals in the calling thread. Call first thing in a thread the host starts.
void block_host_signals() noexcept;

class signal_listener {
 public:
  using handler = std::function<void(int signal_number)>;
  /// The signal_set and the io_context it reports to.
  struct registration {
    boost::asio::io_context io;
    boost::asio::signal_set set{io};
  };

  template <std::size_t N>
  signal_listener(const std::array<int, N>& signals, handler on_signal)
      : signal_listener(std::vector<int>(signals.begin(), signals.end()), std::move(on_signal)) {}
  signal_listener(std::vector<int> signals, handler on_signal);
  signal_listener(const signal_listener&) = delete;
  signal_listener& operator=(const signal_listener&) = delete;
  ~signal_listener();

 private:
  void wait();

  std::vector<int> signals_;
  std::unique_ptr<registration> registration_;
  handler on_signal_;
  std::thread thread_;
};

}  // namespace lifetime::host::detail
