// SPDX-License-Identifier: MIT
#include "application.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include <lifetime/http/http_error.hpp>
#include <lifetime/http/request_context.hpp>

#include "uploads.hpp"

namespace lifetime::demo {

void application::setup(http::server& server) {
  server.stats().add_collector([this](std::string& out) { metrics_.collect(out); });
  server.on_restart([this](const http::server_config& config) {
    metrics_.restarts_total.fetch_add(1, std::memory_order_relaxed);
    const auto& demo = dynamic_cast<const demo_config&>(config);
    std::error_code ec;
    std::filesystem::create_directories(demo.storage_dir, ec);
    remove_leftovers(demo.storage_dir);
  });
}

void application::prepare(const demo_config& config) {
  std::filesystem::create_directories(config.storage_dir);
  if (const auto n = remove_leftovers(config.storage_dir); n > 0)
    spdlog::info("removed {} unfinished upload(s) from {}", n, config.storage_dir);
}

http::filter_function antiforgery(session_store& sessions) {
  return [&sessions](http::request_context& ctx) {
    const auto session = ctx.cookie(session_cookie_name);
    const auto header = ctx.header()[csrf_header_name];
    if (!session || !sessions.verify(*session, std::string_view(header.data(), header.size())))
      throw http::http_error(403, "missing or wrong antiforgery token");
  };
}

}  // namespace lifetime::demo
