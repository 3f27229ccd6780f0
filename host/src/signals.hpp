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
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

namespace lifetime::host::detail {

class signal_listener {
 public:
  using handler = std::function<void(int signal_number)>;
  /// The signal_set and the io_context it reports to.
  struct registration {
    boost::asio::io_context io;
    boost::asio::signal_set set{io};
  };

  signal_listener(std::initializer_list<int> signals, handler on_signal);
  signal_listener(const signal_listener&) = delete;
  signal_listener& operator=(const signal_listener&) = delete;
  ~signal_listener();

 private:
  void wait();

  std::unique_ptr<registration> registration_;
  handler on_signal_;
  std::thread thread_;
};

}  // namespace lifetime::host::detail
