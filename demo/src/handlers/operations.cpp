// SPDX-License-Identifier: MIT
// GET /csrf-token and the background operations: start, status, progress (server-sent events
// and WebSocket), cancel.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <lifetime/http/http_error.hpp>
#include <lifetime/http/server.hpp>
#include <lifetime/http/websocket.hpp>
#include "csrf.hpp"
#include "handlers/handlers.hpp"

#include "application.hpp"

namespace lifetime::demo::handlers {
namespace bhttp = boost::beast::http;
using http::http_error;
using namespace std::chrono_literals;

namespace {

// How often an event stream looks at its operation.
constexpr auto events_poll = 100ms;
// How soon EventSource reconnects after a broken stream (a restart breaks every stream).
constexpr auto events_retry = 500ms;

std::string required_session(const request_context& ctx) {
  auto session = session_id(ctx);
  if (!session)
    throw http_error(404, "no such operation");
  return *session;
}

std::shared_ptr<operation> owned_operation(application& app, request_context& ctx) {
  auto op = app.operations().find(ctx.path_params().at(0), required_session(ctx));
  if (!op)
    throw http_error(404, "no such operation");
  return op;
}

}  // namespace

std::optional<std::string> session_id(const request_context& ctx) {
  return ctx.cookie(session_cookie_name);
}

result csrf_token(application& app, request_context& ctx) {
  const auto current = session_id(ctx);
  const auto session = app.sessions().get_or_create(current);
  if (current != session.id) {
    ctx.add_header(bhttp::field::set_cookie, std::string(session_cookie_name) + "=" + session.id +
                                                 "; Path=/; HttpOnly; SameSite=Strict");
  }
  boost::json::object body;
  body["token"] = session.csrf_token;
  body["headerName"] = csrf_header_name;
  co_await ctx.send_json(bhttp::status::ok, body);
}

result start_operation(application& app, request_context& ctx) {
  const double seconds = seconds_param(ctx);
  const std::string session = *session_id(ctx);  // the antiforgery filter checked it
  auto& host = ctx.server();
  // Cancelled by a restart, by the stop (from its first moment: operations are not requests and
  // do not hold the drain), or by /cancel.
  const cancellation_token parents[] = {host.generation(), host.environment().stopping,
                                        host.environment().cancel_in_flight};
  auto op = app.operations().try_start(
      host.get_executor(), session,
      std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000)), parents,
      ctx.config_as<demo_config>().max_operations_per_session);
  if (!op)
    throw http_error(429, "too many running operations for this session");
  ctx.log_note() = "operation=" + op->id();
  ctx.add_header(bhttp::field::location, "/api/operations/" + op->id());
  boost::json::object body;
  body["id"] = op->id();
  co_await ctx.send_json(bhttp::status::accepted, body);
}

result get_operation(application& app, request_context& ctx) {
  auto op = owned_operation(app, ctx);
  co_await ctx.send_json(bhttp::status::ok, op->to_json());
}

result operation_events(application& app, request_context& ctx) {
  auto op = owned_operation(app, ctx);
  co_await ctx.begin_events(events_retry);
  std::uint64_t seen = ~std::uint64_t{0};
  for (;;) {
    const auto version = op->version();
    const bool finished = op->is_finished();
    if (version != seen) {
      seen = version;
      co_await ctx.send_event(finished ? "done" : "progress",
                              boost::json::serialize(op->to_json()));
    }
    if (finished)
      break;
    co_await ctx.sleep_for(events_poll);
  }
  co_await ctx.end_events();
}

http::filter_function operation_owner(application& app) {
  return [&app](request_context& ctx) { (void)owned_operation(app, ctx); };
}

socket_result operation_socket(application& app, http::websocket_session& ws) {
  auto op = owned_operation(app, ws.request());
  std::uint64_t seen = ~std::uint64_t{0};
  for (;;) {
    const auto version = op->version();
    const bool finished = op->is_finished();
    if (version != seen) {
      seen = version;
      auto message = op->to_json();
      message.as_object()["event"] = finished ? "done" : "progress";
      co_await ws.send_text(boost::json::serialize(message));
    }
    if (finished)
      break;
    co_await ws.sleep_for(events_poll);
  }
}

result cancel_operation(application& app, request_context& ctx) {
  auto op = owned_operation(app, ctx);
  const bool cancelled = op->cancel();
  ctx.log_note() = "operation=" + op->id();
  auto body = op->to_json();
  body.as_object()["cancelled"] = cancelled;
  co_await ctx.send_json(bhttp::status::ok, body);
}

}  // namespace lifetime::demo::handlers
