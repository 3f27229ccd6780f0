// SPDX-License-Identifier: MIT
#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace lifetime::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class timed_out : public std::runtime_error {
 public:
  timed_out() : std::runtime_error("timed out waiting for the server") {}
};

}  // namespace

std::string http_response::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

http_client::http_client(std::uint16_t port, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(std::string("connect failed: ") + std::strerror(error));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

http_client::http_client(http_client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      timeout_(other.timeout_),
      buffer_(std::move(other.buffer_)),
      eof_(other.eof_) {}

http_client& http_client::operator=(http_client&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
    eof_ = other.eof_;
  }
  return *this;
}

http_client::~http_client() {
  close();
}

bool http_client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void http_client::send_request(std::string_view method, std::string_view target,
                               const std::map<std::string, std::string>& headers,
                               std::string_view body) {
  std::string text;
  text.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
  for (const auto& [name, value] : headers)
    text.append(name).append(": ").append(value).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    if (!headers.contains("Content-Length") && !headers.contains("Transfer-Encoding")) {
      text.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
  }
  text.append("\r\n").append(body);
  if (!send(text))
    throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
}

int http_client::read_some(time_point deadline) {
  if (eof_)
    return 0;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return -2;
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready == 0)
      return -2;
    if (ready < 0)
      throw std::runtime_error("poll failed");
    char data[16384];
    const ssize_t n = ::recv(fd_, data, sizeof(data), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      eof_ = true;
      return n == 0 ? 0 : -1;
    }
    buffer_.append(data, static_cast<std::size_t>(n));
    return static_cast<int>(n);
  }
}

bool http_client::fill(time_point deadline) {
  const int n = read_some(deadline);
  if (n == -2)
    throw timed_out();
  return n > 0;
}

std::string http_client::take_line(time_point deadline) {
  for (;;) {
    const auto end = buffer_.find("\r\n");
    if (end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      return line;
    }
    if (!fill(deadline))
      throw std::runtime_error("connection closed mid-line");
  }
}

void http_client::need(std::size_t n, time_point deadline) {
  while (buffer_.size() < n) {
    if (!fill(deadline))
      throw std::runtime_error("connection closed mid-body");
  }
}

http_response http_client::read_response() {
  return read_response(std::chrono::steady_clock::now() + timeout_);
}

http_response http_client::read_response(time_point deadline) {
  http_response r;
  for (;;) {
    const std::string status_line = take_line(deadline);
    if (status_line.size() < 12)
      throw std::runtime_error("bad status line: " + status_line);
    r.status = std::stoi(status_line.substr(9, 3));
    r.headers.clear();
    for (std::string line = take_line(deadline); !line.empty(); line = take_line(deadline)) {
      const auto colon = line.find(':');
      if (colon == std::string::npos)
        continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.erase(0, 1);
      r.headers[lower(line.substr(0, colon))] = value;
    }
    if (r.status != 100)
      break;
  }
  if (lower(r.header("transfer-encoding")) == "chunked") {
    for (;;) {
      const std::size_t size = std::stoul(take_line(deadline), nullptr, 16);
      if (size == 0) {
        take_line(deadline);
        break;
      }
      need(size + 2, deadline);
      r.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
    }
  } else if (!r.header("content-length").empty()) {
    const std::size_t size = std::stoul(r.header("content-length"));
    need(size, deadline);
    r.body = buffer_.substr(0, size);
    buffer_.erase(0, size);
  } else if (r.status != 204 && r.status != 304 && r.status / 100 != 1) {
    while (fill(deadline)) {
    }
    r.body = std::exchange(buffer_, {});
  }
  return r;
}

std::optional<http_response> http_client::try_read_response(std::chrono::milliseconds timeout) {
  try {
    return read_response(std::chrono::steady_clock::now() + timeout);
  } catch (const std::runtime_error&) {
    return std::nullopt;
  }
}

std::string http_client::read_until(std::string_view marker) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (buffer_.find(marker) == std::string::npos) {
    if (!fill(deadline))
      throw std::runtime_error("connection closed before marker");
  }
  return buffer_;
}

bool http_client::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const int n = read_some(deadline);
    if (n == -2)
      return false;
    if (n <= 0)
      return true;
  }
}

std::size_t http_client::unacked_bytes() const {
  int queued = 0;
  if (::ioctl(fd_, SIOCOUTQ, &queued) != 0)
    throw std::runtime_error(std::string("ioctl(SIOCOUTQ): ") + std::strerror(errno));
  return static_cast<std::size_t>(queued);
}

void http_client::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

void http_client::reset() {
  if (fd_ < 0)
    return;
  const linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close();
}

void http_client::close() {
  if (fd_ >= 0)
    ::close(std::exchange(fd_, -1));
}

http_response request(std::uint16_t port, std::string_view method, std::string_view target,
                      const std::map<std::string, std::string>& headers, std::string_view body) {
  http_client c(port);
  c.send_request(method, target, headers, body);
  return c.read_response();
}

std::optional<http_response> raw_exchange(std::uint16_t port, std::string_view text,
                                      std::chrono::milliseconds timeout) {
  http_client c(port);
  if (!c.send(text))
    return std::nullopt;
  return c.try_read_response(timeout);
}

}  // namespace lifetime::test
