// SPDX-License-Identifier: MIT
// lifetime-demo as an application of lifetime::http: its state (browser sessions, background
// operations, its own metrics), its routes and what it does when the server starts or restarts.
//
// - routes(): every endpoint (handlers/routes.cpp), with the antiforgery filter on the
//   state-changing ones.
// - setup(server): adds the demo's metrics next to the server's and, at every restart, cleans
//   upload leftovers from the (new) storage folder. Call before the server starts.
// - prepare(config): creates the storage folder and removes leftovers (before listening).
// - load(options): a configuration loader for the server.
//
// @par Thread safety
// The members may be used from any thread once built (sessions and operations lock inside).
#pragma once

#include <memory>

#include <lifetime/http/router.hpp>
#include <lifetime/http/server.hpp>

#include "csrf.hpp"
#include "demo_config.hpp"
#include "demo_metrics.hpp"
#include "operations.hpp"

namespace lifetime::demo {

class application {
 public:
  application() = default;
  application(const application&) = delete;
  application& operator=(const application&) = delete;

  http::router routes();
  void setup(http::server& server);
  /// Creates the storage folder and removes unfinished uploads. @throws std::filesystem_error.
  static void prepare(const demo_config& config);

  session_store& sessions() noexcept { return sessions_; }
  operation_registry& operations() noexcept { return operations_; }
  demo_metrics& stats() noexcept { return metrics_; }

 private:
  demo_metrics metrics_;
  session_store sessions_;
  operation_registry operations_{metrics_};
};

/// The antiforgery filter: refuses (403) a request without the session cookie and the matching
/// X-CSRF-TOKEN header.
http::filter_function antiforgery(session_store& sessions);

}  // namespace lifetime::demo
