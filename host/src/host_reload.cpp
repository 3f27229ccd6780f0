// SPDX-License-Identifier: MIT
// Reload (SIGHUP), the systemd watchdog and EXTEND_TIMEOUT_USEC while a stop progresses.
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "host_impl.hpp"

namespace lifetime::host {
namespace asio = boost::asio;

using detail::millis;

asio::awaitable<void> host::impl::reload() {
  auto self = shared_from_this();
  if (lifetime_.state() != lifetime_state::started) {
    spdlog::info("{}: reload ignored: the host is {}", options_.name,
                 lifetime::to_string(lifetime_.state()));
    events_.publish(
        "reload", {{"state", std::string("ignored")},
                   {"why", "the host is " + std::string(lifetime::to_string(lifetime_.state()))}});
    co_return;
  }
  if (reloading_.exchange(true)) {
    spdlog::info("{}: reload ignored: a reload is in progress", options_.name);
    events_.publish("reload", {{"state", std::string("ignored")},
                               {"why", std::string("a reload is in progress")}});
    co_return;
  }
  const auto began = clock::now();
  events_.publish("reload", {{"state", std::string("begin")}});
  notifier_.reloading();
  notifier_.status("reloading");
  {
    std::lock_guard lock(status_note_mutex_);
    status_note_.clear();
  }
  bool ok = true;
  try {
    if (options_.reload_config)
      options_.reload_config();
  } catch (const std::exception& e) {
    ok = false;
    spdlog::error("{}: reload: configuration not re-read, keeping the old one: {}", options_.name,
                  e.what());
  }
  if (ok) {
    for (auto& entry : services_) {
      if (entry->state != service_state::started)
        continue;
      try {
        co_await entry->service->reload();  // a synchronous throw lands in the catch too
      } catch (...) {
        spdlog::error("{}: service '{}' failed in reload(): {}", options_.name,
                      entry->service->name(), describe_exception(std::current_exception()));
      }
    }
    spdlog::info("{}: reload complete in {}", options_.name, millis(clock::now() - began));
  }
  events_.publish("reload", {{"state", std::string("end")},
                             {"result", std::string(ok ? "ok" : "failed")},
                             {"took_ms", detail::took_ms(clock::now() - began)}});
  if (lifetime_.state() == lifetime_state::started) {
    notifier_.ready();
    notifier_.status(running_status());
  }
  reloading_ = false;
}

asio::awaitable<void> host::impl::watchdog_loop() {
  auto self = shared_from_this();
  const auto interval = std::chrono::duration_cast<clock::duration>(watchdog_.ping_interval());
  // The pings come from io_, so a wedged io_ stops them. A connection thread (thread_io_) must
  // stop them too: every round posts a heartbeat to each, and a ping goes only once each has run
  // the previous round's. Through the stop the pings go on regardless (the budget bounds it).
  const auto heartbeats =
      std::make_shared<std::vector<std::atomic<std::uint64_t>>>(thread_io_.size());
  std::uint64_t round = 0;
  bool withheld = false;
  while (!finished_) {
    std::size_t late = 0;
    while (late < heartbeats->size() &&
           (*heartbeats)[late].load(std::memory_order_acquire) >= round)
      ++late;
    if (late == heartbeats->size() || is_stop_begun()) {
      if (withheld)
        spdlog::warn("{}: every connection thread runs again: watchdog pings resume",
                     options_.name);
      withheld = false;
      notifier_.watchdog();
    } else if (!withheld) {
      withheld = true;
      spdlog::error(
          "{}: connection thread {} has not run a handler for {} ms: watchdog pings withheld "
          "(systemd restarts the service if it stays stuck)",
          options_.name, late,
          std::chrono::duration_cast<std::chrono::milliseconds>(interval).count());
    }
    ++round;
    for (std::size_t i = 0; i < thread_io_.size(); ++i)
      asio::post(*thread_io_[i], [heartbeats, i, round] {
        (*heartbeats)[i].store(round, std::memory_order_release);
      });
    watchdog_timer_.expires_after(interval);
    boost::system::error_code ec;
    co_await watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> host::impl::extend_timeout_loop() {
  auto self = shared_from_this();
  // While the shutdown progresses within its budget, tell systemd how long it may still take.
  constexpr auto margin = std::chrono::seconds(5);
  while (!finished_) {
    const auto left = budget_.budget_end - clock::now();
    if (left <= clock::duration::zero())
      co_return;
    notifier_.extend_timeout(std::chrono::duration_cast<std::chrono::microseconds>(left + margin));
    notifier_.status(stop_status());
    extend_timer_.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await extend_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace lifetime::host
