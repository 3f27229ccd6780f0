// SPDX-License-Identifier: MIT
#include "transport.hpp"

namespace lifetime::http::detail {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

std::string describe_peer(const asio::ip::tcp::socket& socket) {
  error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec)
    return "-";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

transport::transport(asio::ip::tcp::socket s)
    : socket(std::move(s)), peer(describe_peer(socket)), timeout_(socket.get_executor()) {}

void transport::close_now() {
  if (closed_)
    return;
  closed_ = true;
  error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  timeout_.cancel();
}

void transport::arm_timeout(std::chrono::milliseconds after) {
  deadline_ = std::chrono::steady_clock::now() + after;
  if (!timer_pending_ || deadline_ < timer_expiry_)
    start_timer(deadline_);
}

void transport::start_timer(std::chrono::steady_clock::time_point when) {
  if (closed_)
    return;
  auto owner = owner_.lock();
  if (!owner)
    return;
  const auto generation = ++timer_generation_;
  timer_pending_ = true;
  timer_expiry_ = when;
  timeout_.expires_at(when);  // cancels the wait it replaces
  timeout_.async_wait(
      [this, owner = std::move(owner), generation](error_code ec) { on_timer(ec, generation); });
}

void transport::on_timer(error_code ec, std::uint64_t generation) {
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

}  // namespace lifetime::http::detail
