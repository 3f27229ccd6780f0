// SPDX-License-Identifier: MIT
#include "http/request_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>

#include <lifetime/asio.hpp>

#include "csrf.hpp"
#include "http/connection.hpp"
#include "http/http_error.hpp"
#include "http/web_host.hpp"

namespace lifetime::demo {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

request_context::request_context(connection& conn, const http::request_header<>& header,
                                 boost::urls::url_view url, std::vector<std::string> path_params,
                                 std::shared_ptr<const server_config> config)
    : conn_(conn),
      header_(header),
      url_(url),
      path_params_(std::move(path_params)),
      config_(std::move(config)) {}

const cancellation_token& request_context::token() const {
  if (!token_made_) {
    token_ = conn_.request_token();
    token_made_ = true;
  }
  return token_;
}

std::optional<std::string> request_context::query(std::string_view name) const {
  for (auto param : url_.params()) {
    if (param.key == name)
      return std::string(param.value);
  }
  return std::nullopt;
}

std::optional<std::string> request_context::session_id() const {
  const auto cookie = header_[http::field::cookie];
  if (cookie.empty())
    return std::nullopt;
  auto value = find_cookie(std::string_view(cookie.data(), cookie.size()), session_cookie_name);
  if (!value)
    return std::nullopt;
  return std::string(*value);
}

void request_context::watch_disconnect() {
  token();  // what the watch cancels
  if (body_complete())
    conn_.start_watch();
}

asio::awaitable<void> request_context::sleep_for(std::chrono::steady_clock::duration duration) {
  token().throw_if_cancellation_requested();
  watch_disconnect();
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  auto [ec] =
      co_await timer.async_wait(bind_cancellation(token(), asio::as_tuple(asio::use_awaitable)));
  token().throw_if_cancellation_requested();
  if (ec)
    throw boost::system::system_error(ec);
}

web_host& request_context::host() noexcept {
  return *conn_.host_;
}
metrics& request_context::stats() noexcept {
  return conn_.host_->stats();
}

void request_context::add_header(http::field name, std::string value) {
  extra_.emplace_back(name, std::move(value));
}

request_context::response request_context::make_response(http::status status, std::string body,
                                                         std::string_view content_type) const {
  response res{status, header_.version()};
  res.set(http::field::server, "lifetime-demo");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

asio::awaitable<void> request_context::send(response res) {
  if (headers_sent_)
    throw std::logic_error("response already sent");
  for (const auto& [name, value] : extra_)
    res.set(name, value);
  last_keep_alive_ = keep_alive_ && conn_.request_keep_alive_ && conn_.keep_alive_allowed();
  res.keep_alive(last_keep_alive_);
  res.prepare_payload();
  status_ = res.result_int();
  headers_sent_ = true;
  // The header as Beast's serializer writes it, into a buffer the connection reuses; the body
  // goes out from the response itself.
  std::string& head = conn_.write_buffer_;
  head.clear();
  const auto reason = res.reason();
  const auto digit = [](unsigned n) { return static_cast<char>('0' + n % 10); };
  const unsigned version = res.version();
  head.append("HTTP/");
  head += digit(version / 10);
  head += '.';
  head += digit(version);
  head += ' ';
  head += digit(status_ / 100);
  head += digit(status_ / 10);
  head += digit(status_);
  head += ' ';
  head.append(reason.data(), reason.size()).append("\r\n");
  for (const auto& field : res) {
    const auto name = field.name_string();
    const auto value = field.value();
    head.append(name.data(), name.size()).append(": ").append(value.data(), value.size());
    head.append("\r\n");
  }
  head.append("\r\n");
  std::size_t written = 0;
  auto ec = conn_.write_now(head, res.body(), written);
  if (!ec && written < head.size() + res.body().size())
    ec = co_await conn_.write_rest(head, res.body(), written);
  conn_.host_->stats().count_response(status_);
  if (ec) {
    stream_broken_ = true;
    throw boost::system::system_error(ec);
  }
}

asio::awaitable<void> request_context::send_json(http::status status,
                                                 const boost::json::value& body) {
  co_await send(make_response(status, boost::json::serialize(body), "application/json"));
}

asio::awaitable<void> request_context::begin_events(std::chrono::milliseconds retry) {
  if (headers_sent_)
    throw std::logic_error("response already sent");
  http::response<http::empty_body> res{http::status::ok, header_.version()};
  res.set(http::field::server, "lifetime-demo");
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : extra_)
    res.set(name, value);
  res.chunked(true);
  last_keep_alive_ = keep_alive_ && conn_.request_keep_alive_ && conn_.keep_alive_allowed();
  res.keep_alive(last_keep_alive_);
  status_ = 200;
  headers_sent_ = true;
  http::response_serializer<http::empty_body> serializer(res);
  conn_.arm_timeout(config_->header_timeout);
  auto [ec, n] = co_await http::async_write_header(
      conn_.socket_, serializer, bind_cancellation(token(), asio::as_tuple(asio::use_awaitable)));
  conn_.disarm_timeout();
  conn_.host_->stats().count_response(status_);
  if (ec) {
    stream_broken_ = true;
    token().throw_if_cancellation_requested();
    throw boost::system::system_error(ec);
  }
  if (retry.count() > 0) {
    const std::string text = "retry: " + std::to_string(retry.count()) + "\n\n";
    conn_.arm_timeout(config_->header_timeout);
    auto [wec, wn] =
        co_await asio::async_write(conn_.socket_, http::make_chunk(asio::buffer(text)),
                                   bind_cancellation(token(), asio::as_tuple(asio::use_awaitable)));
    conn_.disarm_timeout();
    if (wec) {
      stream_broken_ = true;
      token().throw_if_cancellation_requested();
      throw boost::system::system_error(wec);
    }
  }
}

asio::awaitable<void> request_context::send_event(std::string_view event, std::string_view data) {
  token().throw_if_cancellation_requested();
  std::string text;
  text.reserve(event.size() + data.size() + 16);
  text.append("event: ").append(event).append("\ndata: ").append(data).append("\n\n");
  conn_.arm_timeout(config_->header_timeout);
  auto [ec, n] =
      co_await asio::async_write(conn_.socket_, http::make_chunk(asio::buffer(text)),
                                 bind_cancellation(token(), asio::as_tuple(asio::use_awaitable)));
  conn_.disarm_timeout();
  if (ec) {
    stream_broken_ = true;
    token().throw_if_cancellation_requested();
    throw boost::system::system_error(ec);
  }
}

asio::awaitable<void> request_context::end_events() {
  conn_.arm_timeout(config_->header_timeout);
  auto [ec, n] = co_await asio::async_write(conn_.socket_, http::make_chunk_last(),
                                            asio::as_tuple(asio::use_awaitable));
  conn_.disarm_timeout();
  if (ec) {
    stream_broken_ = true;
    throw boost::system::system_error(ec);
  }
}

bool request_context::body_complete() const noexcept {
  return conn_.body_complete_ || (conn_.stream_parser_ && conn_.stream_parser_->is_done());
}

asio::awaitable<std::size_t> request_context::read_body_some(char* data, std::size_t size) {
  if (conn_.body_complete_ || !conn_.stream_parser_)
    co_return 0;
  auto& parser = *conn_.stream_parser_;
  if (!continue_sent_) {
    continue_sent_ = true;
    const auto expect = header_[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      static constexpr std::string_view line = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [ec, n] = co_await asio::async_write(conn_.socket_, asio::buffer(line),
                                                asio::as_tuple(asio::use_awaitable));
      if (ec)
        throw operation_cancelled(cancellation_reason::client_disconnected);
    }
  }
  while (!parser.is_done()) {
    parser.get().body().data = data;
    parser.get().body().size = size;
    conn_.arm_timeout(config_->header_timeout);
    auto [ec, n] = co_await http::async_read_some(
        conn_.socket_, conn_.buffer_, parser,
        bind_cancellation(token(), asio::as_tuple(asio::use_awaitable)));
    conn_.disarm_timeout();
    if (ec == http::error::need_buffer)
      ec = {};
    if (ec) {
      token().throw_if_cancellation_requested();
      if (ec == http::error::body_limit)
        throw http_error(413, "upload too large", true);
      // End of stream, reset, or a stalled client whose timeout closed the socket.
      conn_.peer_gone_ = true;
      if (conn_.request_source_) {
        conn_.request_source_->cancel(cancellation_reason::client_disconnected);
      }
      throw operation_cancelled(cancellation_reason::client_disconnected);
    }
    const std::size_t got = size - parser.get().body().size;
    if (parser.is_done())
      conn_.body_complete_ = true;
    if (got > 0)
      co_return got;
  }
  conn_.body_complete_ = true;
  co_return 0;
}

}  // namespace lifetime::demo
