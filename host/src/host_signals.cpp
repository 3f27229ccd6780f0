// SPDX-License-Identifier: MIT
// What each signal does to an owning host. On the signal listener's own thread: host code only,
// never the application's (the stop's callbacks run on the lifetime's thread), so a second and a
// third signal are always heard.
#include <unistd.h>

#include <csignal>
#include <sstream>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <lifetime/host/duration.hpp>
#include <lifetime/host/logging.hpp>

#include "host_impl.hpp"

namespace lifetime::host {
namespace asio = boost::asio;

namespace {

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGHUP:
      return "SIGHUP";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "signal";
  }
}

}  // namespace

void host::impl::on_signal(int signal_number) {
  // On the signal listener's own thread: everything here is thread-safe.
  if (signal_number == SIGHUP) {
    spdlog::info("{}: SIGHUP: reload requested", options_.name);
    asio::co_spawn(strand_, reload(), asio::detached);
    return;
  }
  if (signal_number == SIGUSR1) {
    spdlog::info("{}: SIGUSR1: binary upgrade requested", options_.name);
    asio::co_spawn(strand_, upgrade(), asio::detached);
    return;
  }
  if (signal_number == SIGUSR2) {
    std::istringstream dump(state_dump());
    for (std::string line; std::getline(dump, line);)
      spdlog::info("state: {}", line);
    return;
  }
  const int count = signal_count_.fetch_add(1) + 1;
  if (count == 1) {
    stop_cause_ = signal_name(signal_number);
    spdlog::info("{}: {} received: stopping gracefully (budget {})", options_.name,
                 signal_name(signal_number), format_duration(options_.shutdown_timeout));
    lifetime_.stop_application(cancellation_reason::application_stopping);
  } else if (count == 2) {
    spdlog::warn("{}: second stop signal ({}): fast stop, cancelling in-flight work now",
                 options_.name, signal_name(signal_number));
    lifetime_.stop_application(cancellation_reason::application_stopping);
    publish_process("fast_stop", {{"cause", std::string(signal_name(signal_number))}});
    fast_stop();
  } else {
    const int code = signal_exit_code(signal_number);
    spdlog::critical("{}: third stop signal ({}): exiting now with code {}", options_.name,
                     signal_name(signal_number), code);
    flush_logs();
    ::_exit(code);
  }
}

void host::impl::fast_stop() {
  if (fast_.exchange(true))
    return;
  stop_accepting_.cancel(cancellation_reason::application_stopping);
  in_flight_cancel_.cancel(cancellation_reason::application_stopping);
  in_flight_.close();
  asio::post(strand_, [self = shared_from_this()] { self->wake(); });
}

}  // namespace lifetime::host
