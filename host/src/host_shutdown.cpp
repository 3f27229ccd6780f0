// SPDX-License-Identifier: MIT
// The six shutdown phases of DESIGN.md under one budget (see shutdown_sequence.hpp for the
// deadlines and host.hpp for what each phase does).
#include <algorithm>
#include <array>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/duration.hpp>

#include "host_impl.hpp"

namespace lifetime::host {
namespace asio = boost::asio;

using detail::describe;
using detail::millis;

namespace {

/// How long before the end of the budget the services' stop() tokens fire: 50 ms, at most a
/// twentieth of the budget.
std::chrono::steady_clock::duration stop_token_lead(const shutdown_budget& b) {
  return std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(50),
                                                       (b.budget_end - b.began) / 20);
}

}  // namespace

asio::awaitable<void> host::impl::shutdown() {
  auto self = shared_from_this();
  on_stop_begun();  // idempotent: the stopping() callback normally got here first
  const shutdown_budget b = budget_;
  const std::string& name = options_.name;
  std::array<clock::duration, 7> took{};
  bool overrun = false;
  auto phase_began = clock::now();
  const auto begin_phase = [&](shutdown_phase phase) {
    phase_ = phase;
    phase_began = clock::now();
    spdlog::debug("{}: phase {}/6 {} begins", name, phase_number(phase), to_string(phase));
    notifier_.status(stop_status());
  };
  const auto end_phase = [&](shutdown_phase phase, const std::string& detail = {}) {
    const auto d = clock::now() - phase_began;
    took[static_cast<std::size_t>(phase)] = d;
    spdlog::info("{}: phase {}/6 {} took {}{}{}", name, phase_number(phase), to_string(phase),
                 millis(d), detail.empty() ? "" : ": ", detail);
  };

  spdlog::info("{}: stopping ({}): budget {}, drain delay {}", name,
               lifetime::to_string(lifetime_.stop_reason()),
               format_duration(options_.shutdown_timeout), format_duration(options_.drain_delay));
  // Phase 1: stopping.
  notifier_.stopping();
  begin_phase(shutdown_phase::stopping);
  asio::co_spawn(strand_, extend_timeout_loop(), asio::detached);
  lifetime_.begin_shutdown_work(b.drain_end);
  lifetime_.on_shutdown_work_done([weak = std::weak_ptr(self)] {
    if (auto s = weak.lock()) {
      s->shutdown_work_over_ = true;  // done, or what remains was abandoned at its time box
      asio::post(s->strand_, [s] { s->wake(); });
    }
  });
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
    service_entry& entry = **it;
    if (entry.state != service_state::started)
      continue;
    entry.state = service_state::stopping;
    const auto began = clock::now();
    auto outcome = co_await bounded([&] { return entry.service->stopping(); }, b.drain_end);
    if (!outcome.finished) {
      overrun = true;
      spdlog::warn("{}: service '{}' stopping() still running after {}: abandoned", name,
                   entry.service->name(), millis(clock::now() - began));
    } else if (outcome.error) {
      spdlog::error("{}: service '{}' failed in stopping(): {}", name, entry.service->name(),
                    describe(outcome.error));
    }
  }
  end_phase(shutdown_phase::stopping);

  // Phase 2: drain delay.
  begin_phase(shutdown_phase::drain_delay);
  co_await wait_until([this] { return fast_.load(); }, b.drain_delay_end);
  end_phase(shutdown_phase::drain_delay, fast_ ? "skipped (fast stop)" : "");

  // Phase 3: stop accepting.
  begin_phase(shutdown_phase::stop_accepting);
  stop_accepting_.cancel(cancellation_reason::application_stopping);
  in_flight_.close();
  in_flight_.on_drained([weak = std::weak_ptr(self)] {
    if (auto s = weak.lock())
      asio::post(s->strand_, [s] { s->wake(); });
  });
  end_phase(shutdown_phase::stop_accepting);

  // Phase 4: drain in-flight requests, leases and stopping callbacks.
  begin_phase(shutdown_phase::drain);
  const bool drained = co_await wait_until(
      [this] { return in_flight_.is_drained() && (fast_.load() || shutdown_work_over_.load()); },
      b.drain_end);
  end_phase(shutdown_phase::drain,
            drained
                ? std::string()
                : fmt::format("budget reached with {} request(s) in flight", in_flight_.count()));

  // Phase 5: cancel what remains.
  begin_phase(shutdown_phase::cancel);
  in_flight_cancel_.cancel(cancellation_reason::application_stopping);
  // The lifetime's supervisor concludes the leases and callbacks at drain_end too: let it, so
  // that the report below says what it decided.
  co_await wait_until(
      [this] { return in_flight_.is_drained() && (fast_ || shutdown_work_over_.load()); },
      b.cancel_end);
  if (!in_flight_.is_drained()) {
    // Cancelled but not yet answered: they may still finish within the budget while the
    // services stop; only what is left at the end of the budget is an overrun (below).
    spdlog::warn("{}: {} request(s) still in flight {} after cancellation", name,
                 in_flight_.count(), millis(clock::now() - phase_began));
  }
  for (const auto& item : lifetime_.shutdown_work().items) {
    using status = shutdown_work_item::status_type;
    const auto kind = lifetime::to_string(item.kind);
    if (item.status == status::overrun) {
      overrun = true;
      spdlog::warn("{}: {} '{}' held shutdown for {} past its time box: abandoned", name, kind,
                   item.name, millis(item.held));
    } else if (item.status == status::holding || item.status == status::running ||
               item.status == status::pending) {
      spdlog::warn("{}: {} '{}' held shutdown for {} ({}): abandoned ({})", name, kind, item.name,
                   millis(item.held), lifetime::to_string(item.status),
                   fast_ ? "fast stop" : "budget");
      if (!fast_)
        overrun = true;
    } else if (item.status == status::failed) {
      spdlog::error("{}: {} '{}' threw: {}", name, kind, item.name, item.error);
    } else {
      spdlog::debug("{}: {} '{}' finished after {}", name, kind, item.name, millis(item.held));
    }
  }
  end_phase(shutdown_phase::cancel);

  // Phase 6: stop the services, reverse order.
  begin_phase(shutdown_phase::stop_services);
  // The stop token carries the end of the budget as its deadline but fires a little before it,
  // so that a stop() that returns when its token fires is not abandoned at the end.
  cancellation_source stop_source(b.budget_end);
  scoped_deadline stop_deadline(strand_, stop_source, b.budget_end - stop_token_lead(b));
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
    service_entry& entry = **it;
    if (entry.state != service_state::stopping)
      continue;
    const auto began = clock::now();
    if (entry.background != nullptr && entry.running) {
      const bool returned =
          co_await wait_until([&entry] { return !entry.running.load(); }, b.budget_end);
      if (!returned) {
        overrun = true;
        spdlog::warn("{}: background service '{}' run() still running after {}: abandoned", name,
                     entry.service->name(), millis(clock::now() - b.began));
      }
    }
    auto outcome =
        co_await bounded([&] { return entry.service->stop(stop_source.token()); }, b.budget_end);
    if (!outcome.finished) {
      overrun = true;
      spdlog::warn("{}: service '{}' stop() still running after {}: abandoned", name,
                   entry.service->name(), millis(clock::now() - began));
      continue;
    }
    if (outcome.error) {
      fail(to_int(exit_code::service_failed));
      spdlog::error("{}: service '{}' failed in stop(): {}", name, entry.service->name(),
                    describe(outcome.error));
    }
    entry.state = service_state::stopped;
    spdlog::info("{}: service '{}' stopped", name, entry.service->name());
  }
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
    service_entry& entry = **it;
    if (entry.state != service_state::stopped)
      continue;
    auto outcome = co_await bounded([&] { return entry.service->stopped(); }, b.budget_end);
    if (!outcome.finished) {
      overrun = true;
      spdlog::warn("{}: service '{}' stopped() still running: abandoned", name,
                   entry.service->name());
    } else if (outcome.error) {
      spdlog::error("{}: service '{}' failed in stopped(): {}", name, entry.service->name(),
                    describe(outcome.error));
    }
  }
  if (!in_flight_.is_drained() &&
      !co_await wait_until([this] { return in_flight_.is_drained(); }, b.budget_end)) {
    overrun = true;
    spdlog::warn("{}: {} request(s) still in flight at the end of the budget: abandoned", name,
                 in_flight_.count());
  }
  end_phase(shutdown_phase::stop_services);

  if (overrun)
    fail(to_int(exit_code::software));
  lifetime_.notify_stopped();
  const auto total = clock::now() - b.began;
  spdlog::info(
      "{}: stopped in {} (budget {}{}): exit code {}; phases: stopping {}, drain-delay {}, "
      "stop-accepting {}, drain {}, cancel {}, stop-services {}",
      name, millis(total), format_duration(options_.shutdown_timeout), overrun ? ", overrun" : "",
      exit_code_.load(), millis(took[1]), millis(took[2]), millis(took[3]), millis(took[4]),
      millis(took[5]), millis(took[6]));
  notifier_.status(fmt::format("stopped: exit code {}", exit_code_.load()));
}

}  // namespace lifetime::host
