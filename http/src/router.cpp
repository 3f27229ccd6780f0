// SPDX-License-Identifier: MIT
#include <lifetime/http/router.hpp>

#include <boost/url/decode_view.hpp>

namespace lifetime::http {
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

bool segments_match(const std::vector<std::string>& pattern,
                    boost::urls::segments_encoded_view segments) {
  // Decoded comparisons in place: no string per segment.
  std::size_t i = 0;
  for (auto it = segments.begin(); i < pattern.size(); ++i, ++it) {
    const auto segment = *it;
    const bool ok = pattern[i] == "{}" ? segment.decoded_size() != 0
                                       : segment.decoded_size() == pattern[i].size() &&
                                             (*segment).compare(pattern[i]) == 0;
    if (!ok)
      return false;
  }
  return true;
}

}  // namespace

router& router::add(route r) {
  auto segments = split_pattern(r.pattern);
  routes_.push_back({std::move(r), std::move(segments)});
  return *this;
}

router& router::add(boost::beast::http::verb method, std::string pattern, handler_function handler,
                    body_mode body, std::vector<filter_function> filters) {
  return add(route{method, std::move(pattern), std::move(handler), body, std::move(filters), {}});
}

router& router::add_websocket(std::string pattern, websocket_handler handler,
                              std::vector<filter_function> filters) {
  return add(route{boost::beast::http::verb::get,
                   std::move(pattern),
                   {},
                   body_mode::buffered,
                   std::move(filters),
                   std::move(handler)});
}

router& router::add_observer(std::string pattern, handler_function handler) {
  route r;
  r.method = boost::beast::http::verb::get;
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  r.observer = true;
  return add(std::move(r));
}

router& router::filter(filter_function f) {
  filters_.push_back(std::move(f));
  return *this;
}

router::match router::find(boost::beast::http::verb method,
                           boost::urls::segments_encoded_view segments) const {
  match result;
  const std::size_t count = segments.size();
  for (const auto& c : routes_) {
    if (c.segments.size() != count || !segments_match(c.segments, segments))
      continue;
    if (c.r.method == method) {
      result.found = &c.r;
      result.allow.clear();
      std::size_t i = 0;
      for (auto it = segments.begin(); i < count; ++i, ++it) {
        if (c.segments[i] == "{}")
          result.params.push_back((*it).decode());
      }
      return result;
    }
    const auto name = boost::beast::http::to_string(c.r.method);
    if (result.allow.find(std::string_view(name.data(), name.size())) == std::string::npos) {
      if (!result.allow.empty())
        result.allow += ", ";
      result.allow.append(name.data(), name.size());
    }
  }
  return result;
}

}  // namespace lifetime::http
