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
  const shutdown_budget b = budget_;  // set by on_stop_begun() before the sequence woke
  const std::string& name = options_.name;
  std::array<clock::duration, 7> took{};
  auto phase_began = clock::now();
  const auto begin_phase = [&](shutdown_phase phase) {
    phase_ = phase;
    phase_began = clock::now();
    spdlog::debug("{}: phase {}/6 {} begins", name, phase_number(phase), to_string(phase));
    publish_phase(phase, "begin");
    notifier_.status(stop_status());
  };
  const auto end_phase = [&](shutdown_phase phase, const std::string& detail = {}) {
    const auto d = clock::now() - phase_began;
    took[static_cast<std::size_t>(phase)] = d;
    spdlog::info("{}: phase {}/6 {} took {}{}{}", name, phase_number(phase), to_string(phase),
                 millis(d), detail.empty() ? "" : ": ", detail);
    lifecycle_events::fields extra{{"took_ms", lifetime::host::detail::took_ms(d)}};
    if (!detail.empty())
      extra.emplace_back("detail", detail);
    publish_phase(phase, "end", std::move(extra));
  };

  spdlog::info(
      "{}: stopping ({}): budget {}, drain delay {}, reserve {} ({} in flight at {}us)", name,
      lifetime::to_string(lifetime_.stop_reason()), format_duration(options_.shutdown_timeout),
      format_duration(
          std::chrono::duration_cast<std::chrono::milliseconds>(b.drain_delay_end - b.began)),
      millis(b.budget_end - b.drain_end), in_flight_.count(), cost_per_request_.count());
  // Phase 1: stopping.
  notifier_.stopping();
  begin_phase(shutdown_phase::stopping);
  asio::co_spawn(strand_, extend_timeout_loop(), asio::detached);
  asio::co_spawn(strand_, in_flight_loop(), asio::detached);
  driver_.begin_shutdown_work(b.drain_end);
  // The lifetime's supervisor thread calls this: through the waker, never holding the host.
  driver_.on_shutdown_work_done([waker = waker_] { waker->shutdown_work_over(); });
  hook_pass stopping{"stopping", true, service_state::started, b.drain_end};
  stopping.call = [](service_entry& entry) {
    entry.state = service_state::stopping;
    return entry.service->stopping();
  };
  stopping.then = [](service_entry&, hook_end, const std::exception_ptr&) { return true; };
  co_await for_each_service(std::move(stopping));
  end_phase(shutdown_phase::stopping);

  // Phase 2: drain delay. A host whose start failed was never ready: nothing to drain.
  begin_phase(shutdown_phase::drain_delay);
  if (!start_failed_)
    co_await wait_until([this] { return fast_.load(); }, b.drain_delay_end);
  end_phase(shutdown_phase::drain_delay, start_failed_ ? "skipped (the start failed)"
                                         : fast_       ? "skipped (fast stop)"
                                                       : "");

  // Phase 3: stop accepting.
  begin_phase(shutdown_phase::stop_accepting);
  stop_accepting_.cancel(cancellation_reason::application_stopping);
  in_flight_.close();
  in_flight_.on_drained([waker = waker_] { waker->wake(); });
  end_phase(shutdown_phase::stop_accepting);

  // Phase 4: drain in-flight requests, leases and stopping callbacks.
  begin_phase(shutdown_phase::drain);
  const auto drained_and_done = [this] {
    return in_flight_.is_drained() && (fast_.load() || shutdown_work_over_.load());
  };
  const bool drained = co_await wait_until(drained_and_done, b.drain_end);
  end_phase(shutdown_phase::drain,
            drained
                ? std::string()
                : fmt::format("budget reached with {} request(s) in flight", in_flight_.count()));

  // Phase 5: cancel what remains.
  begin_phase(shutdown_phase::cancel);
  const std::size_t to_cancel = in_flight_.count();
  in_flight_cancel_.cancel(cancellation_reason::application_stopping);
  // The lifetime's supervisor concludes the leases and callbacks at drain_end too: let it, so
  // that the report below says what it decided.
  co_await wait_until(drained_and_done, b.cancel_end);
  if (!in_flight_.is_drained()) {
    // Cancelled but not yet answered: they may still finish within the budget while the
    // services stop; only what is left at the end of the budget is an overrun (below).
    spdlog::warn("{}: {} of {} cancelled request(s) still in flight {} after cancellation", name,
                 in_flight_.count(), to_cancel, millis(clock::now() - phase_began));
  }
  report_shutdown_work();
  end_phase(shutdown_phase::cancel);

  // Phase 6: stop the services, reverse order.
  begin_phase(shutdown_phase::stop_services);
  co_await stop_services(b);
  if (!in_flight_.is_drained() &&
      !co_await wait_until([this] { return in_flight_.is_drained(); }, b.budget_end)) {
    overrun_ = true;
    spdlog::warn("{}: {} request(s) still in flight at the end of the budget: abandoned", name,
                 in_flight_.count());
  }
  end_phase(shutdown_phase::stop_services);
  driver_.notify_stopped();  // the very end: stopped() fires
  co_await await_stopped_callbacks(b);

  if (overrun_)
    fail(to_int(exit_code::software));
  const auto total = clock::now() - b.began;
  spdlog::info(
      "{}: stopped in {} (budget {}{}): exit code {}; phases: stopping {}, drain-delay {}, "
      "stop-accepting {}, drain {}, cancel {}, stop-services {}",
      name, millis(total), format_duration(options_.shutdown_timeout), overrun_ ? ", overrun" : "",
      exit_code_.load(), millis(took[1]), millis(took[2]), millis(took[3]), millis(took[4]),
      millis(took[5]), millis(took[6]));
  notifier_.status(fmt::format("stopped: exit code {}", exit_code_.load()));
  publish_process("stopped", {{"exit_code", static_cast<std::int64_t>(exit_code_.load())},
                              {"took_ms", detail::took_ms(total)}});
}

