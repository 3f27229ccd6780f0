// SPDX-License-Identifier: MIT
// lifetime's tokens against libstdc++'s std::stop_source / std::stop_token / std::stop_callback,
// in the same binary and the same run. Each case comes in pairs named "<case>/lifetime" and
// "<case>/std"; bench/token_ratios.py runs this binary and prints each ratio against its target.
//
//   poll                         token.is_cancellation_requested()  vs  token.stop_requested()
//   register_unregister          a registration made and destroyed  vs  a std::stop_callback
//   contended_register_unregister  the same on two threads, one shared source
//   cancel/N                     cancel() running N callbacks       vs  request_stop()
//                                (only cancel() is timed; N = 1 is the mean of 1,024 sources)
//   plain_source                 a source created and destroyed
//   linked2                      a source linked to 2 parents, created and destroyed  vs
//                                a std::stop_source plus 2 std::stop_callbacks forwarding to it
//
// The process starts (and joins) one thread before the benchmarks: libstdc++ skips some
// synchronisation while a process has never been multi-threaded, and the programs these types
// are for always are.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stop_token>
#include <thread>

#include <lifetime/cancellation.hpp>

namespace {

struct count_callback {
  std::size_t* count;
  void operator()() const noexcept { ++*count; }
};

struct request_stop_callback {
  std::stop_source* target;
  void operator()() const noexcept { target->request_stop(); }
};

// ---- polling -------------------------------------------------------------------------------

void poll_lifetime(benchmark::State& state) {
  lifetime::cancellation_source source;
  const lifetime::cancellation_token token = source.token();
  for (auto _ : state)
    benchmark::DoNotOptimize(token.is_cancellation_requested());
}

void poll_std(benchmark::State& state) {
  std::stop_source source;
  const std::stop_token token = source.get_token();
  for (auto _ : state)
    benchmark::DoNotOptimize(token.stop_requested());
}

// ---- register + unregister -----------------------------------------------------------------

void register_unregister_lifetime(benchmark::State& state) {
  lifetime::cancellation_source source;
  const lifetime::cancellation_token token = source.token();
  std::size_t count = 0;
  for (auto _ : state) {
    auto registration = token.register_callback(count_callback{&count});
    benchmark::DoNotOptimize(registration);
  }
  benchmark::DoNotOptimize(count);
}

void register_unregister_std(benchmark::State& state) {
  std::stop_source source;
  const std::stop_token token = source.get_token();
  std::size_t count = 0;
  for (auto _ : state) {
    std::stop_callback callback(token, count_callback{&count});
    benchmark::DoNotOptimize(callback);
  }
  benchmark::DoNotOptimize(count);
}

// One source shared by the benchmark's threads, never cancelled.
lifetime::cancellation_source& shared_lifetime_source() {
  static lifetime::cancellation_source source;
  return source;
}
std::stop_source& shared_std_source() {
  static std::stop_source source;
  return source;
}

void contended_register_unregister_lifetime(benchmark::State& state) {
  const lifetime::cancellation_token token = shared_lifetime_source().token();
  std::size_t count = 0;
  for (auto _ : state) {
    auto registration = token.register_callback(count_callback{&count});
    benchmark::DoNotOptimize(registration);
  }
  benchmark::DoNotOptimize(count);
}

void contended_register_unregister_std(benchmark::State& state) {
  const std::stop_token token = shared_std_source().get_token();
  std::size_t count = 0;
  for (auto _ : state) {
    std::stop_callback callback(token, count_callback{&count});
    benchmark::DoNotOptimize(callback);
  }
  benchmark::DoNotOptimize(count);
}

// ---- cancel with N callbacks ---------------------------------------------------------------

using clock_type = std::chrono::steady_clock;

template <class Registration>
std::unique_ptr<std::optional<Registration>[]> make_slots(std::size_t n) {
  return std::unique_ptr<std::optional<Registration>[]>(new std::optional<Registration>[n]);
}

// N callbacks on one source; only the cancel is timed.
void cancel_lifetime(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  using registration = lifetime::cancellation_registration<count_callback>;
  std::size_t count = 0;
  for (auto _ : state) {
    auto source = std::make_optional<lifetime::cancellation_source>();
    auto slots = make_slots<registration>(n);
    {
      const lifetime::cancellation_token token = source->token();
      for (std::size_t i = 0; i < n; ++i)
        slots[i].emplace(token, count_callback{&count});
    }
    const auto start = clock_type::now();
    benchmark::DoNotOptimize(source->cancel());
    const auto stop = clock_type::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
  }
  benchmark::DoNotOptimize(count);
}

void cancel_std(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  using registration = std::stop_callback<count_callback>;
  std::size_t count = 0;
  for (auto _ : state) {
    auto source = std::make_optional<std::stop_source>();
    auto slots = make_slots<registration>(n);
    {
      const std::stop_token token = source->get_token();
      for (std::size_t i = 0; i < n; ++i)
        slots[i].emplace(token, count_callback{&count});
    }
    const auto start = clock_type::now();
    benchmark::DoNotOptimize(source->request_stop());
    const auto stop = clock_type::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
  }
  benchmark::DoNotOptimize(count);
}

// One callback per source: the mean over 1,024 sources cancelled back to back, so that reading
// the clock does not dominate.
constexpr std::size_t batch = 1024;

void cancel_one_lifetime(benchmark::State& state) {
  using registration = lifetime::cancellation_registration<count_callback>;
  std::size_t count = 0;
  for (auto _ : state) {
    auto sources = std::make_unique<lifetime::cancellation_source[]>(batch);
    auto slots = make_slots<registration>(batch);
    for (std::size_t i = 0; i < batch; ++i)
      slots[i].emplace(sources[i].token(), count_callback{&count});
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < batch; ++i)
      benchmark::DoNotOptimize(sources[i].cancel());
    const auto stop = clock_type::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count() / batch);
  }
  benchmark::DoNotOptimize(count);
}

