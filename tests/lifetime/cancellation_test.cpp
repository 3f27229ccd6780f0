// SPDX-License-Identifier: MIT
// cancellation_source, cancellation_token and cancellation_registration: the guarantees of
// lifetime/cancellation.hpp, one case per sentence.
#include <lifetime/cancellation.hpp>

#include <atomic>
#include <barrier>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using lifetime::cancellation_reason;
using lifetime::cancellation_registration;
using lifetime::cancellation_source;
using lifetime::cancellation_token;
using lifetime_test::event;

namespace {

struct noop {
  void operator()() const noexcept {}
};
using noop_registration = cancellation_registration<noop>;

// Type properties the header promises.
static_assert(std::is_nothrow_default_constructible_v<cancellation_token>);
static_assert(std::is_nothrow_copy_constructible_v<cancellation_token>);
static_assert(std::is_nothrow_move_constructible_v<cancellation_token>);
static_assert(std::is_nothrow_copy_assignable_v<cancellation_token>);
static_assert(std::is_nothrow_move_assignable_v<cancellation_token>);
static_assert(std::is_nothrow_destructible_v<cancellation_token>);
static_assert(sizeof(cancellation_token) == sizeof(void*), "a token is one pointer");
static_assert(std::is_nothrow_copy_constructible_v<cancellation_source>);
static_assert(std::is_nothrow_move_constructible_v<cancellation_source>);
static_assert(std::is_nothrow_move_assignable_v<cancellation_source>);
static_assert(!std::is_copy_constructible_v<noop_registration>);
static_assert(!std::is_copy_assignable_v<noop_registration>);
static_assert(!std::is_move_constructible_v<noop_registration>);
static_assert(!std::is_move_assignable_v<noop_registration>);
static_assert(std::is_nothrow_destructible_v<noop_registration>);
static_assert(lifetime::cancellation_callback<noop>);
static_assert(lifetime::cancellation_callback<void (*)(cancellation_reason)>);
static_assert(!lifetime::cancellation_callback<void (*)(int, int)>);
static_assert(noexcept(std::declval<cancellation_source&>().cancel()));
static_assert(noexcept(std::declval<const cancellation_token&>().is_cancellation_requested()));

// Installs a handler for the test's duration and collects what it receives.
std::atomic<int> handled_exceptions{0};
std::string last_handled_message;  // written by the handler; read after cancel() returned

void recording_handler(std::exception_ptr error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    last_handled_message = e.what();
  } catch (...) {
    last_handled_message = "?";
  }
  handled_exceptions.fetch_add(1);
}

struct handler_scope {
  handler_scope() {
    handled_exceptions = 0;
    last_handled_message.clear();
    previous = lifetime::set_callback_exception_handler(&recording_handler);
  }
  ~handler_scope() { lifetime::set_callback_exception_handler(previous); }
  lifetime::callback_exception_handler previous;
};

}  // namespace

TEST_CASE("a default token is never cancelled and can never be") {
  cancellation_token token;
  CHECK_FALSE(token.is_cancellation_requested());
  CHECK_FALSE(token.can_be_cancelled());
  CHECK(token.reason() == cancellation_reason::none);
  CHECK(token.deadline() == lifetime::no_deadline);
  CHECK_FALSE(token.has_deadline());
  CHECK_NOTHROW(token.throw_if_cancellation_requested());
  CHECK(lifetime::registration_count(token) == 0);
  CHECK(token == cancellation_token{});
}

TEST_CASE("a callback registered on a default token never runs and the registration is empty") {
  int runs = 0;
  auto registration = cancellation_token{}.register_callback([&] { ++runs; });
  CHECK_FALSE(registration.is_registered());
  registration.unregister();
  CHECK(runs == 0);
}

TEST_CASE("a token observes its source: not cancelled, then cancelled with the reason") {
  cancellation_source source;
  const cancellation_token token = source.token();
  CHECK(token.can_be_cancelled());
  CHECK_FALSE(token.is_cancellation_requested());
  CHECK_FALSE(source.is_cancellation_requested());
  CHECK(token.reason() == cancellation_reason::none);
  CHECK(source.cancel(cancellation_reason::client_disconnected));
  CHECK(token.is_cancellation_requested());
  CHECK(source.is_cancellation_requested());
  CHECK(token.reason() == cancellation_reason::client_disconnected);
  CHECK(source.reason() == cancellation_reason::client_disconnected);
  CHECK(token.can_be_cancelled());
  CHECK(token == source.token());
  CHECK_FALSE(token == cancellation_source().token());
}

