// SPDX-License-Identifier: MIT
// The C ABI's host options: defaults, conversion, and parsing a command line.
#include "host_options.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <lifetime/host/options.hpp>

#include "error.hpp"

namespace lifetime::capi {

lifetime::host::host_options to_host_options(const lifetime_host_options* options) {
  lifetime::host::host_options result;
  if (options == nullptr)
    return result;
  if (options->struct_size < sizeof(lifetime_host_options))
    throw std::invalid_argument("lifetime_host_options: struct_size is too small");
  if (options->shutdown_timeout_ms < 0 || options->drain_delay_ms < 0)
    throw std::invalid_argument("lifetime_host_options: a negative duration");
  result.shutdown_timeout = std::chrono::milliseconds(options->shutdown_timeout_ms);
  result.drain_delay = std::chrono::milliseconds(options->drain_delay_ms);
  result.threads = options->threads == 0 ? 1 : options->threads;
  result.handle_signals = options->handle_signals != 0;
  result.configure_logging = options->configure_logging != 0;
  result.exit_when_stopped = options->exit_when_stopped != 0;
  if (options->name != nullptr)
    result.name = options->name;
  if (options->log_level != nullptr)
    result.log_level = options->log_level;
  return result;
}

namespace {
// lifetime_host_options_parse's strings point here until the thread's next parse.
thread_local std::string parsed_name;
thread_local std::string parsed_log_level;
}  // namespace

}  // namespace lifetime::capi

extern "C" {

void lifetime_host_options_init(lifetime_host_options* options) noexcept {
  if (options == nullptr)
    return;
  const lifetime::host::host_options defaults;
  options->struct_size = sizeof(lifetime_host_options);
  options->shutdown_timeout_ms = defaults.shutdown_timeout.count();
  options->drain_delay_ms = defaults.drain_delay.count();
  options->threads = defaults.threads;
  options->handle_signals = defaults.handle_signals ? 1 : 0;
  options->configure_logging = defaults.configure_logging ? 1 : 0;
  options->exit_when_stopped = defaults.exit_when_stopped ? 1 : 0;
  options->name = nullptr;
  options->log_level = nullptr;
}

lifetime_status lifetime_host_options_parse(lifetime_host_options* options, const char* program,
                                            int argc, const char* const* argv,
                                            int* exit_now) noexcept {
  using lifetime::capi::fail;
  if (options == nullptr || program == nullptr || exit_now == nullptr || argc < 0 ||
      (argv == nullptr && argc > 0))
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_host_options_parse: bad argument");
  if (options->struct_size < sizeof(lifetime_host_options))
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_host_options: struct_size too small");
  return lifetime::capi::guarded([&] {
    lifetime::host::options parser(program);
    *exit_now = -1;
    if (auto code = parser.parse(argc, argv)) {
      *exit_now = *code;
      return LIFETIME_OK;
    }
    const lifetime::host::host_options parsed = parser.to_host_options();
    lifetime::capi::parsed_name = parsed.name;
    lifetime::capi::parsed_log_level = parsed.log_level;
    options->shutdown_timeout_ms = parsed.shutdown_timeout.count();
    options->drain_delay_ms = parsed.drain_delay.count();
    options->threads = parsed.threads;
    options->handle_signals = parsed.handle_signals ? 1 : 0;
    options->configure_logging = parsed.configure_logging ? 1 : 0;
    options->exit_when_stopped = parsed.exit_when_stopped ? 1 : 0;
    options->name = lifetime::capi::parsed_name.c_str();
    options->log_level = lifetime::capi::parsed_log_level.c_str();
    return LIFETIME_OK;
  });
}

}  // extern "C"