void cancel_one_std(benchmark::State& state) {
  using registration = std::stop_callback<count_callback>;
  std::size_t count = 0;
  for (auto _ : state) {
    auto sources = std::make_unique<std::stop_source[]>(batch);
    auto slots = make_slots<registration>(batch);
    for (std::size_t i = 0; i < batch; ++i)
      slots[i].emplace(sources[i].get_token(), count_callback{&count});
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < batch; ++i)
      benchmark::DoNotOptimize(sources[i].request_stop());
    const auto stop = clock_type::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count() / batch);
  }
  benchmark::DoNotOptimize(count);
}

// ---- sources -------------------------------------------------------------------------------

void plain_source_lifetime(benchmark::State& state) {
  for (auto _ : state) {
    lifetime::cancellation_source source;
    benchmark::DoNotOptimize(source);
  }
}

void plain_source_std(benchmark::State& state) {
  for (auto _ : state) {
    std::stop_source source;
    benchmark::DoNotOptimize(source);
  }
}

void linked2_lifetime(benchmark::State& state) {
  lifetime::cancellation_source a;
  lifetime::cancellation_source b;
  const lifetime::cancellation_token parents[] = {a.token(), b.token()};
  for (auto _ : state) {
    auto source = lifetime::cancellation_source::linked(parents);
    benchmark::DoNotOptimize(source);
  }
}

void linked2_std(benchmark::State& state) {
  std::stop_source a;
  std::stop_source b;
  const std::stop_token ta = a.get_token();
  const std::stop_token tb = b.get_token();
  for (auto _ : state) {
    std::stop_source source;
    std::stop_callback from_a(ta, request_stop_callback{&source});
    std::stop_callback from_b(tb, request_stop_callback{&source});
    benchmark::DoNotOptimize(source);
  }
}

void register_all() {
  benchmark::RegisterBenchmark("poll/lifetime", poll_lifetime);
  benchmark::RegisterBenchmark("poll/std", poll_std);
  benchmark::RegisterBenchmark("register_unregister/lifetime", register_unregister_lifetime);
  benchmark::RegisterBenchmark("register_unregister/std", register_unregister_std);
  benchmark::RegisterBenchmark("contended_register_unregister/lifetime",
                               contended_register_unregister_lifetime)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("contended_register_unregister/std",
                               contended_register_unregister_std)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("cancel/1/lifetime", cancel_one_lifetime)
      ->UseManualTime()
      ->Iterations(2000);
  benchmark::RegisterBenchmark("cancel/1/std", cancel_one_std)->UseManualTime()->Iterations(2000);
  benchmark::RegisterBenchmark("cancel/1000/lifetime", cancel_lifetime)
      ->Arg(1000)
      ->UseManualTime()
      ->Iterations(500);
  benchmark::RegisterBenchmark("cancel/1000/std", cancel_std)
      ->Arg(1000)
      ->UseManualTime()
      ->Iterations(500);
  benchmark::RegisterBenchmark("cancel/1000000/lifetime", cancel_lifetime)
      ->Arg(1'000'000)
      ->UseManualTime()
      ->Iterations(3)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("cancel/1000000/std", cancel_std)
      ->Arg(1'000'000)
      ->UseManualTime()
      ->Iterations(3)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("plain_source/lifetime", plain_source_lifetime);
  benchmark::RegisterBenchmark("plain_source/std", plain_source_std);
  benchmark::RegisterBenchmark("linked2/lifetime", linked2_lifetime);
  benchmark::RegisterBenchmark("linked2/std", linked2_std);
}

}  // namespace

int main(int argc, char** argv) {
  std::thread([] {}).join();  // see the file comment
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