TEST_CASE("cancel without a reason reports requested") {
  cancellation_source source;
  CHECK(source.cancel());
  CHECK(source.token().reason() == cancellation_reason::requested);
}

TEST_CASE("cancel returns true only for the first call and the first reason stays") {
  cancellation_source source;
  CHECK(source.cancel(cancellation_reason::deadline_exceeded));
  CHECK_FALSE(source.cancel(cancellation_reason::restart));
  CHECK_FALSE(source.cancel());
  CHECK(source.reason() == cancellation_reason::deadline_exceeded);
}

TEST_CASE("a copy of a source shares its state") {
  cancellation_source source;
  cancellation_source copy = source;  // NOLINT(performance-unnecessary-copy-initialization)
  CHECK(copy.cancel());
  CHECK(source.is_cancellation_requested());
  CHECK_FALSE(source.cancel());
}

TEST_CASE("a moved-from source cancels nothing and hands out default tokens") {
  cancellation_source source;
  const cancellation_token token = source.token();
  cancellation_source moved = std::move(source);
  CHECK_FALSE(source.cancel());  // NOLINT(bugprone-use-after-move)
  CHECK_FALSE(source.token().can_be_cancelled());
  CHECK_FALSE(token.is_cancellation_requested());
  CHECK(moved.cancel());
  CHECK(token.is_cancellation_requested());
}

TEST_CASE("a token whose sources are all gone without cancelling can no longer be cancelled") {
  cancellation_token token;
  {
    cancellation_source source;
    token = source.token();
    CHECK(token.can_be_cancelled());
  }
  CHECK_FALSE(token.can_be_cancelled());
  CHECK_FALSE(token.is_cancellation_requested());
}

TEST_CASE("a token that outlives its cancelled source still reports the cancellation") {
  cancellation_token token;
  {
    cancellation_source source;
    token = source.token();
    source.cancel(cancellation_reason::restart);
  }
  CHECK(token.is_cancellation_requested());
  CHECK(token.can_be_cancelled());
  CHECK(token.reason() == cancellation_reason::restart);
}

TEST_CASE("throw_if_cancellation_requested throws operation_cancelled carrying the reason") {
  cancellation_source source;
  CHECK_NOTHROW(source.token().throw_if_cancellation_requested());
  source.cancel(cancellation_reason::deadline_exceeded);
  try {
    source.token().throw_if_cancellation_requested();
    FAIL("did not throw");
  } catch (const lifetime::operation_cancelled& e) {
    CHECK(e.reason() == cancellation_reason::deadline_exceeded);
  }
  CHECK_THROWS_AS(source.token().throw_if_cancellation_requested(), std::exception);
}

TEST_CASE("a callback runs once, synchronously, on the cancelling thread, before cancel returns") {
  cancellation_source source;
  int runs = 0;
  std::thread::id ran_on;
  auto registration = source.token().register_callback([&] {
    ++runs;
    ran_on = std::this_thread::get_id();
  });
  CHECK(registration.is_registered());
  bool cancelled = false;
  int runs_when_cancel_returned = 0;
  std::thread::id canceller_id;
  std::thread canceller([&] {
    cancelled = source.cancel();
    runs_when_cancel_returned = runs;
    canceller_id = std::this_thread::get_id();
  });
  canceller.join();
  CHECK(cancelled);
  CHECK(runs_when_cancel_returned == 1);
  CHECK(ran_on == canceller_id);
  CHECK_FALSE(registration.is_registered());
  source.cancel();
  CHECK(runs == 1);
}

TEST_CASE("a callback taking the reason receives the reason of the cancellation") {
  cancellation_source source;
  cancellation_reason seen = cancellation_reason::none;
  auto registration =
      source.token().register_callback([&](cancellation_reason reason) { seen = reason; });
  source.cancel(lifetime::user_reason(7));
  CHECK(seen == lifetime::user_reason(7));
}

