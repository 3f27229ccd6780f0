// SPDX-License-Identifier: MIT
#include "csrf.hpp"

#include "random_id.hpp"

namespace lifetime::demo {

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

std::optional<std::string_view> find_cookie(std::string_view header,
                                            std::string_view name) noexcept {
  while (!header.empty()) {
    const auto end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view{} : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ')
      pair.remove_prefix(1);
    while (!pair.empty() && pair.back() == ' ')
      pair.remove_suffix(1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos)
      continue;
    if (pair.substr(0, eq) == name)
      return pair.substr(eq + 1);
  }
  return std::nullopt;
}

session_store::session session_store::get_or_create(std::optional<std::string_view> id) {
  std::lock_guard lock(mutex_);
  if (id) {
    if (auto it = tokens_.find(std::string(*id)); it != tokens_.end()) {
      return {it->first, it->second};
    }
  }
  session created{random_id(), random_id()};
  tokens_.emplace(created.id, created.csrf_token);
  order_.push_back(created.id);
  while (order_.size() > max_sessions_) {
    tokens_.erase(order_.front());
    order_.pop_front();
  }
  return created;
}

bool session_store::verify(std::string_view id, std::string_view token) const noexcept {
  try {
    std::lock_guard lock(mutex_);
    const auto it = tokens_.find(std::string(id));
    if (it == tokens_.end())
      return false;
    return constant_time_equal(it->second, token);
  } catch (...) {
    return false;
  }
}

bool session_store::contains(std::string_view id) const {
  std::lock_guard lock(mutex_);
  return tokens_.contains(std::string(id));
}

}  // namespace lifetime::demo
