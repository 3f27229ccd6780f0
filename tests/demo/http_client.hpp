// SPDX-License-Identifier: MIT
// A deliberately small HTTP/1.1 test client on raw POSIX sockets, so tests control exactly what
// goes on the wire: pipelining, half-close (FIN), reset (RST), partial bodies.
//
// Every blocking call waits with poll() against a deadline and throws std::runtime_error when it
// passes; nothing sleeps. Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lifetime::demo::test {

using namespace std::chrono_literals;

struct response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;                            ///< de-chunked
  std::string header(const std::string& name) const;
  bool closes() const { return header("connection") == "close"; }
};

class client {
 public:
  explicit client(unsigned short port, std::chrono::milliseconds timeout = 5000ms);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  void send(std::string_view bytes);
  /// Sends a request with Host and Content-Length (if body) set.
  void send_request(std::string_view method, std::string_view target,
                    const std::map<std::string, std::string>& headers = {},
                    std::string_view body = {});
  /// Reads one complete response (Content-Length, chunked, or until close).
  response read_response();
  /// Reads until `marker` appears in what this client has buffered; returns everything buffered.
  std::string read_until(std::string_view marker);
  /// True once the server closed the connection (EOF or reset) before the timeout; buffered
  /// bytes are kept.
  bool wait_closed(std::chrono::milliseconds timeout = 5000ms);
  /// Bytes sent that the server's kernel has not acknowledged yet (0: everything sent is in the
  /// server's receive queue).
  std::size_t unacked_bytes() const;
  /// Half-close: sends FIN, keeps reading.
  void shutdown_write();
  /// Closes with RST (SO_LINGER 0).
  void reset();
  /// Closes normally (FIN).
  void close();
  bool is_open() const { return fd_ >= 0; }
  std::string& buffered() { return buffer_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);  // false on EOF
  std::string take_line(std::chrono::steady_clock::time_point deadline);
  void need(std::size_t n, std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  bool eof_ = false;
};

/// One request on a fresh connection.
response request(unsigned short port, std::string_view method, std::string_view target,
                 const std::map<std::string, std::string>& headers = {},
                 std::string_view body = {});
inline response get(unsigned short port, std::string_view target) {
  return request(port, "GET", target);
}

/// The value of the sample `name` (with labels, e.g. `x{reason="restart"}`) in GET /metrics.
double metric(unsigned short port, std::string_view sample);

/// Calls `condition` until it returns true or `timeout` passes (a few ms between calls).
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5000ms);

/// A browser-like session: the cookie and antiforgery token from GET /csrf-token.
struct session {
  std::string cookie;  ///< "lifetime_session=..."
  std::string token;
  std::map<std::string, std::string> headers() const {
    return {{"Cookie", cookie}, {"X-CSRF-TOKEN", token}};
  }
};
session new_session(unsigned short port);

}  // namespace lifetime::demo::test