TEST_CASE("a callback registered on a cancelled token runs inline before register returns") {
  cancellation_source source;
  source.cancel(cancellation_reason::client_disconnected);
  int runs = 0;
  cancellation_reason seen = cancellation_reason::none;
  std::thread::id ran_on;
  auto registration = source.token().register_callback([&](cancellation_reason reason) {
    ++runs;
    seen = reason;
    ran_on = std::this_thread::get_id();
  });
  CHECK(runs == 1);
  CHECK(seen == cancellation_reason::client_disconnected);
  CHECK(ran_on == std::this_thread::get_id());
  CHECK_FALSE(registration.is_registered());
  CHECK(lifetime::registration_count(source.token()) == 0);
}

TEST_CASE("callbacks run newest first") {
  cancellation_source source;
  std::vector<int> order;
  auto first = source.token().register_callback([&] { order.push_back(1); });
  auto second = source.token().register_callback([&] { order.push_back(2); });
  auto third = source.token().register_callback([&] { order.push_back(3); });
  source.cancel();
  CHECK(order == std::vector<int>{3, 2, 1});
}

TEST_CASE("a registration destroyed before cancellation never runs and leaves the count") {
  cancellation_source source;
  int runs = 0;
  {
    auto registration = source.token().register_callback([&] { ++runs; });
    CHECK(lifetime::registration_count(source.token()) == 1);
  }
  CHECK(lifetime::registration_count(source.token()) == 0);
  source.cancel();
  CHECK(runs == 0);
}

TEST_CASE("unregister is idempotent and the destructor after it does nothing") {
  cancellation_source source;
  int runs = 0;
  auto registration = source.token().register_callback([&] { ++runs; });
  registration.unregister();
  registration.unregister();
  CHECK_FALSE(registration.is_registered());
  source.cancel();
  CHECK(runs == 0);
}

TEST_CASE("a callback that unregisters a later callback keeps it from running") {
  cancellation_source source;
  std::optional<cancellation_registration<std::function<void()>>> older;
  int older_runs = 0;
  older.emplace(source.token(), [&] { ++older_runs; });
  auto newer = source.token().register_callback([&] { older.reset(); });
  source.cancel();
  CHECK(older_runs == 0);
}

TEST_CASE("a callback may register, unregister and count on its own source: no lock is held") {
  cancellation_source source;
  const cancellation_token token = source.token();
  int inline_runs = 0;
  std::size_t count_inside = 99;
  std::optional<cancellation_registration<std::function<void()>>> other;
  other.emplace(token, [] {});
  auto registration = token.register_callback([&] {
    count_inside = lifetime::registration_count(token);
    auto nested = token.register_callback([&] { ++inline_runs; });  // inline: already cancelled
    other.reset();
    (void)source.cancel();  // a nested cancel is a no-op
  });
  CHECK(source.cancel());
  CHECK(inline_runs == 1);
  CHECK(count_inside == 2);
}

TEST_CASE("a throwing callback reaches the handler and the other callbacks still run") {
  handler_scope scope;
  cancellation_source source;
  std::vector<int> order;
  auto first = source.token().register_callback([&] { order.push_back(1); });
  auto thrower =
      source.token().register_callback([]() -> void { throw std::runtime_error("boom"); });
  auto last = source.token().register_callback([&] { order.push_back(3); });
  CHECK(source.cancel());
  CHECK(order == std::vector<int>{3, 1});
  CHECK(handled_exceptions == 1);
  CHECK(last_handled_message == "boom");
}

TEST_CASE("a callback that throws inline on a cancelled token reaches the handler") {
  handler_scope scope;
  cancellation_source source;
  source.cancel();
  auto thrower = source.token().register_callback([]() -> void { throw 42; });
  CHECK(handled_exceptions == 1);
  CHECK(last_handled_message == "?");
}

TEST_CASE(
    "set_callback_exception_handler returns the previous handler; nullptr restores the "
    "default") {
  const auto original = lifetime::set_callback_exception_handler(&recording_handler);
  CHECK(lifetime::set_callback_exception_handler(nullptr) == &recording_handler);
  // The default is back: installing again returns it, not nullptr.
  const auto restored = lifetime::set_callback_exception_handler(original);
  CHECK(restored != nullptr);
  CHECK(restored != &recording_handler);
}

TEST_CASE("a callback may unregister itself from inside without waiting for itself") {
  cancellation_source source;
  std::optional<cancellation_registration<std::function<void()>>> self;
  int runs = 0;
  self.emplace(source.token(), [&] {
    ++runs;
    self->unregister();
  });
  source.cancel();
  CHECK(runs == 1);
  self.reset();
  CHECK(lifetime::registration_count(source.token()) == 0);
}

