// SPDX-License-Identifier: MIT
#include "generation.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

namespace lifetime::http::detail {
namespace asio = boost::asio;

void generation::leave(cancellation_reason ended) {
  if (retired()) {
    if (ended == cancellation_reason::restart)
      cancelled_.fetch_add(1, std::memory_order_relaxed);
    else if (ended != cancellation_reason::none)
      other_.fetch_add(1, std::memory_order_relaxed);
  }
  if (state_.fetch_sub(1, std::memory_order_acq_rel) == (retired_bit | 1))
    finish_if_drained();
}

std::size_t generation::retire(const asio::any_io_executor& executor,
                               std::chrono::milliseconds grace, drained_handler drained) {
  std::size_t in_flight = 0;
  {
    std::lock_guard lock(mutex_);
    retired_at_ = std::chrono::steady_clock::now();
    drained_ = std::move(drained);
    in_flight = in_flight_at_retire_ = static_cast<std::size_t>(
        state_.fetch_or(retired_bit, std::memory_order_acq_rel) & ~retired_bit);
    if (grace.count() > 0) {
      grace_timer_.emplace(asio::make_strand(executor), grace);
      grace_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec)
          self->on_grace_over();
      });
    }
  }
  if (grace.count() <= 0)
    on_grace_over();
  finish_if_drained();
  return in_flight;
}

void generation::on_grace_over() {
  // Whatever else holds the token (background work, WebSocket sessions) ends with the grace too.
  if (const auto left = in_flight(); left > 0) {
    {
      std::lock_guard lock(mutex_);
      grace_ran_out_ = true;
    }
    spdlog::info("generation {}: restart grace over: cancelling {} request(s) still running",
                 number_, left);
  }
  source_.cancel(cancellation_reason::restart);
}

void generation::stop_grace() {
  std::lock_guard lock(mutex_);
  if (grace_timer_) {
    auto& timer = *grace_timer_;
    asio::post(timer.get_executor(), [self = shared_from_this(), &timer] { timer.cancel(); });
  }
}

void generation::finish_if_drained() {
  drain_report report;
  drained_handler drained;
  {
    std::lock_guard lock(mutex_);
    if (!retired() || reported_ || in_flight() > 0)
      return;
    reported_ = true;
    report.generation = number_;
    report.in_flight_at_restart = in_flight_at_retire_;
    report.cancelled = cancelled_.load(std::memory_order_relaxed);
    report.other = other_.load(std::memory_order_relaxed);
    // The remainder: a request that ended just as the generation retired is counted here.
    const auto ended_otherwise = report.cancelled + report.other;
    report.completed =
        in_flight_at_retire_ > ended_otherwise ? in_flight_at_retire_ - ended_otherwise : 0;
    report.took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - retired_at_);
    report.grace_ran_out = grace_ran_out_;
    drained = std::move(drained_);
    // The grace timer stays: background work of the generation still ends with it.
  }
  if (drained)
    drained(report);
}

}  // namespace lifetime::http::detail
