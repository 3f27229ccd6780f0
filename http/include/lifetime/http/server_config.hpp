// SPDX-License-Identifier: MIT
// The server's configuration: where it listens, its limits and timeouts.
//
// A plain value. The server takes a fresh copy at every (re)start and each request keeps the
// copy it started with (a shared_ptr<const server_config>), so a restart never changes the rules
// under a running request. An application whose own settings reload with the server's derives
// from it (the server slices the copy it keeps).
//
// Durations are written with the project's one grammar (lifetime/host/duration.hpp: "250ms",
// "1.5s", "2m", "1m30s"); `?timeout=` and the command line accept the same spellings.
//
// Thread safety: a value type; parse_listen_address() is a pure function.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

namespace lifetime::http {

struct server_config {
  /// "host:port" pairs ("127.0.0.1:8080", "[::1]:8080", ":8080" for every address).
  std::vector<std::string> listen{"127.0.0.1:8080"};
  /// The `Server:` header of every response.
  std::string server_name = "lifetime";
  /// Upper bound for every request's deadline; zero: no server-wide bound. `?timeout=` may only
  /// shorten it.
  std::chrono::milliseconds request_timeout{0};
  /// Time to receive a request's header once its first byte may arrive (and to write a response).
  std::chrono::milliseconds header_timeout{10000};
  /// Time a keep-alive connection may stay idle between requests.
  std::chrono::milliseconds idle_timeout{30000};
  /// Once accepting stopped: how long an idle keep-alive connection still waits for one more
  /// request (answered with Connection: close) before it closes, counted from the later of its
  /// last response and the stop. A proxy's pooled connection is then closed by its next answer,
  /// not under a request already on its way; the drain waits for it.
  std::chrono::milliseconds closing_linger{500};
  std::size_t max_header_size = 8 * 1024;  ///< larger → 431
  std::size_t max_body_size = 64 * 1024;   ///< a buffered body larger → 413
  /// A streamed body larger → 413 (a route may set a smaller limit of its own).
  std::size_t max_upload_size = 1024 * 1024 * 1024;
  /// Off: no per-request linked token and no disconnect-detecting read (for benchmarks).
  bool request_cancellation = true;
  /// After a restart, how long the requests of the replaced generation may still run before they
  /// are cancelled with reason restart (zero: at once).
  std::chrono::milliseconds restart_grace{10000};
  /// Retry-After sent with 503 when a request is cancelled by stopping or restart.
  std::chrono::seconds retry_after{1};
  /// How long a WebSocket session told to go away (close code 1001) has to answer the close.
  std::chrono::milliseconds websocket_close_timeout{1000};

  virtual ~server_config() = default;
  server_config() = default;
  server_config(const server_config&) = default;
  server_config& operator=(const server_config&) = default;
};

/// Parses "host:port", "[v6]:port", ":port", "*:port" or "localhost:port".
/// @throws std::invalid_argument naming `text`.
boost::asio::ip::tcp::endpoint parse_listen_address(const std::string& text);

}  // namespace lifetime::http