void host::impl::report_shutdown_work() {
  const std::string& name = options_.name;
  for (const auto& item : lifetime_.shutdown_work().items) {
    using status = shutdown_work_item::status_type;
    const auto kind = lifetime::to_string(item.kind);
    if (item.status == status::overrun) {
      overrun_ = true;
      spdlog::warn("{}: {} '{}' held shutdown for {} past its time box: abandoned", name, kind,
                   item.name, millis(item.held));
    } else if (item.status == status::holding || item.status == status::running ||
               item.status == status::pending) {
      spdlog::warn("{}: {} '{}' held shutdown for {} ({}): abandoned ({})", name, kind, item.name,
                   millis(item.held), lifetime::to_string(item.status),
                   fast_ ? "fast stop" : "budget");
      if (!fast_)
        overrun_ = true;
    } else if (item.status == status::failed) {
      spdlog::error("{}: {} '{}' threw: {}", name, kind, item.name, item.error);
    } else {
      spdlog::debug("{}: {} '{}' finished after {}", name, kind, item.name, millis(item.held));
    }
  }
}

asio::awaitable<void> host::impl::stop_services(const shutdown_budget& b) {
  // The stop token carries the end of the budget as its deadline but fires a little before it,
  // so that a stop() that returns when its token fires is not abandoned at the end.
  cancellation_source stop_source(b.budget_end);
  scoped_deadline stop_deadline(strand_, stop_source, b.budget_end - stop_token_lead(b));
  co_await await_background_runs(b);
  hook_pass stop{"stop", true, service_state::stopping, b.budget_end};
  stop.call = [token = stop_source.token()](service_entry& entry) {
    return entry.service->stop(token);
  };
  stop.then = [this](service_entry& entry, hook_end end, const std::exception_ptr&) {
    if (end == hook_end::abandoned)
      return true;
    if (end == hook_end::failed)
      fail(to_int(exit_code::service_failed));
    entry.state = service_state::stopped;
    spdlog::info("{}: service '{}' stopped", options_.name, entry.service->name());
    return true;
  };
  co_await for_each_service(std::move(stop));

  hook_pass stopped{"stopped", true, service_state::stopped, b.budget_end};
  stopped.call = [](service_entry& entry) { return entry.service->stopped(); };
  stopped.then = [](service_entry&, hook_end, const std::exception_ptr&) { return true; };
  co_await for_each_service(std::move(stopped));
}

asio::awaitable<void> host::impl::await_background_runs(const shutdown_budget& b) {
  // Here, in the sequence itself, not inside a bounded hook: only the sequence waits on wake_.
  for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
    service_entry& entry = **it;
    if (entry.state != service_state::stopping || entry.background == nullptr || !entry.running)
      continue;
    entry.hook_began = clock::now().time_since_epoch().count();
    entry.hook = "run";  // the state dump names a run() that does not return
    const bool returned =
        co_await wait_until([&entry] { return !entry.running.load(); }, b.budget_end);
    entry.hook = nullptr;
    if (!returned) {
      overrun_ = true;
      spdlog::warn("{}: background service '{}' run() still running after {}: abandoned",
                   options_.name, entry.service->name(), millis(clock::now() - b.began));
    }
  }
}

asio::awaitable<void> host::impl::await_stopped_callbacks(const shutdown_budget& b) {
  // The callbacks on stopped() run on a library thread; wait for them within the budget without
  // blocking the strand.
  driver_.on_stopped_callbacks_done([waker = waker_] { waker->wake(); });
  bool returned = driver_.wait_for_stopped_callbacks(clock::now());
  if (!returned)
    returned = co_await wait_until(
        [this] { return driver_.wait_for_stopped_callbacks(clock::now()); }, b.budget_end);
  if (returned)
    co_return;
  overrun_ = true;
  for (const auto& item : lifetime_.shutdown_work().items) {
    if (item.kind == shutdown_work_item::kind_type::token_callbacks &&
        item.name.starts_with("stopped()") &&
        item.status == shutdown_work_item::status_type::running) {
      spdlog::warn("{}: token callbacks '{}' still running at the end of the budget: abandoned",
                   options_.name, item.name);
    }
  }
}

}  // namespace lifetime::host
