// SPDX-License-Identifier: MIT
#include "http/connection.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <lifetime/asio.hpp>

#include "csrf.hpp"
#include "http/http_error.hpp"
#include "http/request_context.hpp"
#include "http/web_host.hpp"

namespace lifetime::demo {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

// The disconnect watch stops reading once this much is buffered (a client pipelining that much
// waits for the server to catch up).
constexpr std::size_t watch_buffer_limit = 64 * 1024;
constexpr std::size_t watch_read_size = 4096;

std::string_view sv(beast::string_view s) noexcept {
  return {s.data(), s.size()};
}

std::string describe_peer(const asio::ip::tcp::socket& socket) {
  error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec)
    return "-";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// UndefinedBehaviorSanitizer checks the dynamic type of an error category the first time it sees
// it, and reading the object for that check takes a descriptor (it probes memory through a pipe):
// out of descriptors, that first check fails the process. The categories the connection's error
// paths meet (end of stream, cancellation, reset, Beast's parser) are touched once, while
// descriptors are still free. Costs nothing after the first connection.
void touch_error_categories() noexcept {
  static const bool touched = [] {
    const error_code codes[] = {asio::error::eof, asio::error::operation_aborted,
                                asio::error::connection_reset, http::error::need_more};
    return codes[0] != codes[1] && codes[2] != codes[3];
  }();
  (void)touched;
}

}  // namespace

connection::connection(asio::ip::tcp::socket socket, std::shared_ptr<web_host> host)
    : socket_(std::move(socket)),
      host_(std::move(host)),
      timeout_(socket_.get_executor()),
      peer_(describe_peer(socket_)),
      watch_done_(socket_.get_executor()) {
  host_->stats().connections_total.fetch_add(1, std::memory_order_relaxed);
  host_->stats().connections_open.fetch_add(1, std::memory_order_relaxed);
}

connection::~connection() {
  host_->remove_connection(this);
  host_->stats().connections_open.fetch_sub(1, std::memory_order_relaxed);
}

asio::any_io_executor connection::make_executor(const asio::any_io_executor& base) {
  if (const auto* io = base.target<asio::io_context::executor_type>())
    return asio::make_strand(*io);
  return asio::make_strand(base);
}

void connection::start() {
  touch_error_categories();
  host_->add_connection(shared_from_this());
  asio::co_spawn(
      socket_.get_executor(),
      [self = shared_from_this()]() -> asio::awaitable<void> { co_await self->run(); },
      asio::detached);
}

void connection::start_last_request(std::shared_ptr<const lifetime::gate::holder> admission) {
  answer_first_ = true;
  if (admission)
    admitted_.emplace(*admission);  // a copy enters even the closed gate
  start();
}

void connection::close_if_idle(std::shared_ptr<const lifetime::gate::holder> admission) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), admission = std::move(admission)] {
    self->closing_ = true;
    if (self->closed_)
      return;
    // The request this connection reads next, if any, had arrived before accepting stopped: it
    // enters the gate on the stop's hold. A connection inside a request needs none (it closes
    // after the response), and one that reads nothing more drops the hold when it ends.
    if (admission && !self->admitted_ && !self->in_request_)
      self->admitted_.emplace(*admission);
    // A request already on its way is answered (and closes) rather than reset with the socket.
    // The idle read is cancelled rather than the socket closed: a read that already completed
    // with the first bytes of a request (its handler queued behind this one) is not undone.
    error_code ec;
    if (self->idle_ && self->socket_.available(ec) == 0)
      self->socket_.cancel(ec);
  });
}

void connection::close() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close_now(); });
}

void connection::close_now() {
  if (closed_)
    return;
  closed_ = true;
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  timeout_.cancel();
}

void connection::arm_timeout(std::chrono::milliseconds after) {
  deadline_ = std::chrono::steady_clock::now() + after;
  if (!timer_pending_ || deadline_ < timer_expiry_)
    start_timer(deadline_);
}

void connection::start_timer(std::chrono::steady_clock::time_point when) {
  if (closed_)
    return;
  const auto generation = ++timer_generation_;
  timer_pending_ = true;
  timer_expiry_ = when;
  timeout_.expires_at(when);  // cancels the wait it replaces
  timeout_.async_wait(
      [self = shared_from_this(), generation](error_code ec) { self->on_timer(ec, generation); });
}

