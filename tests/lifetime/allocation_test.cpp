// SPDX-License-Identifier: MIT
// What the cancellation types allocate: one allocation per source (links included), nothing for
// tokens, registrations or a default token. This program's operator new counts its calls.
#include <lifetime/cancellation.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

namespace {
std::atomic<long> allocations{0};
}  // namespace

// Every unaligned form is replaced, so that allocation and deallocation always match.
void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size))
    return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return ::operator new(size, tag);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace {
// Allocations made by `f` on this thread (the tests here run on one thread).
template <class F>
long allocations_of(F&& f) {
  const long before = allocations.load();
  f();
  return allocations.load() - before;
}
}  // namespace

TEST_CASE("a default token allocates nothing") {
  CHECK(allocations_of([] {
          lifetime::cancellation_token token;
          lifetime::cancellation_token copy = token;
          (void)copy.is_cancellation_requested();
        }) == 0);
}

TEST_CASE("a source is one allocation; its tokens and their copies allocate nothing") {
  CHECK(allocations_of([] {
          lifetime::cancellation_source source;
          auto token = source.token();
          auto copy = token;
          auto source_copy = source;
          source.cancel();
        }) == 1);
}

TEST_CASE("registering a callback allocates nothing, nor does running or removing it") {
  lifetime::cancellation_source source;
  const auto token = source.token();
  int runs = 0;
  CHECK(allocations_of([&] {
          auto a = token.register_callback([&runs] { ++runs; });
          auto b = token.register_callback([&runs](lifetime::cancellation_reason) { ++runs; });
        }) == 0);
  CHECK(allocations_of([&] {
          auto a = token.register_callback([&runs] { ++runs; });
          source.cancel();
          auto inline_run = token.register_callback([&runs] { ++runs; });
        }) == 0);
  CHECK(runs == 2);
}

TEST_CASE("a linked source is one allocation for the state and all its links") {
  lifetime::cancellation_source a;
  lifetime::cancellation_source b;
  lifetime::cancellation_source c;
  const lifetime::cancellation_token parents[] = {a.token(), b.token(), c.token()};
  CHECK(allocations_of([&] {
          auto child = lifetime::cancellation_source::linked(parents);
          auto registration = child.token().register_callback([] {});
          a.cancel();
        }) == 1);
}
