// SPDX-License-Identifier: MIT
// lifetime-demo under faults: a descriptor limit far below its clients, slow clients, a full
// disk, SIGKILL in the middle of an upload. Real processes, real sockets, real files; progress is
// read from the server's log and sockets with deadlines, nothing sleeps.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "demo_support.hpp"

using namespace std::chrono_literals;
using namespace lifetime::test;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

bool has_temp_upload(const temp_dir& dir, const fs::path& storage) {
  for (const auto& name : dir.entries(storage)) {
    if (name.rfind(".upload-", 0) == 0)
      return true;
  }
  return false;
}

}  // namespace

TEST_CASE(
    "with 64 descriptors and 200 clients the server logs, serves the connections it has, "
    "does not spin, and serves everyone once descriptors free up",
    "[reliability][demo][fds]") {
  temp_dir dir;
  spawn_options options;
  options.max_open_files = 64;
  auto server = start_demo(dir.path(), {"--threads", "1"}, options);
  auto& proc = *server.proc;

  // Every client connects (the kernel's backlog completes the handshake) and sends a request.
  std::vector<http_client> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(http_client(server.port));
    REQUIRE(clients.back().send(get_request("/hello")));
  }
  {
    INFO(proc.output());
    REQUIRE(proc.wait_for_line("accept failed", 10s));
  }

  // The first wave: the connections the server could accept are answered.
  std::vector<bool> answered(clients.size(), false);
  auto collect = [&](std::chrono::milliseconds window) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (!answered[i] && clients[i].is_open()) {
        fds.push_back({clients[i].fd(), POLLIN, 0});
        which.push_back(i);
      }
    }
    if (fds.empty() || ::poll(fds.data(), fds.size(), static_cast<int>(window.count())) <= 0)
      return 0;
    int got = 0;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0)
        continue;
      auto res = clients[which[k]].try_read_response(5s);
      REQUIRE(res);
      CHECK(res->status == 200);
      answered[which[k]] = true;
      ++got;
    }
    return got;
  };
  int first_wave = 0;
  for (int round = 0; round < 50 && collect(200ms) > 0;) {
    ++round;
  }
  first_wave = static_cast<int>(std::count(answered.begin(), answered.end(), true));
  INFO("first wave: " << first_wave);
  CHECK(first_wave > 0);
  CHECK(first_wave < 64);

  // While out of descriptors, over a one-second window, the server uses little CPU.
  const long ticks_before = proc.cpu_ticks();
  const auto window_began = clock_type::now();
  CHECK(collect(1000ms) == 0);
  const double wall = std::chrono::duration<double>(clock_type::now() - window_began).count();
  const double cpu = static_cast<double>(proc.cpu_ticks() - ticks_before) /
                     static_cast<double>(::sysconf(_SC_CLK_TCK));
  INFO("cpu " << cpu << " s over " << wall << " s");
  CHECK(cpu < 0.25 * wall);

  // It keeps serving the connections it has.
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (!answered[i])
      continue;
    REQUIRE(clients[i].send(get_request("/hello")));
    const auto res = clients[i].try_read_response(5s);
    REQUIRE(res);
    CHECK(res->status == 200);
  }

  // Closing the answered connections frees descriptors: everyone is served in the end.
  const auto deadline = clock_type::now() + 30s;
  while (std::count(answered.begin(), answered.end(), true) < 200 && clock_type::now() < deadline) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      if (answered[i])
        clients[i].close();
    }
    collect(200ms);
  }
  CHECK(std::count(answered.begin(), answered.end(), true) == 200);
  CHECK(proc.count("accept failed") > 0);
  const auto health = raw_exchange(server.port, get_request("/healthz"));
  REQUIRE(health);
  CHECK(health->status == 200);
  clients.clear();
  stop_cleanly(server);
}

