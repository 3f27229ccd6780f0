// SPDX-License-Identifier: MIT
// Starting a coroutine from a handler already running on its executor, without co_spawn's hops.
//
// co_spawn() dispatches to the executor before the coroutine's first step and, when the
// coroutine completes without having suspended, posts once more before it ends: two trips
// through the scheduler, and four allocations, that a connection woken by its parked read would
// pay for every keep-alive request. spawn_inline() runs the coroutine at once on the calling
// thread, the way co_spawn's own machinery does once its dispatch has run (Boost 1.81's
// awaitable_handler::launch(); with another Boost version it is co_spawn()).
//
// Precondition: the caller runs inside `executor` (in one of its handlers; for a strand, inside
// the strand). The coroutine's first suspension returns control to the caller; it resumes on
// `executor`. `keep_alive` lives until the coroutine ends. An exception escaping `work` is
// dropped (as with asio::detached).
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace lifetime::http::detail {

void spawn_inline(const boost::asio::any_io_executor& executor, boost::asio::awaitable<void> work,
                  std::shared_ptr<void> keep_alive);

}  // namespace lifetime::http::detail
