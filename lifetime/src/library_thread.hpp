// SPDX-License-Identifier: MIT
// Internal: what the library's own threads (the shutdown-work supervisor and workers) do first.
//
// They take no asynchronous signals. A process-directed signal (SIGTERM from systemd, SIGINT from
// a terminal) then reaches a thread of the application, which is where its handler belongs,
// rather than a library thread parked in a wait: there it would interrupt calls the library does
// not expect to fail with EINTR, and under ThreadSanitizer, which defers a signal until the
// receiving thread enters an intercepted call, a thread parked in a futex may never deliver it.
// Synchronous signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS) stay unblocked.
#pragma once

namespace lifetime::detail {

/// Blocks the asynchronous signals in the calling thread. Never throws.
void block_async_signals() noexcept;

}  // namespace lifetime::detail
