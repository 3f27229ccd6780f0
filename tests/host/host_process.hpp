// SPDX-License-Identifier: MIT
// What the host's process tests share: host_test_app's command line, waiting for a line of its log
// with a deadline (failing with the whole output), a temporary config file, elapsed seconds.
// Nothing sleeps; every wait has a deadline (support/child_process.hpp).
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace lifetime::test::host_process {

using clock_type = std::chrono::steady_clock;

/// host_test_app with `args`.
inline std::vector<std::string> app(std::vector<std::string> args) {
  args.insert(args.begin(), LIFETIME_HOST_TEST_APP);
  return args;
}

/// Waits for a line containing `text` (bounded); fails with the whole output so far.
#define REQUIRE_LINE(child, text)                    \
  do {                                               \
    const auto found_ = (child).wait_for_line(text); \
    INFO((child).output());                          \
    REQUIRE(found_);                                 \
  } while (false)

/// Waits for the app to report that every service started.
inline void require_ready(child_process& child) {
  REQUIRE_LINE(child, "started in");
}

/// Writes `content` to a file under /tmp named for this process and `name`; returns its path.
inline std::string temp_file(const std::string& name, const std::string& content) {
  const std::string path = "/tmp/lifetime_host_test_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << content;
  return path;
}

inline double seconds_since(clock_type::time_point since, clock_type::time_point until) {
  return std::chrono::duration<double>(until - since).count();
}

}  // namespace lifetime::test::host_process
