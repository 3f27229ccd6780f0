// SPDX-License-Identifier: MIT
#include <lifetime/host/duration.hpp>

#include <catch2/catch.hpp>

#include <sstream>

#include <boost/program_options.hpp>

using namespace std::chrono_literals;
using lifetime::host::format_duration;
using lifetime::host::parse_duration;
using lifetime::host::try_parse_duration;

TEST_CASE("durations are read in milliseconds, seconds, minutes and hours", "[host][duration]") {
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("2m") == 2min);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("0") == 0ms);
  CHECK(parse_duration("0s") == 0ms);
  CHECK(parse_duration("1m30s") == 90s);
  CHECK(parse_duration("1s500ms") == 1500ms);
}

TEST_CASE("a fraction is accepted when it comes to whole milliseconds", "[host][duration]") {
  CHECK(parse_duration("1.5s") == 1500ms);
  CHECK(parse_duration("0.25s") == 250ms);
  CHECK(parse_duration("1.5m") == 90s);
  CHECK(parse_duration("0.001s") == 1ms);
  CHECK(parse_duration("2.0ms") == 2ms);
  CHECK(parse_duration("1.5h30m") == 2h);
  for (const char* text : {"1.5ms", "0.0001s", ".5s", "1.s", "1.2.3s", "0.1234567891s"}) {
    INFO(text);
    CHECK_FALSE(try_parse_duration(text));
  }
}

TEST_CASE("garbage, signs, spaces and missing units are rejected", "[host][duration]") {
  for (const char* text : {"", "-5s", "+5s", "10", "5 s", " 5s", "5s ", "1.5", "10x", "s", "ms",
                           "5sm", "5S", "5mss", "abc", "05q", "1m-1s"}) {
    INFO(text);
    CHECK_FALSE(try_parse_duration(text));
    CHECK_THROWS_AS(parse_duration(text), std::invalid_argument);
  }
}

TEST_CASE("durations that overflow milliseconds are rejected", "[host][duration]") {
  CHECK_FALSE(try_parse_duration("99999999999999999999ms"));
  CHECK_FALSE(try_parse_duration("9223372036854775807s"));
  CHECK_FALSE(try_parse_duration("9223372036854775807ms1ms"));
  CHECK(try_parse_duration("9223372036854775807ms") ==
        std::chrono::milliseconds(9223372036854775807LL));
  CHECK_FALSE(try_parse_duration("2562047788015216h"));
}

TEST_CASE("the error of a malformed duration names the text", "[host][duration]") {
  try {
    parse_duration("soon");
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("'soon'") != std::string::npos);
  }
}

TEST_CASE("format_duration writes the shortest exact spelling and parses back",
          "[host][duration]") {
  CHECK(format_duration(0ms) == "0");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(30s) == "30s");
  CHECK(format_duration(2min) == "2m");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(3723004ms) == "1h2m3s4ms");
  for (auto d : {0ms, 1ms, 999ms, 1000ms, 61001ms, 86400000ms}) {
    CHECK(parse_duration(format_duration(d)) == d);
  }
}

TEST_CASE("duration_value plugs into Boost.Program_options and rejects malformed values",
          "[host][duration]") {
  namespace po = boost::program_options;
  po::options_description description;
  description.add_options()("timeout", po::value<lifetime::host::duration_value>());
  {
    const char* argv[] = {"app", "--timeout", "2m"};
    po::variables_map vm;
    po::store(po::parse_command_line(3, argv, description), vm);
    CHECK(vm["timeout"].as<lifetime::host::duration_value>().value == 2min);
  }
  {
    const char* argv[] = {"app", "--timeout", "later"};
    po::variables_map vm;
    CHECK_THROWS_AS(po::store(po::parse_command_line(3, argv, description), vm),
                    po::invalid_option_value);
  }
  std::ostringstream out;
  out << lifetime::host::duration_value{1500ms};
  CHECK(out.str() == "1s500ms");
}
