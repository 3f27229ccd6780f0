// SPDX-License-Identifier: MIT
// Fuzzes the project's one duration parser: lifetime::host's, read by options, config files and
// lifetime::http's `?timeout=`.
//
// Checks, besides the sanitizers: an accepted duration is never negative, formats to a spelling
// that parses back to the same value, and the throwing form agrees with the try_ form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include <lifetime/host/duration.hpp>

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto parsed = lifetime::host::try_parse_duration(text);
  if (parsed) {
    check(parsed->count() >= 0);
    const auto again = lifetime::host::try_parse_duration(lifetime::host::format_duration(*parsed));
    check(again && *again == *parsed);
  }
  try {
    const auto value = lifetime::host::parse_duration(text);
    check(parsed && value == *parsed);
  } catch (const std::invalid_argument&) {
    check(!parsed);
  }

  return 0;
}
