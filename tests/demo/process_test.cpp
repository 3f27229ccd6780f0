// SPDX-License-Identifier: MIT
// The lifetime-demo binary under real signals: SIGTERM with work past the budget, the drain delay,
// SIGHUP restarts, socket activation.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "demo_client.hpp"
#include "demo_process.hpp"

namespace lifetime::demo::test {

TEST_CASE("an address in use for --listen exits 1 and says so in one plain line") {
  demo_process first({});
  const std::string address = "127.0.0.1:" + std::to_string(first.port());
  demo_process second({"--listen", address}, demo_process::no_wait);
  CHECK(second.wait_exit(std::chrono::seconds(10)) == 1);
  INFO(second.output());
  CHECK(second.output().find("cannot listen on " + address + ": address already in use\n") !=
        std::string::npos);
  CHECK(second.output().find("/usr/include") == std::string::npos);
  CHECK(second.output().find("system:") == std::string::npos);
}

TEST_CASE("SIGTERM with work past the budget answers 503 with Retry-After and exits in time") {
  demo_process demo({"--shutdown-timeout=1s"});
  http_client c(demo.port());
  c.send_request("GET", "/api/work?seconds=30");
  REQUIRE(eventually([&] { return metric(demo.port(), "demo_work_in_progress") == 1; }));
  const auto signalled = std::chrono::steady_clock::now();
  demo.signal(SIGTERM);
  const auto r = c.read_response();
  CHECK(r.status == 503);
  CHECK(r.header("retry-after") == "1");
  CHECK(r.closes());
  CHECK(r.body.find("application_stopping") != std::string::npos);
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
  CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(3));
  CHECK(demo.output().find("\"GET /api/work?seconds=30\" 503") != std::string::npos);
}

TEST_CASE(
    "SIGTERM with hundreds of requests in flight answers every one 503 within the budget, closes "
    "the idle connection, logs every request and exits 0") {
  constexpr std::size_t n = 300;
  demo_process demo({"--shutdown-timeout=1s"});
  std::vector<std::unique_ptr<http_client>> clients;
  for (std::size_t i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<http_client>(demo.port()));
    clients.back()->send_request("GET", "/api/work?seconds=30");
  }
  http_client idle(demo.port());
  idle.send_request("GET", "/hello");
  CHECK(idle.read_response().status == 200);
  REQUIRE(eventually([&] { return metric(demo.port(), "demo_work_in_progress") == n; }, 20s));
  demo.signal(SIGTERM);
  // Reading the log keeps the child's output pipe drained while it answers.
  REQUIRE(demo.wait_for_log("stopped in", std::chrono::seconds(10)));
  CHECK(idle.wait_closed());
  std::size_t answered = 0;
  for (auto& c : clients) {
    const auto r = c->read_response();
    if (r.status == 503 && r.closes())
      ++answered;
  }
  CHECK(answered == n);
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
  const std::string& log = demo.output();
  INFO(log.substr(log.size() > 6000 ? log.size() - 6000 : 0));
  CHECK(log.find("abandoned") == std::string::npos);
  CHECK(log.find("overrun") == std::string::npos);
  std::size_t logged = 0;
  for (auto at = log.find("\"GET /api/work?seconds=30\" 503"); at != std::string::npos;
       at = log.find("\"GET /api/work?seconds=30\" 503", at + 1)) {
    ++logged;
  }
  CHECK(logged == n);
}

