// SPDX-License-Identifier: MIT
// Listening sockets: bound from a `listen` address, or adopted from systemd (socket activation,
// the fd store).
//
// A bind or listen that fails throws listen_error ("cannot listen on 127.0.0.1:8080: address
// already in use", with the errno). Thread safety: call from the thread that starts the server.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace lifetime::http::detail {

struct listener {
  explicit listener(boost::asio::any_io_executor strand) : acceptor(std::move(strand)) {}
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::ip::tcp::endpoint local;
  int fd = -1;
};

/// Binds and listens on `address` ("host:port"). @throws listen_error, std::invalid_argument.
std::shared_ptr<listener> open_listener(const boost::asio::any_io_executor& strand,
                                        const std::string& address);
/// Adopts the listening socket `fd`. @throws listen_error when it is not a socket.
std::shared_ptr<listener> adopt_listener(const boost::asio::any_io_executor& strand, int fd,
                                         const std::string& name);

}  // namespace lifetime::http::detail
