// SPDX-License-Identifier: MIT
// POST /admin/restart: restart the web host in-process (needs --admin-token).
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>

#include <lifetime/http/http_error.hpp>
#include <lifetime/http/server.hpp>
#include "csrf.hpp"
#include "handlers/handlers.hpp"

#include "demo_config.hpp"

namespace lifetime::demo::handlers {
namespace bhttp = boost::beast::http;
using http::http_error;

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
  boost::json::object body;
  body["restarting"] = true;
  co_await ctx.send_json(bhttp::status::accepted, body);
  // After the answer is out: the restart cancels every in-flight request, this one included.
  ctx.server().request_restart();
}

}  // namespace lifetime::demo::handlers
