// SPDX-License-Identifier: MIT
#include "spawn_inline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/version.hpp>

namespace lifetime::http::detail {
namespace asio = boost::asio;

#if BOOST_VERSION == 108100

namespace {

// The bottom frame of the coroutine's stack, as co_spawn's entry point is, minus its dispatch,
// its final post and its completion handler.
asio::awaitable<asio::detail::awaitable_thread_entry_point, asio::any_io_executor> entry(
    asio::awaitable<void> work, [[maybe_unused]] std::shared_ptr<void> keep_alive) {
  try {
    co_await std::move(work);
  } catch (...) {  // NOLINT(bugprone-empty-catch): detached
  }
}

}  // namespace

void spawn_inline(const asio::any_io_executor& executor, asio::awaitable<void> work,
                  std::shared_ptr<void> keep_alive) {
  asio::detail::awaitable_handler<asio::any_io_executor, void>(
      entry(std::move(work), std::move(keep_alive)), executor, asio::cancellation_slot(),
      asio::cancellation_state(asio::cancellation_slot()))
      .launch();
}

#else

void spawn_inline(const asio::any_io_executor& executor, asio::awaitable<void> work,
                  std::shared_ptr<void> keep_alive) {
  asio::co_spawn(
      executor,
      [work = std::move(work), keep_alive = std::move(keep_alive)]() mutable {
        return std::move(work);
      },
      asio::detached);
}

#endif

}  // namespace lifetime::http::detail
