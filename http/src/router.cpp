// SPDX-License-Identifier: MIT
#include "http/router.hpp"

#include <boost/url/decode_view.hpp>

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
                           boost::urls::segments_encoded_view segments) const {
  match result;
  const std::size_t count = segments.size();
  for (const auto& c : routes_) {
    if (c.segments.size() != count)
      continue;
    // Decoded comparisons in place: no string per segment; placeholders are decoded once the
    // route matched.
    bool ok = true;
    std::size_t i = 0;
    for (auto it = segments.begin(); i < count && ok; ++i, ++it) {
      const auto segment = *it;
      if (c.segments[i] == "{}")
        ok = segment.decoded_size() != 0;
      else
        ok = segment.decoded_size() == c.segments[i].size() &&
             (*segment).compare(c.segments[i]) == 0;
    }
    if (!ok)
      continue;
    result.path_exists = true;
    if (c.r.method == method) {
      result.found = &c.r;
      i = 0;
      for (auto it = segments.begin(); i < count; ++i, ++it) {
        if (c.segments[i] == "{}")
          result.params.push_back((*it).decode());
      }
      return result;
    }
  }
  return result;
}

}  // namespace lifetime::demo
