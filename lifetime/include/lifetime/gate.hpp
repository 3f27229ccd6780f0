// SPDX-License-Identifier: MIT
// An in-flight tracker: stop admitting new work *and* know when the admitted work is done.
//
// Work enters the gate and holds a `gate::holder` while it runs. close() turns new arrivals away
// (try_enter() yields nothing, enter() throws gate_closed) without disturbing the work inside;
// when the gate is closed and the last holder is gone, the gate is *drained*: waiters wake and
// on_drained() callbacks run once. The host counts in-flight requests with a gate and drains it
// against the shutdown budget.
//
// @par Thread safety
// Every member may be called concurrently from any thread. Entering and leaving are one atomic
// read-modify-write each and never block. Drain callbacks run on the thread that closed the gate
// or released the last holder, outside any lock; they must not throw (an exception goes to the
// callback exception handler). The gate must outlive its holders.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace lifetime {

/// Thrown by gate::enter() on a closed gate.
class gate_closed : public std::exception {
 public:
  const char* what() const noexcept override { return "gate closed"; }
};

class gate {
 public:
  /// Keeps the gate from draining while it lives.
  /// - Copying enters the gate again (even a closed one: the count is above zero, so it cannot
  ///   have drained).
  /// - Moving transfers the hold; the moved-from holder holds nothing.
  /// - Destroying (or release()) leaves; the last one out of a closed gate drains it.
  class holder {
   public:
    holder() noexcept = default;
    holder(const holder& other) noexcept : gate_(other.gate_) {
      if (gate_ != nullptr)
        gate_->reenter();
    }
    holder(holder&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    holder& operator=(holder other) noexcept {
      std::swap(gate_, other.gate_);
      return *this;
    }
    ~holder() { release(); }

    /// Leaves the gate now. Idempotent.
    void release() noexcept {
      if (gate_ != nullptr)
        std::exchange(gate_, nullptr)->leave();
    }
    explicit operator bool() const noexcept { return gate_ != nullptr; }

   private:
    friend class gate;
    explicit holder(gate* g) noexcept : gate_(g) {}
    gate* gate_ = nullptr;
  };

  gate() = default;
  gate(const gate&) = delete;
  gate& operator=(const gate&) = delete;
  /// @note Destroying a gate that still has holders is undefined behaviour.
  ~gate() = default;

  /// A holder, or nothing if the gate is closed. Never throws.
  std::optional<holder> try_enter() noexcept {
    std::uint64_t value = value_.load(std::memory_order_relaxed);
    do {
      if ((value & closed_bit) != 0)
        return std::nullopt;
    } while (!value_.compare_exchange_weak(value, value + 1, std::memory_order_acquire,
                                           std::memory_order_relaxed));
    entered_.fetch_add(1, std::memory_order_relaxed);
    return holder(this);
  }

  /// A holder. @throws gate_closed if the gate is closed.
  holder enter() {
    auto h = try_enter();
    if (!h)
      throw gate_closed();
    return std::move(*h);
  }

  /// Closes the gate. Idempotent: returns true only for the call that closed it. If nothing is
  /// inside, the gate drains here, on this thread.
  bool close() noexcept;

  bool is_closed() const noexcept {
    return (value_.load(std::memory_order_acquire) & closed_bit) != 0;
  }
  /// True once closed and empty.
  bool is_drained() const noexcept { return value_.load(std::memory_order_acquire) == closed_bit; }
  /// Holders alive right now.
  std::size_t count() const noexcept {
    return static_cast<std::size_t>(value_.load(std::memory_order_relaxed) & ~closed_bit);
  }

  /// How many times the gate was entered by try_enter()/enter() since it was made (copies of a
  /// holder not counted). For rates and diagnostics; relaxed.
  std::uint64_t entered_total() const noexcept { return entered_.load(std::memory_order_relaxed); }

  /// Blocks until drained or until `deadline`. @return true if drained.
  bool wait_until_drained(std::chrono::steady_clock::time_point deadline);

  /// Runs `callback` once when the gate drains: at once (on this thread) if it already has,
  /// otherwise on the thread that drains it.
  void on_drained(std::function<void()> callback);

 private:
  static constexpr std::uint64_t closed_bit = std::uint64_t{1} << 63;

  void reenter() noexcept { value_.fetch_add(1, std::memory_order_relaxed); }
  void leave() noexcept {
    if (value_.fetch_sub(1, std::memory_order_acq_rel) == (closed_bit | 1))
      drained();
  }
  void drained() noexcept;

  std::atomic<std::uint64_t> value_{0};
  std::atomic<std::uint64_t> entered_{0};
  std::mutex mutex_;
  std::condition_variable drained_cv_;
  bool drained_ = false;
  std::vector<std::function<void()>> callbacks_;
};

}  // namespace lifetime
