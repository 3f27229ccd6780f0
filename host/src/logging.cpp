// SPDX-License-Identifier: MIT
#include <lifetime/host/logging.hpp>

#include <cstdlib>
#include <memory>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <lifetime/callback_exception_handler.hpp>
#include <lifetime/host/exit_code.hpp>

namespace lifetime::host {
namespace {

/// %* in a pattern: the syslog priority of the message's level.
class syslog_priority_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const char digit = static_cast<char>('0' + syslog_priority(msg.level));
    dest.push_back(digit);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<syslog_priority_flag>();
  }
};

void log_callback_exception(std::exception_ptr error) noexcept {
  try {
    const std::string name = running_callback_name();
    spdlog::error("a cancellation callback{}{}{} threw: {}", name.empty() ? "" : " '", name,
                  name.empty() ? "" : "'", describe_exception(error));
  } catch (...) {
    spdlog::error("a cancellation callback threw, and describing it failed");
  }
}

}  // namespace

std::optional<spdlog::level::level_enum> try_parse_log_level(std::string_view text) noexcept {
  using spdlog::level::level_enum;
  if (text == "trace")
    return level_enum::trace;
  if (text == "debug")
    return level_enum::debug;
  if (text == "info")
    return level_enum::info;
  if (text == "warn" || text == "warning")
    return level_enum::warn;
  if (text == "error")
    return level_enum::err;
  if (text == "critical")
    return level_enum::critical;
  if (text == "off")
    return level_enum::off;
  return std::nullopt;
}

int syslog_priority(spdlog::level::level_enum level) noexcept {
  switch (level) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::info:
      return 6;
    default:
      return 7;
  }
}

bool is_journal_stream() noexcept {
  const char* value = std::getenv("JOURNAL_STREAM");
  return value != nullptr && *value != '\0';
}

void configure_logging(std::string_view level) {
  const auto parsed = try_parse_log_level(level);
  if (!parsed) {
    throw usage_error(
        "invalid value '" + std::string(level) +
        "' for --log-level (expected trace, debug, info, warn, error, critical, off)");
  }
  const bool journal = is_journal_stream();
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      journal ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (journal) {
    formatter->add_flag<syslog_priority_flag>('*').set_pattern("<%*>%v");
  } else {
    formatter->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  }
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>("lifetime", std::move(sink));
  logger->set_level(*parsed);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

bool try_set_log_level(std::string_view level) noexcept {
  const auto parsed = try_parse_log_level(level);
  if (!parsed)
    return false;
  spdlog::set_level(*parsed);
  return true;
}

void flush_logs() noexcept {
  try {
    spdlog::default_logger_raw()->flush();
  } catch (...) {
  }
}

void install_exception_logger() noexcept {
  set_callback_exception_handler(&log_callback_exception);
}

}  // namespace lifetime::host
