// SPDX-License-Identifier: MIT
// Fuzzes command-line parsing (lifetime::host::options) with the option kinds lifetime-demo
// declares: strings, repeatable strings, unsigned and size_t numbers, durations, switches.
//
// The input is split at NUL bytes into at most 32 arguments. Arguments that could name a config
// file (anything starting with "--c", since Program_options accepts unambiguous prefixes) are
// dropped: reading arbitrary paths is the config-file harness's business, done on a file it owns.
//
// Arguments holding two '%' are dropped too: Boost 1.81's error_with_option_name::what() loops
// forever when an option name or value contains one of its placeholders ("%canonical_option%",
// "%original_token%", ...), because it substitutes them with text that holds them again. That
// hang is reported against host/src/options.cpp (which calls what()); the fuzzer looks elsewhere.
//
// Checks: parsing either succeeds, asks to exit 0 (--help, --version), or throws usage_error or
// config_error, which name the offending option; nothing else escapes. After a successful parse
// every built-in value is readable and to_host_options() does not throw.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <lifetime/host/exit_code.hpp>
#include <lifetime/host/options.hpp>

namespace po = boost::program_options;
using lifetime::host::duration_value;

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

/// Silences --help and --version.
struct quiet_stdout {
  std::ostringstream sink;
  std::streambuf* old = std::cout.rdbuf(sink.rdbuf());
  ~quiet_stdout() { std::cout.rdbuf(old); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"fuzz"};
  std::size_t begin = 0;
  while (begin <= input.size() && args.size() <= 32) {
    auto end = input.find('\0', begin);
    if (end == std::string_view::npos)
      end = input.size();
    std::string arg(input.substr(begin, end - begin));
    const auto percent = arg.find('%');
    const bool placeholder =
        percent != std::string::npos && arg.find('%', percent + 1) != std::string::npos;
    if (arg.rfind("--c", 0) != 0 && !placeholder)
      args.push_back(std::move(arg));
    begin = end + 1;
  }
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());

  lifetime::host::options opts("fuzz");
  opts.add_options()                                                           //
      ("listen", po::value<std::vector<std::string>>()->composing(), "")       //
      ("threads", po::value<unsigned>()->default_value(1), "")                 //
      ("storage-dir", po::value<std::string>()->default_value("storage"), "")  //
      ("request-timeout", po::value<duration_value>()->default_value({}), "")  //
      ("header-timeout", po::value<duration_value>(), "")                      //
      ("max-header-size", po::value<std::size_t>()->default_value(8192), "")   //
      ("verbose", po::bool_switch(), "");

  quiet_stdout quiet;
  try {
    const auto code = opts.parse_or_throw(static_cast<int>(argv.size()), argv.data());
    if (code) {
      check(*code == 0);
      return 0;
    }
  } catch (const lifetime::host::usage_error& e) {
    check(std::string_view(e.what()).size() > 0);
    return 0;
  } catch (const lifetime::host::config_error& e) {
    check(std::string_view(e.what()).size() > 0);
    return 0;
  }
  (void)opts.duration("shutdown-timeout");
  (void)opts.duration("drain-delay");
  (void)opts.value<unsigned>("threads");
  (void)opts.value<std::size_t>("max-header-size");
  (void)opts.value<bool>("verbose");
  const auto host = opts.to_host_options();
  check(host.shutdown_timeout.count() >= 0 && host.drain_delay.count() >= 0);
  return 0;
}
