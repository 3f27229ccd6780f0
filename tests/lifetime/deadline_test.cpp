// SPDX-License-Identifier: MIT
// Deadlines: carried by a source, inherited (the earliest) by linked sources, never acted upon
// by the source itself.
#include <lifetime/cancellation.hpp>

#include <chrono>

#include <catch2/catch.hpp>

using lifetime::cancellation_source;
using lifetime::deadline_clock;
using namespace std::chrono_literals;

TEST_CASE("a source without a deadline reports no_deadline") {
  cancellation_source source;
  CHECK(source.deadline() == lifetime::no_deadline);
  CHECK(source.token().deadline() == lifetime::no_deadline);
  CHECK_FALSE(source.token().has_deadline());
}

TEST_CASE("a source carries its deadline to its tokens") {
  const auto when = deadline_clock::now() + 5s;
  cancellation_source source(when);
  CHECK(source.deadline() == when);
  CHECK(source.token().deadline() == when);
  CHECK(source.token().has_deadline());
}

TEST_CASE("a deadline in the past does not cancel the source by itself") {
  cancellation_source source(deadline_clock::now() - 1s);
  CHECK_FALSE(source.is_cancellation_requested());
  CHECK(source.token().has_deadline());
}

TEST_CASE("a linked source inherits the earliest deadline of its parents and its own") {
  const auto now = deadline_clock::now();
  cancellation_source early(now + 1s);
  cancellation_source late(now + 10s);
  cancellation_source none;
  CHECK(cancellation_source::linked({late.token(), early.token(), none.token()}).deadline() ==
        now + 1s);
  CHECK(cancellation_source::linked({late.token()}, now + 2s).deadline() == now + 2s);
  CHECK(cancellation_source::linked({early.token()}, now + 2s).deadline() == now + 1s);
  CHECK(cancellation_source::linked({none.token()}).deadline() == lifetime::no_deadline);
  CHECK(cancellation_source::linked({none.token()}, now + 3s).deadline() == now + 3s);
}

TEST_CASE("a grandchild inherits its grandparent's deadline through the child") {
  const auto when = deadline_clock::now() + 1s;
  cancellation_source grandparent(when);
  auto child = cancellation_source::linked({grandparent.token()});
  auto grandchild = cancellation_source::linked({child.token()}, when + 1h);
  CHECK(grandchild.token().deadline() == when);
}
