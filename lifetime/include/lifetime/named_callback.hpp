// SPDX-License-Identifier: MIT
// A cancellation callback with a name of its own, for the log and the state dump.
//
// `token.register_callback(lifetime::named("flush journal", f))` registers `f` as usual; where the
// library reports what a callback is doing — a callback on application_lifetime::stopping() that
// still runs when its time box ends, the host's state dump — it calls it "flush journal" instead
// of by the type of `f` (for a lambda, something like `my_service::start()::{lambda()#1}`).
//
// @par Thread safety and cost
// A plain value: the name is copied once, at construction (may throw std::bad_alloc); calling the
// callback calls `f` with the same arguments, and lets its exceptions through as `f` would.
//
// @par Example
// @code
//   auto flush = app.stopping().register_callback(
//       lifetime::named("flush journal", [&] { journal.flush(); }));
// @endcode
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <lifetime/cancellation.hpp>

namespace lifetime {

template <class F>
class named_callback {
 public:
  template <class G>
  named_callback(std::string name, G&& callback)
      : name_(std::move(name)), callback_(std::forward<G>(callback)) {}

  /// The name given at construction.
  std::string_view callback_name() const noexcept { return name_; }

  /// Calls the callback, with the reason if it takes one.
  void operator()(cancellation_reason reason) {
    if constexpr (std::is_invocable_v<F&, cancellation_reason>) {
      callback_(reason);
    } else {
      callback_();
    }
  }

 private:
  std::string name_;
  F callback_;
};

/// `callback` under `name` (see the header comment).
template <cancellation_callback F>
named_callback<std::decay_t<F>> named(std::string name, F&& callback) {
  return named_callback<std::decay_t<F>>(std::move(name), std::forward<F>(callback));
}

}  // namespace lifetime
