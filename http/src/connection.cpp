// SPDX-License-Identifier: MIT
#include "connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/duration.hpp>
#include <lifetime/http/http_error.hpp>
#include <lifetime/http/request_context.hpp>
#include <lifetime/http/server.hpp>

#include "outcome.hpp"
#include "response_writer.hpp"
#include "spawn_inline.hpp"
#include "websocket_session.hpp"

namespace lifetime::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using boost::system::error_code;

namespace {

std::string_view sv(beast::string_view s) noexcept {
  return {s.data(), s.size()};
}

// UndefinedBehaviorSanitizer checks the dynamic type of an error category the first time it sees
// it, and reading the object for that check takes a descriptor (it probes memory through a pipe):
// out of descriptors, that first check fails the process. The categories the connection's error
// paths meet (end of stream, cancellation, reset, Beast's parser) are touched once, while
// descriptors are still free. Costs nothing after the first connection.
void touch_error_categories() noexcept {
  static const bool touched = [] {
    const error_code codes[] = {asio::error::eof, asio::error::operation_aborted,
                                asio::error::connection_reset, bhttp::error::need_more};
    return codes[0] != codes[1] && codes[2] != codes[3];
  }();
  (void)touched;
}

// RFC 9112, 6.3: a Transfer-Encoding whose last coding is not chunked leaves the body length
// undetermined, and one next to a Content-Length is ambiguous; either could smuggle a request.
bool smuggling_risk(const request_reader::parser_type& parser) {
  const auto& fields = parser.get();
  const bool has_te = fields.find(bhttp::field::transfer_encoding) != fields.end();
  const bool has_length = fields.find(bhttp::field::content_length) != fields.end();
  return has_te && (!parser.chunked() || has_length);
}

// The request's deadline: the earliest of `?timeout=` and the server's request_timeout. A
// `?timeout=` the duration grammar rejects sets `bad` (answered 400).
deadline_clock::time_point request_deadline(const boost::urls::url_view& url,
                                            const server_config& config,
                                            std::chrono::steady_clock::time_point started,
                                            bool& bad) {
  std::optional<std::chrono::milliseconds> timeout;
  if (url.has_query()) {
    for (auto param : url.params()) {
      if (param.key == "timeout") {
        timeout = lifetime::host::try_parse_duration(std::string_view(param.value));
        bad = !timeout;
      }
    }
  }
  auto deadline = no_deadline;
  if (config.request_timeout.count() > 0)
    deadline = started + config.request_timeout;
  if (timeout)
    deadline = std::min(deadline, started + *timeout);
  return deadline;
}

/// How a request ended, in the words of a "request_ended" event (server.hpp).
std::string_view ended_reason(const std::exception_ptr& failure, cancellation_reason ended) {
  if (!failure)
    return "completed";
  if (ended != cancellation_reason::none)
    return to_string(ended);
  return "error";
}

}  // namespace

connection::observing::observing(http::server& owner) noexcept : owner_(owner) {
  owner_.observer_began();
}

connection::observing::~observing() {
  owner_.observer_ended();
}

connection::connection(asio::ip::tcp::socket socket, std::shared_ptr<http::server> owner)
    : transport_(std::move(socket)),
      server_(std::move(owner)),
      thread_slot_(server_->connection_threads().enter(transport_.socket.get_executor())) {
  server_->stats().connections_total.fetch_add(1, std::memory_order_relaxed);
  server_->stats().connections_open.fetch_add(1, std::memory_order_relaxed);
}

connection::~connection() {
  server_->connection_threads().leave(thread_slot_);
  server_->remove_connection(this);
  server_->stats().connections_open.fetch_sub(1, std::memory_order_relaxed);
}

asio::any_io_executor connection::make_executor(const asio::any_io_executor& base) {
  if (const auto* io = base.target<asio::io_context::executor_type>())
    return asio::make_strand(*io);
  return asio::make_strand(base);
}

void connection::start() {
  touch_error_categories();
  transport_.set_owner(weak_from_this());
  server_->add_connection(shared_from_this());
  spawn();
}

void connection::spawn() {
  asio::co_spawn(
      transport_.socket.get_executor(),
      [self = shared_from_this()]() -> asio::awaitable<void> { co_await self->run(); },
      asio::detached);
}

