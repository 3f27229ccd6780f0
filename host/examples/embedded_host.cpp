// SPDX-License-Identifier: MIT
// Embedded mode: the host runs on the caller's io_context; the caller owns the threads and the
// signals, and stops the host through a parent token.
//
//   lifetime_example_embedded_host        (stops by itself after 2 s, or on Ctrl-C)
#include <chrono>
#include <csignal>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/host.hpp>

namespace asio = boost::asio;

class greeter : public lifetime::host::hosted_service {
 public:
  std::string_view name() const noexcept override { return "greeter"; }
  asio::awaitable<void> start(lifetime::cancellation_token) override {
    spdlog::info("greeter: hello");
    co_return;
  }
  asio::awaitable<void> stop(lifetime::cancellation_token) override {
    spdlog::info("greeter: goodbye");
    co_return;
  }
};

int main() {
  asio::io_context io;  // the application's own event loop

  lifetime::host::host_options options;
  options.name = "embedded";
  options.shutdown_timeout = std::chrono::seconds(5);
  lifetime::host::host host(io, options);
  host.add_service<greeter>();

  // The application decides when the host stops: here on SIGINT/SIGTERM or after two seconds.
  lifetime::cancellation_source parent;
  host.link_parent(parent.token());
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec)
      parent.cancel(lifetime::cancellation_reason::application_stopping);
  });
  auto deadline = lifetime::cancel_after(io.get_executor(), parent, std::chrono::seconds(2));

  int exit_code = -1;
  host.start([&](int code) {
    exit_code = code;
    signals.cancel();
    deadline.disarm();
  });
  io.run();  // returns once the host has stopped and the application has nothing else to do
  spdlog::info("host exited with code {}", exit_code);
  return exit_code;
}
