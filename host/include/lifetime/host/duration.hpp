// SPDX-License-Identifier: MIT
// Durations as people write them in options and config files: "250ms", "30s", "2m", "1h".
//
// Grammar: one or more `<digits>[.<digits>]<unit>` groups ("1m30s", "1.5s"), unit one of ms, s,
// m, h; a bare "0" is zero. No sign, no spaces. A fraction has at most 9 digits and must come to
// whole milliseconds ("0.25s" yes, "1.5ms" no). Values must fit in std::chrono::milliseconds
// without overflow. Everything else is rejected: "", "-5s", "10", "5 s", ".5s", "1.s", "10x",
// "99999999999999999999s". It is the project's one grammar: options, config files and
// lifetime::http's `?timeout=` all read durations with it.
//
// `duration_value` plugs the parser into Boost.Program_options:
// @code
//   options.add_options()("request-timeout",
//       po::value<lifetime::host::duration_value>()->default_value(duration_value{30s}),
//       "per-request deadline (250ms, 30s, 2m)");
//   auto timeout = options.duration("request-timeout");  // std::chrono::milliseconds
// @endcode
//
// Thread safety: pure functions; safe from any thread.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/any.hpp>

namespace lifetime::host {

/// The duration `text` denotes, or nothing if it is malformed, negative or overflows. Never throws.
std::optional<std::chrono::milliseconds> try_parse_duration(std::string_view text) noexcept;

/// The duration `text` denotes. @throws std::invalid_argument naming `text` if it is malformed.
std::chrono::milliseconds parse_duration(std::string_view text);

/// The shortest exact spelling: "0", "250ms", "30s", "2m", "1h", "1m30s".
std::string format_duration(std::chrono::milliseconds value);

/// A duration option value for Boost.Program_options (see the header comment).
struct duration_value {
  std::chrono::milliseconds value{0};

  friend bool operator==(const duration_value&, const duration_value&) = default;
};

/// Prints format_duration(), so that default values show as "30s" in --help.
std::ostream& operator<<(std::ostream& out, const duration_value& value);

/// Boost.Program_options' hook (found by argument-dependent lookup). Throws
/// boost::program_options::invalid_option_value for a malformed duration.
void validate(boost::any& result, const std::vector<std::string>& values, duration_value*, int);

}  // namespace lifetime::host
