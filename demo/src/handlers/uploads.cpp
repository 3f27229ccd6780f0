// SPDX-License-Identifier: MIT
// PUT /api/uploads/{name}: a streamed upload committed atomically.
#include <array>
#include <cerrno>

#include <boost/json/object.hpp>

#include <lifetime/http/http_error.hpp>
#include "application.hpp"
#include "handlers/handlers.hpp"
#include "uploads.hpp"

namespace lifetime::demo::handlers {
namespace bhttp = boost::beast::http;
using http::http_error;

namespace {

// Counts an upload as aborted unless it was committed.
struct abort_counter {
  demo_metrics& m;
  bool committed = false;
  ~abort_counter() {
    if (!committed)
      m.uploads_aborted_total.fetch_add(1, std::memory_order_relaxed);
  }
};

[[noreturn]] void storage_failed(const std::system_error& e) {
  const int code = e.code().value();
  if (e.code().category() == std::generic_category() && (code == ENOSPC || code == EDQUOT)) {
    throw http_error(507, "insufficient storage", true);
  }
  throw http_error(500, std::string("storage failed: ") + e.what(), true);
}

}  // namespace

result upload(application& app, request_context& ctx) {
  const std::string& name = ctx.path_params().at(0);
  if (!is_valid_upload_name(name))
    throw http_error(400, "bad upload name", true);
  ctx.log_note() = "upload=" + name;
  abort_counter counter{app.stats()};
  std::optional<temp_file> file;
  try {
    file.emplace(ctx.config_as<demo_config>().storage_dir);
  } catch (const std::system_error& e) {
    storage_failed(e);
  }
  std::vector<char> chunk(64 * 1024);
  for (;;) {
    const std::size_t n = co_await ctx.read_body_some(chunk.data(), chunk.size());
    if (n == 0)
      break;
    ctx.token().throw_if_cancellation_requested();
    try {
      file->write(chunk.data(), n);
    } catch (const std::system_error& e) {
      storage_failed(e);
    }
  }
  ctx.token().throw_if_cancellation_requested();
  try {
    file->commit(name);
  } catch (const std::system_error& e) {
    storage_failed(e);
  }
  counter.committed = true;
  app.stats().uploads_committed_total.fetch_add(1, std::memory_order_relaxed);
  boost::json::object body;
  body["name"] = name;
  body["size"] = file->size();
  co_await ctx.send_json(bhttp::status::created, body);
}

}  // namespace lifetime::demo::handlers
