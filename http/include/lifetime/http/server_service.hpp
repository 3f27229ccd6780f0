// SPDX-License-Identifier: MIT
// lifetime-demo's web host as a hosted service of lifetime::host::host.
//
// - start(): builds the web host on the host's executor with the host's shutdown phases
//   (lifetime().stopping(), stop_accepting_token(), in_flight_token(), in_flight()); adopts
//   systemd listening sockets named "http" (socket activation or the fd store; any socket if none
//   is named) or binds --listen; with NOTIFY_SOCKET, stores the sockets it bound in the fd store
//   as "http" so a service restart keeps them. Throws (startup failure) if a bind fails.
// - reload() (SIGHUP, and POST /admin/restart through host::request_reload()): restarts the web
//   host in-process with the configuration the host has just re-read; in-flight requests are
//   cancelled with reason restart; the listening sockets stay open.
// - stop() (phase 6): closes the connections that remain and waits for them, until `token` fires.
//
// Every hook runs on the host's strand (hosted_service.hpp).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include <lifetime/host/host.hpp>
#include <lifetime/host/hosted_service.hpp>

#include "http/server_config.hpp"
#include "http/web_host.hpp"

namespace lifetime::demo {

class server_service : public lifetime::host::hosted_service {
 public:
  /// `load_config` reads the current options; called at start and at every reload.
  server_service(lifetime::host::host& host, std::function<server_config()> load_config);

  std::string_view name() const noexcept override { return "http"; }
  boost::asio::awaitable<void> start(cancellation_token token) override;
  boost::asio::awaitable<void> reload() override;
  boost::asio::awaitable<void> stop(cancellation_token token) override;

  /// The web host (null before start()).
  const std::shared_ptr<web_host>& web() const noexcept { return web_; }

 private:
  lifetime::host::host& host_;
  std::function<server_config()> load_config_;
  std::shared_ptr<web_host> web_;
};

}  // namespace lifetime::demo
