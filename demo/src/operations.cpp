// SPDX-License-Identifier: MIT
#include "operations.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <lifetime/asio.hpp>

#include "demo_metrics.hpp"
#include "random_id.hpp"

namespace lifetime::demo {
namespace asio = boost::asio;

operation::operation(std::string id, std::string session, unsigned steps,
                     cancellation_source source)
    : id_(std::move(id)), session_(std::move(session)), total_(steps), source_(std::move(source)) {}

bool operation::cancel() noexcept {
  if (is_finished())
    return false;
  source_.cancel(cancellation_reason::requested);
  return true;
}

void operation::step_done() noexcept {
  done_.fetch_add(1, std::memory_order_acq_rel);
  version_.fetch_add(1, std::memory_order_acq_rel);
}

void operation::finish(state_type s) noexcept {
  finished_after_ms_.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - started_)
                               .count(),
                           std::memory_order_relaxed);
  state_.store(s, std::memory_order_release);
  version_.fetch_add(1, std::memory_order_acq_rel);
}

boost::json::value operation::to_json() const {
  boost::json::object o;
  o["id"] = id_;
  const auto s = state();
  o["state"] = s == state_type::running     ? "running"
               : s == state_type::completed ? "completed"
                                            : "cancelled";
  const unsigned done = done_steps();
  o["steps"] = done;
  o["totalSteps"] = total_;
  o["progress"] = total_ == 0 ? 1.0 : static_cast<double>(done) / total_;
  if (s == state_type::cancelled)
    o["reason"] = std::string(to_string(reason()));
  auto elapsed = finished_after_ms_.load(std::memory_order_relaxed);
  if (elapsed < 0) {
    elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started_)
                  .count();
  }
  o["elapsedMs"] = elapsed;
  return o;
}

namespace {

asio::awaitable<void> run_operation(std::shared_ptr<operation> op, cancellation_token token,
                                    demo_metrics& stats) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  bool completed = true;
  for (unsigned i = 0; i < op->total_steps(); ++i) {
    timer.expires_after(operation_registry::step);
    auto [ec] =
        co_await timer.async_wait(bind_cancellation(token, asio::as_tuple(asio::use_awaitable)));
    if (ec || token.is_cancellation_requested()) {
      completed = false;
      break;
    }
    op->step_done();
  }
  stats.operations_running.fetch_sub(1, std::memory_order_relaxed);
  op->finish(completed ? operation::state_type::completed : operation::state_type::cancelled);
}

}  // namespace

std::shared_ptr<operation> operation_registry::try_start(
    const asio::any_io_executor& executor, const std::string& session,
    std::chrono::milliseconds duration, std::span<const cancellation_token> parents,
    std::size_t max_running) {
  const auto steps = static_cast<unsigned>((duration + step - std::chrono::milliseconds(1)) / step);
  auto source = cancellation_source::linked(parents);
  auto token = source.token();
  std::shared_ptr<operation> op;
  {
    std::lock_guard lock(mutex_);
    std::size_t mine = 0;
    for (const auto& [id, o] : operations_) {
      if (o->session() == session && !o->is_finished())
        ++mine;
    }
    if (mine >= max_running)
      return nullptr;
    forget_finished_locked();
    op = std::make_shared<operation>(random_id(), session, steps, std::move(source));
    operations_.emplace(op->id(), op);
    order_.push_back(op->id());
  }
  metrics_.operations_running.fetch_add(1, std::memory_order_relaxed);
  metrics_.operations_started_total.fetch_add(1, std::memory_order_relaxed);
  asio::co_spawn(asio::make_strand(executor), run_operation(op, std::move(token), metrics_),
                 asio::detached);
  return op;
}

std::shared_ptr<operation> operation_registry::find(const std::string& id,
                                                    const std::string& session) const {
  std::lock_guard lock(mutex_);
  auto it = operations_.find(id);
  if (it == operations_.end() || it->second->session() != session)
    return nullptr;
  return it->second;
}

std::size_t operation_registry::running(const std::string& session) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, o] : operations_) {
    if (o->session() == session && !o->is_finished())
      ++n;
  }
  return n;
}

void operation_registry::forget_finished_locked() {
  // Oldest finished operations go first, down to half the limit; running ones are kept.
  if (order_.size() < max_kept_)
    return;
  std::vector<std::string> kept;
  for (auto& id : order_) {
    auto it = operations_.find(id);
    if (it == operations_.end())
      continue;
    if (it->second->is_finished() && operations_.size() > max_kept_ / 2) {
      operations_.erase(it);
    } else {
      kept.push_back(std::move(id));
    }
  }
  order_ = std::move(kept);
}

}  // namespace lifetime::demo
