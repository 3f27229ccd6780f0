// SPDX-License-Identifier: MIT
// Logging for hosts: spdlog's default logger on stderr, journald-aware.
//
// configure_logging() makes spdlog's default logger write to stderr, flushing every line. When
// JOURNAL_STREAM is set (systemd connected stderr to the journal) each line starts with its syslog
// priority, "<3>" for error ... "<7>" for debug, and carries no timestamp (the journal adds one);
// otherwise lines read "[2026-01-31 12:00:00.123] [info] message".
// install_exception_logger() routes exceptions thrown by cancellation callbacks to the log.
//
// Thread safety: configure_logging() replaces the default logger: call it before other threads
// log. set_log_level(), flush_logs() and the parsers may be called from any thread.
#pragma once

#include <optional>
#include <string_view>

#include <spdlog/common.h>

namespace lifetime::host {

/// "trace", "debug", "info", "warn" (or "warning"), "error", "critical", "off"; nothing otherwise.
std::optional<spdlog::level::level_enum> try_parse_log_level(std::string_view text) noexcept;

/// The syslog priority for a level: critical 2, error 3, warn 4, info 6, debug and trace 7.
int syslog_priority(spdlog::level::level_enum level) noexcept;

/// True when JOURNAL_STREAM is set and not empty.
bool is_journal_stream() noexcept;

/// Installs the default logger described above at `level`. @throws usage_error for a bad level.
void configure_logging(std::string_view level);

/// Changes the default logger's level. @return false (and changes nothing) for a bad level.
bool try_set_log_level(std::string_view level) noexcept;

/// Flushes the default logger. Never throws; used right before _exit().
void flush_logs() noexcept;

/// Makes lifetime::set_callback_exception_handler() log exceptions of cancellation callbacks at
/// error level.
void install_exception_logger() noexcept;

}  // namespace lifetime::host
