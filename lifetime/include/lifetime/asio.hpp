// SPDX-License-Identifier: MIT
// The bridge between lifetime tokens and Boost.Asio (target lifetime::asio; needs Boost >= 1.77).
//
// - `bind_cancellation(token, completion_token)` makes any Asio asynchronous operation (timer
//   wait, socket read, composed operation, coroutine step) cancellable by a lifetime token:
//       co_await timer.async_wait(lifetime::bind_cancellation(token, asio::use_awaitable));
//   The operation is cancelled with `cancellation_type::terminal` (or the type you pass) through
//   its per-operation cancellation slot. A slot already attached to the completion handler (a
//   coroutine's, or that of `||`) keeps working: it is chained in.
// - `async_wait_cancelled(token, executor, completion_token)` completes when the token is
//   cancelled (error_code{}), or with operation_aborted if the wait itself is cancelled.
// - `cancel_after(executor, source, duration)` / `cancel_at_deadline(executor, source)` cancel a
//   source with reason deadline_exceeded when a timer fires; the returned `scoped_deadline`
//   disarms the timer when destroyed.
//
// @par Thread safety
// The token may be cancelled from any thread. Cancellation slots are not thread-safe, so the
// cancellation is never emitted from the cancelling thread: it is posted to the operation's
// executor (the handler's associated executor, else the I/O object's), which serialises it with
// the operation. With a multi-threaded io_context, give the operation a strand as for any other
// cancellation. An operation with neither executor (no I/O object, and a handler without an
// associated executor) would get the system executor: bind its handler to the operation's
// executor with asio::bind_executor. `scoped_deadline` must be created and destroyed on its
// executor.
//
// @par Cost
// One shared allocation per bound operation and one registration; one posted handler per
// cancellation.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <lifetime/cancellation.hpp>

namespace lifetime {

/// The completion token returned by bind_cancellation().
template <class CompletionToken>
struct cancellation_bound_token {
  cancellation_token token;
  CompletionToken inner;
  boost::asio::cancellation_type type;
};

/// Binds `token` to the operation that `completion_token` completes (see the header comment).
template <class CompletionToken>
cancellation_bound_token<std::decay_t<CompletionToken>> bind_cancellation(
    cancellation_token token, CompletionToken&& completion_token,
    boost::asio::cancellation_type type = boost::asio::cancellation_type::terminal) {
  return {std::move(token), std::forward<CompletionToken>(completion_token), type};
}

namespace detail {

template <class Executor>
struct asio_binding_state : std::enable_shared_from_this<asio_binding_state<Executor>> {
  struct emit_later {
    std::weak_ptr<asio_binding_state> state;
    Executor executor;
    boost::asio::cancellation_type type;
    void operator()() const {
      boost::asio::post(executor, [state = state, type = type] {
        if (auto s = state.lock())
          s->signal.emit(type);
      });
    }
  };

  boost::asio::cancellation_signal signal;
  std::optional<cancellation_registration<emit_later>> registration;
};

template <class Handler, class Executor>
class cancellation_bound_handler {
 public:
  using cancellation_slot_type = boost::asio::cancellation_slot;

  cancellation_bound_handler(Handler handler, std::shared_ptr<asio_binding_state<Executor>> state)
      : handler_(std::move(handler)), state_(std::move(state)) {}

  cancellation_slot_type get_cancellation_slot() const noexcept { return state_->signal.slot(); }

  template <class... Args>
  void operator()(Args&&... args) {
    state_.reset();  // unregister before the handler runs; a posted emit finds nothing
    std::move(handler_)(std::forward<Args>(args)...);
  }

  const Handler& inner() const noexcept { return handler_; }

 private:
  Handler handler_;
  std::shared_ptr<asio_binding_state<Executor>> state_;
};

template <class Initiation>
struct cancellation_bound_initiation {
  Initiation initiation;
  cancellation_token token;
  boost::asio::cancellation_type type;

  template <class Handler, class... Args>
  void operator()(Handler&& handler, Args&&... args) {
    auto executor = [&] {
      if constexpr (requires { initiation.get_executor(); }) {
        return boost::asio::get_associated_executor(handler, initiation.get_executor());
      } else {
        return boost::asio::get_associated_executor(handler);
      }
    }();
    using executor_type = decltype(executor);
    auto state = std::make_shared<asio_binding_state<executor_type>>();
    auto outer = boost::asio::get_associated_cancellation_slot(handler);
    if (outer.is_connected()) {
      outer.assign([weak = std::weak_ptr(state)](boost::asio::cancellation_type t) {
        if (auto s = weak.lock())
          s->signal.emit(t);
      });
    }
    state->registration.emplace(
        token, typename asio_binding_state<executor_type>::emit_later{state, executor, type});
    std::move(initiation)(cancellation_bound_handler<std::decay_t<Handler>, executor_type>(
                              std::forward<Handler>(handler), std::move(state)),
                          std::forward<Args>(args)...);
  }
};

template <class Timer>
struct wait_cancelled_op {
  cancellation_token token;
  std::unique_ptr<Timer> timer;
  bool started = false;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {}) {
    if (!started) {
      started = true;
      timer->async_wait(bind_cancellation(token, std::move(self)));
      return;
    }
    timer.reset();
    if (token.is_cancellation_requested()) {
      self.complete(boost::system::error_code{});
    } else {
      self.complete(ec ? ec : boost::system::error_code(boost::asio::error::operation_aborted));
    }
  }
};

}  // namespace detail

