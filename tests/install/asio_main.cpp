// SPDX-License-Identifier: MIT
// Uses the installed lifetime::asio bridge (header-only Asio in this project).
#include <chrono>
#include <cstdio>
#include <optional>

#include <lifetime/asio.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

int main() {
  boost::asio::io_context io;
  lifetime::cancellation_source source;
  boost::asio::steady_timer timer(io, std::chrono::hours(1));
  std::optional<boost::system::error_code> result;
  timer.async_wait(lifetime::bind_cancellation(source.token(),
                                               [&](boost::system::error_code ec) { result = ec; }));
  auto deadline = lifetime::cancel_after(io.get_executor(), source, std::chrono::milliseconds(1));
  io.run_for(std::chrono::seconds(10));
  const bool ok = result == boost::asio::error::operation_aborted &&
                  source.reason() == lifetime::cancellation_reason::deadline_exceeded;
  std::printf("lifetime asio consumer: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
