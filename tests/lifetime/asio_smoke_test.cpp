// SPDX-License-Identifier: MIT
#include <lifetime/asio.hpp>

#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

namespace asio = boost::asio;

TEST_CASE("a timer wait bound to a token is aborted when the token is cancelled on another thread",
          "[threads]") {
  asio::io_context io;
  asio::steady_timer timer(io, std::chrono::hours(1));
  lifetime::cancellation_source source;
  boost::system::error_code result;
  bool done = false;
  timer.async_wait(lifetime::bind_cancellation(source.token(), [&](boost::system::error_code ec) {
    result = ec;
    done = true;
  }));
  std::thread canceller([&] { source.cancel(); });
  io.run_for(std::chrono::seconds(10));
  canceller.join();
  REQUIRE(done);
  CHECK(result == asio::error::operation_aborted);
}

TEST_CASE("async_wait_cancelled completes in a coroutine when the token is cancelled") {
  asio::io_context io;
  lifetime::cancellation_source source;
  bool woke = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await lifetime::async_wait_cancelled(source.token(), co_await asio::this_coro::executor,
                                                asio::use_awaitable);
        woke = true;
      },
      asio::detached);
  io.poll();
  CHECK_FALSE(woke);
  source.cancel();
  io.run_for(std::chrono::seconds(10));
  CHECK(woke);
}