/// Completes when `token` is cancelled (error_code{}), or with operation_aborted when this wait
/// is itself cancelled through its own cancellation slot. Never completes inline.
template <class Executor, class CompletionToken>
auto async_wait_cancelled(cancellation_token token, const Executor& executor,
                          CompletionToken&& completion_token) {
  using timer_type = boost::asio::basic_waitable_timer<
      std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;
  return boost::asio::async_compose<CompletionToken, void(boost::system::error_code)>(
      detail::wait_cancelled_op<timer_type>{
          std::move(token),
          std::make_unique<timer_type>(executor, std::chrono::steady_clock::time_point::max())},
      completion_token, executor);
}

/// Cancels a source with a reason when a timer fires, unless disarmed first. Move-only;
/// destroying it (on its executor) disarms the timer.
class scoped_deadline {
 public:
  scoped_deadline() = default;
  scoped_deadline(const boost::asio::any_io_executor& executor, cancellation_source source,
                  deadline_clock::time_point when,
                  cancellation_reason reason = cancellation_reason::deadline_exceeded)
      : timer_(std::make_unique<boost::asio::steady_timer>(executor, when)) {
    timer_->async_wait([source = std::move(source), reason](boost::system::error_code ec) mutable {
      if (!ec)
        source.cancel(reason);
    });
  }
  scoped_deadline(scoped_deadline&&) noexcept = default;
  scoped_deadline& operator=(scoped_deadline&& other) noexcept {
    disarm();
    timer_ = std::move(other.timer_);
    return *this;
  }
  ~scoped_deadline() { disarm(); }

  /// Stops the timer; the source is left as it is. Idempotent.
  void disarm() noexcept {
    if (timer_) {
      timer_->cancel();
      timer_.reset();
    }
  }
  bool is_armed() const noexcept { return timer_ != nullptr; }

 private:
  std::unique_ptr<boost::asio::steady_timer> timer_;
};

/// Cancels `source` with deadline_exceeded after `after`.
template <class Rep, class Period>
[[nodiscard]] scoped_deadline cancel_after(const boost::asio::any_io_executor& executor,
                                           cancellation_source source,
                                           std::chrono::duration<Rep, Period> after) {
  return scoped_deadline(executor, std::move(source), deadline_clock::now() + after);
}

/// Cancels `source` with deadline_exceeded at its own deadline; disarmed if it has none.
[[nodiscard]] inline scoped_deadline cancel_at_deadline(
    const boost::asio::any_io_executor& executor, cancellation_source source) {
  const auto when = source.deadline();
  if (when == no_deadline)
    return {};
  return scoped_deadline(executor, std::move(source), when);
}

}  // namespace lifetime

namespace lifetime::detail {

// Asio's own binders (bind_cancellation_slot, bind_executor, ...) name the return_type of the
// async_result they wrap; forward it when the inner completion token has one.
template <class TargetAsyncResult, class = void>
struct bound_async_result_return_type {};

template <class TargetAsyncResult>
struct bound_async_result_return_type<TargetAsyncResult,
                                      std::void_t<typename TargetAsyncResult::return_type>> {
  using return_type = typename TargetAsyncResult::return_type;
};

}  // namespace lifetime::detail

namespace boost::asio {

template <class CompletionToken, class... Signatures>
struct async_result<lifetime::cancellation_bound_token<CompletionToken>, Signatures...>
    : lifetime::detail::bound_async_result_return_type<
          async_result<CompletionToken, Signatures...>> {
  template <class Initiation, class RawToken, class... Args>
  static auto initiate(Initiation&& initiation, RawToken&& token, Args&&... args) {
    return async_initiate<CompletionToken, Signatures...>(
        lifetime::detail::cancellation_bound_initiation<std::decay_t<Initiation>>{
            std::forward<Initiation>(initiation), token.token, token.type},
        token.inner, std::forward<Args>(args)...);
  }
};

template <template <class, class> class Associator, class Handler, class Executor,
          class DefaultCandidate>
struct associator<Associator, lifetime::detail::cancellation_bound_handler<Handler, Executor>,
                  DefaultCandidate> : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const lifetime::detail::cancellation_bound_handler<Handler, Executor>& h) noexcept {
    return Associator<Handler, DefaultCandidate>::get(h.inner());
  }
  static auto get(const lifetime::detail::cancellation_bound_handler<Handler, Executor>& h,
                  const DefaultCandidate& c) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(h.inner(), c)) {
    return Associator<Handler, DefaultCandidate>::get(h.inner(), c);
  }
};

}  // namespace boost::asio
