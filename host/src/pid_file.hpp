// SPDX-License-Identifier: MIT
// Internal: the --pid-file, which names the process that serves.
//
// write_pid_file() writes "<pid>\n" to a temporary file next to the path and renames it over the
// path, so a reader sees the old content or the new, never a partial one. A process started by
// a binary upgrade writes it once ready, so the file never names a process that failed to take
// over; the process it replaced must then not remove it: remove_pid_file_if_ours() removes the
// file only while it still names the given pid (a check then an unlink, not atomic: a new
// process renaming its own file in between is the one race left, and it only happens when two
// processes stop and start at the same instant).
//
// Thread safety: reentrant; touches only the file system.
#pragma once

#include <sys/types.h>

#include <string>
#include <system_error>

namespace lifetime::host::detail {

/// @param ec cleared, or the errno of the failed open, write or rename.
void write_pid_file(const std::string& path, pid_t pid, std::error_code& ec) noexcept;

/// Removes `path` if its content is `pid`. Never throws.
void remove_pid_file_if_ours(const std::string& path, pid_t pid) noexcept;

}  // namespace lifetime::host::detail
