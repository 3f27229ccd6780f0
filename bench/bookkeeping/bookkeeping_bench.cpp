// SPDX-License-Identifier: MIT
// What lifetime itself costs a server per request, in heap bytes, allocations and object bytes.
//
// A request of lifetime-demo holds: a source linked to three parents (its connection, the
// host's in-flight token that fires with application_stopping, the web host's restart token)
// carrying a deadline; one registration on that token (the handler's "stop my work" callback);
// and a gate holder (the host counts in-flight requests with a gate). This binary replaces the
// global operator new/delete with a counting one and reports, per request:
//   heap_bytes     bytes asked of operator new
//   heap_usable    bytes malloc really reserved for them (malloc_usable_size, chunk headers aside)
//   allocs         calls to operator new
//   object_bytes   sizeof of the objects the request keeps in its own frame
//   total_bytes    heap_usable + object_bytes, the figure held against the 256-byte target
//   parent_regs    registrations left on the long-lived parents afterwards (must be 0)
// It also prints a sizeof table at start-up. Nothing here needs Boost.
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>

#include <benchmark/benchmark.h>

#include <lifetime/cancellation.hpp>
#include <lifetime/gate.hpp>

// ---------------------------------------------------------------------------------------------
// Counting allocator: every operator new/delete of this binary goes through here.

namespace {

std::atomic<std::size_t> g_allocs{0};
std::atomic<std::size_t> g_bytes{0};
std::atomic<std::size_t> g_usable{0};

void* counted_alloc(std::size_t size, std::size_t alignment) {
  if (size == 0)
    size = 1;
  void* p = nullptr;
  if (alignment <= alignof(std::max_align_t)) {
    p = std::malloc(size);
  } else if (posix_memalign(&p, alignment, size) != 0) {
    p = nullptr;
  }
  if (p == nullptr)
    return nullptr;
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(size, std::memory_order_relaxed);
  g_usable.fetch_add(malloc_usable_size(p), std::memory_order_relaxed);
  return p;
}

void* counted_new(std::size_t size, std::size_t alignment = alignof(std::max_align_t)) {
  void* p = counted_alloc(size, alignment);
  if (p == nullptr)
    throw std::bad_alloc();
  return p;
}

struct counts {
  std::size_t allocs;
  std::size_t bytes;
  std::size_t usable;
};

counts snapshot() noexcept {
  return {g_allocs.load(std::memory_order_relaxed), g_bytes.load(std::memory_order_relaxed),
          g_usable.load(std::memory_order_relaxed)};
}

}  // namespace