TEST_CASE("during the drain delay /readyz answers 503 and keep-alive goes on") {
  demo_process demo({"--shutdown-timeout=5s", "--drain-delay=2s"});
  http_client c(demo.port());
  c.send_request("GET", "/readyz");
  CHECK(c.read_response().status == 200);
  demo.signal(SIGTERM);
  REQUIRE(demo.wait_for_log("phase 1/6", std::chrono::seconds(5)));
  c.send_request("GET", "/readyz");
  const auto r = c.read_response();
  CHECK(r.status == 503);
  // A proxy keeps sending on its pooled connections through the delay: they stay open.
  CHECK_FALSE(r.closes());
  c.send_request("GET", "/hello");
  CHECK(c.read_response().status == 200);
  // Still serving new connections during the delay.
  CHECK(get(demo.port(), "/hello").status == 200);
  CHECK(c.wait_closed());  // once accepting stopped and the connection stayed idle
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("SIGHUP with no restart grace: in-flight work gets 503 restart, serving goes on") {
  demo_process demo({"--restart-grace=0"});
  http_client c(demo.port());
  c.send_request("GET", "/api/work?seconds=30");
  REQUIRE(eventually([&] { return metric(demo.port(), "demo_work_in_progress") == 1; }));
  // The web host serves before the host has finished starting, and a reload is ignored until it
  // has.
  REQUIRE(demo.wait_for_log("started in", std::chrono::seconds(10)));
  demo.signal(SIGHUP);
  const auto r = c.read_response();
  CHECK(r.status == 503);
  CHECK(r.body.find("\"reason\":\"restart\"") != std::string::npos);
  CHECK(get(demo.port(), "/hello").status == 200);
  CHECK(metric(demo.port(), "demo_web_host_restarts_total") == 1);
  demo.signal(SIGTERM);
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("SIGHUP drains: in-flight work of the old generation ends 200 within the restart grace") {
  demo_process demo({"--restart-grace=20s"});
  http_client c(demo.port());
  c.send_request("GET", "/api/work?seconds=0.5");
  REQUIRE(eventually([&] { return metric(demo.port(), "demo_work_in_progress") == 1; }));
  REQUIRE(demo.wait_for_log("started in", std::chrono::seconds(10)));
  demo.signal(SIGHUP);
  REQUIRE(demo.wait_for_log("web host restarted (generation 2)", std::chrono::seconds(10)));
  CHECK(get(demo.port(), "/hello").status == 200);
  CHECK(c.read_response().status == 200);
  CHECK(demo.wait_for_log("generation 1 drained", std::chrono::seconds(10)));
  CHECK(demo.output().find("completed, 0 cancelled (restart)") != std::string::npos);
  CHECK(metric(demo.port(), "http_requests_aborted_total{reason=\"restart\"}") == 0);
  demo.signal(SIGTERM);
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("SIGHUP re-reads the config file and the web host serves with it") {
  const auto file = std::filesystem::temp_directory_path() /
                    ("lifetime-demo-config-" + std::to_string(::getpid()) + ".ini");
  { std::ofstream(file) << "request-timeout = 0\n"; }
  demo_process demo({"--config=" + file.string()});
  CHECK(get(demo.port(), "/api/work?seconds=0.3").status == 200);
  { std::ofstream(file) << "request-timeout = 100ms\n"; }
  REQUIRE(demo.wait_for_log("started in", std::chrono::seconds(10)));
  demo.signal(SIGHUP);
  REQUIRE(demo.wait_for_log("web host restarted", std::chrono::seconds(10)));
  CHECK(get(demo.port(), "/api/work?seconds=0.3").status == 504);
  demo.signal(SIGTERM);
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
  std::filesystem::remove(file);
}

TEST_CASE("a socket-activated listening socket is adopted instead of binding") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const auto port = ntohs(address.sin_port);
  demo_process demo({}, fd);
  ::close(fd);
  CHECK(demo.port() == port);
  CHECK(demo.output().find("from systemd") != std::string::npos);
  CHECK(get(port, "/hello").status == 200);
  demo.signal(SIGTERM);
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("an upload that fills the disk answers 507 and leaves nothing") {
  // A 256 KiB tmpfs in a private mount namespace stands for a full disk. Needs CAP_SYS_ADMIN.
  if (std::system("unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs /mnt' 2>/dev/null") != 0) {
    WARN("skipped: cannot mount a tmpfs in a private mount namespace here");
    return;
  }
  const std::string dir = "/tmp/lifetime-demo-enospc";
  std::filesystem::create_directories(dir);
  // sh -c '<script>' binary args...: the script mounts, then execs "$0" "$@".
  demo_process demo("exec unshare -m sh -c 'mount -t tmpfs -o size=256k tmpfs " + dir +
                        " && exec \"$0\" \"$@\"' \"$0\" \"$@\"",
                    {"--storage-dir=" + dir});
  const auto s = new_session(demo.port());
  const auto r =
      request(demo.port(), "PUT", "/api/uploads/big.bin", s.headers(), std::string(1 << 20, 'f'));
  CHECK(r.status == 507);
  CHECK(metric(demo.port(), "demo_uploads_aborted_total") == 1);
  // Space is back: the temporary file is gone, so a small upload fits.
  CHECK(request(demo.port(), "PUT", "/api/uploads/small.bin", s.headers(), "ok").status == 201);
  demo.signal(SIGTERM);
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
  std::error_code ignored;
  std::filesystem::remove(dir, ignored);  // the tmpfs lived in the child's namespace only
}

TEST_CASE("with NOTIFY_SOCKET the listening socket is put in the fd store as http") {
  const std::string path = std::filesystem::temp_directory_path() /
                           ("lifetime-demo-notify-" + std::to_string(::getpid()));
  ::unlink(path.c_str());
  const int notify = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(notify >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
  REQUIRE(::bind(notify, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  demo_process demo({}, -1, path);

  // Read notifications until the one carrying a descriptor.
  int stored = -1;
  std::string message;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stored < 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{notify, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char data[512];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
    iovec io{data, sizeof(data)};
    msghdr msg{};
    msg.msg_iov = &io;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(notify, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0)
      continue;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        std::memcpy(&stored, CMSG_DATA(c), sizeof(int));
        message.assign(data, static_cast<std::size_t>(n));
      }
    }
  }
  REQUIRE(stored >= 0);
  CHECK(message.find("FDSTORE=1") != std::string::npos);
  CHECK(message.find("FDNAME=http") != std::string::npos);
  int listening = 0;
  socklen_t length = sizeof(listening);
  ::getsockopt(stored, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length);
  CHECK(listening == 1);
  sockaddr_in bound{};
  length = sizeof(bound);
  ::getsockname(stored, reinterpret_cast<sockaddr*>(&bound), &length);
  CHECK(ntohs(bound.sin_port) == demo.port());
  ::close(stored);
  demo.signal(SIGTERM);
  CHECK(demo.wait_exit(std::chrono::seconds(10)) == 0);
  ::close(notify);
  ::unlink(path.c_str());
}

TEST_CASE("lifetime-demo --help documents its options") {
  FILE* help = ::popen((std::string(LIFETIME_DEMO_BINARY) + " --help").c_str(), "r");
  REQUIRE(help != nullptr);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof(buffer), help)) > 0;)
    text.append(buffer, n);
  CHECK(::pclose(help) == 0);
  for (const char* option :
       {"--listen", "--threads", "--storage-dir", "--admin-token", "--request-timeout",
        "--request-cancellation", "--shutdown-timeout", "--drain-delay"}) {
    INFO(option);
    CHECK(text.find(option) != std::string::npos);
  }
}

}  // namespace lifetime::demo::test
