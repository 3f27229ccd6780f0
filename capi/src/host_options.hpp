// SPDX-License-Identifier: MIT
// Internal: lifetime_host_options to and from lifetime::host::host_options.
#pragma once

#include <lifetime/lifetime.h>
#include <lifetime/host/host_options.hpp>

namespace lifetime::capi {

/// The C++ options; the defaults for NULL. @throws std::invalid_argument for a bad struct_size
/// or a negative duration.
lifetime::host::host_options to_host_options(const lifetime_host_options* options);

}  // namespace lifetime::capi
