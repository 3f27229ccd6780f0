// SPDX-License-Identifier: MIT
#include "request_reader.hpp"

#include <limits>
#include <tuple>
#include <utility>

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>

namespace lifetime::http::detail {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

request_reader::result request_reader::start(const server_config& config, bool first,
                                             bool answer_anyway) {
  auto& buffer = transport_.buffer;
  if (std::exchange(ended_, false) || transport_.closed()) {
    transport_.disarm_timeout();
    return result::closed;  // end of stream, reset, a timeout or a stop ended the parked read
  }
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(config.max_header_size));
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // each route checks its own
  if (buffer.size() == 0) {
    // Idle: waiting for the first byte of a request. A closing connection waits the linger.
    if (closing_ && !(answer_anyway && first))
      transport_.arm_timeout(config.closing_linger);
    else
      transport_.arm_timeout(first ? config.header_timeout : config.idle_timeout);
    if (!first || !read_now()) {
      idle_ = true;
      return result::idle;
    }
  }
  idle_ = false;
  const auto parsed = parse();
  if (parsed == result::partial)
    transport_.arm_timeout(config.header_timeout);
  else
    transport_.disarm_timeout();
  return parsed;
}

asio::awaitable<request_reader::result> request_reader::read_rest() {
  auto& buffer = transport_.buffer;
  for (;;) {
    if (buffer.size() >= buffer.max_size()) {
      transport_.disarm_timeout();
      co_return result::too_large;
    }
    auto [ec, n] = co_await transport_.socket.async_read_some(read_space(),
                                                              asio::as_tuple(asio::use_awaitable));
    buffer.commit(n);
    if (ec || transport_.closed()) {
      transport_.disarm_timeout();
      co_return result::closed;
    }
    if (const auto parsed = parse(); parsed != result::partial) {
      transport_.disarm_timeout();
      co_return parsed;
    }
  }
}

request_reader::result request_reader::parse() {
  auto& buffer = transport_.buffer;
  for (;;) {
    error_code ec;
    const auto used = parser_->put(buffer.data(), ec);
    buffer.consume(used);
    if (!ec && parser_->is_header_done())
      return result::ok;
    if (ec && ec != bhttp::error::need_more)
      return ec == bhttp::error::header_limit ? result::too_large : result::malformed;
    if (ec || used == 0 || buffer.size() == 0)
      return result::partial;
  }
}

asio::mutable_buffer request_reader::read_space() {
  return transport_.buffer.prepare(boost::beast::read_size(transport_.buffer, 65536));
}

void request_reader::woken(error_code ec, std::size_t n) {
  transport_.buffer.commit(n);
  ended_ = ec || n == 0;
}

bool request_reader::read_now() {
  auto& buffer = transport_.buffer;
  const auto space = read_space();
  ssize_t n = -1;
  do {
    n = ::recv(transport_.socket.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n <= 0)
    return false;
  buffer.commit(static_cast<std::size_t>(n));
  return true;
}

}  // namespace lifetime::http::detail
