// SPDX-License-Identifier: MIT
// Linked sources: cancelled when any parent is, with that parent's reason; one allocation;
// unregistered from every parent when the last source handle goes.
#include <lifetime/cancellation.hpp>

#include <atomic>
#include <barrier>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "test_support.hpp"

using lifetime::cancellation_reason;
using lifetime::cancellation_source;
using lifetime::cancellation_token;

TEST_CASE("a linked source is cancelled when any parent is, with that parent's reason") {
  cancellation_source a;
  cancellation_source b;
  auto child = cancellation_source::linked({a.token(), b.token()});
  CHECK(child.token().can_be_cancelled());
  CHECK_FALSE(child.is_cancellation_requested());
  CHECK(b.cancel(cancellation_reason::client_disconnected));
  CHECK(child.is_cancellation_requested());
  CHECK(child.reason() == cancellation_reason::client_disconnected);
  // The other parent firing later changes nothing.
  CHECK(a.cancel(cancellation_reason::application_stopping));
  CHECK(child.reason() == cancellation_reason::client_disconnected);
}

TEST_CASE("a linked source reports a user reason of the parent that fired") {
  cancellation_source parent;
  auto child = cancellation_source::linked({parent.token()});
  parent.cancel(lifetime::user_reason(42));
  CHECK(child.token().reason() == lifetime::user_reason(42));
}

TEST_CASE("a linked source's callbacks have run when the parent's cancel returns") {
  cancellation_source parent;
  auto child = cancellation_source::linked({parent.token()});
  auto grandchild = cancellation_source::linked({child.token()});
  cancellation_reason seen = cancellation_reason::none;
  auto registration =
      grandchild.token().register_callback([&](cancellation_reason r) { seen = r; });
  CHECK(parent.cancel(cancellation_reason::restart));
  CHECK(seen == cancellation_reason::restart);
  CHECK(grandchild.reason() == cancellation_reason::restart);
}

TEST_CASE("cancelling a linked source leaves its parents alone") {
  cancellation_source parent;
  auto child = cancellation_source::linked({parent.token()});
  CHECK(child.cancel());
  CHECK_FALSE(parent.is_cancellation_requested());
  CHECK(child.reason() == cancellation_reason::requested);
}

TEST_CASE("a source linked to an already cancelled parent is cancelled with its reason") {
  cancellation_source live;
  cancellation_source cancelled;
  cancelled.cancel(cancellation_reason::deadline_exceeded);
  auto child = cancellation_source::linked({live.token(), cancelled.token()});
  CHECK(child.is_cancellation_requested());
  CHECK(child.reason() == cancellation_reason::deadline_exceeded);
  CHECK_FALSE(child.cancel());
  // It keeps nothing registered on the live parent.
  child = cancellation_source();
  CHECK(lifetime::registration_count(live.token()) == 0);
}

TEST_CASE("default tokens among the parents are ignored") {
  cancellation_source parent;
  auto child = cancellation_source::linked({cancellation_token{}, parent.token(), {}});
  CHECK(lifetime::registration_count(parent.token()) == 1);
  parent.cancel();
  CHECK(child.is_cancellation_requested());
  auto orphan = cancellation_source::linked({cancellation_token{}});
  CHECK(orphan.token().can_be_cancelled());
  CHECK(orphan.cancel());
}

TEST_CASE("a source linked to many parents takes them all") {
  std::vector<cancellation_source> parents(20);
  std::vector<cancellation_token> tokens;
  for (auto& p : parents)
    tokens.push_back(p.token());
  auto child = cancellation_source::linked(tokens);
  for (auto& p : parents)
    CHECK(lifetime::registration_count(p.token()) == 1);
  parents[17].cancel(cancellation_reason::restart);
  CHECK(child.reason() == cancellation_reason::restart);
}

TEST_CASE("the last handle of a linked source unregisters it from every parent") {
  cancellation_source a;
  cancellation_source b;
  {
    auto child = cancellation_source::linked({a.token(), b.token()});
    auto copy = child;
    CHECK(lifetime::registration_count(a.token()) == 1);
    CHECK(lifetime::registration_count(b.token()) == 1);
    child = cancellation_source();
    CHECK(lifetime::registration_count(a.token()) == 1);  // `copy` still links it
  }
  CHECK(lifetime::registration_count(a.token()) == 0);
  CHECK(lifetime::registration_count(b.token()) == 0);
}

TEST_CASE("a token of a linked source outlives the source and stops following the parents") {
  cancellation_source parent;
  cancellation_token token;
  {
    auto child = cancellation_source::linked({parent.token()});
    token = child.token();
  }
  CHECK(lifetime::registration_count(parent.token()) == 0);
  CHECK_FALSE(token.can_be_cancelled());
  parent.cancel();
  CHECK_FALSE(token.is_cancellation_requested());
}