void connection::on_timer(error_code ec, std::uint64_t generation) {
  if (generation != timer_generation_)
    return;  // replaced by an earlier deadline
  timer_pending_ = false;
  if (ec || closed_ || deadline_ == std::chrono::steady_clock::time_point::max())
    return;
  if (std::chrono::steady_clock::now() < deadline_) {
    start_timer(deadline_);  // the deadline moved on since this wait started
    return;
  }
  timed_out_ = true;
  close_now();
}

error_code connection::write_now(std::string_view header, std::string_view body,
                                 std::size_t& written) {
  // Most responses fit in the socket's send buffer.
  written = 0;
  iovec parts[2] = {{const_cast<char*>(header.data()), header.size()},
                    {const_cast<char*>(body.data()), body.size()}};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = body.empty() ? 1 : 2;
  ssize_t sent = -1;
  do {
    sent = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent >= 0)
    written = static_cast<std::size_t>(sent);
  else if (errno != EAGAIN && errno != EWOULDBLOCK)
    return error_code(errno, boost::system::system_category());
  return {};
}

asio::awaitable<error_code> connection::write_rest(std::string_view header, std::string_view body,
                                                   std::size_t written) {
  const std::array<asio::const_buffer, 2> rest = {
      asio::buffer(header) + std::min(written, header.size()),
      asio::buffer(body) + (written > header.size() ? written - header.size() : 0)};
  arm_timeout(host_->config()->header_timeout);
  auto [ec, n] = co_await asio::async_write(socket_, rest, asio::as_tuple(asio::use_awaitable));
  disarm_timeout();
  co_return ec;
}

asio::awaitable<void> connection::run() {
  try {
    while (!closed_ && co_await serve_one()) {
    }
  } catch (const std::exception& e) {
    spdlog::debug("connection {}: {}", peer_, e.what());
  }
  admitted_.reset();  // no request came for it
  co_await stop_watch();
  close_now();
}

asio::awaitable<connection::read_result> connection::read_header(bool first) {
  const auto config = host_->config();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(config->max_header_size));
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // each route checks its own
  error_code available_ec;
  if (buffer_.size() == 0) {
    // Idle: waiting for the first byte of a request. stop_accepting closes us here.
    if (closing_ && !(answer_first_ && first) && socket_.available(available_ec) == 0)
      co_return read_result::closed;
    idle_ = true;
    arm_timeout(first ? config->header_timeout : config->idle_timeout);
  } else {
    arm_timeout(config->header_timeout);
  }
  // The header is parsed from what is buffered (a pipelined request needs no read at all); each
  // read is a single read_some into the buffer, the first of which is the idle wait.
  for (;;) {
    if (buffer_.size() > 0) {
      error_code ec;
      const auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (!ec && parser_->is_header_done()) {
        disarm_timeout();
        co_return read_result::ok;
      }
      if (ec && ec != http::error::need_more) {
        disarm_timeout();
        if (ec == http::error::header_limit)
          co_return read_result::too_large;
        co_return read_result::malformed;
      }
      if (!ec && used > 0)
        continue;
    }
    if (buffer_.size() >= buffer_.max_size()) {
      disarm_timeout();
      co_return read_result::too_large;
    }
    if (idle_ && !first) {
      // The response just went out: the client's next request is not there yet. Handlers queued
      // for other connections run first, so that the read below mostly finds the request instead
      // of costing a recv that fails and a wait for the reactor.
      co_await asio::post(socket_.get_executor(), asio::use_awaitable);
      if (closed_ || (closing_ && socket_.available(available_ec) == 0)) {
        idle_ = false;
        disarm_timeout();
        co_return read_result::closed;
      }
    }
    auto [ec, n] = co_await socket_.async_read_some(
        buffer_.prepare(beast::read_size(buffer_, 65536)), asio::as_tuple(asio::use_awaitable));
    buffer_.commit(n);
    if (idle_) {
      idle_ = false;
      if (!ec && !closed_)
        arm_timeout(config->header_timeout);
    }
    if (ec || closed_) {
      // End of stream, reset, a timeout or a stop that closed the socket or cancelled the read:
      // whatever the error, nobody is left to read an answer.
      disarm_timeout();
      co_return read_result::closed;
    }
  }
}

