// SPDX-License-Identifier: MIT
// The shared state behind cancellation_source, cancellation_token and cancellation_registration.
//
// Invariants
// - One allocation per source. A linked source's parent links live in the same allocation, after
//   the state (a trailing array of `parent_link`).
// - `word_` holds two bits: `cancelled_bit`, set once and never cleared, and `locked_bit`, a spin
//   lock that guards `head_`, `registrations_`, `orphaned_` and `requester_`. Polling reads
//   `word_` with one acquire load and never takes the lock.
// - `reason_` is written under the lock before `cancelled_bit` is published with release, so a
//   reader that saw the bit reads the final reason.
// - Callbacks form an intrusive doubly linked list, newest at `head_`. A node is in the list if
//   and only if it is `head_` or has a `prev_`.
// - Lifetime: `refs_` counts handles (sources and tokens); `registrations_` counts registrations
//   that still have to call remove_callback(). The state is freed by whoever brings the second of
//   the two to zero: the last handle sets `orphaned_` if registrations remain, and the last
//   registration frees an orphaned state. A registration therefore costs no reference count.
// - `sources_` counts source handles; when it drops to zero a linked state unregisters from every
//   parent before the source's handle reference is released.
// - A registration destroyed on another thread while its callback runs waits for the node's
//   node's `status_` to become `done`, sleeping on the state's `done_epoch_` (announced through
//   `waiters_`) and still counted in `registrations_`, so the state outlives the wait. The
//   cancelling thread publishes `done` and never touches the node again, because its owner may
//   free it at once.
//
// - Cancelling may be split in two (mark_cancelled(), then run_callbacks() on another thread): in
//   between, pollers and new registrations already see the cancellation (a new registration runs
//   inline), a registration destroyed meanwhile is unlinked and never runs, and the callbacks
//   still linked run later, exactly once, on the thread that calls run_callbacks().
//
// Lock order: a child's lock is never held while a parent's is taken, and no lock is held while a
// callback runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <thread>

#include <lifetime/cancellation_reason.hpp>

namespace lifetime::detail {

struct callback_node;

/// What one kind of callback does: run it, and say what it is for the log.
struct callback_ops {
  void (*run)(callback_node* self, cancellation_reason reason);
  /// The callback's name: its own (named_callback.hpp) or its type's. Valid while the node is
  /// alive. Null for the library's internal links between sources.
  std::string_view (*describe)(const callback_node* self) noexcept;
};

/// Watches the callbacks that cancellations on one thread run (see scoped_callback_observer).
/// running() comes just before a described callback runs, returned() just after; links between
/// sources are not reported, the callbacks of the linked sources are.
class callback_observer {
 public:
  virtual void running(std::string_view description) noexcept = 0;
  virtual void returned() noexcept = 0;

 protected:
  ~callback_observer() = default;
};

/// Installs an observer for the cancellations this thread runs while it lives.
class scoped_callback_observer {
 public:
  explicit scoped_callback_observer(callback_observer& observer) noexcept;
  scoped_callback_observer(const scoped_callback_observer&) = delete;
  scoped_callback_observer& operator=(const scoped_callback_observer&) = delete;
  ~scoped_callback_observer();

 private:
  callback_observer* previous_;
};

/// One registered callback. Owned by the registration; linked into the state while registered.
struct callback_node {
  explicit callback_node(const callback_ops& ops) noexcept : ops_(&ops) {}

  const callback_ops* ops_;
  callback_node* next_ = nullptr;
  callback_node* prev_ = nullptr;
  // What cancellation did to this node, in one word so that a registration stays small:
  //   0                   not run yet
  //   address of a bool   running; the bool is on the cancelling thread's stack, and the
  //                       registration's destructor sets it when called from inside its own
  //                       callback (only that thread ever reads or writes through it)
  //   `done`              returned; a destructor on another thread waits for this value (on the
  //                       state's `done_epoch_`, never on the node, which its owner may free as
  //                       soon as it is stored)
  static constexpr std::uintptr_t done = 1;
  std::atomic<std::uintptr_t> status_{0};
};

class cancellation_state {
 public:
  using clock = std::chrono::steady_clock;

