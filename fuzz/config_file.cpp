// SPDX-License-Identifier: MIT
// Fuzzes the config file reader (--config FILE) of lifetime::host::options.
//
// The input is the file's content. It is written to a memfd and read back through
// /proc/self/fd/N, so nothing touches the disk. Options include a sectioned key ("server.port")
// and the option kinds lifetime-demo declares.
//
// Inputs holding two '%' are skipped: Boost 1.81's error_with_option_name::what() loops forever
// on its own placeholders ("%canonical_option%", ...) in a key or value (see options.cpp).
// Options are `unsigned`, not `unsigned short`: Boost.Lexical_cast overflows a signed int (UB)
// converting some garbage to unsigned short; the project declares no 16-bit options.
//
// Checks: parsing succeeds or throws config_error (a bad file: its message names the file) or
// usage_error; nothing else escapes; after success every value is readable.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include <lifetime/host/exit_code.hpp>
#include <lifetime/host/options.hpp>

namespace po = boost::program_options;
using lifetime::host::duration_value;

namespace {

void check(bool condition) {
  if (!condition)
    std::abort();
}

int config_fd() {
  static const int fd = ::memfd_create("lifetime-fuzz-config", MFD_CLOEXEC);
  check(fd >= 0);
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto percent = text.find('%');
      percent != std::string_view::npos && text.find('%', percent + 1) != std::string_view::npos) {
    return 0;
  }
  const int fd = config_fd();
  check(::ftruncate(fd, 0) == 0);
  check(::pwrite(fd, data, size, 0) == static_cast<ssize_t>(size));
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const char* argv[] = {"fuzz", "--config", path.c_str()};

  lifetime::host::options opts("fuzz");
  opts.add_options()                                                           //
      ("listen", po::value<std::vector<std::string>>()->composing(), "")       //
      ("threads", po::value<unsigned>()->default_value(1), "")                 //
      ("greeting", po::value<std::string>()->default_value("hello"), "")       //
      ("request-timeout", po::value<duration_value>()->default_value({}), "")  //
      ("max-body-size", po::value<std::size_t>()->default_value(65536), "")    //
      ("server.port", po::value<unsigned>(), "")                               //
      ("verbose", po::bool_switch(), "");
  try {
    check(!opts.parse_or_throw(3, argv));
  } catch (const lifetime::host::config_error& e) {
    check(std::string_view(e.what()).find(path) != std::string_view::npos);
    return 0;
  } catch (const lifetime::host::usage_error&) {
    return 0;  // e.g. a bad --log-level from the file is reported as a usage error
  }
  (void)opts.duration("shutdown-timeout");
  (void)opts.duration("request-timeout");
  (void)opts.value<std::string>("greeting");
  (void)opts.value<unsigned>("threads");
  (void)opts.value<std::size_t>("max-body-size");
  (void)opts.to_host_options();
  return 0;
}
