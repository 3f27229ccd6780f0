// SPDX-License-Identifier: MIT
// Writing responses: a header serialized once into a reused buffer, then header and body handed to
// the socket in one sendmsg; only what the socket does not take at once is written by a coroutine.
//
// Thread safety: the functions touch only their arguments; call them on the socket's strand.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/system/error_code.hpp>

namespace lifetime::http::detail {

/// Appends the status line and the fields of `res` as Beast's serializer writes them, and the
/// blank line that ends the header.
template <class Fields>
void serialize_header(std::string& out, const boost::beast::http::header<false, Fields>& res);

/// Sends `header` then `body` with one non-blocking sendmsg (no SIGPIPE). `written` is what the
/// socket took; an error other than "would block" is returned. Never suspends, never throws.
boost::system::error_code send_now(boost::asio::ip::tcp::socket& socket, std::string_view header,
                                   std::string_view body, std::size_t& written) noexcept;

template <class Fields>
void serialize_header(std::string& out, const boost::beast::http::header<false, Fields>& res) {
  const auto reason = res.reason();
  const unsigned status = res.result_int();
  const auto digit = [](unsigned n) { return static_cast<char>('0' + n % 10); };
  const unsigned version = res.version();
  out.append("HTTP/");
  out += digit(version / 10);
  out += '.';
  out += digit(version);
  out += ' ';
  out += digit(status / 100);
  out += digit(status / 10);
  out += digit(status);
  out += ' ';
  out.append(reason.data(), reason.size()).append("\r\n");
  for (const auto& field : res) {
    const auto name = field.name_string();
    const auto value = field.value();
    out.append(name.data(), name.size()).append(": ").append(value.data(), value.size());
    out.append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace lifetime::http::detail