TEST_CASE("a callback may destroy its own registration from inside") {
  cancellation_source source;
  // On the heap, so that ASan sees any touch of the registration after it was destroyed.
  std::unique_ptr<cancellation_registration<std::function<void()>>> self;
  auto marker = std::make_shared<int>(0);
  int after = 0;
  auto later = source.token().register_callback([&] { ++after; });  // older: runs after
  self = std::make_unique<cancellation_registration<std::function<void()>>>(
      source.token(), [&, marker] {
        self.reset();  // destroys this very callback object; nothing touches it afterwards
      });
  source.cancel();
  CHECK(after == 1);
  CHECK(marker.use_count() == 1);
}

TEST_CASE("a callback may destroy the last handle of the source that is cancelling it") {
  auto source = std::make_unique<cancellation_source>();
  int runs = 0;
  // The source is the only handle: registrations hold none.
  auto older = source->token().register_callback([&] { ++runs; });
  auto destroyer = source->token().register_callback([&] { source.reset(); });
  cancellation_source* raw = source.get();
  CHECK(raw->cancel());
  CHECK(source == nullptr);
  CHECK(runs == 1);  // the older callback still ran after the source was gone
}

TEST_CASE("a callback may destroy the only handle of the state and its own registration") {
  struct owner {
    cancellation_source source;
    std::optional<cancellation_registration<std::function<void()>>> registration;
  };
  auto o = std::make_unique<owner>();
  o->registration.emplace(o->source.token(), [&] { o.reset(); });
  o->source.cancel();
  CHECK(o == nullptr);
}

TEST_CASE("a registration may outlive every source and token of its state") {
  int runs = 0;
  std::optional<cancellation_registration<std::function<void()>>> registration;
  {
    cancellation_source source;
    registration.emplace(source.token(), [&] { ++runs; });
  }
  CHECK(registration->is_registered());
  registration.reset();  // frees the orphaned state
  CHECK(runs == 0);
}

TEST_CASE("a cancelled registration may outlive every source and token of its state") {
  int runs = 0;
  std::optional<cancellation_registration<std::function<void()>>> registration;
  {
    cancellation_source source;
    registration.emplace(source.token(), [&] { ++runs; });
    source.cancel();
  }
  registration.reset();
  CHECK(runs == 1);
}

TEST_CASE("a registration destroyed on another thread waits for its running callback",
          "[threads]") {
  cancellation_source source;
  event callback_started;
  event release_callback;
  event destroyer_about_to_destroy;
  std::atomic<bool> destructor_returned{false};
  std::atomic<bool> returned_before_callback_finished{false};
  // The state the callback touches lives exactly as long as the registration's owner wants.
  auto touched = std::make_unique<std::vector<int>>(1000, 0);
  auto* registration = new cancellation_registration<std::function<void()>>(
      source.token(), [&, data = touched.get()] {
        callback_started.set();
        (void)release_callback.wait();
        for (int& v : *data)
          v = 1;  // would be a use after free if the destructor did not wait
        if (destructor_returned.load())
          returned_before_callback_finished = true;
      });
  std::thread canceller([&] { source.cancel(); });
  REQUIRE(callback_started.wait());
  std::thread destroyer([&] {
    destroyer_about_to_destroy.set();
    delete registration;
    destructor_returned = true;
    touched.reset();  // what the owner does once the registration is gone
  });
  REQUIRE(destroyer_about_to_destroy.wait());
  // Give the destroyer time to enter the destructor; it must still be there when we release.
  event never;
  CHECK_FALSE(never.wait_for(std::chrono::milliseconds(50)));
  CHECK_FALSE(destructor_returned.load());
  release_callback.set();
  destroyer.join();
  canceller.join();
  CHECK(destructor_returned.load());
  CHECK_FALSE(returned_before_callback_finished.load());
}