void connection::park() {
  // The handler's memory is its own (std::allocator), sized to it: not a block of the thread's
  // recycling cache, which may be a whole request's coroutine frame.
  server_->stats().connections_idle.fetch_add(1, std::memory_order_relaxed);
  transport_.socket.async_read_some(
      reader_.read_space(),
      asio::bind_allocator(std::allocator<char>(), [self = shared_from_this()](
                                                       error_code ec, std::size_t n) mutable {
        self->server_->stats().connections_idle.fetch_sub(1, std::memory_order_relaxed);
        self->reader_.woken(ec, n);
        // On the socket's executor already: no hop through the scheduler.
        auto& executor = self->transport_.socket.get_executor();
        auto run = self->run();
        spawn_inline(executor, std::move(run), std::move(self));
      }));
}

void connection::start_last_request(std::shared_ptr<const lifetime::gate::holder> admission) {
  answer_first_ = true;
  if (admission)
    admitted_.emplace(*admission);  // a copy enters even the closed gate
  start();
}

void connection::close_if_idle(std::shared_ptr<const lifetime::gate::holder> admission) {
  asio::post(transport_.socket.get_executor(),
             [self = shared_from_this(), admission = std::move(admission)] {
               self->closing_ = true;
               if (self->transport_.closed())
                 return;
               // The request this connection reads next, if any, had arrived before accepting
               // stopped: it enters the gate on the stop's hold. A connection inside a request
               // needs none (it closes after the response), and one that reads nothing more drops
               // the hold when it ends.
               if (admission && !self->admitted_ && !self->in_request_)
                 self->admitted_.emplace(*admission);
               // An idle connection is not closed under a request that may be crossing, even one
               // idle for long: a proxy reaches for its least recently used connections once the
               // others answered Connection: close. It answers its next request, or closes once
               // the linger has passed without one.
               if (self->reader_.idle())
                 self->reader_.close_after(self->server_->config()->closing_linger);
             });
}

void connection::close() {
  asio::post(transport_.socket.get_executor(),
             [self = shared_from_this()] { self->transport_.close_now(); });
}

asio::awaitable<void> connection::run() {
  try {
    while (!transport_.closed()) {
      // A closing connection's reader lingers for one more request (answered with Connection:
      // close).
      if (server_->environment().stop_accepting.is_cancellation_requested())
        closing_ = true;
      server_->refresh(snapshot_);
      auto result = reader_.start(*snapshot_.config, !served_any_, answer_first_);
      if (result == request_reader::result::partial)
        result = co_await reader_.read_rest();
      if (result == request_reader::result::idle) {
        park();
        co_return;
      }
      if (result == request_reader::result::closed || !co_await serve_one(result))
        break;
    }
  } catch (const std::exception& e) {
    spdlog::debug("connection {}: {}", transport_.peer, e.what());
  }
  admitted_.reset();  // no request came for it
  if (generation_)    // a request that ended in an exception
    std::exchange(generation_, nullptr)->leave(cancellation_reason::client_disconnected);
  co_await watch_.stop();
  transport_.close_now();
}

std::optional<lifetime::gate::holder> connection::admit() {
  std::optional<lifetime::gate::holder> holder;
  if (admitted_) {
    holder = std::move(admitted_);
    admitted_.reset();
  } else if (auto* gate = server_->environment().in_flight) {
    holder = gate->try_enter();
    if (!holder) {
      closing_ = true;
      // Read before this connection's close_if_idle() ran (it is queued behind us): the request
      // had arrived when accepting stopped.
      if (auto admission = server_->stop_admission())
        holder.emplace(*admission);
    }
  }
  return holder;
}

asio::awaitable<bool> connection::reject(request_reader::result result,
                                         std::chrono::steady_clock::time_point started) {
  const bool too_large = result == request_reader::result::too_large;
  co_await answer_unreadable(
      transport_, *snapshot_.config, server_->stats(),
      too_large ? bhttp::status::request_header_fields_too_large : bhttp::status::bad_request,
      too_large ? "request header too large" : "malformed request", "-", "", started);
  co_return false;
}

