// SPDX-License-Identifier: MIT
// The error a listener that cannot bind or listen throws.
//
// what() is the plain sentence a user reads, "cannot listen on 127.0.0.1:8080: address already in
// use" (lower-case, no source location); code() keeps the errno (std::generic_category()) so that
// whoever reports the failure can pass it on (systemd's ERRNO=).
#pragma once

#include <string>
#include <system_error>

namespace lifetime::http {

class listen_error : public std::system_error {
 public:
  /// `address` as the user wrote it or as bound ("127.0.0.1:8080"); `code` the errno.
  listen_error(const std::string& address, int code);
  const char* what() const noexcept override { return text_.c_str(); }

 private:
  std::string text_;
};

}  // namespace lifetime::http
