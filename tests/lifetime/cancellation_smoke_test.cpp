// SPDX-License-Identifier: MIT
#include <lifetime/cancellation.hpp>

#include <catch2/catch.hpp>

TEST_CASE("a callback registered on a token runs when its source is cancelled") {
  lifetime::cancellation_source source;
  int runs = 0;
  auto registration = source.token().register_callback([&] { ++runs; });
  CHECK(source.cancel());
  CHECK(runs == 1);
}
