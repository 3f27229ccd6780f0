// SPDX-License-Identifier: MIT
// One hook over the services, time-boxed, with what became of each logged: the one runner behind
// starting, start, started, stopping, stop and stopped.
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>

#include "host_impl.hpp"

namespace lifetime::host {
namespace asio = boost::asio;

using detail::is_cancellation;
using detail::millis;

asio::awaitable<bool> host::impl::for_each_service(hook_pass pass) {
  const std::string& name = options_.name;
  const std::size_t count = services_.size();
  for (std::size_t i = 0; i < count; ++i) {
    service_entry& entry = *services_[pass.reverse ? count - 1 - i : i];
    if (pass.until_stopping && lifetime_.stopping().is_cancellation_requested())
      co_return false;
    if (entry.state != pass.eligible)
      continue;
    const auto began = clock::now();
    spdlog::debug("{}: service '{}' {}()", name, entry.service->name(), pass.hook);
    entry.hook_began = began.time_since_epoch().count();
    entry.hook = pass.hook;
    const auto outcome = co_await bounded([&] { return pass.call(entry); }, pass.deadline);
    entry.hook = nullptr;
    hook_end end = hook_end::returned;
    if (!outcome.finished) {
      end = hook_end::abandoned;
      overrun_ = true;
      spdlog::warn("{}: service '{}' {}() still running after {}: abandoned", name,
                   entry.service->name(), pass.hook, millis(clock::now() - began));
    } else if (outcome.error) {
      end = hook_end::failed;
      if (is_cancellation(outcome.error) && lifetime_.stopping().is_cancellation_requested()) {
        spdlog::info("{}: service '{}' {}() cancelled: the stop began{}", name,
                     entry.service->name(), pass.hook, pass.until_stopping ? " during startup" : "");
      } else {
        spdlog::error("{}: service '{}' failed in {}(): {}", name, entry.service->name(), pass.hook,
                      describe_exception(outcome.error));
      }
    }
    if (!pass.then(entry, end, outcome.error))
      co_return false;
  }
  co_return true;
}

asio::awaitable<hook_outcome> host::impl::bounded(std::function<asio::awaitable<void>()> make_hook,
                                                  clock::time_point deadline) {
  auto outcome = std::make_shared<hook_outcome>();
  asio::co_spawn(
      strand_,
      [make_hook = std::move(make_hook)]() -> asio::awaitable<void> { co_await make_hook(); },
      [self = shared_from_this(), outcome](std::exception_ptr error) {
        outcome->finished = true;
        outcome->error = std::move(error);
        self->wake();
      });
  co_await wait_until([&] { return outcome->finished; }, deadline);
  co_return *outcome;
}

}  // namespace lifetime::host
