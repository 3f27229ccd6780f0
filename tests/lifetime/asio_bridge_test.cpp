// SPDX-License-Identifier: MIT
// The Asio bridge: bind_cancellation, async_wait_cancelled, cancel_after / scoped_deadline.
#include <lifetime/asio.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include "test_support.hpp"

namespace asio = boost::asio;
using boost::system::error_code;
using lifetime::cancellation_reason;
using lifetime::cancellation_source;
using lifetime_test::patience;
using namespace std::chrono_literals;

namespace {

// An operation that completes only when cancelled through its slot, and records on which thread
// and with which type the cancellation was emitted.
struct emission {
  std::thread::id thread;
  asio::cancellation_type type = asio::cancellation_type::none;
};

template <class CompletionToken>
auto async_until_cancelled(asio::io_context& io, emission& seen, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(error_code)>(
      [&io, &seen](auto handler) {
        using handler_type = decltype(handler);
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto held = std::make_shared<std::optional<handler_type>>(std::move(handler));
        slot.assign([held, &io, &seen](asio::cancellation_type type) {
          seen = {std::this_thread::get_id(), type};
          asio::post(io, [held] {
            auto h = std::move(**held);
            held->reset();
            std::move(h)(error_code(asio::error::operation_aborted));
          });
        });
      },
      token);
}

}  // namespace

TEST_CASE("the cancellation is emitted on the operation's executor, not the cancelling thread",
          "[threads]") {
  asio::io_context io;
  cancellation_source source;
  emission seen;
  std::optional<error_code> result;
  // No I/O object here: the handler's associated executor is the operation's executor.
  async_until_cancelled(
      io, seen,
      lifetime::bind_cancellation(source.token(),
                                  asio::bind_executor(io, [&](error_code ec) { result = ec; })));
  std::thread canceller([&] { source.cancel(); });
  canceller.join();
  CHECK(seen.type == asio::cancellation_type::none);  // nothing emitted on the canceller
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
  CHECK(seen.thread == std::this_thread::get_id());
  CHECK(seen.type == asio::cancellation_type::terminal);
}

TEST_CASE("bind_cancellation emits the cancellation type it was given") {
  asio::io_context io;
  cancellation_source source;
  emission seen;
  std::optional<error_code> result;
  async_until_cancelled(
      io, seen,
      lifetime::bind_cancellation(source.token(),
                                  asio::bind_executor(io, [&](error_code ec) { result = ec; }),
                                  asio::cancellation_type::partial));
  source.cancel();
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK(seen.type == asio::cancellation_type::partial);
}

TEST_CASE("a timer wait bound to a token is aborted when the token is cancelled on another thread",
          "[threads]") {
  asio::io_context io;
  asio::steady_timer timer(io, 1h);
  cancellation_source source;
  std::optional<error_code> result;
  timer.async_wait(
      lifetime::bind_cancellation(source.token(), [&](error_code ec) { result = ec; }));
  std::thread canceller([&] { source.cancel(); });
  io.run_for(patience);
  canceller.join();
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
}

TEST_CASE(
    "a loopback socket read bound to a token is aborted when the token is cancelled on "
    "another thread",
    "[threads]") {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  asio::ip::tcp::socket client(io);
  asio::ip::tcp::socket server(io);
  client.connect(acceptor.local_endpoint());
  acceptor.accept(server);
  cancellation_source source;
  std::array<char, 16> buffer{};
  std::optional<error_code> result;
  server.async_read_some(asio::buffer(buffer),
                         lifetime::bind_cancellation(
                             source.token(), [&](error_code ec, std::size_t) { result = ec; }));
  io.poll();
  CHECK_FALSE(result.has_value());  // nothing to read: the read is pending
  std::thread canceller([&] { source.cancel(cancellation_reason::client_disconnected); });
  io.run_for(patience);
  canceller.join();
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
}

TEST_CASE("a socket read bound to a token that is never cancelled completes normally") {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::address_v4::loopback(), 0});
  asio::ip::tcp::socket client(io);
  asio::ip::tcp::socket server(io);
  client.connect(acceptor.local_endpoint());
  acceptor.accept(server);
  cancellation_source source;
  std::array<char, 16> buffer{};
  std::size_t received = 0;
  std::optional<error_code> result;
  server.async_read_some(
      asio::buffer(buffer),
      lifetime::bind_cancellation(source.token(), [&](error_code ec, std::size_t n) {
        result = ec;
        received = n;
      }));
  asio::write(client, asio::buffer("hi", 2));
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK_FALSE(*result);
  CHECK(received == 2);
  CHECK(lifetime::registration_count(source.token()) == 0);
}

TEST_CASE("an operation bound to an already cancelled token is aborted, never inline") {
  asio::io_context io;
  asio::steady_timer timer(io, 1h);
  cancellation_source source;
  source.cancel();
  std::optional<error_code> result;
  timer.async_wait(
      lifetime::bind_cancellation(source.token(), [&](error_code ec) { result = ec; }));
  CHECK_FALSE(result.has_value());
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
}

