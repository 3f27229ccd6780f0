// SPDX-License-Identifier: MIT
#include "response_writer.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

namespace lifetime::http::detail {

void append_status_line(std::string& out, unsigned version, unsigned status,
                        std::string_view reason) {
  const auto digit = [](unsigned n) { return static_cast<char>('0' + n % 10); };
  const char line[] = {'H',
                       'T',
                       'T',
                       'P',
                       '/',
                       digit(version / 10),
                       '.',
                       digit(version),
                       ' ',
                       digit(status / 100),
                       digit(status / 10),
                       digit(status),
                       ' '};
  out.append(line, sizeof line).append(reason).append("\r\n");
}

boost::system::error_code send_now(boost::asio::ip::tcp::socket& socket, std::string_view header,
                                   std::string_view body, std::size_t& written) noexcept {
  // Most responses fit in the socket's send buffer.
  written = 0;
  iovec parts[2] = {{const_cast<char*>(header.data()), header.size()},
                    {const_cast<char*>(body.data()), body.size()}};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = body.empty() ? 1 : 2;
  ssize_t sent = -1;
  do {
    sent = ::sendmsg(socket.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent >= 0)
    written = static_cast<std::size_t>(sent);
  else if (errno != EAGAIN && errno != EWOULDBLOCK)
    return {errno, boost::system::system_category()};
  return {};
}

}  // namespace lifetime::http::detail
