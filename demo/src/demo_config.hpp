// SPDX-License-Identifier: MIT
// lifetime-demo's configuration: the server's, plus the application's own settings.
//
// The server keeps it as its configuration snapshot (server_config is its base), so a request
// reads the settings it started with through request_context::config_as<demo_config>(), and a
// restart loads them again with the server's.
#pragma once

#include <cstddef>
#include <string>

#include <lifetime/http/server_config.hpp>

namespace lifetime::demo {

struct demo_config : http::server_config {
  demo_config() { server_name = "lifetime-demo"; }

  /// Where uploads are committed (created if missing).
  std::string storage_dir = "lifetime-demo-storage";
  /// Required by POST /admin/restart; empty disables the endpoint (401).
  std::string admin_token;
  /// Running background operations allowed per session (429 past it).
  std::size_t max_operations_per_session = 8;
};

}  // namespace lifetime::demo
