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

/// Appends "HTTP/1.1 200 OK\r\n" for `version` 11, `status` 200, `reason` "OK".
void append_status_line(std::string& out, unsigned version, unsigned status,
                        std::string_view reason);
/// Appends "Name: value\r\n".
inline void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

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
  append_status_line(out, res.version(), res.result_int(), {reason.data(), reason.size()});
  for (const auto& field : res) {
    const auto name = field.name_string();
    const auto value = field.value();
    append_field(out, {name.data(), name.size()}, {value.data(), value.size()});
  }
  out.append("\r\n");
}

}  // namespace lifetime::http::detail
