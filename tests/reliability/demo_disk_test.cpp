// SPDX-License-Identifier: MIT
// lifetime-demo on a full disk: its storage folder is a 1 MiB tmpfs. Mounting needs root (or
// CAP_SYS_ADMIN); where it is not permitted the program exits 77, which ctest reports as skipped.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "demo_support.hpp"

using namespace std::chrono_literals;
using namespace lifetime::test;
namespace fs = std::filesystem;

TEST_CASE("an upload to a full disk answers 507 and leaves no file", "[reliability][demo][disk]") {
  temp_dir dir;
  const fs::path storage = dir.path() / "storage";
  fs::create_directory(storage);
  if (::mount("tmpfs", storage.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0) {
    WARN("mount -t tmpfs is not permitted here (" << std::strerror(errno) << "): skipped");
    std::exit(77);
  }
  struct unmount {
    fs::path at;
    ~unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } guard{storage};

  auto server = start_demo(storage, {});
  const auto s = new_session(server.port);
  auto c = http_client(server.port);
  const std::size_t total = 3 * 1024 * 1024;
  REQUIRE(c.send(upload_head("big.bin", s, total)));
  const std::string chunk(64 * 1024, 'x');
  std::size_t sent = 0;
  while (sent < total) {
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0)
      break;  // the answer came early: stop sending
    if (!c.send(chunk))
      break;
    sent += chunk.size();
  }
  const auto res = c.try_read_response(10s);
  INFO(server.proc->output());
  INFO("sent " << sent << " of " << total);
  REQUIRE(res);
  CHECK(res->status == 507);
  CHECK(eventually([&] { return dir.entries(storage).empty(); }));
  CHECK(!fs::exists(storage / "big.bin"));

  // The disk has room again: a small upload is committed.
  auto small = raw_exchange(server.port, upload_head("small.txt", s, 5) + "hello");
  REQUIRE(small);
  CHECK(small->status == 201);
  CHECK(fs::exists(storage / "small.txt"));
  stop_cleanly(server);
}
