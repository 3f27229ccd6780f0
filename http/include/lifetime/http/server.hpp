// SPDX-License-Identifier: MIT
// The web host: listening sockets, connections, and the state every request shares.
//
// start() opens (or adopts) the listening sockets and accepts on each, one strand per listener and
// per connection. Every request runs with a token linked to its connection, to
// environment().cancel_in_flight, to the current *generation* and to its deadline
// (connection.hpp).
//
// @par Restart
// restart() begins a new generation: the old generation's token fires with reason `restart`
// (in-flight requests answer 503 + Retry-After + Connection: close, background operations stop),
// the configuration is loaded again, upload leftovers are cleaned, and the next request runs under
// the new configuration. The listening sockets are never closed, so no connection is refused
// during a restart (a changed --listen applies at the next process start, and says so in the
// log). Idle keep-alive connections stay open and serve their next request in the new generation.
//
// @par Stop
// When environment().stop_accepting fires (or on stop_accepting()), the listeners close and idle
// keep-alive connections close; a connection inside a request finishes it and then closes.
// Requests that had already arrived by then (in a connection's socket, or on a connection still in
// the kernel's accept queue) are served, not answered 503: the stop takes a hold on
// environment().in_flight before the host closes it, hands a copy to each such connection, and
// drops it once every connection and the accept queue have been looked at.
// close_connections() closes every connection now; connection_count() tells when all are gone.
//
// @par Thread safety
// Every public member may be called from any thread once start() has returned (start() itself
// from one thread). Configuration and generation are swapped under a mutex; each request keeps
// the snapshot it started with.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>

#include "csrf.hpp"
#include "http/router.hpp"
#include "http/server_config.hpp"
#include "http/server_environment.hpp"
#include "metrics.hpp"
#include "operations.hpp"

namespace lifetime::demo {

class connection;

/// A listening socket handed over by systemd (socket activation or the fd store).
struct adopted_listener {
  int fd = -1;
  std::string name;
};

class web_host : public std::enable_shared_from_this<web_host> {
 public:
  using config_loader = std::function<server_config()>;

  /// `load` is called now and at every restart; throwing keeps the previous configuration.
  static std::shared_ptr<web_host> create(boost::asio::any_io_executor executor,
                                          server_environment environment, config_loader load);
  ~web_host();

  /// Adopts `adopted` if not empty, else binds config().listen; cleans upload leftovers; starts
  /// accepting. @throws std::system_error (address in use, ...) or std::invalid_argument (bad
  /// --listen value).
  void start(std::vector<adopted_listener> adopted = {});

  /// See "Restart" above. Returns once the old generation is cancelled and the new configuration
  /// is in place. @return false if loading the configuration threw (old one kept, still restarted).
  bool restart();

  /// Asks whoever owns the process to restart the web host (POST /admin/restart). Defaults to
  /// restart(); the host service routes it through the host's reload so the configuration file is
  /// read again.
  void request_restart();
  void set_restart_handler(std::function<void()> handler);

  /// Closes the listeners and idle connections (see "Stop"). Idempotent.
  void stop_accepting();
  /// Closes every connection now (in-flight requests see a disconnect). Idempotent.
  void close_connections();
  std::size_t connection_count() const;

  /// Addresses actually bound (port 0 resolved), in listener order.
  std::vector<boost::asio::ip::tcp::endpoint> local_endpoints() const;
  /// The listening sockets' descriptors (for the systemd fd store).
  std::vector<int> listener_fds() const;

  std::shared_ptr<const server_config> config() const;
  cancellation_token generation() const;
  const server_environment& environment() const noexcept { return environment_; }
  boost::asio::any_io_executor get_executor() const noexcept { return executor_; }
  const router& routes() const noexcept { return router_; }
  class metrics& stats() noexcept {
    return metrics_;
  }
  session_store& sessions() noexcept { return sessions_; }
  operation_registry& operations() noexcept { return operations_; }

  /// True while started and not stopping (GET /readyz).
  bool ready() const noexcept;
  std::string lifetime_state() const;

  // For connections.
  void add_connection(const std::shared_ptr<connection>& c);
  /// The stop's hold on the in-flight gate while stop-accepting is still looking at connections
  /// (see @par Stop), or null.
  std::shared_ptr<const lifetime::gate::holder> stop_admission() const;
  void remove_connection(const connection* c) noexcept;

 private:
  struct listener;
  struct stop_callback {
    web_host* host;
    void operator()() const { host->stop_accepting(); }
  };

  web_host(boost::asio::any_io_executor executor, server_environment environment,
           config_loader load);
  void accept_on(const std::shared_ptr<listener>& l);

  boost::asio::any_io_executor executor_;
  server_environment environment_;
  config_loader load_;
  router router_;
  class metrics metrics_;
  session_store sessions_;
  operation_registry operations_{metrics_};

  mutable std::mutex mutex_;
  std::shared_ptr<const server_config> config_;
  cancellation_source generation_;
  std::function<void()> restart_handler_;
  std::vector<std::shared_ptr<listener>> listeners_;
  std::unordered_map<const connection*, std::weak_ptr<connection>> connections_;
  std::atomic<bool> started_{false};
  std::atomic<bool> accepting_stopped_{false};
  std::optional<cancellation_registration<stop_callback>> stop_registration_;
  // The stop's hold on the in-flight gate, alive while the stop looks at the connections and the
  // accept queue (see @par Stop); connections accepted meanwhile get a copy.
  std::weak_ptr<const lifetime::gate::holder> stop_admission_;
};

/// Parses "host:port", "[v6]:port" or ":port". @throws std::invalid_argument naming `text`.
boost::asio::ip::tcp::endpoint parse_listen_address(const std::string& text);

}  // namespace lifetime::demo
