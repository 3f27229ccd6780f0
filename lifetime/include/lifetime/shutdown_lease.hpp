// SPDX-License-Identifier: MIT
// A named, time-boxed permission to hold shutdown open.
//
// Returned by application_lifetime::delay_shutdown(name, max). While a lease is held and not
// expired, the shutdown sequence waits for it (never past the global budget). Its time box starts
// when shutdown starts, or when the lease is taken if that is later, and ends `max` later or at
// the end of the budget, whichever comes first. A lease asked for after the budget is spent is
// already expired. A lease still held when its box ends is an *overrun*: it no longer holds
// shutdown, and the host logs its name and how long it held.
//
// @par Moves and copies
// Move-only. Moving transfers the hold; the moved-from lease holds nothing. Destroying or
// release() ends the hold (idempotent).
//
// @par Thread safety
// Distinct leases: safe. One lease: release() and the destructor must not race each other. A
// lease may outlive the application_lifetime that issued it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>

namespace lifetime {

namespace detail {
class shutdown_work;
struct lease_record;
}  // namespace detail

class shutdown_lease {
 public:
  /// A lease that holds nothing.
  shutdown_lease() noexcept = default;
  shutdown_lease(shutdown_lease&& other) noexcept
      : work_(std::move(other.work_)), record_(std::exchange(other.record_, nullptr)) {}
  shutdown_lease& operator=(shutdown_lease&& other) noexcept {
    if (this != &other) {
      release();
      work_ = std::move(other.work_);
      record_ = std::exchange(other.record_, nullptr);
    }
    return *this;
  }
  shutdown_lease(const shutdown_lease&) = delete;
  shutdown_lease& operator=(const shutdown_lease&) = delete;
  ~shutdown_lease() { release(); }

  /// Ends the hold now. Idempotent.
  void release() noexcept;

  /// True while this lease holds shutdown open (held, and its time box has not ended).
  bool is_holding() const noexcept;

  /// The name given to delay_shutdown(); empty for an empty lease.
  const std::string& name() const noexcept;

 private:
  friend class detail::shutdown_work;
  shutdown_lease(std::shared_ptr<detail::shutdown_work> work, detail::lease_record* record) noexcept
      : work_(std::move(work)), record_(record) {}

  std::shared_ptr<detail::shutdown_work> work_;
  detail::lease_record* record_ = nullptr;
};

}  // namespace lifetime
