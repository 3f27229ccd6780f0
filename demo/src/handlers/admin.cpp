// SPDX-License-Identifier: MIT
// POST /admin/restart: restart the web host in-process (needs --admin-token). Answers once the
// new generation serves, with what the restart did to the old one.
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <lifetime/http/http_error.hpp>
#include <lifetime/http/server.hpp>
#include "csrf.hpp"
#include "handlers/handlers.hpp"

#include "demo_config.hpp"

namespace lifetime::demo::handlers {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using http::http_error;

namespace {

// Asks for a restart and waits, at most `limit`, until it is done. Not bound to the request's
// token: with no restart grace, the restart itself cancels this request (it belongs to the old
// generation), and its report is still what the client asked for.
asio::awaitable<std::optional<http::restart_report>> restart_and_wait(
    request_context& ctx, std::chrono::steady_clock::duration limit) {
  const auto executor = co_await asio::this_coro::executor;
  auto done = std::make_shared<asio::steady_timer>(executor, limit);
  auto report = std::make_shared<std::optional<http::restart_report>>();
  ctx.server().request_restart([executor, done, report](const http::restart_report& r) {
    asio::post(executor, [done, report, r] {
      *report = r;
      done->cancel();
    });
  });
  co_await done->async_wait(asio::as_tuple(asio::use_awaitable));
  co_return *report;
}

boost::json::object describe(const http::restart_report& r) {
  boost::json::object body;
  body["restarted"] = true;
  body["generation"] = r.generation;
  body["config_loaded"] = r.config_loaded;
  boost::json::object previous;
  previous["generation"] = r.previous;
  // This request belongs to the previous generation too; it is not counted.
  previous["in_flight"] = r.previous_in_flight > 0 ? r.previous_in_flight - 1 : 0;
  previous["restart_grace_ms"] = r.grace.count();
  previous["then"] = r.grace.count() > 0 ? "its requests finish within the grace, then the rest "
                                           "are cancelled with reason restart"
                                         : "its requests were cancelled with reason restart";
  body["previous"] = previous;
  if (r.listen_changed) {
    boost::json::array wanted;
    for (const auto& address : r.listen_wanted)
      wanted.emplace_back(address);
    body["listen_wanted"] = wanted;
    body["note"] = "listen changed: a new process is needed to bind it (restart or SIGUSR1)";
  }
  return body;
}

}  // namespace

result restart(request_context& ctx) {
  const auto& expected = ctx.config_as<demo_config>().admin_token;
  std::string given;
  const auto authorization = ctx.header()[bhttp::field::authorization];
  const std::string_view bearer = "Bearer ";
  if (authorization.starts_with(bearer)) {
    given.assign(authorization.data() + bearer.size(), authorization.size() - bearer.size());
  } else if (const auto header = ctx.header()["X-Admin-Token"]; !header.empty()) {
    given.assign(header.data(), header.size());
  }
  if (expected.empty() || given.empty()) {
    spdlog::warn("restart refused: {}",
                 expected.empty() ? "no --admin-token configured" : "no admin token given");
    throw http_error(
        401, expected.empty() ? "restart is disabled (no --admin-token)" : "admin token required");
  }
  if (!constant_time_equal(expected, given)) {
    spdlog::warn("restart refused: wrong admin token");
    throw http_error(403, "wrong admin token");
  }
  spdlog::info("restart requested over HTTP");
  const auto report = co_await restart_and_wait(ctx, std::chrono::seconds(10));
  if (!report)
    throw http_error(503, "the restart did not happen within 10 s (the host may be stopping)");
  co_await ctx.send_json(bhttp::status::ok, describe(*report));
}

}  // namespace lifetime::demo::handlers
