// SPDX-License-Identifier: MIT
#include "request_reader.hpp"

#include <limits>

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>

namespace lifetime::http::detail {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

asio::awaitable<request_reader::result> request_reader::read(const server_config& config,
                                                             bool first, bool answer_anyway) {
  auto& buffer = transport_.buffer;
  auto& socket = transport_.socket;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(config.max_header_size));
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // each route checks its own
  if (buffer.size() == 0) {
    // Idle: waiting for the first byte of a request. A closing connection waits the linger.
    idle_ = true;
    if (closing_ && !(answer_anyway && first))
      transport_.arm_timeout(config.closing_linger);
    else
      transport_.arm_timeout(first ? config.header_timeout : config.idle_timeout);
  } else {
    transport_.arm_timeout(config.header_timeout);
  }
  for (;;) {
    if (buffer.size() > 0) {
      error_code ec;
      const auto used = parser_->put(buffer.data(), ec);
      buffer.consume(used);
      if (!ec && parser_->is_header_done()) {
        transport_.disarm_timeout();
        co_return result::ok;
      }
      if (ec && ec != bhttp::error::need_more) {
        transport_.disarm_timeout();
        co_return ec == bhttp::error::header_limit ? result::too_large : result::malformed;
      }
      if (!ec && used > 0)
        continue;
    }
    if (buffer.size() >= buffer.max_size()) {
      transport_.disarm_timeout();
      co_return result::too_large;
    }
    if (idle_) {
      if (woken_) {
        woken_ = false;  // readable: the read below finds what arrived
      } else {
        const auto got = co_await read_now(first);
        if (got == arrival::nothing) {
          buffer.shrink_to_fit();  // a parked connection holds no buffer
          co_return result::idle;
        }
        idle_ = false;
        if (got == arrival::ended) {
          transport_.disarm_timeout();
          co_return result::closed;
        }
        transport_.arm_timeout(config.header_timeout);
        continue;
      }
    }
    auto [ec, n] =
        co_await socket.async_read_some(buffer.prepare(boost::beast::read_size(buffer, 65536)),
                                        asio::as_tuple(asio::use_awaitable));
    buffer.commit(n);
    if (idle_) {
      idle_ = false;
      if (!ec && !transport_.closed())
        transport_.arm_timeout(config.header_timeout);
    }
    if (ec || transport_.closed()) {
      transport_.disarm_timeout();
      co_return result::closed;
    }
  }
}

asio::awaitable<request_reader::arrival> request_reader::read_now(bool first) {
  auto& buffer = transport_.buffer;
  auto& socket = transport_.socket;
  if (!first) {
    // The response just went out: the client's next request is not there yet. Handlers queued
    // for other connections run first, so that the read below mostly finds the request instead
    // of costing a recv that fails and a wait for the reactor.
    co_await asio::post(socket.get_executor(), asio::use_awaitable);
    if (transport_.closed())
      co_return arrival::ended;
  }
  const auto space = buffer.prepare(boost::beast::read_size(buffer, 65536));
  ssize_t n = -1;
  do {
    n = ::recv(socket.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    buffer.commit(static_cast<std::size_t>(n));
    co_return arrival::data;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    co_return arrival::nothing;
  co_return arrival::ended;  // the client closed, or the connection broke
}

}  // namespace lifetime::http::detail
