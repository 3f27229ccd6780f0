// SPDX-License-Identifier: MIT
// GET /api/work and GET /api/stream: long requests made of small cancellable steps.
#include <charconv>
#include <cmath>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <lifetime/http/http_error.hpp>
#include "application.hpp"
#include "handlers/handlers.hpp"

namespace lifetime::demo::handlers {
namespace bhttp = boost::beast::http;
using http::http_error;
using namespace std::chrono_literals;

namespace {

constexpr auto work_step = 50ms;
constexpr auto stream_step = 100ms;

// Keeps demo_work_in_progress exact however the handler ends.
class work_scope {
 public:
  explicit work_scope(demo_metrics& m) : m_(m) { m_.work_in_progress.fetch_add(1); }
  ~work_scope() { m_.work_in_progress.fetch_sub(1); }
  work_scope(const work_scope&) = delete;
  work_scope& operator=(const work_scope&) = delete;

 private:
  demo_metrics& m_;
};

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

}  // namespace

double seconds_param(const request_context& ctx) {
  const auto text = ctx.query("seconds");
  if (!text)
    return 1.0;
  double value = -1;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || !std::isfinite(value) ||
      value < 0 || value > 3600) {
    throw http_error(400, "seconds must be a number between 0 and 3600");
  }
  return value;
}

result work(application& app, request_context& ctx) {
  const double seconds = seconds_param(ctx);
  const auto started = std::chrono::steady_clock::now();
  const auto total = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
  work_scope scope(app.stats());
  std::uint64_t steps = 0;
  // Nothing is sent until the work is done, so a cancelled request can still get its 503/504.
  while (std::chrono::steady_clock::now() - started < total) {
    const auto left = total - (std::chrono::steady_clock::now() - started);
    co_await ctx.sleep_for(std::min<std::chrono::steady_clock::duration>(work_step, left));
    ++steps;
    app.stats().work_steps_total.fetch_add(1, std::memory_order_relaxed);
  }
  boost::json::object body;
  body["seconds"] = seconds;
  body["steps"] = steps;
  body["elapsedMs"] = elapsed_ms(started);
  co_await ctx.send_json(bhttp::status::ok, body);
}

result stream(application& app, request_context& ctx) {
  const double seconds = seconds_param(ctx);
  const auto started = std::chrono::steady_clock::now();
  const auto steps = static_cast<std::uint64_t>(
      std::ceil(seconds * 1000.0 / static_cast<double>(stream_step.count())));
  work_scope scope(app.stats());
  co_await ctx.begin_events();
  for (std::uint64_t i = 0; i < steps; ++i) {
    co_await ctx.sleep_for(stream_step);
    app.stats().work_steps_total.fetch_add(1, std::memory_order_relaxed);
    boost::json::object progress;
    progress["step"] = i + 1;
    progress["steps"] = steps;
    progress["progress"] = static_cast<double>(i + 1) / static_cast<double>(steps);
    progress["elapsedMs"] = elapsed_ms(started);
    co_await ctx.send_event("progress", boost::json::serialize(progress));
  }
  boost::json::object done;
  done["steps"] = steps;
  done["elapsedMs"] = elapsed_ms(started);
  co_await ctx.send_event("done", boost::json::serialize(done));
  co_await ctx.end_events();
}

}  // namespace lifetime::demo::handlers
