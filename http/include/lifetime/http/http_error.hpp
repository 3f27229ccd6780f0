// SPDX-License-Identifier: MIT
// An HTTP error a handler or a filter throws to answer with a status and a short message.
//
// The server catches it: if no header was sent yet it answers `status` with a JSON body
// {"error": message}; otherwise it closes the connection. `close` asks for `Connection: close`
// (used when the request body was not read).
#pragma once

#include <stdexcept>
#include <string>

namespace lifetime::http {

class http_error : public std::runtime_error {
 public:
  http_error(unsigned status, const std::string& message, bool close = false)
      : std::runtime_error(message), status_(status), close_(close) {}
  unsigned status() const noexcept { return status_; }
  bool close() const noexcept { return close_; }

 private:
  unsigned status_;
  bool close_;
};

}  // namespace lifetime::http