asio::awaitable<bool> connection::serve_one() {
  const server_environment& env = host_->environment();
  if (env.stop_accepting.is_cancellation_requested())
    closing_ = true;
  if (closing_ && buffer_.size() == 0 && !(answer_first_ && !served_any_)) {
    error_code ec;
    if (socket_.available(ec) == 0)
      co_return false;
  }

  const auto result = co_await read_header(!served_any_);
  if (result == read_result::closed)
    co_return false;

  const auto started = std::chrono::steady_clock::now();
  auto& stats = host_->stats();
  stats.requests_total.fetch_add(1, std::memory_order_relaxed);
  served_any_ = true;

  // Answers that need no handler: the request could not be read.
  auto answer_early = [&](http::status status, std::string_view message,
                          std::string_view what) -> asio::awaitable<void> {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "lifetime-demo");
    res.set(http::field::content_type, "application/json");
    boost::json::object body;
    body["error"] = message;
    res.body() = boost::json::serialize(body);
    res.keep_alive(false);
    res.prepare_payload();
    arm_timeout(host_->config()->header_timeout);
    [[maybe_unused]] auto [ec, n] =
        co_await http::async_write(socket_, res, asio::as_tuple(asio::use_awaitable));
    disarm_timeout();
    stats.count_response(res.result_int());
    spdlog::info("{} \"{}\" {} {}ms", peer_, what, res.result_int(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count());
  };
  if (result == read_result::too_large) {
    co_await answer_early(http::status::request_header_fields_too_large, "request header too large",
                          "-");
    co_return false;
  }
  if (result == read_result::malformed) {
    co_await answer_early(http::status::bad_request, "malformed request", "-");
    co_return false;
  }

  // RFC 9112, 6.3: a Transfer-Encoding whose last coding is not chunked leaves the body length
  // undetermined, and one next to a Content-Length is ambiguous; either could smuggle a request.
  {
    const auto& fields = parser_->get();
    const bool has_te = fields.find(http::field::transfer_encoding) != fields.end();
    const bool has_length = fields.find(http::field::content_length) != fields.end();
    if (has_te && (!parser_->chunked() || has_length)) {
      co_await answer_early(
          http::status::bad_request, "unsupported transfer encoding",
          std::string(sv(fields.method_string())) + " " + std::string(sv(fields.target())));
      co_return false;
    }
  }

  // The parser keeps its state (keep-alive, length, chunked) without the header's fields, which
  // move to header_ (alive until the next request; method and target view into it).
  request_keep_alive_ = parser_->keep_alive();
  header_ = std::move(parser_->get().base());
  const std::string_view method = sv(header_.method_string());
  const std::string_view target = sv(header_.target());
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    co_await answer_early(http::status::bad_request, "malformed target",
                          std::string(method) + " " + std::string(target));
    co_return false;
  }
  auto match = host_->routes().find(header_.method(), url->encoded_segments());

  const auto config = host_->config();
  const auto generation = host_->generation();

  // The in-flight gate: closed once the host drains (phase 3 on).
  std::optional<lifetime::gate::holder> holder;
  if (admitted_) {
    holder = std::move(admitted_);
    admitted_.reset();
  } else if (env.in_flight != nullptr) {
    holder = env.in_flight->try_enter();
    if (!holder) {
      closing_ = true;
      // Read before this connection's close_if_idle() ran (it is queued behind us): the request
      // had arrived when accepting stopped.
      if (auto admission = host_->stop_admission())
        holder.emplace(*admission);
    }
  }
  in_request_ = true;

  // The request's token (see request_token()): its parents and deadline are fixed now, the
  // source itself is made when the handler first asks for it.
  std::optional<std::chrono::milliseconds> timeout_param;
  bool bad_timeout = false;
  for (auto param : url->params()) {
    if (param.key == "timeout") {
      timeout_param = parse_duration(std::string_view(param.value));
      bad_timeout = !timeout_param;
    }
  }
  request_cancellable_ = config->request_cancellation;
  request_deadline_ = no_deadline;
  if (config->request_timeout.count() > 0)
    request_deadline_ = started + config->request_timeout;
  if (timeout_param)
    request_deadline_ = std::min(request_deadline_, started + *timeout_param);
  request_generation_ = generation;

  request_context ctx(*this, header_, *url, std::move(match.params), config);
  stats.requests_in_flight.fetch_add(1, std::memory_order_relaxed);

  cancellation_reason reason = cancellation_reason::none;
  std::optional<http_error> error;
  bool internal_error = false;
  bool must_close = false;
  body_complete_ = parser_->is_done();
  try {
    if (!holder && env.in_flight != nullptr) {
      throw operation_cancelled(cancellation_reason::application_stopping);
    }
    if (bad_timeout)
      throw http_error(400, "bad timeout (use e.g. 250ms, 2s)");
    if (match.found == nullptr) {
      if (match.path_exists)
        throw http_error(405, "method not allowed");
      throw http_error(404, "not found");
    }
    const route& r = *match.found;
    if (r.needs_csrf) {
      const auto session = ctx.session_id();
      const auto header = header_[csrf_header_name];
      if (!session || !host_->sessions().verify(*session, sv(header))) {
        throw http_error(403, "missing or wrong antiforgery token");
      }
    }
    if (!body_complete_) {
      const auto length = parser_->content_length();
      if (r.body == body_mode::buffered) {
        if (length && *length > config->max_body_size) {
          throw http_error(413, "request body too large", true);
        }
        if (beast::iequals(header_[http::field::expect], "100-continue")) {
          static constexpr std::string_view line = "HTTP/1.1 100 Continue\r\n\r\n";
          auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(line),
                                                    asio::as_tuple(asio::use_awaitable));
          if (ec)
            throw operation_cancelled(cancellation_reason::client_disconnected);
        }
        http::request_parser<http::string_body> body_parser(std::move(*parser_));
        body_parser.body_limit(config->max_body_size);
        arm_timeout(config->header_timeout);
        auto [ec, n] = co_await http::async_read(socket_, buffer_, body_parser,
                                                 asio::as_tuple(asio::use_awaitable));
        disarm_timeout();
        if (ec == http::error::body_limit)
          throw http_error(413, "request body too large", true);
        if (ec)
          throw operation_cancelled(cancellation_reason::client_disconnected);
        ctx.body_ = std::move(body_parser.get().body());
        body_complete_ = true;
      } else {
        if (length && *length > config->max_upload_size) {
          throw http_error(413, "upload too large", true);
        }
        stream_parser_.emplace(std::move(*parser_));
        stream_parser_->body_limit(config->max_upload_size);
      }
    }
    // The disconnect watch is armed lazily, by request_context's waiting helpers: a handler that
    // answers without waiting never pays for the extra read.
    co_await r.handler(ctx);
  } catch (const operation_cancelled& e) {
    reason = e.reason();
  } catch (const http_error& e) {
    error = e;
  } catch (const boost::system::system_error& e) {
    if (const auto& token = ctx.token(); token.is_cancellation_requested()) {
      reason = token.reason();
    } else if (peer_gone_ || ctx.stream_broken_ || closed_) {
      reason = cancellation_reason::client_disconnected;
    } else {
      internal_error = true;
      spdlog::error("{} {} {}: {}", peer_, method, target, e.what());
    }
  } catch (const std::exception& e) {
    internal_error = true;
    spdlog::error("{} {} {}: {}", peer_, method, target, e.what());
  }
  if (reason == cancellation_reason::client_disconnected)
    peer_gone_ = true;

  // A body left unread cannot be skipped: whatever answers says Connection: close.
  if (!body_complete_ && !(stream_parser_ && stream_parser_->is_done()))
    ctx.keep_alive_ = false;
  try {
    if (reason != cancellation_reason::none) {
      stats.count_aborted(reason);
      if (ctx.headers_sent_) {
        must_close = true;
      } else if (reason == cancellation_reason::client_disconnected) {
        ctx.status_ = 499;
        must_close = true;
      } else if (reason == cancellation_reason::deadline_exceeded) {
        boost::json::object body;
        body["error"] = "deadline exceeded";
        body["reason"] = to_string(reason);
        co_await ctx.send_json(http::status::gateway_timeout, body);
      } else {
        ctx.keep_alive_ = false;
        ctx.add_header(http::field::retry_after, std::to_string(config->retry_after.count()));
        boost::json::object body;
        body["error"] = "service unavailable";
        body["reason"] = to_string(reason);
        co_await ctx.send_json(http::status::service_unavailable, body);
      }
    } else if (error) {
      if (error->close())
        ctx.keep_alive_ = false;
      if (ctx.headers_sent_) {
        must_close = true;
      } else {
        if (error->status() == 405)
          ctx.add_header(http::field::allow, "GET, POST, PUT");
        boost::json::object body;
        body["error"] = error->what();
        co_await ctx.send_json(static_cast<http::status>(error->status()), body);
      }
    } else if (internal_error) {
      if (ctx.headers_sent_) {
        must_close = true;
      } else {
        boost::json::object body;
        body["error"] = "internal error";
        co_await ctx.send_json(http::status::internal_server_error, body);
      }
    }
  } catch (const std::exception&) {
    must_close = true;
  }

  if (!body_complete_ && !(stream_parser_ && stream_parser_->is_done()))
    must_close = true;
  if (ctx.stream_broken_)
    must_close = true;
  // Answered: the access log line is written and the request leaves the in-flight gate now, not
  // after the disconnect watch has wound down (a round trip through the strand that can queue
  // behind thousands of other connections at shutdown: long enough for an answered request to
  // be counted as abandoned at the end of the budget, or for its log line to be lost at exit).
  // A connection that serves nothing more drops the stop's admission hold now too.
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  const unsigned status = ctx.status_ == 0 ? 499 : ctx.status_;
  if (reason != cancellation_reason::none) {
    spdlog::info("{} \"{} {}\" {} {}ms cancelled={}{}{}", peer_, method, target, status,
                 elapsed.count(), to_string(reason), ctx.note_.empty() ? "" : " ", ctx.note_);
  } else {
    spdlog::info("{} \"{} {}\" {} {}ms{}{}", peer_, method, target, status, elapsed.count(),
                 ctx.note_.empty() ? "" : " ", ctx.note_);
  }
  holder.reset();
  in_request_ = false;
  if (must_close || !ctx.keep_alive_ || !ctx.last_keep_alive_ || peer_gone_ || closed_)
    admitted_.reset();  // it serves nothing more
  co_await stop_watch();
  if (watch_used_ && buffer_.size() == 0)
    buffer_.shrink_to_fit();  // no read buffer kept while idle
  watch_used_ = false;
  request_deadline_timer_.disarm();
  request_source_.reset();
  request_cancellable_ = false;
  stream_parser_.reset();
  stats.requests_in_flight.fetch_sub(1, std::memory_order_relaxed);

  co_return !must_close && ctx.keep_alive_ && ctx.last_keep_alive_ && !peer_gone_ && !closed_;
}

