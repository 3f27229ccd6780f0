// SPDX-License-Identifier: MIT
// What the host publishes on its lifecycle feed (host.hpp, @par Lifecycle events): the process's
// states, the stop's phases and the in-flight count while it drains.
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "host_impl.hpp"

namespace lifetime::host {
namespace asio = boost::asio;

double detail::took_ms(std::chrono::steady_clock::duration d) noexcept {
  return std::chrono::duration<double, std::milli>(d).count();
}

void host::impl::publish_process(const char* state, lifecycle_events::fields extra) {
  lifecycle_events::fields values;
  values.reserve(extra.size() + 3);
  values.emplace_back("state", std::string(state));
  values.emplace_back("pid", static_cast<std::int64_t>(::getpid()));
  values.emplace_back("name", options_.name);
  for (auto& field : extra)
    values.push_back(std::move(field));
  events_.publish("process", std::move(values));
}

void host::impl::publish_stopping() {
  const char* signal = stop_cause_.load();
  std::string cause = signal != nullptr ? std::string(signal)
                      : lifetime_.stop_reason() == cancellation_reason::none
                          ? std::string("requested")
                          : std::string(lifetime::to_string(lifetime_.stop_reason()));
  publish_process("stopping", {{"cause", std::move(cause)},
                               {"in_flight", static_cast<std::int64_t>(in_flight_.count())}});
}

void host::impl::publish_phase(shutdown_phase phase, const char* state,
                               lifecycle_events::fields extra) {
  lifecycle_events::fields values;
  values.reserve(extra.size() + 4);
  values.emplace_back("phase", std::string(to_string(phase)));
  values.emplace_back("number", static_cast<std::int64_t>(phase_number(phase)));
  values.emplace_back("state", std::string(state));
  values.emplace_back("in_flight", static_cast<std::int64_t>(in_flight_.count()));
  for (auto& field : extra)
    values.push_back(std::move(field));
  events_.publish("phase", std::move(values));
}

asio::awaitable<void> host::impl::in_flight_loop() {
  auto self = shared_from_this();
  constexpr auto interval = std::chrono::milliseconds(50);
  std::size_t last = in_flight_.count();
  events_.publish("in_flight", {{"count", static_cast<std::int64_t>(last)}});
  while (!finished_ && phase_.load() != shutdown_phase::stopped) {
    in_flight_timer_.expires_after(interval);
    boost::system::error_code ec;
    co_await in_flight_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (finished_)
      co_return;
    if (const std::size_t now = in_flight_.count(); now != last) {
      last = now;
      events_.publish("in_flight", {{"count", static_cast<std::int64_t>(now)}});
    }
  }
}

}  // namespace lifetime::host