TEST_CASE("a registration destructor never waits for another registration's callback",
          "[threads]") {
  cancellation_source source;
  event blocker_started;
  event release_blocker;
  int older_runs = 0;
  std::atomic<int> newer_runs{0};
  // Newest first: `newer` runs (and returns), then `blocker` runs and blocks, `older` waits.
  auto older = std::make_unique<cancellation_registration<std::function<void()>>>(
      source.token(), [&] { ++older_runs; });
  auto blocker = source.token().register_callback([&] {
    blocker_started.set();
    (void)release_blocker.wait();
  });
  auto newer = std::make_unique<cancellation_registration<std::function<void()>>>(
      source.token(), [&] { ++newer_runs; });
  std::thread canceller([&] { source.cancel(); });
  REQUIRE(blocker_started.wait());
  // `newer` already ran; `older` has not started. Neither destructor may wait for `blocker`.
  newer.reset();
  older.reset();
  CHECK(newer_runs == 1);
  release_blocker.set();
  canceller.join();
  CHECK(older_runs == 0);
}

TEST_CASE(
    "a registration destroyed on the cancelling thread after its callback returned does "
    "not wait") {
  cancellation_source source;
  // The newer callback (runs first) is destroyed by the older one, after it returned.
  auto newer =
      std::make_unique<cancellation_registration<std::function<void()>>>(source.token(), [] {});
  auto older = source.token().register_callback([&] { newer.reset(); });
  source.cancel();
  CHECK(newer == nullptr);
}

TEST_CASE("registration_count counts live registrations only") {
  cancellation_source source;
  const auto token = source.token();
  CHECK(lifetime::registration_count(token) == 0);
  {
    auto a = token.register_callback(noop{});
    auto b = token.register_callback(noop{});
    CHECK(lifetime::registration_count(token) == 2);
  }
  CHECK(lifetime::registration_count(token) == 0);
}

TEST_CASE("exactly one of many racing cancel calls returns true", "[threads]") {
  constexpr int threads = 4;
  lifetime_test::stress_rounds rounds(1000);
  while (rounds.next()) {
    cancellation_source source;
    std::atomic<int> winners{0};
    std::atomic<int> runs{0};
    auto registration = source.token().register_callback([&] { runs.fetch_add(1); });
    std::barrier start(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        start.arrive_and_wait();
        if (source.cancel(lifetime::user_reason(static_cast<std::uint16_t>(t))))
          winners.fetch_add(1);
      });
    }
    for (auto& thread : pool)
      thread.join();
    REQUIRE(winners == 1);
    REQUIRE(runs == 1);
  }
}

// The rounds below pair the test thread with a helper thread through a barrier. The test thread
// decides whether another round runs and says so in `stop` before the round's first barrier.

TEST_CASE("a registration racing cancel runs its callback exactly once, inline or by cancel",
          "[threads]") {
  lifetime_test::stress_rounds rounds(20000);
  std::barrier sync(2);
  std::atomic<bool> stop{false};
  std::optional<cancellation_source> source;
  std::atomic<int> runs{0};
  std::atomic<bool> inline_run{false};
  int inline_runs = 0;
  int cancel_runs = 0;
  std::thread canceller([&] {
    for (;;) {
      sync.arrive_and_wait();  // source ready
      if (stop)
        return;
      source->cancel();
      sync.arrive_and_wait();  // round over
    }
  });
  for (;;) {
    const bool more = rounds.next();
    if (more) {
      source.emplace();
      runs = 0;
      inline_run = false;
    }
    stop = !more;
    sync.arrive_and_wait();
    if (!more)
      break;
    {
      const std::thread::id me = std::this_thread::get_id();
      auto registration = source->token().register_callback([&] {
        runs.fetch_add(1);
        inline_run = std::this_thread::get_id() == me;
      });
      // Either the callback ran inline (nothing registered), or it is registered for cancel().
      const bool ran_inline = inline_run.load();
      const bool registered = registration.is_registered();
      sync.arrive_and_wait();  // cancel() has returned
      CHECK_FALSE((ran_inline && registered));
      CHECK(runs == 1);
      (inline_run.load() ? inline_runs : cancel_runs)++;
    }
    CHECK(lifetime::registration_count(source->token()) == 0);
  }
  canceller.join();
  CHECK(inline_runs + cancel_runs == rounds.done());
}

