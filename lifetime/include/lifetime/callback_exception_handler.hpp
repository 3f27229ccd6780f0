// SPDX-License-Identifier: MIT
// Where exceptions thrown by cancellation callbacks go.
//
// A callback that throws does not stop the other callbacks of the same cancellation and does not
// terminate the process: the exception is handed to the process-wide handler set here, on the
// thread that ran the callback, and cancellation carries on with the next callback. The default
// handler writes one line to stderr. The host installs a handler that logs through spdlog.
//
// Thread safety: set_callback_exception_handler() may be called from any thread at any time; a
// callback that throws concurrently sees either the old or the new handler. The handler must not
// throw (it is noexcept) and should be quick: it runs inside cancel().
#pragma once

#include <exception>
#include <string>

namespace lifetime {

using callback_exception_handler = void (*)(std::exception_ptr error) noexcept;

/// Installs `handler` (nullptr restores the default) and returns the previous one.
callback_exception_handler set_callback_exception_handler(
    callback_exception_handler handler) noexcept;

/// What `error` says, for a log line: what() of a std::exception, "a non-standard exception"
/// otherwise. May throw std::bad_alloc.
std::string describe_exception(const std::exception_ptr& error);

/// Inside a callback exception handler on a thread where the library runs the callbacks of
/// application_lifetime's tokens: which one threw ("stopping(): flush journal"). Empty on any
/// other thread. May throw std::bad_alloc.
std::string running_callback_name();

namespace detail {
/// Passes `error` to the installed handler. Never throws.
void report_callback_exception(std::exception_ptr error) noexcept;
}  // namespace detail

}  // namespace lifetime