void* operator new(std::size_t size) {
  return counted_new(size);
}
void* operator new[](std::size_t size) {
  return counted_new(size);
}
void* operator new(std::size_t size, std::align_val_t al) {
  return counted_new(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al) {
  return counted_new(size, static_cast<std::size_t>(al));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_alloc(size, alignof(std::max_align_t));
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_alloc(size, alignof(std::max_align_t));
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
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

// ---------------------------------------------------------------------------------------------
// One request's bookkeeping, laid out as a request handler keeps it.

namespace {

// The handler's callback: what the demo's work loop registers (cancel a timer, wake a waiter).
// One pointer of capture, like a coroutine handle or a timer pointer.
struct wake_handler {
  std::atomic<int>* woken;
  void operator()() const noexcept { woken->fetch_add(1, std::memory_order_relaxed); }
};
using request_registration = lifetime::cancellation_registration<wake_handler>;

// The long-lived parents a server owns.
struct server_parents {
  lifetime::cancellation_source in_flight;  // fires with application_stopping (host phase 5)
  lifetime::cancellation_source restart;    // fires with restart (web host restart)
  lifetime::gate in_flight_gate;            // counts requests
};

constexpr std::size_t request_object_bytes =
    sizeof(lifetime::cancellation_source)             // the request's linked source
    + sizeof(lifetime::cancellation_token)            // the token handed to the handler
    + sizeof(request_registration)                    // the handler's registration
    + sizeof(std::optional<lifetime::gate::holder>);  // the in-flight holder

// The per-request work: enter the gate, link, register, (the handler would run here), tear down.
template <bool Cancel>
void one_request(server_parents& parents, const lifetime::cancellation_token& connection,
                 std::atomic<int>& woken) {
  std::optional<lifetime::gate::holder> holder = parents.in_flight_gate.try_enter();
  benchmark::DoNotOptimize(holder);
  auto request = lifetime::cancellation_source::linked(
      {connection, parents.in_flight.token(), parents.restart.token()},
      lifetime::deadline_clock::now() + std::chrono::seconds(30));
  lifetime::cancellation_token token = request.token();
  request_registration registration(token, wake_handler{&woken});
  benchmark::DoNotOptimize(token.is_cancellation_requested());
  if constexpr (Cancel)
    request.cancel(lifetime::cancellation_reason::client_disconnected);
}

std::size_t parent_registrations(const server_parents& parents) {
  return lifetime::registration_count(parents.in_flight.token()) +
         lifetime::registration_count(parents.restart.token());
}

void report(benchmark::State& state, counts before, counts after, std::size_t per_iteration_extra,
            std::size_t parent_regs) {
  const double n = static_cast<double>(state.iterations());
  const double usable = static_cast<double>(after.usable - before.usable) / n;
  state.counters["allocs"] = static_cast<double>(after.allocs - before.allocs) / n;
  state.counters["heap_bytes"] = static_cast<double>(after.bytes - before.bytes) / n;
  state.counters["heap_usable"] = usable;
  state.counters["object_bytes"] = static_cast<double>(per_iteration_extra);
  state.counters["total_bytes"] = usable + static_cast<double>(per_iteration_extra);
  state.counters["parent_regs"] = static_cast<double>(parent_regs);
}

// A keep-alive request: the connection's source already exists.
template <bool Cancel>
void bm_request_bookkeeping(benchmark::State& state) {
  server_parents parents;
  lifetime::cancellation_source connection;
  const lifetime::cancellation_token connection_token = connection.token();
  std::atomic<int> woken{0};
  one_request<false>(parents, connection_token, woken);  // warm malloc's caches
  const counts before = snapshot();
  for (auto _ : state)
    one_request<Cancel>(parents, connection_token, woken);
  const counts after = snapshot();
  report(state, before, after, request_object_bytes, parent_registrations(parents));
}

// The same guarantees with the links moved to the connection: the connection's source is linked
// once to the in-flight and restart tokens (so it fires with their reasons), and each request
// links to the connection alone plus its deadline. Linked tokens report the reason of the parent
// that fired, so a handler still sees application_stopping or restart.
void bm_request_linked_through_connection(benchmark::State& state) {
  server_parents parents;
  auto connection =
      lifetime::cancellation_source::linked({parents.in_flight.token(), parents.restart.token()});
  const lifetime::cancellation_token connection_token = connection.token();
  std::atomic<int> woken{0};
  const auto request = [&] {
    std::optional<lifetime::gate::holder> holder = parents.in_flight_gate.try_enter();
    benchmark::DoNotOptimize(holder);
    auto source = lifetime::cancellation_source::linked(
        {connection_token}, lifetime::deadline_clock::now() + std::chrono::seconds(30));
    lifetime::cancellation_token token = source.token();
    request_registration registration(token, wake_handler{&woken});
    benchmark::DoNotOptimize(token.is_cancellation_requested());
  };
  request();
  const counts before = snapshot();
  for (auto _ : state)
    request();
  const counts after = snapshot();
  report(state, before, after, request_object_bytes,
         lifetime::registration_count(connection_token));
}

// What lifetime-demo's connection does today: the request's source is linked to two long-lived
// parents (the host's in-flight token and the web host's restart generation) and carries the
// deadline; the connection's disconnect watch cancels that source directly instead of through a
// third link.
void bm_request_two_parents(benchmark::State& state) {
  server_parents parents;
  std::atomic<int> woken{0};
  const auto request = [&] {
    std::optional<lifetime::gate::holder> holder = parents.in_flight_gate.try_enter();
    benchmark::DoNotOptimize(holder);
    auto source = lifetime::cancellation_source::linked(
        {parents.in_flight.token(), parents.restart.token()},
        lifetime::deadline_clock::now() + std::chrono::seconds(30));
    lifetime::cancellation_token token = source.token();
    request_registration registration(token, wake_handler{&woken});
    benchmark::DoNotOptimize(token.is_cancellation_requested());
  };
  request();
  const counts before = snapshot();
  for (auto _ : state)
    request();
  const counts after = snapshot();
  report(state, before, after, request_object_bytes, parent_registrations(parents));
}

// A connection-per-request client: the connection's source (and its token) is new each time.
void bm_request_with_new_connection(benchmark::State& state) {
  server_parents parents;
  std::atomic<int> woken{0};
  const counts before = snapshot();
  for (auto _ : state) {
    lifetime::cancellation_source connection;
    one_request<false>(parents, connection.token(), woken);
  }
  const counts after = snapshot();
  report(state, before, after,
         request_object_bytes + sizeof(lifetime::cancellation_source) +
             sizeof(lifetime::cancellation_token),
         parent_registrations(parents));
}

// Pieces on their own, to see where the bytes go.
void bm_plain_source(benchmark::State& state) {
  const counts before = snapshot();
  for (auto _ : state) {
    lifetime::cancellation_source source;
    benchmark::DoNotOptimize(source);
  }
  report(state, before, snapshot(), sizeof(lifetime::cancellation_source), 0);
}

void bm_linked_source(benchmark::State& state) {
  const auto parent_count = static_cast<std::size_t>(state.range(0));
  std::vector<lifetime::cancellation_source> parents(parent_count);
  std::vector<lifetime::cancellation_token> tokens;
  for (auto& p : parents)
    tokens.push_back(p.token());
  const counts before = snapshot();
  for (auto _ : state) {
    auto source = lifetime::cancellation_source::linked(tokens);
    benchmark::DoNotOptimize(source);
  }
  report(state, before, snapshot(), sizeof(lifetime::cancellation_source), 0);
}

void bm_registration(benchmark::State& state) {
  lifetime::cancellation_source source;
  const lifetime::cancellation_token token = source.token();
  std::atomic<int> woken{0};
  const counts before = snapshot();
  for (auto _ : state) {
    request_registration registration(token, wake_handler{&woken});
    benchmark::DoNotOptimize(&registration);
  }
  report(state, before, snapshot(), sizeof(request_registration), 0);
}

void bm_gate_holder(benchmark::State& state) {
  lifetime::gate gate;
  const counts before = snapshot();
  for (auto _ : state) {
    auto holder = gate.try_enter();
    benchmark::DoNotOptimize(holder);
  }
  report(state, before, snapshot(), sizeof(std::optional<lifetime::gate::holder>), 0);
}

BENCHMARK(bm_request_bookkeeping<false>)->Name("request_bookkeeping/keep_alive");
BENCHMARK(bm_request_bookkeeping<true>)->Name("request_bookkeeping/keep_alive_cancelled");
BENCHMARK(bm_request_linked_through_connection)
    ->Name("request_bookkeeping/keep_alive_linked_through_connection");
BENCHMARK(bm_request_two_parents)->Name("request_bookkeeping/keep_alive_two_parents");
BENCHMARK(bm_request_with_new_connection)->Name("request_bookkeeping/new_connection");
BENCHMARK(bm_plain_source)->Name("piece/source");
BENCHMARK(bm_linked_source)->Name("piece/linked_source")->Arg(1)->Arg(3);
BENCHMARK(bm_registration)->Name("piece/registration");
BENCHMARK(bm_gate_holder)->Name("piece/gate_holder");

// The heap block of a source linked to `parents` parents, as operator new was asked for it.
std::size_t linked_state_bytes(std::size_t parent_count) {
  std::vector<lifetime::cancellation_source> parents(parent_count);
  std::vector<lifetime::cancellation_token> tokens;
  for (auto& p : parents)
    tokens.push_back(p.token());
  const counts before = snapshot();
  {
    auto source = lifetime::cancellation_source::linked(tokens);
    benchmark::DoNotOptimize(source);
  }
  return snapshot().bytes - before.bytes;
}

void print_sizeof_table() {
  const std::size_t state0 = linked_state_bytes(0);
  const std::size_t state3 = linked_state_bytes(3);
  std::printf("sizeof accounting (bytes)\n");
  std::printf("  %-52s %4zu\n", "cancellation_source (handle)",
              sizeof(lifetime::cancellation_source));
  std::printf("  %-52s %4zu\n", "cancellation_token (handle)",
              sizeof(lifetime::cancellation_token));
  std::printf("  %-52s %4zu\n", "detail::cancellation_state",
              sizeof(lifetime::detail::cancellation_state));
  std::printf("  %-52s %4zu\n", "detail::callback_node", sizeof(lifetime::detail::callback_node));
  std::printf("  %-52s %4zu\n", "state heap block, no parents", state0);
  std::printf("  %-52s %4zu\n", "state heap block, 3 parents", state3);
  std::printf("  %-52s %4zu\n", "  of which one parent link", (state3 - state0) / 3);
  std::printf("  %-52s %4zu\n", "cancellation_registration<1-pointer callback>",
              sizeof(request_registration));
  std::printf("  %-52s %4zu\n", "gate::holder", sizeof(lifetime::gate::holder));
  std::printf("  %-52s %4zu\n", "std::optional<gate::holder>",
              sizeof(std::optional<lifetime::gate::holder>));
  std::printf("  %-52s %4zu\n", "per request, in the handler's frame", request_object_bytes);
  std::printf("  %-52s %4zu\n", "per request, heap (operator new)", state3);
  std::printf("  %-52s %4zu\n", "per request, total (target <= 256)",
              request_object_bytes + state3);
  std::printf("\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  print_sizeof_table();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
