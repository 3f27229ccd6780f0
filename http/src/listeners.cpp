// SPDX-License-Identifier: MIT
#include "listeners.hpp"

#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/v6_only.hpp>

#include <lifetime/http/listen_error.hpp>
#include <lifetime/http/server_config.hpp>

namespace lifetime::http {

listen_error::listen_error(const std::string& address, int code)
    : std::system_error(code, std::generic_category(), address) {
  std::string reason = std::strerror(code);
  if (!reason.empty())
    reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  text_ = "cannot listen on " + address + ": " + reason;
}

}  // namespace lifetime::http

namespace lifetime::http::detail {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string show(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

std::shared_ptr<listener> open_listener(const asio::any_io_executor& strand,
                                        const std::string& address) {
  const auto endpoint = parse_listen_address(address);
  auto l = std::make_shared<listener>(strand);
  boost::system::error_code ec;
  const auto check = [&] {
    if (ec)
      throw listen_error(address, ec.value());
  };
  l->acceptor.open(endpoint.protocol(), ec);
  check();
  l->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  check();
  if (endpoint.address().is_v6()) {
    l->acceptor.set_option(asio::ip::v6_only(false), ec);
    check();
  }
  l->acceptor.bind(endpoint, ec);
  check();
  l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  check();
  l->local = l->acceptor.local_endpoint(ec);
  check();
  l->fd = l->acceptor.native_handle();
  spdlog::info("listening on {}", show(l->local));
  return l;
}

std::shared_ptr<listener> adopt_listener(const asio::any_io_executor& strand, int fd,
                                         const std::string& name) {
  auto l = std::make_shared<listener>(strand);
  sockaddr_storage storage{};
  socklen_t length = sizeof(storage);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
    throw listen_error("socket \"" + name + "\"", errno);
  boost::system::error_code ec;
  l->acceptor.assign(storage.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (!ec)
    l->local = l->acceptor.local_endpoint(ec);
  if (ec)
    throw listen_error("socket \"" + name + "\"", ec.value());
  l->fd = fd;
  spdlog::info("listening on {} (socket \"{}\" from systemd)", show(l->local), name);
  return l;
}

}  // namespace lifetime::http::detail
