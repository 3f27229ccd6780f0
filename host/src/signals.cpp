// SPDX-License-Identifier: MIT
#include "signals.hpp"

#include <csignal>

#include <spdlog/spdlog.h>

namespace lifetime::host::detail {

signal_listener::signal_listener(std::initializer_list<int> signals, handler on_signal)
    : set_(io_), on_signal_(std::move(on_signal)), signals_(signals) {
  for (const int s : signals)
    set_.add(s);
  wait();
  thread_ = std::thread([this] { io_.run(); });
}

signal_listener::~signal_listener() {
  io_.stop();
  if (thread_.joinable())
    thread_.join();
  // Removing the signals from the set restores their default actions; ignore them instead.
  boost::system::error_code ignored;
  set_.clear(ignored);
  for (const int s : signals_)
    std::signal(s, SIG_IGN);
}

void signal_listener::wait() {
  set_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
    if (ec)
      return;
    try {
      on_signal_(signal_number);
    } catch (const std::exception& e) {
      spdlog::error("signal handler for signal {} threw: {}", signal_number, e.what());
    }
    wait();
  });
}

}  // namespace lifetime::host::detail
