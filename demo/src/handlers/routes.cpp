// SPDX-License-Identifier: MIT
// Every endpoint of lifetime-demo, as one table.
#include "application.hpp"
#include "handlers/handlers.hpp"

namespace lifetime::demo {

http::router application::routes() {
  using boost::beast::http::verb;
  using http::body_mode;
  using http::request_context;
  // Binds a handler to this application.
  const auto with_app = [this](handlers::result (*handler)(application&, request_context&)) {
    return [this, handler](request_context& ctx) { return handler(*this, ctx); };
  };
  const std::vector<http::filter_function> csrf{antiforgery(sessions_)};
  http::router r;
  r.add(verb::get, "/", handlers::page)
      .add(verb::get, "/favicon.ico", handlers::favicon)
      .add(verb::get, "/hello", handlers::hello)
      .add(verb::get, "/healthz", handlers::healthz)
      .add(verb::get, "/readyz", handlers::readyz)
      .add(verb::get, "/metrics", handlers::metrics)
      .add(verb::get, "/api/work", with_app(handlers::work))
      .add(verb::get, "/api/stream", with_app(handlers::stream))
      .add(verb::get, "/csrf-token", with_app(handlers::csrf_token))
      .add(verb::post, "/api/operations", with_app(handlers::start_operation), body_mode::buffered,
           csrf)
      .add(verb::get, "/api/operations/{}", with_app(handlers::get_operation))
      .add(verb::get, "/api/operations/{}/events", with_app(handlers::operation_events))
      .add_websocket(
          "/api/operations/{}/socket",
          [this](http::websocket_session& ws) { return handlers::operation_socket(*this, ws); },
          {handlers::operation_owner(*this)})
      .add(verb::post, "/api/operations/{}/cancel", with_app(handlers::cancel_operation),
           body_mode::buffered, csrf)
      .add(verb::put, "/api/uploads/{}", with_app(handlers::upload), body_mode::streamed, csrf)
      .add(verb::post, "/admin/restart", handlers::restart)
      .add_observer("/api/lifecycle/events", handlers::lifecycle_events);
  return r;
}

}  // namespace lifetime::demo