TEST_CASE(
    "500 slow clients sending one header byte a second are cut by the header timeout while "
    "normal clients are served",
    "[reliability][demo][slow]") {
  temp_dir dir;
  auto server = start_demo(dir.path(), {"--header-timeout", "1s"});
  const std::string request_text = get_request("/hello");

  std::vector<http_client> slow;
  for (int i = 0; i < 500; ++i) {
    slow.push_back(http_client(server.port));
    REQUIRE(slow.back().send(request_text.substr(0, 1)));
  }
  const auto began = clock_type::now();
  std::vector<bool> cut(slow.size(), false);
  int normal_served = 0;
  int normal_failed = 0;
  double slowest_normal = 0;
  std::string failures;
  double first_cut = 0;
  double last_cut = 0;
  std::size_t sent_bytes = 1;
  // One tick a second: every slow client sends its next byte; in between, normal clients come.
  while (clock_type::now() - began < 6s &&
         std::count(cut.begin(), cut.end(), true) < static_cast<long>(slow.size())) {
    const auto tick_end = clock_type::now() + 1s;
    while (clock_type::now() < tick_end &&
           std::count(cut.begin(), cut.end(), true) < static_cast<long>(slow.size())) {
      const auto t0 = clock_type::now();
      const auto res = raw_exchange(server.port, request_text, 3s);
      const double took = std::chrono::duration<double>(clock_type::now() - t0).count();
      slowest_normal = std::max(slowest_normal, took);
      if (res && res->status == 200) {
        ++normal_served;
      } else {
        ++normal_failed;
        failures += " at " + std::to_string(std::chrono::duration<double>(t0 - began).count()) +
                    " s (" + (res ? std::to_string(res->status) : std::string("no answer")) + ")";
      }
      // Notice the cut ones (EOF or reset) without blocking.
      std::vector<pollfd> fds;
      for (auto& c : slow)
        fds.push_back({c.fd(), POLLIN, 0});
      ::poll(fds.data(), fds.size(), 50);
      for (std::size_t i = 0; i < slow.size(); ++i) {
        if (!cut[i] && fds[i].revents != 0 && slow[i].wait_closed(100ms)) {
          cut[i] = true;
          last_cut = std::chrono::duration<double>(clock_type::now() - began).count();
          if (first_cut == 0)
            first_cut = last_cut;
        }
      }
    }
    if (sent_bytes < request_text.size()) {
      for (std::size_t i = 0; i < slow.size(); ++i) {
        if (!cut[i])
          (void)slow[i].send(request_text.substr(sent_bytes, 1));
      }
      ++sent_bytes;
    }
  }
  const double took = std::chrono::duration<double>(clock_type::now() - began).count();
  INFO("cut " << std::count(cut.begin(), cut.end(), true) << " slow clients in " << took
              << " s; normal served " << normal_served << ", failed " << normal_failed
              << ", slowest " << slowest_normal << " s; slow bytes sent " << sent_bytes
              << "; cuts from " << first_cut << " s to " << last_cut
              << " s; failures:" << failures);
  CHECK(std::count(cut.begin(), cut.end(), true) == 500);
  CHECK(last_cut < 4.0);  // header timeout 1 s, generous for sanitizer builds
  CHECK(normal_failed == 0);
  CHECK(normal_served >= 5);
  CHECK(slowest_normal < 2.0);
  slow.clear();
  stop_cleanly(server);
}

TEST_CASE(
    "SIGKILL in the middle of an upload leaves no visible file and the next start removes "
    "the temporary one",
    "[reliability][demo][upload]") {
  temp_dir dir;
  const fs::path storage = dir.path() / "storage";
  {
    auto server = start_demo(storage, {});
    const auto s = new_session(server.port);
    auto c = http_client(server.port);
    REQUIRE(c.send(upload_head("killed.bin", s, 10 * 1024 * 1024)));
    REQUIRE(c.send(std::string(1024 * 1024, 'k')));
    REQUIRE(eventually([&] { return has_temp_upload(dir, storage); }));
    server.proc->signal(SIGKILL);
    const auto status = server.proc->wait_for_exit(10s);
    REQUIRE(status);
    CHECK((status->signalled && status->code == SIGKILL));
  }
  CHECK(!fs::exists(storage / "killed.bin"));
  CHECK(has_temp_upload(dir, storage));

  auto server = start_demo(storage, {});
  CHECK(server.proc->count("removed 1 unfinished upload(s)") == 1);
  CHECK(dir.entries(storage).empty());
  stop_cleanly(server);
}