  /// A fresh state owned by one source handle.
  static cancellation_state* create(clock::time_point deadline);

  /// A state linked to `count` parents (any of which may be null), owned by one source handle.
  /// If a parent is already cancelled the new state is cancelled with its reason.
  static cancellation_state* create_linked(cancellation_state* const* parents, std::size_t count,
                                           clock::time_point deadline);

  bool is_cancellation_requested() const noexcept {
    return (word_.load(std::memory_order_acquire) & cancelled_bit) != 0;
  }
  bool can_be_cancelled() const noexcept {
    return is_cancellation_requested() || sources_.load(std::memory_order_acquire) != 0;
  }
  cancellation_reason reason() const noexcept {
    if (!is_cancellation_requested())
      return cancellation_reason::none;
    return reason_.load(std::memory_order_relaxed);
  }
  clock::time_point deadline() const noexcept { return deadline_; }

  /// Sets the cancelled bit and runs every callback, newest first, on this thread.
  /// Returns false (and does nothing) if the state was already cancelled.
  bool request_cancellation(cancellation_reason reason) noexcept;

  /// What mark_cancelled() did.
  enum class mark_result : std::uint8_t { already_cancelled, cancelled, callbacks_pending };

  /// The first half of request_cancellation(): sets the reason and the cancelled bit and runs
  /// nothing. With callbacks_pending, the caller owes exactly one run_callbacks() call.
  mark_result mark_cancelled(cancellation_reason reason) noexcept;

  /// The second half: runs the callbacks still linked, newest first, on this thread.
  void run_callbacks() noexcept;

  /// Links `node` unless the state is already cancelled (then returns false and the caller runs
  /// the callback inline).
  bool try_add_callback(callback_node* node) noexcept;

  /// Unlinks `node`, or waits for it to finish if it is running on another thread. May free the
  /// state (when it was the last thing keeping it).
  void remove_callback(callback_node* node) noexcept;

  void add_token_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release_token_ref() noexcept;
  void add_source_ref() noexcept;
  void release_source_ref() noexcept;

  /// Number of registrations (including links of child sources) not yet removed. Takes the lock.
  std::size_t registration_count() noexcept;

 private:
  struct parent_link : callback_node {
    parent_link() noexcept : callback_node(ops) {}
    static void fire(callback_node* self, cancellation_reason reason);
    static constexpr callback_ops ops{&fire, nullptr};
    cancellation_state* parent_ = nullptr;  // null when not registered
    cancellation_state* child_ = nullptr;
  };

  static constexpr std::uint32_t cancelled_bit = 1;
  static constexpr std::uint32_t locked_bit = 2;

  cancellation_state(clock::time_point deadline, std::uint32_t link_count) noexcept;
  ~cancellation_state() = default;

  std::uint32_t lock() noexcept;
  /// Takes the lock unless the state is cancelled: the word before locking, or false.
  bool lock_unless_cancelled(std::uint32_t& word) noexcept;
  /// With the lock held and the cancelled bit published: runs the linked callbacks, newest
  /// first, and releases the lock.
  void run_locked_callbacks(cancellation_reason reason) noexcept;
  void unlock(std::uint32_t word) noexcept { word_.store(word, std::memory_order_release); }
  void release_ref() noexcept;
  void wait_until_done(const callback_node* node) noexcept;
  void mark_done(callback_node* node) noexcept;
  void destroy() noexcept;
  parent_link* links() noexcept { return reinterpret_cast<parent_link*>(this + 1); }

  std::atomic<std::uint32_t> word_{0};
  std::atomic<cancellation_reason> reason_{cancellation_reason::none};
  bool orphaned_ = false;  // every handle is gone; the last registration frees the state
  std::atomic<std::uint32_t> refs_{1};
  std::atomic<std::uint32_t> sources_{1};
  std::atomic<std::uint32_t> waiters_{0};     // destructors waiting for a running callback
  std::atomic<std::uint32_t> done_epoch_{0};  // bumped when a callback with waiters finishes
  std::uint32_t link_count_;
  std::uint32_t registrations_ = 0;
  callback_node* head_ = nullptr;
  std::thread::id requester_{};
  clock::time_point deadline_;
};

}  // namespace lifetime::detail
