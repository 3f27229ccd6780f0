// SPDX-License-Identifier: MIT
#include <lifetime/http/request_context.hpp>

#include <array>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/json/serialize.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/http/server.hpp>

#include "response_writer.hpp"

namespace lifetime::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

request_context::request_context(detail::exchange& exchange, const bhttp::request_header<>& header,
                                 boost::urls::url_view url, std::vector<std::string> path_params,
                                 const server_config& config)
    : exchange_(exchange),
      header_(header),
      url_(url),
      path_params_(std::move(path_params)),
      config_(&config) {}

const cancellation_token& request_context::token() const {
  if (!token_made_) {
    token_ = exchange_.token();
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

std::optional<std::string> request_context::cookie(std::string_view name) const {
  const auto header = header_[bhttp::field::cookie];
  std::string_view rest(header.data(), header.size());
  while (!rest.empty()) {
    const auto end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ')
      pair.remove_prefix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name)
      return std::string(pair.substr(eq + 1));
  }
  return std::nullopt;
}

void request_context::watch_disconnect() {
  token();  // what the watch cancels
  exchange_.watch_disconnect();
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

metrics& request_context::stats() noexcept {
  return exchange_.owner().stats();
}

void request_context::add_header(bhttp::field name, std::string value) {
  extra_.emplace_back(name, std::move(value));
}

request_context::response request_context::make_response(bhttp::status status, std::string body,
                                                         std::string_view content_type) const {
  response res{status, header_.version()};
  res.set(bhttp::field::server, config_->server_name);
  res.set(bhttp::field::content_type, content_type);
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

void request_context::begin_response(unsigned status) {
  if (headers_sent_)
    throw std::logic_error("response already sent");
  last_keep_alive_ = keep_alive_ && exchange_.keep_alive_allowed();
  status_ = status;
  headers_sent_ = true;
}

namespace {
/// Refuses a body HTTP does not allow, before anything is sent (the server can still answer 500).
void check_body_allowed(unsigned status, std::string_view body) {
  if (!body.empty() && (status < 200 || status == 204 || status == 304))
    throw std::invalid_argument("a 1xx, 204 or 304 response has no body");
}

// The response header as Beast's serializer writes it goes into this thread's scratch buffer
// (write_rest() copies what the socket did not take before anything else can run on this thread);
// the body goes out from where it is. An idle connection keeps no header buffer.
thread_local std::string response_head;
}  // namespace

asio::awaitable<void> request_context::send(response res) {
  check_body_allowed(res.result_int(), res.body());
  begin_response(res.result_int());
  for (const auto& [name, value] : extra_)
    res.set(name, value);
  res.keep_alive(last_keep_alive_);
  res.prepare_payload();
  response_head.clear();
  detail::serialize_header(response_head, res.base());
  std::size_t written = 0;
  auto ec = exchange_.write_now(response_head, res.body(), written);
  if (!ec && written < response_head.size() + res.body().size())
    ec = co_await exchange_.write_rest(response_head, res.body(), written);
  end_response(ec);
}

asio::awaitable<void> request_context::send(bhttp::status status, std::string_view body,
                                            std::string_view content_type) {
  if (!extra_.empty()) {
    // Added headers may replace the common ones: Beast's fields keep the order and the rules.
    co_await send(make_response(status, std::string(body), content_type));
    co_return;
  }
  const unsigned code = static_cast<unsigned>(status);
  check_body_allowed(code, body);
  begin_response(code);
  auto& head = response_head;
  head.clear();
  const unsigned version = header_.version();
  detail::append_status_line(head, version, code, bhttp::obsolete_reason(status));
  detail::append_field(head, "Server", config_->server_name);
  detail::append_field(head, "Content-Type", content_type);
  detail::append_field(head, "Cache-Control", "no-store");
  // What Beast's keep_alive() leaves: HTTP/1.1 says close, HTTP/1.0 says keep-alive.
  if (version >= 11 && !last_keep_alive_)
    detail::append_field(head, "Connection", "close");
  else if (version < 11 && last_keep_alive_)
    detail::append_field(head, "Connection", "keep-alive");
  char length[24];
  const auto end = std::to_chars(std::begin(length), std::end(length), body.size()).ptr;
  detail::append_field(head, "Content-Length",
                       std::string_view(length, static_cast<std::size_t>(end - length)));
  head.append("\r\n");
  // Written here, not by a shared coroutine: a response the socket takes at once costs no frame.
  std::size_t written = 0;
  auto ec = exchange_.write_now(head, body, written);
  if (!ec && written < head.size() + body.size())
    ec = co_await exchange_.write_rest(head, body, written);
  end_response(ec);
}

void request_context::end_response(boost::system::error_code ec) {
  stats().count_response(status_);
  if (ec) {
    stream_broken_ = true;
    throw boost::system::system_error(ec);
  }
}

asio::awaitable<void> request_context::send_json(bhttp::status status,
                                                 const boost::json::value& body) {
  const auto text = boost::json::serialize(body);
  co_await send(status, text, "application/json");
}

asio::awaitable<void> request_context::begin_events(std::chrono::milliseconds retry) {
  begin_response(200);
  bhttp::response<bhttp::empty_body> res{bhttp::status::ok, header_.version()};
  res.set(bhttp::field::server, config_->server_name);
  res.set(bhttp::field::content_type, "text/event-stream");
  res.set(bhttp::field::cache_control, "no-store");
  for (const auto& [name, value] : extra_)
    res.set(name, value);
  res.chunked(true);
  res.keep_alive(last_keep_alive_);
  std::string& head = exchange_.header_buffer();
  head.clear();
  detail::serialize_header(head, res.base());
  const std::array<asio::const_buffer, 1> buffers{asio::buffer(head)};
  const auto ec = co_await exchange_.write_all(buffers, true);
  stats().count_response(status_);
  if (ec) {
    stream_broken_ = true;
    token().throw_if_cancellation_requested();
    throw boost::system::system_error(ec);
  }
  if (retry.count() > 0)
    co_await write_chunk("retry: " + std::to_string(retry.count()) + "\n\n", true);
}

asio::awaitable<void> request_context::write_chunk(std::string_view text, bool cancellable) {
  char size_line[24];
  const int length = std::snprintf(size_line, sizeof size_line, "%zx\r\n", text.size());
  const std::array<asio::const_buffer, 3> buffers{
      asio::buffer(size_line, static_cast<std::size_t>(length)), asio::buffer(text),
      asio::buffer("\r\n", 2)};
  const auto ec = co_await exchange_.write_all(buffers, cancellable);
  if (ec) {
    stream_broken_ = true;
    if (cancellable)
      token().throw_if_cancellation_requested();
    throw boost::system::system_error(ec);
  }
}

asio::awaitable<void> request_context::send_event(std::string_view event, std::string_view data,
                                                  std::string_view id) {
  token().throw_if_cancellation_requested();
  std::string text;
  text.reserve(event.size() + data.size() + id.size() + 24);
  if (!id.empty())
    text.append("id: ").append(id).append("\n");
  text.append("event: ").append(event).append("\ndata: ").append(data).append("\n\n");
  co_await write_chunk(text, true);
}

asio::awaitable<void> request_context::end_events() {
  static constexpr std::string_view last = "0\r\n\r\n";
  const std::array<asio::const_buffer, 1> buffers{asio::buffer(last)};
  const auto ec = co_await exchange_.write_all(buffers, false);
  if (ec) {
    stream_broken_ = true;
    throw boost::system::system_error(ec);
  }
}

}  // namespace lifetime::http
