// SPDX-License-Identifier: MIT
// lifetime::http::server: an HTTP/1.1 server on Boost.Beast whose every request carries a token.
//
// start() opens (or adopts) the listening sockets and accepts on each, one strand per listener and
// per connection. Every request runs with a token linked to its connection (disconnect, seen while
// the handler runs), to environment().cancel_in_flight (reason application_stopping), to the
// current *generation* (reason restart) and to its deadline; what each reason answers is in
// request_context.hpp. The routes and filters are the application's (router.hpp).
//
// @par Restart
// restart() loads the configuration again and begins a new *generation*: every request that
// starts from then on runs in it, under the new configuration. The requests of the generation it
// replaced go on under server_config::restart_grace; those still running when the grace runs out
// are cancelled with reason `restart` (503 + Retry-After + Connection: close). A grace of zero
// cancels them at once. When the last of them has ended the server logs how they ended and calls
// the on_drained() observers. The listening sockets are never closed, so no connection is
// refused during a restart (a changed `listen` needs a new process: restart_report says so and
// the log names the addresses). Idle keep-alive connections stay open and serve their next
// request in the new generation. A stop ends every grace: the stop's phases bound those requests.
//
// @par Stop
// Until environment().stop_accepting fires, keep-alive goes on as usual (also through the drain
// delay, while readiness answers 503: a proxy keeps sending on its pooled connections, and closing
// them would only make it open new ones just before the listener goes away). When it fires (or on
// stop_accepting()), the listeners close and WebSocket sessions are told to go away (1001); every
// response from then on carries Connection: close. An idle keep-alive connection is not closed
// under a request that may be crossing: it answers one more request, or closes once
// config().closing_linger has passed since the later of its last response and the stop, holding
// a copy of the stop's hold on the in-flight gate meanwhile (so the drain waits for it). A
// connection inside a request finishes it and then closes. Requests that had already arrived by
// then (in a connection's socket, or on a connection still in the kernel's accept queue) are
// served, not answered 503: the stop takes a hold on environment().in_flight before the host closes
// it, hands a copy to each such connection, and drops it once every connection and the accept queue
// have been looked at. close_connections() closes every connection now; connection_count() tells
// when all are gone.
//
// @par Observers
// Requests on an observer route (router::add_observer) watch the process: they are not counted in
// flight and survive restarts (router.hpp). closing() fires when the server is about to close
// every connection (end_observers(), called by server_service::stop() in phase 6, or
// close_connections()): an observer then sends what it still has and ends its response.
//
// @par Lifecycle events
// With environment().events set, the server publishes on that feed:
//   generation     number (1 at start(), then one more at each restart), old_in_flight (the
//                  requests in flight when the old generation was replaced), previous, grace_ms
//                  (how long they may still run)
//   request_ended  for a request of a replaced generation, when it ends: generation, status
//                  (499: the client left before an answer), reason (completed | restart |
//                  client_disconnected | application_stopping | deadline_exceeded | error),
//                  took_ms, method, target
// restart() publishes the new generation once the old one is retired (old_in_flight: its requests
// then). Connections call request_ended() for each request of a replaced generation as it ends
// (completed within the grace, cancelled with reason restart, or ended otherwise).
//
// @par Thread safety
// Every public member may be called from any thread once start() has returned (start() itself,
// on_restart() and stats().add_collector() before or from one thread). Configuration and
// generation are swapped under a mutex; each request keeps the snapshot it started with.
// Restart observers and request_restart()'s callbacks run on the thread that calls restart();
// drained observers on the thread where the generation's last request ended (or its grace timer).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>
#include <lifetime/http/listen_error.hpp>
#include <lifetime/http/metrics.hpp>
#include <lifetime/http/restart_report.hpp>
#include <lifetime/http/router.hpp>
#include <lifetime/http/server_config.hpp>
#include <lifetime/http/server_environment.hpp>

namespace lifetime::http {

namespace detail {
class connection;
class generation;
struct listener;
class thread_balancer;
}  // namespace detail

/// A listening socket handed over by systemd (socket activation or the fd store).
struct adopted_listener {
  int fd = -1;
  std::string name;
};

class server : public std::enable_shared_from_this<server> {
 public:
  /// Loads the configuration (an application may return its own type derived from
  /// server_config). Called at create() and at every restart; throwing keeps the previous one.
  using config_loader = std::function<std::shared_ptr<const server_config>()>;

  static std::shared_ptr<server> create(boost::asio::any_io_executor executor,
                                        server_environment environment, router routes,
                                        config_loader load);
  ~server();

  /// Adopts `adopted` if not empty, else binds config().listen; starts accepting.
  /// @throws listen_error (address in use, ...) or std::invalid_argument (bad listen value).
  void start(std::vector<adopted_listener> adopted = {});

  /// See "Restart" above. Returns once the new generation serves (the old one may still be
  /// draining). A configuration that fails to load keeps the previous one (report.config_loaded).
  restart_report restart();
  /// Runs `observer` after every restart, with the new configuration (before start()).
  void on_restart(std::function<void(const server_config&)> observer);
  /// Runs `observer` each time a replaced generation's last request has ended.
  void on_drained(std::function<void(const drain_report&)> observer);

  /// Asks whoever owns the process to restart the server (an admin endpoint); `done`, if given,
  /// runs at the end of the next restart() with its report. Defaults to restart();
  /// server_service routes it through the host's reload so options are read again.
  void request_restart(std::function<void(const restart_report&)> done = {});
  void set_restart_handler(std::function<void()> handler);

