// SPDX-License-Identifier: MIT
#include "demo_client.hpp"

#include <stdexcept>

#include <boost/json/parse.hpp>

namespace lifetime::demo::test {

double metric(unsigned short port, std::string_view sample) {
  const auto r = get(port, "/metrics");
  std::string prefix(sample);
  prefix += ' ';
  const auto at = r.body.find("\n" + prefix);
  if (at == std::string::npos)
    throw std::runtime_error("no metric " + std::string(sample));
  return std::stod(r.body.substr(at + 1 + prefix.size()));
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
