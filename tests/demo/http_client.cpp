// SPDX-License-Identifier: MIT
#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <boost/json/parse.hpp>

namespace lifetime::demo::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

}  // namespace

std::string response::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

client::client(unsigned short port, std::chrono::milliseconds timeout) : timeout_(timeout) {
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

client::~client() {
  close();
}

void client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void client::send_request(std::string_view method, std::string_view target,
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
  send(text);
}

bool client::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_)
    return false;
  pollfd p{fd_, POLLIN, 0};
  const int ready = ::poll(&p, 1, remaining_ms(deadline));
  if (ready == 0)
    throw std::runtime_error("timed out waiting for the server");
  if (ready < 0)
    throw std::runtime_error("poll failed");
  char data[16384];
  const ssize_t n = ::recv(fd_, data, sizeof(data), 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(data, static_cast<std::size_t>(n));
  return true;
}

std::string client::take_line(std::chrono::steady_clock::time_point deadline) {
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

void client::need(std::size_t n, std::chrono::steady_clock::time_point deadline) {
  while (buffer_.size() < n) {
    if (!fill(deadline))
      throw std::runtime_error("connection closed mid-body");
  }
}

response client::read_response() {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  response r;
  for (;;) {
    const std::string status_line = take_line(deadline);
    if (status_line.size() < 12)
      throw std::runtime_error("bad status line: " + status_line);
    r.status = std::stoi(status_line.substr(9, 3));
    r.headers.clear();
    for (std::string line = take_line(deadline); !line.empty(); line = take_line(deadline)) {
      const auto colon = line.find(':');
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
  } else if (r.status != 204 && r.status != 304) {
    while (fill(deadline)) {
    }
    r.body = std::move(buffer_);
    buffer_.clear();
  }
  return r;
}

std::string client::read_until(std::string_view marker) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (buffer_.find(marker) == std::string::npos) {
    if (!fill(deadline))
      throw std::runtime_error("connection closed before marker");
  }
  return buffer_;
}

std::size_t client::unacked_bytes() const {
  int queued = 0;
  if (::ioctl(fd_, SIOCOUTQ, &queued) != 0)
    throw std::runtime_error(std::string("ioctl(SIOCOUTQ): ") + std::strerror(errno));
  return static_cast<std::size_t>(queued);
}

bool client::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  try {
    while (fill(deadline)) {
    }
    return true;
  } catch (const std::runtime_error&) {
    return false;
  }
}

void client::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

void client::reset() {
  if (fd_ < 0)
    return;
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd_);
  fd_ = -1;
}

void client::close() {
  if (fd_ < 0)
    return;
  ::close(fd_);
  fd_ = -1;
}

response request(unsigned short port, std::string_view method, std::string_view target,
                 const std::map<std::string, std::string>& headers, std::string_view body) {
  client c(port);
  c.send_request(method, target, headers, body);
  return c.read_response();
}

double metric(unsigned short port, std::string_view sample) {
  const auto r = get(port, "/metrics");
  std::string prefix(sample);
  prefix += ' ';
  const auto at = r.body.find("\n" + prefix);
  if (at == std::string::npos)
    throw std::runtime_error("no metric " + std::string(sample));
  return std::stod(r.body.substr(at + 1 + prefix.size()));
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(5ms);  // polling interval, not synchronisation
  }
  return condition();
}

session new_session(unsigned short port) {
  const auto r = get(port, "/csrf-token");
  if (r.status != 200)
    throw std::runtime_error("GET /csrf-token failed");
  session s;
  const std::string set_cookie = r.header("set-cookie");
  s.cookie = set_cookie.substr(0, set_cookie.find(';'));
  s.token = std::string(boost::json::parse(r.body).at("token").as_string());
  return s;
}

}  // namespace lifetime::demo::test
