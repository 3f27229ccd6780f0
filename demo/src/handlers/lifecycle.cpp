// SPDX-License-Identifier: MIT
// GET /api/lifecycle/events: the host's lifecycle feed (lifecycle_events.hpp) as server-sent
// events, behind the page's lifecycle panel.
//
// An observer route (router.hpp): the stream is not counted in flight and survives restarts, so
// that it shows them; it ends its response when the server is about to close its connections
// (server::closing(), phase 6), after sending what it still has. Each event is
// `id: <pid>.<sequence>`, `event: <kind>`, `data: {"seq", "at_ms", "kind", fields...}`; a stream
// that lost events (read too slowly) sends `event: dropped`, `data: {"count": total}`. EventSource
// resumes after Last-Event-ID when it was this process's; another process's replays it all.
#include <unistd.h>

#include <charconv>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/lifecycle_events.hpp>
#include <lifetime/http/http_error.hpp>
#include <lifetime/http/server.hpp>
#include "handlers/handlers.hpp"

namespace lifetime::demo::handlers {
namespace asio = boost::asio;
using host::lifecycle_event;
using host::lifecycle_event_ptr;
using namespace std::chrono_literals;

namespace {

// How soon EventSource reconnects if the stream breaks.
constexpr auto events_retry = 500ms;

/// Wakes the stream's coroutine from any thread: a timer on its strand, cancelled there.
class stream_waker : public std::enable_shared_from_this<stream_waker> {
 public:
  explicit stream_waker(asio::any_io_executor strand) : timer_(std::move(strand)) {}
  /// Any thread (the feed's notify, the closing token's callback).
  void wake() {
    asio::post(timer_.get_executor(), [self = shared_from_this()] {
      self->woken_ = true;
      self->timer_.cancel();
    });
  }
  /// On the strand: returns once woken (or at once if woken since the last wait) or when
  /// `token` fires.
  asio::awaitable<void> wait(const cancellation_token& token) {
    if (!woken_) {
      timer_.expires_at(asio::steady_timer::time_point::max());
      co_await timer_.async_wait(bind_cancellation(token, asio::as_tuple(asio::use_awaitable)));
    }
    woken_ = false;
  }

 private:
  asio::steady_timer timer_;
  bool woken_ = false;  // on the strand
};

std::string event_id(const lifecycle_event& e) {
  return std::to_string(::getpid()) + "." + std::to_string(e.sequence);
}

/// The sequence after which to resume: Last-Event-ID's, if it names this process.
std::uint64_t resume_after(const request_context& ctx) {
  const auto header = ctx.header()["Last-Event-ID"];
  const std::string_view id(header.data(), header.size());
  const auto dot = id.find('.');
  if (dot == std::string_view::npos || id.substr(0, dot) != std::to_string(::getpid()))
    return 0;
  std::uint64_t after = 0;
  const auto rest = id.substr(dot + 1);
  const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), after);
  return ec == std::errc() && ptr == rest.data() + rest.size() ? after : 0;
}

std::string to_json(const lifecycle_event& e) {
  boost::json::object out;
  out["seq"] = e.sequence;
  out["at_ms"] = static_cast<double>(e.at.count()) / 1000.0;
  out["kind"] = e.kind;
  for (const auto& [name, value] : e.fields)
    std::visit([&out, &name = name](const auto& v) { out[name] = v; }, value);
  return boost::json::serialize(out);
}

}  // namespace

result lifecycle_events(request_context& ctx) {
  auto* feed = ctx.server().environment().events;
  if (feed == nullptr)
    throw http::http_error(404, "no lifecycle feed");
  auto waker = std::make_shared<stream_waker>(co_await asio::this_coro::executor);
  auto subscription = feed->subscribe([waker] { waker->wake(); }, resume_after(ctx));
  const cancellation_token closing = ctx.server().closing();
  const auto wake = [waker] { waker->wake(); };
  cancellation_registration<decltype(wake)> on_closing(closing, wake);
  co_await ctx.begin_events(events_retry);
  ctx.watch_disconnect();
  std::vector<lifecycle_event_ptr> batch;
  std::uint64_t dropped = 0;
  for (;;) {
    // Read before taking: what closing() interrupts has been published by then (phase 6 begins
    // before the server's stop() ends the observers).
    const bool last = closing.is_cancellation_requested();
    batch.clear();
    subscription.take(batch);
    for (const auto& e : batch)
      co_await ctx.send_event(e->kind, to_json(*e), event_id(*e));
    if (const auto now = subscription.dropped(); now != dropped) {
      dropped = now;
      co_await ctx.send_event("dropped", "{\"count\":" + std::to_string(now) + "}");
    }
    if (last)
      break;
    co_await waker->wait(ctx.token());
    ctx.token().throw_if_cancellation_requested();
  }
  co_await ctx.end_events();
}

}  // namespace lifetime::demo::handlers
