// SPDX-License-Identifier: MIT
// Fuzzes lifetime-demo's upload-name check (uploads.hpp): the name comes from the URL of
// PUT /api/uploads/{name}, already percent-decoded, so it may hold any byte.
//
// Checks: an accepted name is 1 to max_upload_name bytes, does not start with '.', holds no '/',
// '\\', NUL or control character, and joined to the storage folder stays a direct child of it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "uploads.hpp"

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view name(reinterpret_cast<const char*>(data), size);
  if (!lifetime::demo::is_valid_upload_name(name))
    return 0;
  check(!name.empty() && name.size() <= lifetime::demo::max_upload_name);
  check(name.front() != '.');
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    check(u >= 0x20 && u != 0x7f && c != '/' && c != '\\');
  }
  const std::filesystem::path dir = "/srv/storage";
  const auto joined = (dir / std::filesystem::path(name)).lexically_normal();
  check(joined.parent_path() == dir);
  check(joined.filename() == std::filesystem::path(name));
  return 0;
}
