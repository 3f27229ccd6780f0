// SPDX-License-Identifier: MIT
// GET /csrf-token and the background operations: start, status, progress events, cancel.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "csrf.hpp"
#include "http/handlers/handlers.hpp"
#include "http/http_error.hpp"
#include "http/request_context.hpp"
#include "http/web_host.hpp"

namespace lifetime::demo::handlers {
namespace http = boost::beast::http;
using namespace std::chrono_literals;

namespace {

// How often an event stream looks at its operation.
constexpr auto events_poll = 100ms;
// How soon EventSource reconnects after a broken stream (a restart breaks every stream).
constexpr auto events_retry = 500ms;

std::string required_session(const request_context& ctx) {
  auto session = ctx.session_id();
  if (!session)
    throw http_error(404, "no such operation");
  return *session;
}

std::shared_ptr<operation> owned_operation(request_context& ctx) {
  auto op = ctx.host().operations().find(ctx.path_params().at(0), required_session(ctx));
  if (!op)
    throw http_error(404, "no such operation");
  return op;
}

}  // namespace

result csrf_token(request_context& ctx) {
  const auto session = ctx.host().sessions().get_or_create(ctx.session_id());
  if (ctx.session_id() != session.id) {
    ctx.add_header(http::field::set_cookie, std::string(session_cookie_name) + "=" + session.id +
                                                "; Path=/; HttpOnly; SameSite=Strict");
  }
  boost::json::object body;
  body["token"] = session.csrf_token;
  body["headerName"] = csrf_header_name;
  co_await ctx.send_json(http::status::ok, body);
}

result start_operation(request_context& ctx) {
  const double seconds = seconds_param(ctx);
  const std::string session = *ctx.session_id();  // the router checked the antiforgery token
  auto& host = ctx.host();
  // Cancelled by a restart, by the stop (from its first moment: operations are not requests and
  // do not hold the drain), or by /cancel.
  const cancellation_token parents[] = {host.generation(), host.environment().stopping,
                                        host.environment().cancel_in_flight};
  auto op = host.operations().try_start(
      host.get_executor(), session,
      std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000)), parents,
      ctx.config().max_operations_per_session);
  if (!op)
    throw http_error(429, "too many running operations for this session");
  ctx.log_note() = "operation=" + op->id();
  ctx.add_header(http::field::location, "/api/operations/" + op->id());
  boost::json::object body;
  body["id"] = op->id();
  co_await ctx.send_json(http::status::accepted, body);
}

result get_operation(request_context& ctx) {
  auto op = owned_operation(ctx);
  co_await ctx.send_json(http::status::ok, op->to_json());
}

result operation_events(request_context& ctx) {
  auto op = owned_operation(ctx);
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

result cancel_operation(request_context& ctx) {
  auto op = owned_operation(ctx);
  const bool cancelled = op->cancel();
  ctx.log_note() = "operation=" + op->id();
  auto body = op->to_json();
  body.as_object()["cancelled"] = cancelled;
  co_await ctx.send_json(http::status::ok, body);
}

}  // namespace lifetime::demo::handlers
