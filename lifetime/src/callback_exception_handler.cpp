// SPDX-License-Identifier: MIT
#include <lifetime/callback_exception_handler.hpp>

#include <atomic>
#include <cstdio>

namespace lifetime {
namespace {

void default_handler(std::exception_ptr error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lifetime: a cancellation callback threw: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "lifetime: a cancellation callback threw a non-standard exception\n");
  }
}

std::atomic<callback_exception_handler> installed{&default_handler};

}  // namespace

callback_exception_handler set_callback_exception_handler(
    callback_exception_handler handler) noexcept {
  return installed.exchange(handler != nullptr ? handler : &default_handler,
                            std::memory_order_acq_rel);
}

namespace detail {
void report_callback_exception(std::exception_ptr error) noexcept {
  installed.load(std::memory_order_acquire)(std::move(error));
}
}  // namespace detail

std::string describe_exception(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

}  // namespace lifetime