TEST_CASE(
    "a million linked children created and destroyed leave the parent's count where it "
    "started") {
  cancellation_source stopping;  // lives for days: application_stopping
  cancellation_source connection;
  auto held = stopping.token().register_callback([] {});
  const std::size_t before = lifetime::registration_count(stopping.token());
  REQUIRE(before == 1);
  const cancellation_token parents[] = {stopping.token(), connection.token()};
  for (int i = 0; i < 1'000'000; ++i) {
    auto request = cancellation_source::linked(parents);
    auto token = request.token();
    auto registration = token.register_callback([] {});
  }
  CHECK(lifetime::registration_count(stopping.token()) == before);
  CHECK(lifetime::registration_count(connection.token()) == 0);
}

TEST_CASE("a linked child destroyed from a callback of the parent that is cancelling it") {
  cancellation_source parent;
  auto child = std::make_unique<cancellation_source>(cancellation_source::linked({parent.token()}));
  int child_runs = 0;
  auto child_registration = child->token().register_callback([&] {
    ++child_runs;
    child.reset();  // the last handle, from inside the parent's cancel
  });
  CHECK(parent.cancel());
  CHECK(child == nullptr);
  CHECK(child_runs == 1);
  CHECK(lifetime::registration_count(parent.token()) == 0);
}

TEST_CASE("a linked child destroyed on another thread while its parent cancels", "[threads]") {
  // The child's link may be running (the parent is cancelling it) while its last handle goes:
  // the destructor waits for the link, so the child's state is never freed under the parent.
  lifetime_test::stress_rounds rounds(20000);
  std::barrier sync(2);
  std::atomic<bool> stop{false};
  std::optional<cancellation_source> parent;
  std::optional<cancellation_source> child;
  std::atomic<int> child_callbacks{0};
  std::thread canceller([&] {
    for (;;) {
      sync.arrive_and_wait();
      if (stop)
        return;
      parent->cancel(cancellation_reason::application_stopping);
      sync.arrive_and_wait();
    }
  });
  for (;;) {
    const bool more = rounds.next();
    stop = !more;
    if (!more) {
      sync.arrive_and_wait();
      break;
    }
    parent.emplace();
    child.emplace(cancellation_source::linked({parent->token()}));
    auto registration = child->token().register_callback([&] { child_callbacks.fetch_add(1); });
    sync.arrive_and_wait();
    child.reset();
    sync.arrive_and_wait();
    CHECK(lifetime::registration_count(parent->token()) == 0);
  }
  canceller.join();
  CHECK(child_callbacks <= rounds.done());
}

TEST_CASE("children linked and dropped on many threads while the parent cancels", "[threads]") {
  constexpr int workers = 2;
  constexpr int per_round = 500;
  lifetime_test::stress_rounds rounds(400);
  std::optional<cancellation_source> parent;
  std::barrier sync(workers + 1);
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  auto work = [&] {
    for (;;) {
      sync.arrive_and_wait();
      if (stop)
        return;
      const cancellation_token parent_token = parent->token();
      for (int i = 0; i < per_round; ++i) {
        const bool parent_was_cancelled = parent_token.is_cancellation_requested();
        auto child = cancellation_source::linked({parent_token});
        if (parent_was_cancelled && !child.is_cancellation_requested())
          violations.fetch_add(1);
      }
      sync.arrive_and_wait();
    }
  };
  std::vector<std::thread> pool;
  for (int w = 0; w < workers; ++w)
    pool.emplace_back(work);
  for (;;) {
    const bool more = rounds.next();
    stop = !more;
    if (!more) {
      sync.arrive_and_wait();
      break;
    }
    parent.emplace();
    sync.arrive_and_wait();
    parent->cancel();
    sync.arrive_and_wait();
    CHECK(lifetime::registration_count(parent->token()) == 0);
  }
  for (auto& t : pool)
    t.join();
  CHECK(violations == 0);
}

TEST_CASE("a parent whose handles are all gone lives on until its linked child lets go") {
  auto parent = std::make_unique<cancellation_source>();
  auto child = cancellation_source::linked({parent->token()});
  parent.reset();  // the parent state is kept by the child's link, never cancelled
  CHECK_FALSE(child.is_cancellation_requested());
  CHECK(child.token().can_be_cancelled());
  child = cancellation_source();  // unlinks, and frees the parent's state (ASan checks)
}

TEST_CASE("a parent cancelled and dropped leaves its linked child cancelled") {
  cancellation_source child;
  {
    cancellation_source parent;
    child = cancellation_source::linked({parent.token()});
    parent.cancel(cancellation_reason::restart);
  }
  CHECK(child.reason() == cancellation_reason::restart);
}