asio::awaitable<bool> connection::serve_one(request_reader::result result) {
  const auto started = std::chrono::steady_clock::now();
  std::optional<request_start> request;
  const char* refused = begin_request(result, started, request);
  if (!request) {
    if (refused == nullptr)
      co_return co_await reject(result, started);
    co_await answer_unreadable(transport_, *snapshot_.config, server_->stats(),
                               bhttp::status::bad_request, refused, sv(header_.method_string()),
                               sv(header_.target()), started);
    co_return false;
  }
  request_context ctx(*this, header_, request->url, std::move(request->match.params),
                      *snapshot_.config);
  const auto failure =
      co_await dispatch(ctx, request->match, request->admitted, request->bad_timeout);
  const auto ended = classify(failure, ctx, watch_.peer_gone() || transport_.closed(),
                              transport_.peer, sv(header_.method_string()), sv(header_.target()));
  if (ended.reason == cancellation_reason::client_disconnected)
    watch_.set_peer_gone();
  // A body left unread cannot be skipped: whatever answers says Connection: close.
  if (!body_.complete())
    ctx.close_after_response();
  bool must_close = false;
  if (failure)
    must_close = co_await answer(ended, ctx);
  const bool keep = end_request(ctx, *request, failure, ended.reason, must_close, started);
  if (watch_.pending())  // a coroutine only when there is something to wait for
    co_await watch_.stop();
  finish();
  server_->stats().requests_in_flight.fetch_sub(1, std::memory_order_relaxed);
  co_return keep;
}

