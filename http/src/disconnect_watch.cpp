// SPDX-License-Identifier: MIT
#include "disconnect_watch.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace lifetime::http::detail {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// The watch stops reading once this much is buffered (a client pipelining that much waits for
// the server to catch up).
constexpr std::size_t watch_buffer_limit = 64 * 1024;
constexpr std::size_t watch_read_size = 4096;

}  // namespace

bool disconnect_watch::start(const std::shared_ptr<void>& owner) {
  if (!token_.cancellable() || pending_ || peer_gone_ || transport_.closed())
    return false;
  if (transport_.buffer.size() >= watch_buffer_limit)
    return false;
  pending_ = true;
  const bool first = !used_;
  used_ = true;
  transport_.socket.async_read_some(
      transport_.buffer.prepare(watch_read_size),
      asio::bind_cancellation_slot(
          signal_.slot(), [this, owner](error_code ec, std::size_t n) { on_read(owner, ec, n); }));
  return first;
}

void disconnect_watch::on_read(const std::shared_ptr<void>& owner, error_code ec, std::size_t n) {
  pending_ = false;
  transport_.buffer.commit(n);
  if (ec && ec != asio::error::operation_aborted) {
    // End of stream or reset: the client is gone.
    peer_gone_ = true;
    token_.cancel(cancellation_reason::client_disconnected);
  }
  if (stopping_) {
    done_.cancel();
    return;
  }
  if (!ec)
    start(owner);
}

asio::awaitable<void> disconnect_watch::stop() {
  if (!pending_)
    co_return;
  stopping_ = true;
  signal_.emit(asio::cancellation_type::terminal);
  while (pending_) {
    done_.expires_at(std::chrono::steady_clock::time_point::max());
    co_await done_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  stopping_ = false;
}

}  // namespace lifetime::http::detail
