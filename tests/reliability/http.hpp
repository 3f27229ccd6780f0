// SPDX-License-Identifier: MIT
// A small blocking HTTP/1.1 client over loopback TCP for the reliability tests: raw bytes out,
// one response in, every wait bounded by a deadline (poll), nothing sleeps.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace lifetime::test {

using namespace std::chrono_literals;

struct http_response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// One client connection. Move-only; closes on destruction.
class connection {
 public:
  connection() = default;
  explicit connection(int fd) : fd_(fd) {}
  connection(connection&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}
  connection& operator=(connection&& other) noexcept {
    if (this != &other) {
      close();
      fd_ = std::exchange(other.fd_, -1);
      buffer_ = std::move(other.buffer_);
    }
    return *this;
  }
  ~connection() { close(); }

  /// Connects to 127.0.0.1:port (blocking). Throws on failure.
  static connection open(std::uint16_t port) {
    connection c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (c.fd_ < 0)
      throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("connect failed: " + std::to_string(errno));
    const int one = 1;
    ::setsockopt(c.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return c;
  }

  int fd() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0)
      ::close(std::exchange(fd_, -1));
  }
  /// Closes with a reset (SO_LINGER 0) instead of a FIN.
  void reset() {
    if (fd_ < 0)
      return;
    const linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }

  /// Sends all of `data`; false if the peer is gone.
  bool send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// True once the peer closed the connection (EOF or reset), waiting up to `timeout`. Bytes
  /// that arrive meanwhile are kept for read_response().
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const int r = read_some(deadline);
      if (r == -2)
        return false;
      if (r <= 0)
        return true;
    }
  }

  /// Reads one response (Content-Length or chunked or until close); nothing on timeout or if the
  /// connection closed first.
  std::optional<http_response> read_response(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (read_some(deadline) <= 0)
        return std::nullopt;
    }
    http_response res;
    const std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12)
      return std::nullopt;
    res.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      const auto next = head.find("\r\n", line_end + 2);
      const std::string line = head.substr(
          line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
      line_end = next;
      const auto colon = line.find(':');
      if (colon == std::string::npos)
        continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      res.headers[name] = value;
    }
    if (res.header("transfer-encoding") == "chunked") {
      for (;;) {
        std::size_t crlf;
        while ((crlf = buffer_.find("\r\n")) == std::string::npos) {
          if (read_some(deadline) <= 0)
            return std::nullopt;
        }
        const std::size_t size = std::stoul(buffer_.substr(0, crlf), nullptr, 16);
        while (buffer_.size() < crlf + 2 + size + 2) {
          if (read_some(deadline) <= 0)
            return std::nullopt;
        }
        res.body += buffer_.substr(crlf + 2, size);
        buffer_.erase(0, crlf + 2 + size + 2);
        if (size == 0)
          return res;
      }
    }
    const auto length_text = res.header("content-length");
    if (length_text.empty()) {
      if (res.status == 204 || res.status == 304 || res.status / 100 == 1)
        return res;
      while (read_some(deadline) > 0) {
      }
      res.body = std::exchange(buffer_, {});
      return res;
    }
    const std::size_t length = std::stoul(length_text);
    while (buffer_.size() < length) {
      if (read_some(deadline) <= 0)
        return std::nullopt;
    }
    res.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return res;
  }

 private:
  /// >0 bytes read; 0 EOF; -1 error (reset); -2 timeout.
  int read_some(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return -2;
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR)
        continue;
      if (r == 0)
        return -2;
      char chunk[16384];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return static_cast<int>(n);
    }
  }

  int fd_ = -1;
  std::string buffer_;
};

/// One request on a fresh connection.
inline std::optional<http_response> request(std::uint16_t port, const std::string& raw,
                                            std::chrono::milliseconds timeout = 10s) {
  auto c = connection::open(port);
  if (!c.send(raw))
    return std::nullopt;
  return c.read_response(timeout);
}

inline std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

}  // namespace lifetime::test
