// SPDX-License-Identifier: MIT
// A deliberately small blocking HTTP/1.1 client on raw POSIX sockets over loopback TCP, so tests
// control exactly what goes on the wire: raw bytes, pipelining, half-close (FIN), reset (RST),
// partial bodies.
//
// Guarantees: every wait polls against a deadline; nothing sleeps. The constructor throws
// std::runtime_error when it cannot connect; read_response(), read_until() and request() throw
// std::runtime_error at their deadline or when the server closes too early, while
// try_read_response() and raw_exchange() return nothing instead; send() reports a gone peer with
// false. Not thread-safe: one client per thread (a client may be moved between threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lifetime::test {

struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;                            ///< de-chunked
  /// The value of the header `name` (any case), or "".
  std::string header(const std::string& name) const;
  bool closes() const { return header("connection") == "close"; }
};

class http_client {
 public:
  /// Connects to 127.0.0.1:`port`; `timeout` bounds read_response() and read_until().
  explicit http_client(std::uint16_t port,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
  http_client(http_client&& other) noexcept;
  http_client& operator=(http_client&& other) noexcept;
  ~http_client();

  int fd() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }

  /// Sends all of `bytes`; false if the peer is gone.
  bool send(std::string_view bytes);
  /// Sends a request with Host and Content-Length (if a body, or POST/PUT) set.
  void send_request(std::string_view method, std::string_view target,
                    const std::map<std::string, std::string>& headers = {},
                    std::string_view body = {});
  /// Reads one complete response (Content-Length, chunked, or until close); 1xx are skipped.
  http_response read_response();
  /// As read_response(), with its own timeout; nothing on timeout or if the connection closed
  /// first.
  std::optional<http_response> try_read_response(std::chrono::milliseconds timeout);
  /// Reads until `marker` appears in what this client has buffered; returns everything buffered.
  std::string read_until(std::string_view marker);
  /// True once the server closed the connection (EOF or reset) before the timeout; bytes that
  /// arrive meanwhile are kept for read_response().
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Bytes sent that the server's kernel has not acknowledged yet (0: everything sent is in the
  /// server's receive queue).
  std::size_t unacked_bytes() const;
  /// Half-close: sends FIN, keeps reading.
  void shutdown_write();
  /// Closes with RST (SO_LINGER 0).
  void reset();
  /// Closes normally (FIN).
  void close();
  std::string& buffered() { return buffer_; }

 private:
  using time_point = std::chrono::steady_clock::time_point;
  /// >0 bytes read; 0 EOF; -1 error (reset); -2 timeout.
  int read_some(time_point deadline);
  bool fill(time_point deadline);  // false on EOF or reset; throws on timeout
  std::string take_line(time_point deadline);
  void need(std::size_t n, time_point deadline);
  http_response read_response(time_point deadline);

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  bool eof_ = false;
};

/// One request on a fresh connection (throws as read_response()).
http_response request(std::uint16_t port, std::string_view method, std::string_view target,
                      const std::map<std::string, std::string>& headers = {},
                      std::string_view body = {});
inline http_response get(std::uint16_t port, std::string_view target) {
  return request(port, "GET", target);
}

/// Sends the raw request `text` on a fresh connection and reads one response; nothing on timeout,
/// if the server is gone or if it closed the connection first.
std::optional<http_response> raw_exchange(
    std::uint16_t port, std::string_view text,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// The raw text of "GET <target> HTTP/1.1" with Host and `extra_headers` (each ending in CRLF).
inline std::string get_request(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n";
}

}  // namespace lifetime::test
