// SPDX-License-Identifier: MIT
#include <lifetime/http/server.hpp>

#include <tuple>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "connection.hpp"
#include "generation.hpp"
#include "listeners.hpp"

namespace lifetime::http {
namespace asio = boost::asio;
using asio::ip::tcp;

std::shared_ptr<server> server::create(asio::any_io_executor executor,
                                       server_environment environment, router routes,
                                       config_loader load) {
  return std::shared_ptr<server>(
      new server(std::move(executor), std::move(environment), std::move(routes), std::move(load)));
}

server::server(asio::any_io_executor executor, server_environment environment, router routes,
               config_loader load)
    : executor_(std::move(executor)),
      environment_(std::move(environment)),
      load_(std::move(load)),
      router_(std::move(routes)),
      threads_(std::make_unique<detail::thread_balancer>(environment_.connection_threads)),
      config_(load_ ? load_() : std::make_shared<const server_config>()),
      current_(std::make_shared<detail::generation>(1)) {}

server::~server() {
  stop_registration_.reset();
  current_->cancel(cancellation_reason::application_stopping);
  for (const auto& weak : retiring_) {
    if (auto g = weak.lock())
      g->cancel(cancellation_reason::application_stopping);
  }
}

void server::start(std::vector<adopted_listener> adopted) {
  const auto config = this->config();
  std::vector<std::shared_ptr<listener>> opened;
  for (const auto& a : adopted)
    opened.push_back(detail::adopt_listener(asio::make_strand(executor_), a.fd, a.name));
  if (adopted.empty()) {
    for (const auto& text : config->listen)
      opened.push_back(detail::open_listener(asio::make_strand(executor_), text));
  }
  {
    std::lock_guard lock(mutex_);
    listeners_ = opened;
    bound_listen_ = config->listen;
  }
  started_ = true;
  for (auto& l : opened)
    accept_on(l);
  stop_registration_.emplace(environment_.stop_accepting, stop_callback{this});
  publish_generation(1, 0, std::chrono::milliseconds(0));
}

asio::any_io_executor server::connection_executor() {
  if (!threads_->empty())
    return threads_->pick();
  return detail::connection::make_executor(executor_);
}

void server::accept_on(const std::shared_ptr<listener>& l) {
  // Accepts without blocking and waits for readiness only when nothing is queued, so that each
  // connection's thread is chosen when it arrives (the fewest connections then), not when the
  // previous accept completed; a burst is taken in one wake-up.
  boost::system::error_code ignored;
  l->acceptor.non_blocking(true, ignored);
  asio::co_spawn(
      l->acceptor.get_executor(),
      [self = shared_from_this(), l]() -> asio::awaitable<void> {
        asio::steady_timer backoff(l->acceptor.get_executor());
        for (;;) {
          tcp::socket socket(self->connection_executor());
          boost::system::error_code ec;
          l->acceptor.accept(socket, ec);
          if (ec == asio::error::would_block || ec == asio::error::try_again) {
            std::tie(ec) = co_await l->acceptor.async_wait(tcp::acceptor::wait_read,
                                                           asio::as_tuple(asio::use_awaitable));
            if (!ec)
              continue;
          }
          if (ec == asio::error::connection_aborted)
            continue;  // the client gave up while queued
          // A connection accepted before the stop closed the acceptor is answered, not dropped.
          const bool closed = !l->acceptor.is_open();
          if (ec == asio::error::operation_aborted || (ec && closed))
            break;
          if (ec) {
            // EMFILE and friends: wait a little rather than spin.
            spdlog::warn("accept failed: {}", ec.message());
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
          }
          socket.set_option(tcp::no_delay(true), ec);
          auto c = std::make_shared<detail::connection>(std::move(socket), self);
          if (closed || self->environment_.stop_accepting.is_cancellation_requested())
            c->start_last_request(self->stop_admission());
          else
            c->start();
          if (closed)
            break;
        }
      },
      asio::detached);
}

restart_report server::restart() {
  restart_report report;
  std::shared_ptr<const server_config> fresh;
  try {
    fresh = load_ ? load_() : config();
  } catch (const std::exception& e) {
    spdlog::error("restart: configuration not reloaded: {}", e.what());
    report.config_loaded = false;
  }
  std::shared_ptr<detail::generation> old;
  std::vector<std::function<void(const restart_report&)>> waiters;
  {
    std::lock_guard lock(mutex_);
    if (fresh) {
      if (fresh->listen != bound_listen_) {
        report.listen_changed = true;
        report.listen_wanted = fresh->listen;
      }
      config_ = fresh;
    }
    old = std::exchange(current_, std::make_shared<detail::generation>(current_->number() + 1));
    version_.fetch_add(1, std::memory_order_release);
    report.generation = current_->number();
    std::erase_if(retiring_, [](const auto& weak) { return weak.expired(); });
    retiring_.push_back(old);
    waiters.swap(restart_waiters_);
  }
  const auto config = this->config();
  report.previous = old->number();
  report.grace = config->restart_grace;
  report.previous_in_flight = old->retire(executor_, config->restart_grace,
                                          [self = weak_from_this()](const drain_report& r) {
                                            if (auto s = self.lock())
                                              s->on_generation_drained(r);
                                          });
  metrics_.restarts_total.fetch_add(1, std::memory_order_relaxed);
  publish_generation(report.generation, report.previous_in_flight, report.grace);
  for (const auto& observer : restart_observers_)
    observer(*config);
  if (report.listen_changed) {
    spdlog::warn(
        "restart: --listen changed to {}; the listening sockets stay as they are until a "
        "new process binds them (restart the service, or SIGUSR1 for an upgrade)",
        fmt::join(report.listen_wanted, ", "));
  }
  spdlog::info(
      "web host restarted (generation {}); generation {} has {} request(s) in flight, "
      "{} ms of grace",
      report.generation, report.previous, report.previous_in_flight, report.grace.count());
  for (auto& waiter : waiters)
    waiter(report);
  return report;
}

void server::on_generation_drained(const drain_report& report) {
  spdlog::info(
      "generation {} drained in {} ms: {} request(s) in flight at the restart: {} "
      "completed, {} cancelled (restart), {} ended otherwise",
      report.generation, report.took.count(), report.in_flight_at_restart, report.completed,
      report.cancelled, report.other);
  std::vector<std::function<void(const drain_report&)>> observers;
  {
    std::lock_guard lock(mutex_);
    observers = drained_observers_;
  }
  for (const auto& observer : observers)
    observer(report);
}

void server::on_drained(std::function<void(const drain_report&)> observer) {
  std::lock_guard lock(mutex_);
  drained_observers_.push_back(std::move(observer));
}

void server::refresh(snapshot& s) const {
  if (s.version == version_.load(std::memory_order_acquire))
    return;
  std::lock_guard lock(mutex_);
  s.version = version_.load(std::memory_order_relaxed);
  s.config = config_;
  s.generation = current_;
}

detail::generation& server::enter_generation(snapshot& s) const {
  refresh(s);
  // restart() replaces current_ (a new version) before it retires the old generation, so a
  // generation found retired here is never the newest one refresh() can see.
  while (!s.generation->try_enter())
    refresh(s);
  return *s.generation;
}

void server::on_restart(std::function<void(const server_config&)> observer) {
  restart_observers_.push_back(std::move(observer));
}

void server::request_restart(std::function<void(const restart_report&)> done) {
  std::function<void()> handler;
  {
    std::lock_guard lock(mutex_);
    handler = restart_handler_;
    if (done)
      restart_waiters_.push_back(std::move(done));
  }
  if (handler)
    handler();
  else
    asio::post(executor_, [self = shared_from_this()] { self->restart(); });
}

void server::set_restart_handler(std::function<void()> handler) {
  std::lock_guard lock(mutex_);
  restart_handler_ = std::move(handler);
}

void server::stop_accepting() {
  if (accepting_stopped_.load())
    return;
  // Taken before the host closes the gate (stop_accepting fires first); every posted close and
  // the accept-queue sweep below keep it alive, and the last of them drops it.
  std::shared_ptr<const lifetime::gate::holder> admission;
  if (environment_.in_flight != nullptr) {
    if (auto hold = environment_.in_flight->try_enter())
      admission = std::make_shared<const lifetime::gate::holder>(std::move(*hold));
  }
  std::vector<std::shared_ptr<listener>> listeners;
  {
    std::lock_guard lock(mutex_);
    if (accepting_stopped_.exchange(true))
      return;
    stop_admission_ = admission;
    listeners = listeners_;
    // The stop's phases bound the requests of replaced generations from now on.
    for (const auto& weak : retiring_) {
      if (auto g = weak.lock())
        g->stop_grace();
    }
  }
  const auto connections = live_connections();
  for (auto& l : listeners)
    accept_queued(l, admission);
  for (auto& c : connections)
    c->close_if_idle(admission);
  spdlog::info("stopped accepting; closing {} idle or finishing connection(s)", connections.size());
}

void server::accept_queued(const std::shared_ptr<listener>& l,
                           const std::shared_ptr<const lifetime::gate::holder>& admission) {
  asio::post(l->acceptor.get_executor(), [self = shared_from_this(), l, admission] {
    // Connections already in the kernel's accept queue would be reset by the close: take them
    // without blocking and answer their request (Connection: close) first.
    boost::system::error_code ec;
    l->acceptor.non_blocking(true, ec);
    while (!ec && l->acceptor.is_open()) {
      tcp::socket socket(self->connection_executor());
      l->acceptor.accept(socket, ec);
      if (ec == asio::error::connection_aborted) {
        ec.clear();
        continue;
      }
      if (ec)
        break;
      socket.set_option(tcp::no_delay(true), ec);
      ec.clear();
      std::make_shared<detail::connection>(std::move(socket), self)->start_last_request(admission);
    }
    boost::system::error_code ignored;
    l->acceptor.close(ignored);
  });
}

std::shared_ptr<const lifetime::gate::holder> server::stop_admission() const {
  std::lock_guard lock(mutex_);
  return stop_admission_.lock();
}

std::vector<std::shared_ptr<detail::connection>> server::live_connections() const {
  std::vector<std::shared_ptr<detail::connection>> out;
  std::lock_guard lock(mutex_);
  for (auto& [ptr, weak] : connections_) {
    if (auto c = weak.lock())
      out.push_back(std::move(c));
  }
  return out;
}

void server::close_connections() {
  end_observers();
  for (auto& c : live_connections())
    c->close();
}

void server::end_observers() {
  closing_.cancel(cancellation_reason::application_stopping);
}

void server::publish_generation(std::uint64_t number, std::size_t old_in_flight,
                                std::chrono::milliseconds grace) {
  if (environment_.events == nullptr)
    return;
  const auto n = static_cast<std::int64_t>(number);
  environment_.events->publish("generation",
                               {{"number", n},
                                {"previous", n - 1},
                                {"old_in_flight", static_cast<std::int64_t>(old_in_flight)},
                                {"grace_ms", static_cast<std::int64_t>(grace.count())}});
}

void server::request_ended(const ended_request& request) {
  if (environment_.events == nullptr)
    return;
  constexpr std::size_t longest_target = 200;
  environment_.events->publish(
      "request_ended",
      {{"generation", static_cast<std::int64_t>(request.generation)},
       {"status", static_cast<std::int64_t>(request.status)},
       {"reason", std::string(request.reason)},
       {"took_ms", std::chrono::duration<double, std::milli>(request.took).count()},
       {"method", std::string(request.method)},
       {"target", std::string(request.target.substr(0, longest_target))}});
}

std::size_t server::connection_count() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

std::vector<tcp::endpoint> server::local_endpoints() const {
  std::lock_guard lock(mutex_);
  std::vector<tcp::endpoint> out;
  for (const auto& l : listeners_)
    out.push_back(l->local);
  return out;
}

std::vector<int> server::listener_fds() const {
  std::lock_guard lock(mutex_);
  std::vector<int> out;
  for (const auto& l : listeners_)
    out.push_back(l->fd);
  return out;
}

std::shared_ptr<const server_config> server::config() const {
  std::lock_guard lock(mutex_);
  return config_;
}

cancellation_token server::generation() const {
  std::lock_guard lock(mutex_);
  return current_->token();
}

std::uint64_t server::generation_number() const {
  std::lock_guard lock(mutex_);
  return current_->number();
}

bool server::ready() const noexcept {
  return started_ && !environment_.stopping.is_cancellation_requested() &&
         !accepting_stopped_.load();
}

std::string server::lifetime_state() const {
  if (environment_.state)
    return environment_.state();
  if (environment_.stopping.is_cancellation_requested())
    return "stopping";
  return started_ ? "started" : "starting";
}

std::string server::metrics_text() const {
  return metrics_.render(lifetime_state(), ready());
}

void server::add_connection(const std::shared_ptr<detail::connection>& c) {
  std::lock_guard lock(mutex_);
  connections_.emplace(c.get(), c);
  if (accepting_stopped_)
    c->close_if_idle(stop_admission_.lock());
}

void server::remove_connection(const detail::connection* c) noexcept {
  std::lock_guard lock(mutex_);
  connections_.erase(c);
}

}  // namespace lifetime::http
