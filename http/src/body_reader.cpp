// SPDX-License-Identifier: MIT
#include "body_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/http/http_error.hpp>

namespace lifetime::http::detail {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

void body_reader::begin(const header_parser& parser, std::chrono::milliseconds timeout) noexcept {
  complete_ = parser.is_done();
  timeout_ = timeout;
  continue_pending_ = false;
}

asio::awaitable<void> body_reader::send_continue() {
  static constexpr std::string_view line = "HTTP/1.1 100 Continue\r\n\r\n";
  auto [ec, n] = co_await asio::async_write(transport_.socket, asio::buffer(line),
                                            asio::as_tuple(asio::use_awaitable));
  if (ec)
    throw operation_cancelled(cancellation_reason::client_disconnected);
}

asio::awaitable<void> body_reader::read_buffered(header_parser& parser, std::size_t limit,
                                                 bool expects_continue) {
  if (complete_)
    co_return;
  if (const auto length = parser.content_length(); length && *length > limit)
    throw http_error(413, "request body too large", true);
  if (expects_continue)
    co_await send_continue();
  bhttp::request_parser<bhttp::string_body> body_parser(std::move(parser));
  body_parser.body_limit(limit);
  transport_.arm_timeout(timeout_);
  auto [ec, n] = co_await bhttp::async_read(transport_.socket, transport_.buffer, body_parser,
                                            asio::as_tuple(asio::use_awaitable));
  transport_.disarm_timeout();
  if (ec == bhttp::error::body_limit)
    throw http_error(413, "request body too large", true);
  if (ec)
    throw operation_cancelled(cancellation_reason::client_disconnected);
  body_ = std::move(body_parser.get().body());
  complete_ = true;
}

void body_reader::begin_streamed(header_parser& parser, std::size_t limit, bool expects_continue) {
  if (complete_)
    return;
  if (const auto length = parser.content_length(); length && *length > limit)
    throw http_error(413, "upload too large", true);
  stream_parser_ = std::make_unique<decltype(stream_parser_)::element_type>(std::move(parser));
  stream_parser_->body_limit(limit);
  continue_pending_ = expects_continue;
}

asio::awaitable<std::size_t> body_reader::read_some(char* data, std::size_t size,
                                                    cancellation_token token) {
  if (complete_ || !stream_parser_)
    co_return 0;
  auto& parser = *stream_parser_;
  if (continue_pending_) {
    continue_pending_ = false;
    co_await send_continue();
  }
  while (!parser.is_done()) {
    parser.get().body().data = data;
    parser.get().body().size = size;
    transport_.arm_timeout(timeout_);
    auto [ec, n] = co_await bhttp::async_read_some(
        transport_.socket, transport_.buffer, parser,
        bind_cancellation(token, asio::as_tuple(asio::use_awaitable)));
    transport_.disarm_timeout();
    if (ec == bhttp::error::need_buffer)
      ec = {};
    if (ec) {
      token.throw_if_cancellation_requested();
      if (ec == bhttp::error::body_limit)
        throw http_error(413, "upload too large", true);
      // End of stream, reset, or a stalled client whose timeout closed the socket.
      watch_.set_peer_gone();
      token_.cancel(cancellation_reason::client_disconnected);
      throw operation_cancelled(cancellation_reason::client_disconnected);
    }
    const std::size_t got = size - parser.get().body().size;
    if (parser.is_done())
      complete_ = true;
    if (got > 0)
      co_return got;
  }
  complete_ = true;
  co_return 0;
}

void body_reader::end() noexcept {
  stream_parser_.reset();
  std::string().swap(body_);  // no body kept while idle
  complete_ = true;
}

}  // namespace lifetime::http::detail
