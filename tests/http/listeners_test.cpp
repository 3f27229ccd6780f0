// SPDX-License-Identifier: MIT
// The listeners (http/src/listeners.cpp): an address in use is a listen_error.
#include <lifetime/http/listen_error.hpp>

#include <memory>
#include <string>
#include <system_error>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <lifetime/http/server_config.hpp>

#include "running_server.hpp"

namespace lifetime::http::test {

TEST_CASE("a listener on an address in use throws listen_error with the errno and a plain text") {
  running_server first(router{});
  boost::asio::io_context io;
  auto second = server::create(io.get_executor(), {}, router{}, [&] {
    auto config = std::make_shared<server_config>();
    config->listen = {"127.0.0.1:" + std::to_string(first.port())};
    return std::shared_ptr<const server_config>(std::move(config));
  });
  try {
    second->start();
    FAIL("start() did not throw");
  } catch (const listen_error& e) {
    CHECK(e.code() == std::errc::address_in_use);
    CHECK(std::string(e.what()) == "cannot listen on 127.0.0.1:" + std::to_string(first.port()) +
                                       ": address already in use");
  }
}

}  // namespace lifetime::http::test
