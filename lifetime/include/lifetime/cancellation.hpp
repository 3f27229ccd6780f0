// SPDX-License-Identifier: MIT
// Cooperative cancellation: a source requests it, tokens observe it, registrations react to it.
//
// A `cancellation_source` owns one shared state (one allocation). `cancellation_token` is a cheap
// handle to it; a default-constructed token can never be cancelled and costs nothing.
// `token.register_callback(f)` returns a `cancellation_registration` that runs `f` when the
// source is cancelled and unregisters it when destroyed. Every cancellation has a reason
// (cancellation_reason.hpp); a source may carry a deadline, which linked sources inherit.
//
// @par Thread safety
// Distinct objects: safe. Shared objects: every member of source, token and registration may be
// called concurrently from any thread, except that one registration object must not be destroyed
// twice (as for any object).
//
// @par Guarantees
// - `token.is_cancellation_requested()` is one acquire load.
// - `source.cancel(reason)` returns true only for the call that cancelled. It runs every callback
//   synchronously on the calling thread, newest first, before it returns. Cancelling is not
//   atomic across linked sources, but once cancel() returns every callback of this source and of
//   every source linked to it has run (or is running on another thread that cancelled first).
// - A concurrent registration either is seen by cancel(), which runs it, or sees the cancellation
//   and runs the callback inline before register_callback() returns. Never both, never neither.
// - A callback that throws does not stop the others: the exception goes to the handler of
//   callback_exception_handler.hpp and cancellation carries on.
//
// @par Example
// @code
//   lifetime::cancellation_source source;
//   auto registration = source.token().register_callback([] { std::puts("cancelled"); });
//   source.cancel(lifetime::cancellation_reason::client_disconnected);  // prints, returns true
// @endcode
#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <lifetime/callback_exception_handler.hpp>
#include <lifetime/cancellation_reason.hpp>
#include <lifetime/detail/cancellation_state.hpp>
#include <lifetime/operation_cancelled.hpp>

