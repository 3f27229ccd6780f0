// SPDX-License-Identifier: MIT
// Upload storage: a file becomes visible under its name only once it is complete and durable.
//
// An upload writes to a temporary file `.upload-<random>.tmp` in the storage folder; commit()
// fsyncs it, renames it to its final name and fsyncs the folder. A temp_file destroyed without
// commit() (client gone, cancelled, too large, disk full) removes its temporary file, so an
// aborted upload leaves nothing. remove_leftovers() deletes temporary files a crash left behind;
// the web host calls it at every (re)start. Names are checked with is_valid_upload_name() so that
// nothing can leave the folder.
//
// @par Thread safety
// Distinct temp_file objects: safe. The calls block on the file system (write, fsync); they are
// short for the sizes the demo handles and run on the connection's strand.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace lifetime::demo {

/// Longest accepted name, in bytes.
inline constexpr std::size_t max_upload_name = 200;

/// False for "", ".", "..", names starting with '.', longer than max_upload_name, or holding '/',
/// '\\', NUL or any control character.
bool is_valid_upload_name(std::string_view name) noexcept;

/// Removes every `.upload-*.tmp` in `dir`. @return how many were removed. Never throws.
std::size_t remove_leftovers(const std::filesystem::path& dir) noexcept;

class temp_file {
 public:
  /// Creates the folder if needed and a new temporary file in it. @throws std::system_error.
  explicit temp_file(std::filesystem::path dir);
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  /// Removes the temporary file unless committed.
  ~temp_file();

  /// Appends all of `data`. @throws std::system_error (ENOSPC, EDQUOT, EIO, ...).
  void write(const void* data, std::size_t size);
  /// fsync, rename to `dir/name`, fsync the folder. @throws std::system_error.
  void commit(std::string_view name);

  std::size_t size() const noexcept { return size_; }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
  int fd_ = -1;
  std::size_t size_ = 0;
  bool committed_ = false;
};

}  // namespace lifetime::demo