TEST_CASE("a bound operation that completes unregisters from the token before its handler runs") {
  asio::io_context io;
  asio::steady_timer timer(io, 1ms);
  cancellation_source source;
  std::size_t count_in_handler = 99;
  std::optional<error_code> result;
  timer.async_wait(lifetime::bind_cancellation(source.token(), [&](error_code ec) {
    result = ec;
    count_in_handler = lifetime::registration_count(source.token());
  }));
  CHECK(lifetime::registration_count(source.token()) == 1);
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK_FALSE(*result);
  CHECK(count_in_handler == 0);
  source.cancel();  // nothing left to cancel: nothing is posted
  io.restart();
  CHECK(io.poll() == 0);
}

TEST_CASE("a token cancels an operation awaited in a coroutine", "[threads]") {
  asio::io_context io;
  cancellation_source source;
  std::optional<error_code> result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 1h);
        try {
          co_await timer.async_wait(
              lifetime::bind_cancellation(source.token(), asio::use_awaitable));
          result = error_code{};
        } catch (const boost::system::system_error& e) {
          result = e.code();
        }
      },
      asio::detached);
  io.poll();
  std::thread canceller([&] { source.cancel(); });
  io.run_for(patience);
  canceller.join();
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
}

TEST_CASE("bind_cancellation chains a slot already bound outside it") {
  asio::io_context io;
  asio::steady_timer timer(io, 1h);
  cancellation_source source;
  asio::cancellation_signal outer;
  std::optional<error_code> result;
  timer.async_wait(asio::bind_cancellation_slot(
      outer.slot(),
      lifetime::bind_cancellation(source.token(), [&](error_code ec) { result = ec; })));
  io.poll();
  CHECK_FALSE(result.has_value());
  outer.emit(asio::cancellation_type::terminal);
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
  CHECK_FALSE(source.is_cancellation_requested());
}

TEST_CASE("bind_cancellation chains a slot bound inside it") {
  asio::io_context io;
  asio::steady_timer timer(io, 1h);
  cancellation_source source;
  asio::cancellation_signal inner;
  std::optional<error_code> result;
  timer.async_wait(lifetime::bind_cancellation(
      source.token(),
      asio::bind_cancellation_slot(inner.slot(), [&](error_code ec) { result = ec; })));
  io.poll();
  inner.emit(asio::cancellation_type::terminal);
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
}

TEST_CASE("awaitable operator || cancels the losing bound operation through the chained slot") {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  cancellation_source source;
  std::optional<std::size_t> winner;
  const auto start = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        asio::steady_timer slow(executor, 1h);
        asio::steady_timer fast(executor, 10ms);
        auto result = co_await (
            slow.async_wait(lifetime::bind_cancellation(source.token(), asio::use_awaitable)) ||
            fast.async_wait(asio::use_awaitable));
        winner = result.index();
      },
      asio::detached);
  io.run_for(patience);
  REQUIRE(winner.has_value());
  CHECK(*winner == 1);
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  CHECK(lifetime::registration_count(source.token()) == 0);
}

TEST_CASE("a coroutine spawned with a cancellation slot and a token answers to both") {
  asio::io_context io;
  cancellation_source source;
  asio::cancellation_signal outer;
  std::optional<error_code> result;
  std::exception_ptr failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 1h);
        auto [ec] = co_await timer.async_wait(
            lifetime::bind_cancellation(source.token(), asio::as_tuple(asio::use_awaitable)));
        result = ec;
      },
      asio::bind_cancellation_slot(outer.slot(), [&](std::exception_ptr e) { failure = e; }));
  io.poll();
  CHECK_FALSE(result.has_value());
  outer.emit(asio::cancellation_type::terminal);
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
  CHECK_FALSE(source.is_cancellation_requested());
}

TEST_CASE("async_wait_cancelled completes in a coroutine when the token is cancelled") {
  asio::io_context io;
  cancellation_source source;
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
  io.run_for(patience);
  CHECK(woke);
}

TEST_CASE("async_wait_cancelled on a cancelled token completes without error, never inline") {
  asio::io_context io;
  cancellation_source source;
  source.cancel();
  std::optional<error_code> result;
  lifetime::async_wait_cancelled(source.token(), io.get_executor(),
                                 [&](error_code ec) { result = ec; });
  CHECK_FALSE(result.has_value());
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK_FALSE(*result);
}

TEST_CASE("async_wait_cancelled cancelled through its own slot completes with operation_aborted") {
  asio::io_context io;
  cancellation_source source;
  asio::cancellation_signal signal;
  std::optional<error_code> result;
  lifetime::async_wait_cancelled(
      source.token(), io.get_executor(),
      asio::bind_cancellation_slot(signal.slot(), [&](error_code ec) { result = ec; }));
  io.poll();
  CHECK_FALSE(result.has_value());
  signal.emit(asio::cancellation_type::terminal);
  io.run_for(patience);
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
  CHECK_FALSE(source.is_cancellation_requested());
}

