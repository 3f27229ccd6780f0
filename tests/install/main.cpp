// SPDX-License-Identifier: MIT
// Uses the installed lifetime package: tokens, a linked source, application_lifetime and gate.
#include <chrono>
#include <cstdio>

#include <lifetime/application_lifetime.hpp>
#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>
#include <lifetime/stop_token.hpp>

int main() {
  lifetime::application_lifetime app;
  auto app_driver = app.take_driver();
  lifetime::cancellation_source connection;
  auto request = lifetime::cancellation_source::linked({app.stopping(), connection.token()});
  lifetime::cancellation_reason seen = lifetime::cancellation_reason::none;
  auto registration =
      request.token().register_callback([&](lifetime::cancellation_reason r) { seen = r; });
  lifetime::std_stop_from_cancellation bridge(request.token());

  lifetime::gate in_flight;
  auto holder = in_flight.try_enter();

  app_driver.notify_started();
  app.stop_application();
  app_driver.begin_shutdown_work(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  const bool done =
      app_driver.wait_for_shutdown_work(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  in_flight.close();
  holder.reset();

  const bool ok = done && seen == lifetime::cancellation_reason::application_stopping &&
                  bridge.get_token().stop_requested() && in_flight.is_drained();
  std::printf("lifetime consumer: %s (%s)\n", ok ? "ok" : "FAILED",
              lifetime::to_string(request.reason()).data());
  return ok ? 0 : 1;
}
