// SPDX-License-Identifier: MIT
#include "uploads.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "random_id.hpp"

namespace lifetime::demo {
namespace {

constexpr std::string_view temp_prefix = ".upload-";
constexpr std::string_view temp_suffix = ".tmp";

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw_errno("open storage folder");
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0)
    throw std::system_error(error, std::generic_category(), "fsync storage folder");
}

}  // namespace

bool is_valid_upload_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_upload_name || name.front() == '.')
    return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '/' || c == '\\')
      return false;
  }
  return true;
}

std::size_t remove_leftovers(const std::filesystem::path& dir) noexcept {
  std::size_t removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with(temp_prefix) && name.ends_with(temp_suffix)) {
      std::error_code remove_ec;
      if (std::filesystem::remove(it->path(), remove_ec))
        ++removed;
    }
  }
  return removed;
}

temp_file::temp_file(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  path_ = dir_ / (std::string(temp_prefix) + random_id() + std::string(temp_suffix));
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw_errno("create temporary upload file");
}

temp_file::~temp_file() {
  if (fd_ >= 0)
    ::close(fd_);
  if (!committed_)
    ::unlink(path_.c_str());
}

void temp_file::write(const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw_errno("write upload");
    p += n;
    size -= static_cast<std::size_t>(n);
    size_ += static_cast<std::size_t>(n);
  }
}

void temp_file::commit(std::string_view name) {
  if (::fsync(fd_) != 0)
    throw_errno("fsync upload");
  if (::close(std::exchange(fd_, -1)) != 0)
    throw_errno("close upload");
  const auto target = dir_ / std::filesystem::path(std::string(name));
  if (::rename(path_.c_str(), target.c_str()) != 0)
    throw_errno("rename upload");
  committed_ = true;
  fsync_dir(dir_);
}

}  // namespace lifetime::demo