namespace lifetime {

class cancellation_source;
class cancellation_token;
template <class Callback>
class cancellation_registration;

namespace detail {
inline cancellation_state* state_of(const cancellation_token& token) noexcept;

/// A callable that names itself for the log (named_callback.hpp).
template <class F>
concept has_callback_name = requires(const F& f) {
  { f.callback_name() } -> std::convertible_to<std::string_view>;
};

/// `mangled` demangled ("my_service::start()::{lambda()#1}"), or as it is if that fails.
std::string demangle(const char* mangled);

/// A readable name of the type T, computed once.
template <class T>
std::string_view type_name() noexcept {
#if defined(__GXX_RTTI) || defined(_CPPRTTI)
  try {
    static const std::string name = demangle(typeid(T).name());
    return name;
  } catch (...) {
    return "a callback";
  }
#else
  return "a callback";
#endif
}
}  // namespace detail

/// The steady clock that deadlines are measured on.
using deadline_clock = std::chrono::steady_clock;
/// "No deadline".
inline constexpr deadline_clock::time_point no_deadline = deadline_clock::time_point::max();

/// A callback that can be registered: invocable with no argument or with the reason.
template <class F>
concept cancellation_callback =
    std::is_invocable_v<F&> || std::is_invocable_v<F&, cancellation_reason>;

/// A handle that observes one source. Copying adds a reference; moving is free.
class cancellation_token {
 public:
  /// A token that is never cancelled. Allocates nothing.
  cancellation_token() noexcept = default;
  cancellation_token(const cancellation_token& other) noexcept : state_(other.state_) {
    if (state_ != nullptr)
      state_->add_token_ref();
  }
  cancellation_token(cancellation_token&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  cancellation_token& operator=(cancellation_token other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~cancellation_token() {
    if (state_ != nullptr)
      state_->release_token_ref();
  }

  /// True once the source was cancelled. One acquire load.
  bool is_cancellation_requested() const noexcept {
    return state_ != nullptr && state_->is_cancellation_requested();
  }

  /// False for a default token, and for one whose sources are all gone without cancelling.
  bool can_be_cancelled() const noexcept { return state_ != nullptr && state_->can_be_cancelled(); }

  /// Why it was cancelled; `cancellation_reason::none` while it is not.
  cancellation_reason reason() const noexcept {
    return state_ != nullptr ? state_->reason() : cancellation_reason::none;
  }

  /// The deadline the source carries (the earliest of its parents' for a linked source), or
  /// `no_deadline`. A deadline is information: a timer must act on it (see lifetime/asio.hpp).
  deadline_clock::time_point deadline() const noexcept {
    return state_ != nullptr ? state_->deadline() : no_deadline;
  }
  bool has_deadline() const noexcept { return deadline() != no_deadline; }

  /// @throws operation_cancelled carrying reason() if cancellation was requested.
  void throw_if_cancellation_requested() const {
    if (is_cancellation_requested())
      throw operation_cancelled(reason());
  }

  /// Registers `callback` to run when the source is cancelled. If it already is, `callback` runs
  /// inline before this returns and the registration is empty.
  /// @note The registration is neither copyable nor movable; it is returned by guaranteed copy
  ///       elision: `auto r = token.register_callback(f);`.
  template <cancellation_callback F>
  [[nodiscard]] cancellation_registration<std::decay_t<F>> register_callback(F&& callback) const;

  friend bool operator==(const cancellation_token& a, const cancellation_token& b) noexcept {
    return a.state_ == b.state_;
  }

 private:
  friend class cancellation_source;
  template <class Callback>
  friend class cancellation_registration;
  friend detail::cancellation_state* detail::state_of(const cancellation_token& token) noexcept;

  explicit cancellation_token(detail::cancellation_state* adopted) noexcept : state_(adopted) {}

  detail::cancellation_state* state_ = nullptr;
};

/// Owns (a share of) one cancellation state and requests cancellation on it. Copies share the
/// state, like std::stop_source. The last source handle of a linked source unregisters it from
/// every parent, so a long-lived parent accumulates nothing from short-lived children.
class cancellation_source {
 public:
  /// A new state without a deadline. One allocation; may throw std::bad_alloc.
  cancellation_source() : state_(detail::cancellation_state::create(no_deadline)) {}

  /// A new state carrying `deadline`. Nothing cancels it at the deadline by itself: see
  /// lifetime/asio.hpp's cancel_at_deadline().
  explicit cancellation_source(deadline_clock::time_point deadline)
      : state_(detail::cancellation_state::create(deadline)) {}

  /// A source cancelled when any of `parents` is (with that parent's reason), or when cancel() is
  /// called on it. Its deadline is the earliest of `deadline` and its parents'. Default tokens
  /// among the parents are ignored. One allocation for the state and all links.
  static cancellation_source linked(std::span<const cancellation_token> parents,
                                    deadline_clock::time_point deadline = no_deadline);
  static cancellation_source linked(std::initializer_list<cancellation_token> parents,
                                    deadline_clock::time_point deadline = no_deadline) {
    return linked(std::span<const cancellation_token>(parents.begin(), parents.size()), deadline);
  }

  cancellation_source(const cancellation_source& other) noexcept : state_(other.state_) {
    if (state_ != nullptr)
      state_->add_source_ref();
  }
  cancellation_source(cancellation_source&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  cancellation_source& operator=(cancellation_source other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~cancellation_source() {
    if (state_ != nullptr)
      state_->release_source_ref();
  }

  /// Requests cancellation with `reason` and runs every registered callback, newest first, on
  /// this thread before returning.
  /// @return true for the one call that cancelled; false if it was already cancelled (the first
  ///         reason stays) or if this source was moved from.
  bool cancel(cancellation_reason reason = cancellation_reason::requested) noexcept {
    return state_ != nullptr && state_->request_cancellation(reason);
  }

  cancellation_token token() const noexcept {
    if (state_ != nullptr)
      state_->add_token_ref();
    return cancellation_token(state_);
  }
  bool is_cancellation_requested() const noexcept {
    return state_ != nullptr && state_->is_cancellation_requested();
  }
  cancellation_reason reason() const noexcept {
    return state_ != nullptr ? state_->reason() : cancellation_reason::none;
  }
  deadline_clock::time_point deadline() const noexcept {
    return state_ != nullptr ? state_->deadline() : no_deadline;
  }

 private:
  explicit cancellation_source(detail::cancellation_state* adopted) noexcept : state_(adopted) {}

  detail::cancellation_state* state_;
};

/// Runs a callback when a token is cancelled, for as long as it lives.
///
/// - Construction on a cancelled token runs the callback inline; the registration is then empty.
/// - The callback runs at most once, on the thread that cancelled, with no lock held.
/// - Destruction (or unregister()): if the callback has not started, it never will. If it is
///   running on another thread, waits until it returns, so the state it touches may be destroyed
///   right after. From inside the callback itself, does not wait. Never waits for other
///   callbacks. Keep callbacks short and lock-free: a destructor may wait for them.
/// - Neither copyable nor movable: the registration's address is linked into the state.
template <class Callback>
class cancellation_registration : private detail::callback_node {
 public:
  template <class F>
  requires std::constructible_from<Callback, F> cancellation_registration(
      const cancellation_token& token, F&& callback)
  noexcept(std::is_nothrow_constructible_v<Callback, F>)
      : detail::callback_node(ops), callback_(std::forward<F>(callback)) {
    detail::cancellation_state* state = token.state_;
    if (state == nullptr)
      return;
    if (state->try_add_callback(this)) {
      state_ = state;
    } else {
      run(this, state->reason());
    }
  }

  cancellation_registration(const cancellation_registration&) = delete;
  cancellation_registration& operator=(const cancellation_registration&) = delete;

  ~cancellation_registration() { unregister(); }

  /// Unregisters now, with the destructor's guarantees. Idempotent.
  void unregister() noexcept {
    if (state_ != nullptr)
      std::exchange(state_, nullptr)->remove_callback(this);
  }

  /// True while registered and not yet run.
  bool is_registered() const noexcept {
    return state_ != nullptr && !state_->is_cancellation_requested();
  }

 private:
  static void run(detail::callback_node* node, cancellation_reason reason) {
    auto* self = static_cast<cancellation_registration*>(node);
    try {
      if constexpr (std::is_invocable_v<Callback&, cancellation_reason>) {
        std::invoke(self->callback_, reason);
      } else {
        std::invoke(self->callback_);
      }
    } catch (...) {
      detail::report_callback_exception(std::current_exception());
    }
  }

  static std::string_view describe(const detail::callback_node* node) noexcept {
    const auto* self = static_cast<const cancellation_registration*>(node);
    if constexpr (detail::has_callback_name<Callback>) {
      return self->callback_.callback_name();
    } else {
      return detail::type_name<Callback>();
    }
  }

  static constexpr detail::callback_ops ops{&run, &describe};

  Callback callback_;
  detail::cancellation_state* state_ = nullptr;
};

template <cancellation_callback F>
cancellation_registration<std::decay_t<F>> cancellation_token::register_callback(
    F&& callback) const {
  return cancellation_registration<std::decay_t<F>>(*this, std::forward<F>(callback));
}

namespace detail {
/// The state behind `token` (nullptr for a default token). For tests and diagnostics.
inline cancellation_state* state_of(const cancellation_token& token) noexcept {
  return token.state_;
}
}  // namespace detail

/// How many registrations (and linked children) a token's source holds right now. Takes the
/// state's lock; meant for diagnostics and tests, not hot paths.
inline std::size_t registration_count(const cancellation_token& token) noexcept {
  auto* state = detail::state_of(token);
  return state != nullptr ? state->registration_count() : 0;
}

}  // namespace lifetime
