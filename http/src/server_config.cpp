// SPDX-License-Identifier: MIT
#include <lifetime/http/server_config.hpp>

#include <stdexcept>

namespace lifetime::http {
namespace asio = boost::asio;

asio::ip::tcp::endpoint parse_listen_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("bad --listen value: " + text);
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port > 65535)
      throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw std::invalid_argument("bad port in --listen value: " + text);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  asio::ip::address address = asio::ip::address_v6::any();
  if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else if (!host.empty() && host != "*") {
    boost::system::error_code ec;
    address = asio::ip::make_address(host, ec);
    if (ec)
      throw std::invalid_argument("bad address in --listen value: " + text);
  }
  return {address, static_cast<unsigned short>(port)};
}

}  // namespace lifetime::http
