// SPDX-License-Identifier: MIT
#include "lifetime/host/systemd/listen_fds.hpp"

#include <catch2/catch.hpp>

#include <netinet/in.h>

#include <cstdlib>
#include <string>

#include "test_support.hpp"

namespace systemd = lifetime::host::systemd;
using namespace lifetime::test::systemd;

namespace {

void clear_listen_environment() {
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
}

// Starts activated_echo with `fds` at 3, 4, ... and the LISTEN_* variables a service manager
// would set.
child_process spawn_echo(const std::vector<int>& fds, std::optional<std::string> names,
                         std::vector<std::string> env = {}) {
  spawn_options options;
  options.inherit_environment = false;
  const std::vector<std::string> argv = {LIFETIME_ACTIVATED_ECHO};
  options.listen_fds = fds;
  options.set_listen_pid = true;
  options.env = std::move(env);
  options.env.push_back("LISTEN_FDS=" + std::to_string(fds.size()));
  if (names)
    options.env.push_back("LISTEN_FDNAMES=" + *names);
  return child_process(argv, std::move(options));
}

std::string request(std::uint16_t port) {
  std::error_code ec;
  auto fd = connect_tcp(port, ec);
  REQUIRE_FALSE(ec);
  return read_all(fd.get(), clock::now() + 10s);
}

}  // namespace

TEST_CASE("a process that was not socket-activated takes no descriptors", "[systemd][listen]") {
  clear_listen_environment();
  std::error_code ec = std::make_error_code(std::errc::io_error);
  CHECK(systemd::take_listen_fds(ec).empty());
  CHECK_FALSE(ec);
  CHECK(systemd::take_listen_fds().empty());
}

TEST_CASE("LISTEN_PID of another process is a configuration error naming both pids",
          "[systemd][listen]") {
  clear_listen_environment();
  const std::string other = std::to_string(::getppid());
  ::setenv("LISTEN_PID", other.c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  try {
    (void)systemd::take_listen_fds();
    FAIL("take_listen_fds() did not throw");
  } catch (const systemd::environment_error& e) {
    CHECK(e.code() == systemd::errc::listen_pid_mismatch);
    const std::string what = e.what();
    CHECK(what.find("LISTEN_PID=\"" + other + "\"") != std::string::npos);
    CHECK(what.find("our pid is " + std::to_string(::getpid())) != std::string::npos);
    CHECK(lifetime::host::exit_code_of(std::current_exception()) == 78);
  }
  // The variables are gone whatever the outcome.
  CHECK(std::getenv("LISTEN_PID") == nullptr);
  CHECK(std::getenv("LISTEN_FDS") == nullptr);

  ::setenv("LISTEN_PID", other.c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  std::error_code ec;
  CHECK(systemd::take_listen_fds(ec).empty());
  CHECK(ec == systemd::errc::listen_pid_mismatch);
}

TEST_CASE("only an open, listening stream socket passes the descriptor check",
          "[systemd][listen]") {
  std::error_code ec;
  auto listener = tcp_listener::open();
  systemd::check_listening_stream_socket(listener.fd.get(), ec);
  CHECK_FALSE(ec);

  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  unique_fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  systemd::check_listening_stream_socket(read_end.get(), ec);
  CHECK(ec == systemd::errc::listen_fd_not_socket);

  unique_fd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  systemd::check_listening_stream_socket(udp.get(), ec);
  CHECK(ec == systemd::errc::listen_fd_not_stream);

  unique_fd unbound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  systemd::check_listening_stream_socket(unbound.get(), ec);
  CHECK(ec == systemd::errc::listen_fd_not_listening);

  const int closed = unbound.release();
  ::close(closed);
  systemd::check_listening_stream_socket(closed, ec);
  CHECK(ec == systemd::errc::listen_fd_not_open);
}

TEST_CASE("passed sockets are taken by name, set close-on-exec, and the variables are unset",
          "[systemd][listen]") {
  auto http = tcp_listener::open();
  auto admin = tcp_listener::open();
  // A manager passes descriptors without FD_CLOEXEC; take_listen_fds() must set it.
  auto child = spawn_echo({http.fd.get(), admin.fd.get()}, "http:admin");
  CHECK(child.wait_for_output("ready, 2 socket(s)"));
  const auto pid = std::to_string(child.pid());
  CHECK(request(http.port) == "name=http fd=3 cloexec=1 listen_env=unset pid=" + pid + "\n");
  CHECK(request(admin.port) == "name=admin fd=4 cloexec=1 listen_env=unset pid=" + pid + "\n");
  CHECK(child.wait_for_exit_code() == 0);
}

TEST_CASE("passed sockets without LISTEN_FDNAMES are named unknown", "[systemd][listen]") {
  auto listener = tcp_listener::open();
  auto child = spawn_echo({listener.fd.get()}, std::nullopt);
  const auto reply = request(listener.port);
  CHECK(reply.rfind("name=unknown fd=3 ", 0) == 0);
  CHECK(child.wait_for_exit_code() == 0);
}

TEST_CASE("a passed descriptor that is not a listening socket stops the process with 78",
          "[systemd][listen]") {
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  unique_fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  {
    auto child = spawn_echo({read_end.get()}, "http");
    CHECK(child.wait_for_exit_code() == 78);
    const auto output = child.output();
    CHECK(output.find("descriptor 3 (\"http\", 1 of LISTEN_FDS=1)") != std::string::npos);
    CHECK(output.find("not a socket") != std::string::npos);
  }
  {
    unique_fd unbound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto child = spawn_echo({unbound.get()}, "http");
    CHECK(child.wait_for_exit_code() == 78);
    CHECK(child.output().find("not listening") != std::string::npos);
  }
}

TEST_CASE("LISTEN_FDS counting a descriptor that is not open stops the process with 78",
          "[systemd][listen]") {
  auto listener = tcp_listener::open();
  spawn_options options;
  options.inherit_environment = false;
  const std::vector<std::string> argv = {LIFETIME_ACTIVATED_ECHO};
  options.listen_fds = {listener.fd.get()};
  options.set_listen_pid = true;
  options.env = {"LISTEN_FDS=2", "LISTEN_FDNAMES=http:admin"};
  auto child = child_process(argv, std::move(options));
  CHECK(child.wait_for_exit_code() == 78);
  const auto output = child.output();
  CHECK(output.find("descriptor 4 (\"admin\", 2 of LISTEN_FDS=2)") != std::string::npos);
  CHECK(output.find("not open") != std::string::npos);
}

TEST_CASE("sockets passed to another process id stop the process with 78", "[systemd][listen]") {
  auto listener = tcp_listener::open();
  spawn_options options;
  options.inherit_environment = false;
  const std::vector<std::string> argv = {LIFETIME_ACTIVATED_ECHO};
  options.listen_fds = {listener.fd.get()};
  options.listen_pid_value = ::getpid();
  options.env = {"LISTEN_FDS=1"};
  auto child = child_process(argv, std::move(options));
  CHECK(child.wait_for_exit_code() == 78);
  CHECK(child.output().find("LISTEN_PID names another process") != std::string::npos);
}
