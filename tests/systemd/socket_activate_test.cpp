// SPDX-License-Identifier: MIT
// Socket activation under Debian's real systemd-socket-activate(1): it binds the address,
// passes the listening socket as fd 3 with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, and execs the
// service in its own process.
#include <catch2/catch.hpp>

#include <string>

#include "test_support.hpp"

using namespace lifetime::test::systemd;

TEST_CASE("a service started by systemd-socket-activate serves on the passed, named socket",
          "[systemd][activation]") {
  // The port is chosen free and then bound by systemd-socket-activate; another process may take
  // it in between, so a failed bind is retried on a new port.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const auto port = free_port();
    spawn_options options;
    options.inherit_environment = false;
    const std::vector<std::string> argv = {LIFETIME_SYSTEMD_SOCKET_ACTIVATE, "-l",
                                           "127.0.0.1:" + std::to_string(port), "--fdname=http",
                                           LIFETIME_ACTIVATED_ECHO};
    auto activator = child_process(argv, std::move(options));
    if (!activator.wait_for_output("Listening on 127.0.0.1:" + std::to_string(port))) {
      INFO(activator.output());
      CHECK(activator.wait_for_exit_code() != 0);
      continue;
    }
    std::error_code ec;
    auto connection = connect_tcp(port, ec);
    REQUIRE_FALSE(ec);
    const auto reply = read_all(connection.get(), clock::now() + 10s);
    // systemd-socket-activate execs the service in place: LISTEN_PID is its own pid.
    CHECK(reply == "name=http fd=3 cloexec=1 listen_env=unset pid=" +
                       std::to_string(activator.pid()) + "\n");
    CHECK(activator.wait_for_exit_code() == 0);
    return;
  }
  FAIL("systemd-socket-activate could not bind a free port in 3 attempts");
}
