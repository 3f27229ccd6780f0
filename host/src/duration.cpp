// SPDX-License-Identifier: MIT
#include <lifetime/host/duration.hpp>

#include <cstdint>
#include <limits>
#include <ostream>
#include <stdexcept>

#include <boost/program_options/errors.hpp>
#include <boost/program_options/value_semantic.hpp>

namespace lifetime::host {
namespace {

constexpr std::int64_t max_ms = std::numeric_limits<std::chrono::milliseconds::rep>::max();

}  // namespace

std::optional<std::chrono::milliseconds> try_parse_duration(std::string_view text) noexcept {
  if (text == "0")
    return std::chrono::milliseconds{0};
  if (text.empty())
    return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9')
      return std::nullopt;
    std::int64_t number = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      const int digit = text[i] - '0';
      if (number > (max_ms - digit) / 10)
        return std::nullopt;
      number = number * 10 + digit;
      ++i;
    }
    // An optional fraction ("1.5s"), at most 9 digits: `fraction` / `scale` of the unit.
    std::int64_t fraction = 0;
    std::int64_t scale = 1;
    if (i < text.size() && text[i] == '.') {
      const std::size_t start = ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (i - start >= 9)
          return std::nullopt;
        fraction = fraction * 10 + (text[i] - '0');
        scale *= 10;
        ++i;
      }
      if (i == start)
        return std::nullopt;  // "1.s"
    }
    std::int64_t unit_ms = 0;
    if (text.substr(i, 2) == "ms") {
      unit_ms = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unit_ms = 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit_ms = 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      unit_ms = 3'600'000;
      ++i;
    } else {
      return std::nullopt;  // a missing or unknown unit
    }
    if ((fraction * unit_ms) % scale != 0)
      return std::nullopt;  // not a whole number of milliseconds ("1.5ms")
    const std::int64_t fraction_ms = fraction * unit_ms / scale;
    if (number > (max_ms - fraction_ms) / unit_ms)
      return std::nullopt;
    const std::int64_t part = number * unit_ms + fraction_ms;
    if (total > max_ms - part)
      return std::nullopt;
    total += part;
  }
  return std::chrono::milliseconds{total};
}

std::chrono::milliseconds parse_duration(std::string_view text) {
  if (auto value = try_parse_duration(text))
    return *value;
  throw std::invalid_argument("invalid duration '" + std::string(text) +
                              "' (expected e.g. 250ms, 30s, 2m, 1h)");
}

std::string format_duration(std::chrono::milliseconds value) {
  std::int64_t ms = value.count();
  if (ms == 0)
    return "0";
  std::string result;
  if (ms < 0) {
    result = "-";
    ms = -ms;
  }
  struct unit {
    std::int64_t ms;
    const char* suffix;
  };
  for (const unit u : {unit{3'600'000, "h"}, unit{60'000, "m"}, unit{1000, "s"}, unit{1, "ms"}}) {
    if (ms >= u.ms) {
      result += std::to_string(ms / u.ms);
      result += u.suffix;
      ms %= u.ms;
    }
  }
  return result;
}

std::ostream& operator<<(std::ostream& out, const duration_value& value) {
  return out << format_duration(value.value);
}

void validate(boost::any& result, const std::vector<std::string>& values, duration_value*, int) {
  namespace po = boost::program_options;
  po::validators::check_first_occurrence(result);
  const std::string& text = po::validators::get_single_string(values);
  auto parsed = try_parse_duration(text);
  if (!parsed)
    throw po::invalid_option_value(text);
  result = duration_value{*parsed};
}

}  // namespace lifetime::host
