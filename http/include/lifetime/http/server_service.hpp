// SPDX-License-Identifier: MIT
// lifetime::http::server as a hosted service of lifetime::host::host.
//
// - start(): builds the server on the host's executor with the host's shutdown phases
//   (lifetime().stopping(), stop_accepting_token(), in_flight_token(), in_flight()); adopts
//   systemd listening sockets named like the service ("http" by default; any socket if none is
//   named) or binds `listen`; with NOTIFY_SOCKET, stores the sockets it bound in the fd store
//   under that name so a service restart keeps them. Throws listen_error (a startup failure,
//   exit code 1) if a bind fails.
// - reload() (SIGHUP, and server::request_restart() through host::request_reload()): restarts
//   the server in-process with the configuration the host has just re-read; in-flight requests
//   are cancelled with reason restart; the listening sockets stay open.
// - stop() (phase 6): ends the observers (server::end_observers(); up to 250 ms for them to end
//   their responses), closes the connections that remain and waits for them, until `token` fires.
// - The server publishes on host.events() (server.hpp, @par Lifecycle events).
// - sockets_to_hand_over() (binary upgrade, SIGUSR1): the listening sockets, under the service's
//   name, so the new process's server_service adopts them; /metrics shows
//   lifetime_upgrades_failed_total (the host's count).
//
// Every hook runs on the host's strand (hosted_service.hpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <lifetime/host/host.hpp>
#include <lifetime/host/hosted_service.hpp>
#include <lifetime/http/router.hpp>
#include <lifetime/http/server.hpp>

namespace lifetime::http {

class server_service : public lifetime::host::hosted_service {
 public:
  /// `load_config` reads the current options; called at start and at every reload. `setup`, if
  /// given, runs once the server exists and before it listens (restart observers, metrics
  /// collectors).
  server_service(lifetime::host::host& host, router routes, server::config_loader load_config,
                 std::function<void(server&)> setup = {}, std::string name = "http");

  std::string_view name() const noexcept override { return name_; }
  boost::asio::awaitable<void> start(cancellation_token token) override;
  boost::asio::awaitable<void> reload() override;
  boost::asio::awaitable<void> stop(cancellation_token token) override;
  std::vector<lifetime::host::systemd::listen_fd> sockets_to_hand_over() const override;

  /// The server (null before start()).
  const std::shared_ptr<server>& web() const noexcept { return server_; }

 private:
  lifetime::host::host& host_;
  router routes_;
  server::config_loader load_config_;
  std::function<void(server&)> setup_;
  std::string name_;
  std::shared_ptr<server> server_;
};

}  // namespace lifetime::http
