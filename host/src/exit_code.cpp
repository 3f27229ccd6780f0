// SPDX-License-Identifier: MIT
#include <lifetime/host/exit_code.hpp>

namespace lifetime::host {

int exit_code_of(const std::exception_ptr& error) noexcept {
  if (!error)
    return to_int(exit_code::success);
  try {
    std::rethrow_exception(error);
  } catch (const usage_error&) {
    return to_int(exit_code::usage);
  } catch (const config_error&) {
    return to_int(exit_code::config);
  } catch (...) {
    return to_int(exit_code::service_failed);
  }
}

}  // namespace lifetime::host
