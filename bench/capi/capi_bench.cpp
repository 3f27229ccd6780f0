// SPDX-License-Identifier: MIT
// The C ABI's cost against the C++ calls it wraps, in the same run (bench/capi/capi_ratios.py
// prints the ratios):
//   register_unregister/{c,cpp}   lifetime_token_register + lifetime_registration_release
//                                 vs token.register_callback() + the registration's destructor
//   cancel/1/{c,cpp}              lifetime_source_cancel vs source.cancel(), one callback each
//                                 (only the cancel is timed; the mean over 1,024 sources)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include <lifetime/lifetime.h>
#include <lifetime/cancellation.hpp>

namespace {

void count_c(void* user, lifetime_reason) {
  ++*static_cast<std::size_t*>(user);
}

struct count_cpp {
  std::size_t* count;
  void operator()() const noexcept { ++*count; }
};

void register_unregister_cpp(benchmark::State& state) {
  lifetime::cancellation_source source;
  const lifetime::cancellation_token token = source.token();
  std::size_t count = 0;
  for (auto _ : state) {
    auto registration = token.register_callback(count_cpp{&count});
    benchmark::DoNotOptimize(&registration);
  }
  benchmark::DoNotOptimize(count);
}

void register_unregister_c(benchmark::State& state) {
  lifetime_source* source = nullptr;
  lifetime_token* token = nullptr;
  lifetime_source_create(LIFETIME_NO_DEADLINE, &source);
  lifetime_source_token(source, &token);
  std::size_t count = 0;
  for (auto _ : state) {
    lifetime_registration* registration = nullptr;
    lifetime_token_register(token, count_c, &count, &registration);
    benchmark::DoNotOptimize(registration);
    lifetime_registration_release(registration);
  }
  benchmark::DoNotOptimize(count);
  lifetime_token_release(token);
  lifetime_source_release(source);
}

using clock_type = std::chrono::steady_clock;
constexpr std::size_t batch = 1024;

void cancel_one_cpp(benchmark::State& state) {
  using registration = lifetime::cancellation_registration<count_cpp>;
  std::size_t count = 0;
  for (auto _ : state) {
    auto sources = std::make_unique<lifetime::cancellation_source[]>(batch);
    auto slots =
        std::unique_ptr<std::optional<registration>[]>(new std::optional<registration>[batch]);
    for (std::size_t i = 0; i < batch; ++i)
      slots[i].emplace(sources[i].token(), count_cpp{&count});
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < batch; ++i)
      benchmark::DoNotOptimize(sources[i].cancel());
    const auto stop = clock_type::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count() / batch);
  }
  benchmark::DoNotOptimize(count);
}

void cancel_one_c(benchmark::State& state) {
  std::size_t count = 0;
  for (auto _ : state) {
    auto sources = std::make_unique<lifetime_source*[]>(batch);
    auto slots = std::make_unique<lifetime_registration*[]>(batch);
    for (std::size_t i = 0; i < batch; ++i) {
      lifetime_source_create(LIFETIME_NO_DEADLINE, &sources[i]);
      lifetime_token* token = nullptr;
      lifetime_source_token(sources[i], &token);
      lifetime_token_register(token, count_c, &count, &slots[i]);
      lifetime_token_release(token);
    }
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < batch; ++i)
      benchmark::DoNotOptimize(lifetime_source_cancel(sources[i], LIFETIME_REASON_REQUESTED));
    const auto stop = clock_type::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count() / batch);
    for (std::size_t i = 0; i < batch; ++i) {
      lifetime_registration_release(slots[i]);
      lifetime_source_release(sources[i]);
    }
  }
  benchmark::DoNotOptimize(count);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("register_unregister/cpp", register_unregister_cpp);
  benchmark::RegisterBenchmark("register_unregister/c", register_unregister_c);
  benchmark::RegisterBenchmark("cancel/1/cpp", cancel_one_cpp)->UseManualTime()->Iterations(2000);
  benchmark::RegisterBenchmark("cancel/1/c", cancel_one_c)->UseManualTime()->Iterations(2000);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
