// SPDX-License-Identifier: MIT
#include "signals.hpp"

#include <pthread.h>

#include <csignal>
#include <future>
#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

namespace lifetime::host::detail {
namespace {

/// Listeners that have stopped but keep their signals registered until the process ends.
void retire(std::unique_ptr<signal_listener::registration> registration) {
  static std::mutex mutex;
  // Never destroyed: destroying a registration would restore the default actions.
  static auto* retired = new std::vector<std::unique_ptr<signal_listener::registration>>();
  std::lock_guard lock(mutex);
  retired->push_back(std::move(registration));
}

/// Asio installs its handler without SA_RESTART (Boost 1.81 has no flags for it), so a signal
/// would make blocking calls on the application's own threads (a read of stdin, a write to a
/// file) fail with EINTR. Add the flag to the handler Asio installed.
/// Not under ThreadSanitizer: it delivers a signal to the program only when the receiving
/// thread next enters an intercepted call, and a restarted system call never returns to it.
void restart_interrupted_calls([[maybe_unused]] int signal_number) {
#if defined(__SANITIZE_THREAD__)
  return;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
  return;
#endif
#endif
  struct sigaction action {};
  if (::sigaction(signal_number, nullptr, &action) == 0 && (action.sa_flags & SA_RESTART) == 0) {
    action.sa_flags |= SA_RESTART;
    ::sigaction(signal_number, &action, nullptr);
  }
}

}  // namespace

void block_host_signals() noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (const int s : host_signals)
    sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

signal_listener::signal_listener(std::vector<int> signals, handler on_signal)
    : signals_(std::move(signals)),
      registration_(std::make_unique<registration>()),
      on_signal_(std::move(on_signal)) {
  for (const int s : signals_) {
    registration_->set.add(s);
    restart_interrupted_calls(s);
  }
  wait();
  std::promise<void> hearing;
  auto heard = hearing.get_future();
  thread_ = std::thread([this, &hearing] {
    // Whatever the thread that made the listener blocks, this one hears its signals.
    sigset_t set;
    sigemptyset(&set);
    for (const int s : signals_)
      sigaddset(&set, s);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    hearing.set_value();
    registration_->io.run();
  });
  heard.wait();  // the constructor returns once this thread hears the signals
}

signal_listener::~signal_listener() {
  registration_->io.stop();
  if (thread_.joinable())
    thread_.join();
  // Removing the signals from the set would restore their default actions, and a late signal
  // would then kill a process that is on its way to a graceful exit. The set stays registered
  // instead, with no wait pending and no thread running it: the signals are caught and dropped.
  boost::system::error_code ignored;
  registration_->set.cancel(ignored);
  retire(std::move(registration_));
}

void signal_listener::wait() {
  registration_->set.async_wait([this](const boost::system::error_code& ec, int signal_number) {
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
