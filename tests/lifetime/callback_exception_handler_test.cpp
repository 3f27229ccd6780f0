// SPDX-License-Identifier: MIT
// The process-wide handler for exceptions thrown by cancellation callbacks.
#include <lifetime/callback_exception_handler.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include <lifetime/cancellation.hpp>

#include <catch2/catch.hpp>

namespace {
std::atomic<int> first_calls{0};
std::atomic<int> second_calls{0};
void first_handler(std::exception_ptr) noexcept {
  first_calls.fetch_add(1);
}
void second_handler(std::exception_ptr) noexcept {
  second_calls.fetch_add(1);
}
}  // namespace

TEST_CASE("the handler runs on the thread that ran the throwing callback") {
  static std::thread::id handled_on;
  const auto previous = lifetime::set_callback_exception_handler(
      [](std::exception_ptr) noexcept { handled_on = std::this_thread::get_id(); });
  lifetime::cancellation_source source;
  auto registration =
      source.token().register_callback([]() -> void { throw std::logic_error("x"); });
  std::thread::id canceller_id;
  std::thread canceller([&] {
    canceller_id = std::this_thread::get_id();
    source.cancel();
  });
  canceller.join();
  lifetime::set_callback_exception_handler(previous);
  CHECK(handled_on == canceller_id);
}

TEST_CASE("the default handler swallows the exception and cancellation carries on") {
  const auto previous = lifetime::set_callback_exception_handler(nullptr);
  lifetime::cancellation_source source;
  int runs = 0;
  auto older = source.token().register_callback([&] { ++runs; });
  auto thrower = source.token().register_callback([]() -> void { throw 1; });
  auto std_thrower =
      source.token().register_callback([]() -> void { throw std::runtime_error("logged"); });
  CHECK(source.cancel());
  CHECK(runs == 1);
  lifetime::set_callback_exception_handler(previous);
}

TEST_CASE("a throwing callback sees the old or the new handler while handlers change",
          "[threads]") {
  const auto previous = lifetime::set_callback_exception_handler(&first_handler);
  first_calls = 0;
  second_calls = 0;
  std::atomic<bool> stop{false};
  std::thread switcher([&] {
    bool flip = false;
    while (!stop.load()) {
      lifetime::set_callback_exception_handler(flip ? &first_handler : &second_handler);
      flip = !flip;
    }
  });
  constexpr int rounds = 2000;
  for (int i = 0; i < rounds; ++i) {
    lifetime::cancellation_source source;
    auto thrower = source.token().register_callback([]() -> void { throw 0; });
    source.cancel();
  }
  stop = true;
  switcher.join();
  lifetime::set_callback_exception_handler(previous);
  CHECK(first_calls + second_calls == rounds);
}
