// SPDX-License-Identifier: MIT
#include "outcome.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <lifetime/operation_cancelled.hpp>

namespace lifetime::http::detail {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

outcome classify(std::exception_ptr failure, const request_context& ctx, bool client_gone,
                 std::string_view peer, std::string_view method, std::string_view target) {
  outcome result;
  if (!failure)
    return result;
  try {
    std::rethrow_exception(failure);
  } catch (const operation_cancelled& e) {
    result.reason = e.reason();
  } catch (const http_error& e) {
    result.error = e;
  } catch (const boost::system::system_error& e) {
    if (const auto& token = ctx.token(); token.is_cancellation_requested()) {
      result.reason = token.reason();
    } else if (client_gone || ctx.stream_broken()) {
      result.reason = cancellation_reason::client_disconnected;
    } else {
      result.internal_error = true;
      spdlog::error("{} {} {}: {}", peer, method, target, e.what());
    }
  } catch (const std::exception& e) {
    result.internal_error = true;
    spdlog::error("{} {} {}: {}", peer, method, target, e.what());
  }
  return result;
}

asio::awaitable<bool> answer(const outcome& result, request_context& ctx) {
  const bool cancelled = result.reason != cancellation_reason::none;
  if (!cancelled && !result.error && !result.internal_error)
    co_return false;
  if (cancelled)
    ctx.stats().count_aborted(result.reason);
  if (result.error && result.error->close())
    ctx.close_after_response();
  if (ctx.headers_sent() || result.reason == cancellation_reason::client_disconnected)
    co_return true;
  boost::json::object body;
  try {
    if (result.reason == cancellation_reason::deadline_exceeded) {
      body["error"] = "deadline exceeded";
      body["reason"] = to_string(result.reason);
      co_await ctx.send_json(bhttp::status::gateway_timeout, body);
    } else if (cancelled) {
      ctx.close_after_response();
      ctx.add_header(bhttp::field::retry_after, std::to_string(ctx.config().retry_after.count()));
      body["error"] = "service unavailable";
      body["reason"] = to_string(result.reason);
      co_await ctx.send_json(bhttp::status::service_unavailable, body);
    } else if (result.error) {
      body["error"] = result.error->what();
      co_await ctx.send_json(static_cast<bhttp::status>(result.error->status()), body);
    } else {
      body["error"] = "internal error";
      co_await ctx.send_json(bhttp::status::internal_server_error, body);
    }
  } catch (const std::exception&) {
    co_return true;
  }
  co_return false;
}

void log_access(std::string_view peer, std::string_view method, std::string_view target,
                unsigned status, std::chrono::steady_clock::time_point started,
                cancellation_reason reason, std::string_view note) {
  if (!spdlog::should_log(spdlog::level::info))
    return;  // nor read the clock
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (reason != cancellation_reason::none) {
    spdlog::info("{} \"{}{}{}\" {} {}ms cancelled={}{}{}", peer, method, target.empty() ? "" : " ",
                 target, status, elapsed.count(), to_string(reason), note.empty() ? "" : " ", note);
  } else {
    spdlog::info("{} \"{}{}{}\" {} {}ms{}{}", peer, method, target.empty() ? "" : " ", target,
                 status, elapsed.count(), note.empty() ? "" : " ", note);
  }
}

asio::awaitable<void> answer_unreadable(transport& t, const server_config& config, metrics& stats,
                                        bhttp::status status, std::string_view message,
                                        std::string_view method, std::string_view target,
                                        std::chrono::steady_clock::time_point started) {
  bhttp::response<bhttp::string_body> res{status, 11};
  res.set(bhttp::field::server, config.server_name);
  res.set(bhttp::field::content_type, "application/json");
  boost::json::object body;
  body["error"] = message;
  res.body() = boost::json::serialize(body);
  res.keep_alive(false);
  res.prepare_payload();
  t.arm_timeout(config.header_timeout);
  [[maybe_unused]] auto [ec, n] =
      co_await bhttp::async_write(t.socket, res, asio::as_tuple(asio::use_awaitable));
  t.disarm_timeout();
  stats.count_response(res.result_int());
  log_access(t.peer, method, target, res.result_int(), started, cancellation_reason::none, "");
}

}  // namespace lifetime::http::detail