  /// How one request of a replaced generation ended.
  struct ended_request {
    std::uint64_t generation = 0;  ///< the generation it began in
    unsigned status = 0;           ///< what it was answered; 499: nothing, the client left
    std::string_view reason;       ///< "completed", a cancellation reason, or "error"
    std::chrono::steady_clock::duration took{};
    std::string_view method;
    std::string_view target;
  };
  /// Publishes a "request_ended" event (see @par Lifecycle events). Any thread; never waits.
  void request_ended(const ended_request& request);

  /// Fires (application_stopping) when every connection is about to close (see @par Observers).
  cancellation_token closing() const noexcept { return closing_.token(); }
  /// Fires closing(). Idempotent.
  void end_observers();
  /// Observer requests now running.
  std::size_t observer_count() const noexcept { return observers_.load(); }
  /// For connections: an observer request begins / ends.
  void observer_began() noexcept { observers_.fetch_add(1); }
  void observer_ended() noexcept { observers_.fetch_sub(1); }

  /// Closes the listeners; idle connections close after one more request or the linger (see
  /// "Stop"). Idempotent.
  void stop_accepting();
  /// Fires closing(), then closes every connection now (in-flight requests see a disconnect).
  /// Idempotent.
  void close_connections();
  /// Open connections and WebSocket sessions.
  std::size_t connection_count() const;

  /// Addresses actually bound (port 0 resolved), in listener order.
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;
  /// The listening sockets' descriptors (for the systemd fd store).
  std::vector<int> listener_fds() const;

  std::shared_ptr<const server_config> config() const;
  /// The current generation's token: fires with reason restart when, after the next restart,
  /// its grace runs out.
  cancellation_token generation() const;
  /// 1 at start, one more at each restart.
  std::uint64_t generation_number() const;
  const server_environment& environment() const noexcept { return environment_; }
  boost::asio::any_io_executor get_executor() const noexcept { return executor_; }
  const router& routes() const noexcept { return router_; }
  http::metrics& stats() noexcept { return metrics_; }

  /// True while started and not stopping (a readiness probe).
  bool ready() const noexcept;
  std::string lifetime_state() const;
  /// The server's metrics, the application's collectors and the lifetime state (Prometheus text).
  std::string metrics_text() const;

  // For connections and WebSocket sessions.
  void add_connection(const std::shared_ptr<detail::connection>& c);
  void remove_connection(const detail::connection* c) noexcept;
  /// How many connections each of environment().connection_threads serves.
  detail::thread_balancer& connection_threads() noexcept { return *threads_; }
  /// What a request starts with: the configuration and the generation current when it was last
  /// brought up to date. A connection keeps one and refreshes it before each request, so the
  /// server's lock is taken only after a restart has changed them.
  struct snapshot {
    std::uint64_t version = 0;  // of the server's configuration and generation; 0: never taken
    std::shared_ptr<const server_config> config;
    std::shared_ptr<detail::generation> generation;
  };
  /// Brings `s` up to date: one atomic load when no restart happened since. Any thread.
  void refresh(snapshot& s) const;
  /// Refreshes `s` and enters its generation (a request leaves it with generation::leave()); a
  /// generation retired meanwhile is never entered. Any thread.
  detail::generation& enter_generation(snapshot& s) const;
  /// The stop's hold on the in-flight gate while stop-accepting is still looking at connections
  /// (see @par Stop), or null.
  std::shared_ptr<const lifetime::gate::holder> stop_admission() const;

 private:
  using listener = detail::listener;
  struct stop_callback {
    server* owner;
    void operator()() const { owner->stop_accepting(); }
  };

  server(boost::asio::any_io_executor executor, server_environment environment, router routes,
         config_loader load);
  void publish_generation(std::uint64_t number, std::size_t old_in_flight,
                          std::chrono::milliseconds grace);
  void accept_on(const std::shared_ptr<listener>& l);
  /// A new connection's executor: the least busy of environment_.connection_threads, else a
  /// strand on executor_.
  boost::asio::any_io_executor connection_executor();
  void accept_queued(const std::shared_ptr<listener>& l,
                     const std::shared_ptr<const lifetime::gate::holder>& admission);
  std::vector<std::shared_ptr<detail::connection>> live_connections() const;
  void on_generation_drained(const drain_report& report);

  boost::asio::any_io_executor executor_;
  server_environment environment_;
  config_loader load_;
  router router_;
  http::metrics metrics_;
  std::unique_ptr<detail::thread_balancer> threads_;
  std::vector<std::function<void(const server_config&)>> restart_observers_;

  mutable std::mutex mutex_;
  // One more each time config_ or current_ changes (under mutex_); read without it by refresh().
  std::atomic<std::uint64_t> version_{1};
  std::shared_ptr<const server_config> config_;
  std::shared_ptr<detail::generation> current_;
  std::vector<std::weak_ptr<detail::generation>> retiring_;  // replaced, maybe still draining
  std::function<void()> restart_handler_;
  std::vector<std::function<void(const restart_report&)>> restart_waiters_;
  std::vector<std::function<void(const drain_report&)>> drained_observers_;
  std::vector<std::shared_ptr<listener>> listeners_;
  std::vector<std::string> bound_listen_;  // the `listen` the sockets were opened for
  std::unordered_map<const detail::connection*, std::weak_ptr<detail::connection>> connections_;
  std::atomic<bool> started_{false};
  std::atomic<bool> accepting_stopped_{false};
  cancellation_source closing_;
  std::atomic<std::size_t> observers_{0};
  std::optional<cancellation_registration<stop_callback>> stop_registration_;
  // The stop's hold on the in-flight gate, alive while the stop looks at the connections and the
  // accept queue (see @par Stop); connections accepted meanwhile get a copy.
  std::weak_ptr<const lifetime::gate::holder> stop_admission_;
};

}  // namespace lifetime::http