const char* connection::begin_request(request_reader::result result,
                                      std::chrono::steady_clock::time_point started,
                                      std::optional<request_start>& request) {
  const server_environment& env = server_->environment();
  // Taken once the request is there: a keep-alive connection idle across a restart serves its
  // next request under the configuration the restart loaded. (Not held across enter_generation(),
  // which may refresh the snapshot again.)
  server_->refresh(snapshot_);
  auto& stats = server_->stats();
  stats.requests_total.fetch_add(1, std::memory_order_relaxed);
  served_any_ = true;
  if (result != request_reader::result::ok)
    return nullptr;  // reject() answers

  auto& parser = reader_.parser();
  // The parser keeps its state (keep-alive, length, chunked) without the header's fields, which
  // move to header_ (alive until the request is answered; method and target view into it).
  const bool smuggling = smuggling_risk(parser);
  request_keep_alive_ = parser.keep_alive();
  header_ = std::move(parser.get().base());
  if (smuggling)
    return "unsupported transfer encoding";
  const auto url = boost::urls::parse_origin_form(sv(header_.target()));
  if (!url)
    return "malformed target";
  request.emplace(*url, server_->routes().find(header_.method(), url->encoded_segments()));
  // An observer is neither counted in flight nor cancelled by a restart or the stop (router.hpp).
  const auto* found = request->match.found;
  const bool observer = found != nullptr && found->observer;
  if (observer) {
    admitted_.reset();
    request->watching.emplace(*server_);
  } else {
    request->holder = admit();
  }
  in_request_ = true;
  if (!observer)
    generation_ = &server_->enter_generation(snapshot_);
  const auto& config = *snapshot_.config;  // fixed until the request ends
  const auto deadline = request_deadline(request->url, config, started, request->bad_timeout);
  // The request's token: its parents and deadline are fixed now, the source itself is made when
  // the handler first asks for it.
  const auto& none = request_token::none();
  token_.begin(config.request_cancellation, observer ? none : env.cancel_in_flight,
               generation_ ? generation_->token() : none, deadline);
  body_.begin(parser, config.header_timeout);
  request->admitted = observer || request->holder.has_value() || env.in_flight == nullptr;
  stats.requests_in_flight.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

bool connection::end_request(request_context& ctx, request_start& request,
                             const std::exception_ptr& failure, cancellation_reason ended,
                             bool must_close, std::chrono::steady_clock::time_point started) {
  if (!body_.complete() || ctx.stream_broken())
    must_close = true;
  const std::string_view method = sv(header_.method_string());
  const std::string_view target = sv(header_.target());
  const unsigned status = ctx.status() == 0 ? 499 : ctx.status();
  // Answered: the access log line is written and the request leaves the in-flight gate now, not
  // after the disconnect watch has wound down (a round trip through the strand that can queue
  // behind thousands of other connections at shutdown: long enough for an answered request to
  // be counted as abandoned at the end of the budget, or for its log line to be lost at exit).
  log_access(transport_.peer, method, target, status, started, ended, ctx.log_note());
  if (generation_) {
    const auto generation = std::exchange(generation_, nullptr);
    if (generation->retired()) {
      server_->request_ended({generation->number(), status, ended_reason(failure, ended),
                              std::chrono::steady_clock::now() - started, method, target});
    }
    generation->leave(ended);
  }
  in_request_ = false;
  const bool keep = !must_close && ctx.keep_alive() && !watch_.peer_gone() && !transport_.closed();
  // Keep-alive was promised before accepting stopped, and the stop looked at this connection
  // while it was inside the request: the next request, which may already be on its way, enters
  // on this hold.
  if (closing_ && request.holder && !admitted_ && keep)
    admitted_ = std::move(request.holder);
  request.holder.reset();
  request.watching.reset();
  if (!keep)
    admitted_.reset();  // it serves nothing more
  return keep;
}

asio::awaitable<std::exception_ptr> connection::dispatch(request_context& ctx,
                                                         const router::match& match, bool admitted,
                                                         bool bad_timeout) {
  try {
    if (!admitted)
      throw operation_cancelled(cancellation_reason::application_stopping);
    if (bad_timeout)
      throw http_error(400, "bad timeout (use e.g. 250ms, 1.5s, 2m)");
    if (match.found == nullptr) {
      if (!match.method_not_allowed())
        throw http_error(404, "not found");
      ctx.add_header(bhttp::field::allow, match.allow);
      throw http_error(405, "method not allowed");
    }
    const route& r = *match.found;
    for (const auto& f : server_->routes().filters())
      f(ctx);
    for (const auto& f : r.filters)
      f(ctx);
    if (!body_.complete()) {
      const bool expects_continue = beast::iequals(header_[bhttp::field::expect], "100-continue");
      if (r.body == body_mode::buffered) {
        co_await body_.read_buffered(reader_.parser(), ctx.config().max_body_size,
                                     expects_continue);
      } else {
        body_.begin_streamed(reader_.parser(), ctx.config().max_upload_size, expects_continue);
      }
    }
    // The disconnect watch is armed lazily, by request_context's waiting helpers: a handler that
    // answers without waiting never pays for the extra read.
    if (r.websocket)
      co_await serve_websocket(transport_, header_, r, ctx, token_.generation());
    else
      co_await r.handler(ctx);
  } catch (...) {
    co_return std::current_exception();
  }
  co_return nullptr;
}

void connection::finish() {
  if (watch_.used() && transport_.buffer.size() == 0)
    transport_.buffer.shrink_to_fit();  // the park reads into 512 bytes, not the watch's 4 KiB
  watch_.reset_used();
  token_.end();
  body_.end();
  header_ = {};                       // an idle connection keeps no fields of the request before
  std::string().swap(write_buffer_);  // nor a header buffer
}

bool connection::keep_alive_allowed() const noexcept {
  const auto& env = server_->environment();
  // Not env.stopping: through the drain delay a proxy keeps sending on its pooled connections,
  // and closing them would make it open fresh ones just before the listener goes away.
  return request_keep_alive_ && !closing_ && !transport_.closed() && !watch_.peer_gone() &&
         !env.stop_accepting.is_cancellation_requested() &&
         !token_.generation().is_cancellation_requested();
}

cancellation_token connection::token() {
  return token_.get(transport_.socket.get_executor(), watch_.peer_gone());
}

void connection::watch_disconnect() {
  if (body_.complete() && watch_.start(shared_from_this()))
    server_->stats().disconnect_watches_total.fetch_add(1, std::memory_order_relaxed);
}

asio::awaitable<std::size_t> connection::read_body_some(char* data, std::size_t size) {
  return body_.read_some(data, size, token());
}

error_code connection::write_now(std::string_view header, std::string_view body,
                                 std::size_t& written) {
  return send_now(transport_.socket, header, body, written);
}

asio::awaitable<error_code> connection::write_rest(std::string_view header, std::string_view body,
                                                   std::size_t written) {
  // Not a coroutine: the header's rest is copied now, before the caller can suspend.
  write_buffer_.assign(header.substr(std::min(written, header.size())));
  return write_buffered_header_and(
      body.substr(written > header.size() ? written - header.size() : 0));
}

asio::awaitable<error_code> connection::write_buffered_header_and(std::string_view body) {
  const std::array<asio::const_buffer, 2> rest = {asio::buffer(write_buffer_), asio::buffer(body)};
  co_return co_await write_all(rest, false);
}

asio::awaitable<error_code> connection::write_all(std::span<const asio::const_buffer> buffers,
                                                  bool cancellable) {
  transport_.arm_timeout(snapshot_.config->header_timeout);
  error_code ec;
  if (cancellable) {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(transport_.socket, buffers,
                                   bind_cancellation(token(), asio::as_tuple(asio::use_awaitable)));
  } else {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(transport_.socket, buffers, asio::as_tuple(asio::use_awaitable));
  }
  transport_.disarm_timeout();
  co_return ec;
}

}  // namespace lifetime::http::detail
