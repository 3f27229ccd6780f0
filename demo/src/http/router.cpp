// SPDX-License-Identifier: MIT
#include "http/router.hpp"

namespace lifetime::demo {
namespace {

std::vector<std::string> split_pattern(std::string_view pattern) {
  std::vector<std::string> out;
  while (!pattern.empty()) {
    if (pattern.front() == '/')
      pattern.remove_prefix(1);
    if (pattern.empty())
      break;  // "/" has no segment
    const auto end = pattern.find('/');
    out.emplace_back(pattern.substr(0, end));
    pattern = end == std::string_view::npos ? std::string_view{} : pattern.substr(end);
  }
  return out;
}

}  // namespace

router& router::add(route r) {
  auto segments = split_pattern(r.pattern);
  routes_.push_back({std::move(r), std::move(segments)});
  return *this;
}

router::match router::find(boost::beast::http::verb method,
                           const std::vector<std::string>& segments) const {
  match result;
  for (const auto& c : routes_) {
    if (c.segments.size() != segments.size())
      continue;
    std::vector<std::string> params;
    bool ok = true;
    for (std::size_t i = 0; i < segments.size() && ok; ++i) {
      if (c.segments[i] == "{}") {
        if (segments[i].empty())
          ok = false;
        else
          params.push_back(segments[i]);
      } else if (c.segments[i] != segments[i]) {
        ok = false;
      }
    }
    if (!ok)
      continue;
    result.path_exists = true;
    if (c.r.method == method) {
      result.found = &c.r;
      result.params = std::move(params);
      return result;
    }
  }
  return result;
}

}  // namespace lifetime::demo