bool connection::keep_alive_allowed() const noexcept {
  return !closing_ && !closed_ && !peer_gone_ &&
         !host_->environment().stopping.is_cancellation_requested() &&
         !host_->environment().stop_accepting.is_cancellation_requested() &&
         !request_generation_.is_cancellation_requested();
}

cancellation_token connection::request_token() {
  if (!request_cancellable_)
    return {};
  if (!request_source_) {
    request_source_.emplace(cancellation_source::linked(
        {host_->environment().cancel_in_flight, request_generation_}, request_deadline_));
    const auto when = request_source_->deadline();
    if (peer_gone_) {
      request_source_->cancel(cancellation_reason::client_disconnected);
    } else if (when != no_deadline && when <= deadline_clock::now()) {
      request_source_->cancel(cancellation_reason::deadline_exceeded);
    } else {
      request_deadline_timer_ = cancel_at_deadline(socket_.get_executor(), *request_source_);
    }
  }
  return request_source_->token();
}

void connection::start_watch() {
  watch_enabled_ = request_cancellable_;
  if (!watch_enabled_ || watch_pending_ || peer_gone_ || closed_)
    return;
  if (buffer_.size() >= watch_buffer_limit)
    return;
  watch_pending_ = true;
  if (!watch_used_)
    host_->stats().disconnect_watches_total.fetch_add(1, std::memory_order_relaxed);
  watch_used_ = true;
  socket_.async_read_some(
      buffer_.prepare(watch_read_size),
      asio::bind_cancellation_slot(
          watch_signal_.slot(),
          [self = shared_from_this()](error_code ec, std::size_t n) { self->on_watch(ec, n); }));
}

void connection::on_watch(error_code ec, std::size_t n) {
  watch_pending_ = false;
  buffer_.commit(n);
  if (ec && ec != asio::error::operation_aborted) {
    // End of stream or reset: the client is gone.
    peer_gone_ = true;
    if (request_source_)
      request_source_->cancel(cancellation_reason::client_disconnected);
  }
  if (watch_stopping_) {
    watch_done_.cancel();
    return;
  }
  if (!ec)
    start_watch();
}

asio::awaitable<void> connection::stop_watch() {
  if (!watch_pending_)
    co_return;
  watch_stopping_ = true;
  watch_signal_.emit(asio::cancellation_type::terminal);
  while (watch_pending_) {
    watch_done_.expires_at(std::chrono::steady_clock::time_point::max());
    co_await watch_done_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  watch_stopping_ = false;
}

}  // namespace lifetime::demo
