// SPDX-License-Identifier: MIT
#include "http/server_config.hpp"

#include <charconv>
#include <cmath>

namespace lifetime::demo {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept {
  if (text.empty())
    return std::nullopt;
  std::size_t unit_at = 0;
  while (unit_at < text.size() &&
         ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) {
    ++unit_at;
  }
  const std::string_view number = text.substr(0, unit_at);
  const std::string_view unit = text.substr(unit_at);
  if (number.empty() || number.front() == '.' || number.back() == '.')
    return std::nullopt;
  double value = 0;
  {
    // std::from_chars for double is available in libstdc++ 11+.
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc{} || end != number.data() + number.size())
      return std::nullopt;
  }
  double factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit.empty() && value == 0) {
    factor = 0;
  } else {
    return std::nullopt;
  }
  const double ms = value * factor;
  if (!std::isfinite(ms) || ms < 0 || ms > 1e12)
    return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(std::llround(ms)));
}

std::string format_duration(std::chrono::milliseconds value) {
  const auto ms = value.count();
  if (ms != 0 && ms % 3'600'000 == 0)
    return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0)
    return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0)
    return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace lifetime::demo