TEST_CASE("a registration racing cancel with unregister: the callback runs fully or not at all",
          "[threads]") {
  lifetime_test::stress_rounds rounds(20000);
  std::barrier sync(2);
  std::atomic<bool> stop{false};
  std::optional<cancellation_source> source;
  std::thread canceller([&] {
    for (;;) {
      sync.arrive_and_wait();
      if (stop)
        return;
      source->cancel();
      sync.arrive_and_wait();
    }
  });
  int ran = 0;
  int half_way = 0;
  for (;;) {
    const bool more = rounds.next();
    stop = !more;
    if (!more) {
      sync.arrive_and_wait();
      break;
    }
    source.emplace();
    // Heap state owned here and freed right after unregister(): ASan catches a late callback.
    auto probe = std::make_unique<std::atomic<int>>(0);
    std::optional<cancellation_registration<std::function<void()>>> registration;
    registration.emplace(source->token(), [p = probe.get()] {
      p->fetch_add(1);
      p->fetch_add(1);
    });
    sync.arrive_and_wait();
    registration.reset();
    const int seen = probe->load();
    if (seen != 0 && seen != 2)
      ++half_way;  // the destructor returned while the callback was running
    ran += seen / 2;
    probe.reset();
    sync.arrive_and_wait();
  }
  canceller.join();
  CHECK(half_way == 0);
  CHECK(ran <= rounds.done());
}

TEST_CASE("registering and unregistering on many threads racing cancel: millions of times",
          "[threads]") {
  // Each round: a fresh source; workers register and unregister as fast as they can while a
  // canceller cancels at a random point. Invariants per registration: its callback runs at most
  // once, never after unregister() returned, and exactly once (inline) when registered on a token
  // already cancelled. Up to 2 workers * 4000 rounds * 500 = 4,000,000 registrations.
  constexpr int workers = 2;
  constexpr int per_round = 500;
  lifetime_test::stress_rounds rounds(4000);
  std::optional<cancellation_source> source;
  std::barrier sync(workers + 1);
  std::atomic<bool> stop{false};
  std::atomic<int> progress{0};
  std::atomic<int> violations{0};
  std::atomic<long> total{0};

  struct probe {
    std::atomic<int> runs{0};
    std::atomic<bool> alive{true};
  };

  auto work = [&] {
    long local = 0;
    for (;;) {
      sync.arrive_and_wait();
      if (stop)
        break;
      const cancellation_token token = source->token();
      for (int i = 0; i < per_round; ++i) {
        probe p;
        const bool was_cancelled = token.is_cancellation_requested();
        {
          auto registration = token.register_callback([&p, &violations] {
            if (!p.alive.load(std::memory_order_relaxed))
              violations.fetch_add(1);
            p.runs.fetch_add(1, std::memory_order_relaxed);
          });
          progress.fetch_add(1, std::memory_order_relaxed);
        }
        p.alive = false;
        const int runs = p.runs.load();
        if (runs > 1 || (was_cancelled && runs != 1))
          violations.fetch_add(1);
        ++local;
      }
      sync.arrive_and_wait();
    }
    total += local;
  };

  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back(work);
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> when(0, workers * per_round);
  for (;;) {
    const bool more = rounds.next();
    stop = !more;
    if (!more) {
      sync.arrive_and_wait();
      break;
    }
    source.emplace();
    progress = 0;
    const int cancel_at = when(random);
    sync.arrive_and_wait();
    while (progress.load(std::memory_order_relaxed) < cancel_at)
      std::this_thread::yield();
    source->cancel();
    sync.arrive_and_wait();
    CHECK(lifetime::registration_count(source->token()) == 0);
  }
  for (auto& thread : pool)
    thread.join();
  CHECK(violations == 0);
  CHECK(total == long{workers} * rounds.done() * per_round);
}

TEST_CASE("tokens copied and dropped on many threads keep the state alive exactly as needed",
          "[threads]") {
  lifetime_test::stress_rounds rounds(1000);
  while (rounds.next()) {
    auto source = std::make_unique<cancellation_source>();
    const cancellation_token token = source->token();
    std::barrier start(3);
    std::thread a([&] {
      start.arrive_and_wait();
      for (int i = 0; i < 50; ++i) {
        cancellation_token copy = token;
        (void)copy.is_cancellation_requested();
      }
    });
    std::thread b([&] {
      start.arrive_and_wait();
      source->cancel();
      source.reset();
    });
    start.arrive_and_wait();
    for (int i = 0; i < 50; ++i) {
      cancellation_token copy = token;
      (void)copy.reason();
    }
    a.join();
    b.join();
    REQUIRE(token.is_cancellation_requested());
  }
}
