// SPDX-License-Identifier: MIT
// The web host's configuration: where it listens, its limits and timeouts.
//
// A plain value. The web host takes a fresh copy at every (re)start and each request keeps the
// copy it started with (a shared_ptr<const server_config>), so a restart never changes the rules
// under a running request. parse_duration() reads "250ms", "2s", "1.5s", "2m", "1h" (and "0").
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lifetime::demo {

struct server_config {
  /// "host:port" pairs ("127.0.0.1:8080", "[::1]:8080", ":8080" for every address).
  std::vector<std::string> listen{"127.0.0.1:8080"};
  /// Where uploads are committed (created if missing).
  std::string storage_dir = "lifetime-demo-storage";
  /// Required by POST /admin/restart; empty disables the endpoint (401).
  std::string admin_token;
  /// Upper bound for every request's deadline; zero: no server-wide bound. `?timeout=` may only
  /// shorten it.
  std::chrono::milliseconds request_timeout{0};
  /// Time to receive a request's header once its first byte may arrive.
  std::chrono::milliseconds header_timeout{10000};
  /// Time a keep-alive connection may stay idle between requests.
  std::chrono::milliseconds idle_timeout{30000};
  std::size_t max_header_size = 8 * 1024;            ///< larger → 431
  std::size_t max_body_size = 64 * 1024;             ///< larger (except uploads) → 413
  std::size_t max_upload_size = 1024 * 1024 * 1024;  ///< larger → 413
  /// Off: no per-request linked token and no disconnect-detecting read (for benchmarks).
  bool request_cancellation = true;
  /// Retry-After sent with 503 when a request is cancelled by stopping or restart.
  std::chrono::seconds retry_after{1};
  /// Running background operations allowed per session (429 past it).
  std::size_t max_operations_per_session = 8;
};

/// "250ms", "2s", "1.5s", "2m", "1h", "0" → milliseconds; nothing for anything else or negative.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept;

/// "1500ms", "2s", "2m" — the shortest exact form.
std::string format_duration(std::chrono::milliseconds value);

}  // namespace lifetime::demo
