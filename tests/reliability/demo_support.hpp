// SPDX-License-Identifier: MIT
// Runs lifetime-demo for the reliability tests: on 127.0.0.1 with a port the kernel picks, a
// fresh storage folder, and helpers for sessions and the antiforgery token.
#pragma once

#include <poll.h>
#include <stdlib.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/eventually.hpp"
#include "support/http_client.hpp"

namespace lifetime::test {

/// A temporary folder, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "lifetime-reliability-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const noexcept { return path_; }

  /// Names of the entries in `dir` (default: this folder).
  std::vector<std::string> entries(std::optional<std::filesystem::path> dir = {}) const {
    std::vector<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir.value_or(path_), ec), end; !ec && it != end;
         it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    return names;
  }

 private:
  std::filesystem::path path_;
};

/// A running lifetime-demo and its port.
struct demo_server {
  std::unique_ptr<child_process> proc;
  std::uint16_t port = 0;
};

/// Starts lifetime-demo on 127.0.0.1:<any port> with `storage` and `args` (--threads 2 unless
/// given) and waits until it serves. Throws if it does not come up within 20 s.
inline demo_server start_demo(const std::filesystem::path& storage, std::vector<std::string> args,
                              spawn_options options = {}) {
  std::vector<std::string> all{LIFETIME_DEMO_EXE, "--listen", "127.0.0.1:0", "--storage-dir",
                               storage.string()};
  if (std::find(args.begin(), args.end(), "--threads") == args.end())
    args.insert(args.end(), {"--threads", "2"});
  all.insert(all.end(), args.begin(), args.end());
  demo_server server;
  server.proc = std::make_unique<child_process>(all, std::move(options));
  const auto line = server.proc->wait_for_line("listening on 127.0.0.1:", std::chrono::seconds(20));
  if (!line)
    throw std::runtime_error("lifetime-demo did not start:\n" + server.proc->output());
  server.port = static_cast<std::uint16_t>(
      std::stoi(line->substr(line->find("listening on 127.0.0.1:") + 23)));
  if (!server.proc->wait_for_line("started in", std::chrono::seconds(20)))
    throw std::runtime_error("lifetime-demo did not finish starting:\n" + server.proc->output());
  return server;
}

/// A browser session: its cookie and antiforgery token.
struct session {
  std::string cookie;  ///< "lifetime_session=..."
  std::string token;

  /// The headers a state-changing request needs.
  std::string headers() const {
    return "Cookie: " + cookie + "\r\nX-CSRF-TOKEN: " + token + "\r\n";
  }
};

inline std::string json_string(const std::string& body, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  const auto at = body.find(needle);
  if (at == std::string::npos)
    return {};
  const auto begin = at + needle.size();
  return body.substr(begin, body.find('"', begin) - begin);
}

inline session new_session(std::uint16_t port) {
  const auto res = raw_exchange(port, get_request("/csrf-token"));
  if (!res || res->status != 200)
    throw std::runtime_error("GET /csrf-token failed");
  session s;
  const auto set_cookie = res->header("set-cookie");
  s.cookie = set_cookie.substr(0, set_cookie.find(';'));
  s.token = json_string(res->body, "token");
  return s;
}

/// The head of a streamed upload of `length` bytes, with the session's cookie and token.
inline std::string upload_head(const std::string& name, const session& s, std::size_t length) {
  return "PUT /api/uploads/" + name + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + s.headers() +
         "Content-Type: application/octet-stream\r\nContent-Length: " + std::to_string(length) +
         "\r\n\r\n";
}

/// Sends SIGTERM and checks that the server exits 0 (its output goes into the failure message).
inline void stop_cleanly(demo_server& server) {
  server.proc->signal(SIGTERM);
  const auto status = server.proc->wait_for_exit(std::chrono::seconds(15));
  INFO(server.proc->output());
  REQUIRE(status);
  CHECK(status->exited(0));
}

}  // namespace lifetime::test