TEST_CASE("async_wait_cancelled in || with a timer is cancelled when the timer wins") {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  cancellation_source source;
  std::optional<std::size_t> winner;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        asio::steady_timer timer(executor, 10ms);
        auto result = co_await (
            lifetime::async_wait_cancelled(source.token(), executor, asio::use_awaitable) ||
            timer.async_wait(asio::use_awaitable));
        winner = result.index();
      },
      asio::detached);
  io.run_for(patience);
  REQUIRE(winner.has_value());
  CHECK(*winner == 1);
}

TEST_CASE("cancel_after cancels the source with deadline_exceeded and aborts what it binds") {
  asio::io_context io;
  cancellation_source source;
  asio::steady_timer work(io, 1h);
  std::optional<error_code> result;
  work.async_wait(lifetime::bind_cancellation(source.token(), [&](error_code ec) { result = ec; }));
  const auto start = std::chrono::steady_clock::now();
  auto deadline = lifetime::cancel_after(io.get_executor(), source, 20ms);
  CHECK(deadline.is_armed());
  io.run_for(patience);
  CHECK(std::chrono::steady_clock::now() - start >= 20ms);
  CHECK(source.reason() == cancellation_reason::deadline_exceeded);
  REQUIRE(result.has_value());
  CHECK(*result == asio::error::operation_aborted);
}

TEST_CASE("a disarmed or destroyed scoped_deadline cancels nothing") {
  asio::io_context io;
  cancellation_source a;
  cancellation_source b;
  auto deadline = lifetime::cancel_after(io.get_executor(), a, 1ms);
  deadline.disarm();
  deadline.disarm();  // idempotent
  CHECK_FALSE(deadline.is_armed());
  { auto dropped = lifetime::cancel_after(io.get_executor(), b, 1ms); }
  io.run_for(patience);
  CHECK_FALSE(a.is_cancellation_requested());
  CHECK_FALSE(b.is_cancellation_requested());
}

TEST_CASE("moving a scoped_deadline keeps the timer; assigning over one disarms it") {
  asio::io_context io;
  cancellation_source kept;
  cancellation_source replaced;
  auto first = lifetime::cancel_after(io.get_executor(), kept, 1ms);
  lifetime::scoped_deadline moved = std::move(first);
  CHECK_FALSE(first.is_armed());  // NOLINT(bugprone-use-after-move)
  CHECK(moved.is_armed());
  auto other = lifetime::cancel_after(io.get_executor(), replaced, 1ms);
  other = lifetime::cancel_after(io.get_executor(), cancellation_source(), 1h);
  other.disarm();
  io.run_for(patience);
  CHECK(kept.reason() == cancellation_reason::deadline_exceeded);
  CHECK_FALSE(replaced.is_cancellation_requested());
}

TEST_CASE("cancel_at_deadline fires at the source's own deadline, and is disarmed without one") {
  asio::io_context io;
  cancellation_source with(lifetime::deadline_clock::now() + 20ms);
  auto child = cancellation_source::linked({with.token()});  // inherits the deadline
  cancellation_source without;
  auto armed = lifetime::cancel_at_deadline(io.get_executor(), child);
  auto unarmed = lifetime::cancel_at_deadline(io.get_executor(), without);
  CHECK(armed.is_armed());
  CHECK_FALSE(unarmed.is_armed());
  io.run_for(patience);
  CHECK(child.reason() == cancellation_reason::deadline_exceeded);
  CHECK_FALSE(with.is_cancellation_requested());
}

TEST_CASE("many bound operations cancelled from another thread, racing their completion",
          "[threads]") {
  constexpr int operations = lifetime_test::scaled(2000);
  asio::io_context io;
  std::vector<cancellation_source> sources(operations);
  std::vector<std::unique_ptr<asio::steady_timer>> timers;
  std::atomic<int> completed{0};
  std::atomic<int> aborted{0};
  for (int i = 0; i < operations; ++i) {
    // Half expire at once, half never: cancellation races some completions.
    timers.push_back(std::make_unique<asio::steady_timer>(io, i % 2 == 0 ? 0ms : 1h));
    timers.back()->async_wait(lifetime::bind_cancellation(sources[i].token(), [&](error_code ec) {
      completed.fetch_add(1);
      if (ec == asio::error::operation_aborted)
        aborted.fetch_add(1);
    }));
  }
  std::thread canceller([&] {
    for (auto& s : sources)
      s.cancel();
  });
  io.run_for(patience);
  canceller.join();
  CHECK(completed == operations);
  CHECK(aborted >= operations / 2);
  for (auto& s : sources)
    CHECK(lifetime::registration_count(s.token()) == 0);
}
