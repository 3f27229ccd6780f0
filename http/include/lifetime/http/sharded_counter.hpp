// SPDX-License-Identifier: MIT
// A counter that many threads add to without sharing a cache line.
//
// Every request updates a handful of the server's counters. With one std::atomic each, the
// connection threads would pass each counter's cache line back and forth on every request; here
// each thread adds to a slot of its own (picked once per thread, round robin over the slots) and
// load() sums the slots. It reads like the std::atomic it replaces: fetch_add(), fetch_sub(),
// load(), and a conversion to the value.
//
// @par Guarantees
// - Adding never blocks and never touches another thread's slot (while there are no more
//   threads than slots; past that, threads share slots, which is still exact).
// - load() is exact once the additions it should see have happened-before it (relaxed, like a
//   relaxed atomic); it is not a snapshot of one instant. For a gauge (a signed T, where a thread
//   may subtract what another thread added) a load racing with updates could sum below zero:
//   load() returns zero then.
//
// @par Thread safety
// Every member may be called concurrently from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <type_traits>

namespace lifetime::http {

namespace detail {
/// This thread's slot in every sharded_counter (assigned on first use, round robin).
std::size_t counter_slot() noexcept;
}  // namespace detail

template <class T>
class sharded_counter {
  static_assert(std::is_integral_v<T>);

 public:
  static constexpr std::size_t slots = 8;

  sharded_counter() noexcept = default;
  sharded_counter(const sharded_counter&) = delete;
  sharded_counter& operator=(const sharded_counter&) = delete;

  void fetch_add(T value, std::memory_order order = std::memory_order_relaxed) noexcept {
    slots_[detail::counter_slot()].value.fetch_add(value, order);
  }
  void fetch_sub(T value, std::memory_order order = std::memory_order_relaxed) noexcept {
    slots_[detail::counter_slot()].value.fetch_sub(value, order);
  }
  /// The sum of every thread's additions (a gauge never reads below zero).
  T load(std::memory_order order = std::memory_order_relaxed) const noexcept {
    T sum = 0;
    for (const auto& s : slots_)
      sum += s.value.load(order);
    if constexpr (std::is_signed_v<T>)
      return sum < 0 ? T{0} : sum;
    else
      return sum;
  }
  operator T() const noexcept { return load(); }

 private:
  struct alignas(64) slot {
    std::atomic<T> value{0};
  };
  std::array<slot, slots> slots_{};
};

}  // namespace lifetime::http
