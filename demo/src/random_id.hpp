// SPDX-License-Identifier: MIT
// Unguessable identifiers: 128 bits from the kernel's CSPRNG (getrandom(2), /dev/urandom as a
// fallback), as 32 lowercase hex digits. Thread-safe.
#pragma once

#include <string>

namespace lifetime::demo {

/// 32 hex digits of fresh randomness. @throws std::system_error if the kernel gives none.
std::string random_id();

}  // namespace lifetime::demo
