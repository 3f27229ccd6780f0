// SPDX-License-Identifier: MIT
// Starting the services (starting, start, started), their background run()s, and the sequence
// that waits for the stop.
#include <cerrno>
#include <system_error>

#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/system/system_error.hpp>

#include "host_impl.hpp"

namespace lifetime::host {
namespace asio = boost::asio;

using detail::is_cancellation;
using detail::millis;

namespace {

/// An error code's value as an errno for systemd's ERRNO=, when it is one.
int errno_value(int value, bool is_errno) {
  return is_errno && value > 0 ? value : EIO;
}

/// The errno that best describes a failed start: the error code of a system_error (std or
/// Boost, as Asio throws), EIO for anything else.
int errno_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error& e) {
    return errno_value(e.code().value(), e.code().category() == std::system_category() ||
                                             e.code().category() == std::generic_category());
  } catch (const boost::system::system_error& e) {
    return errno_value(e.code().value(),
                       e.code().category() == boost::system::system_category() ||
                           e.code().category() == boost::system::generic_category());
  } catch (...) {
    return EIO;
  }
}

}  // namespace

asio::awaitable<void> host::impl::run_host() {
  auto self = shared_from_this();
  if (watchdog_.enabled())
    asio::co_spawn(watchdog_strand_, watchdog_loop(), asio::detached);

  const auto began = clock::now();
  spdlog::info("{}: starting {} service(s)", options_.name, services_.size());
  notifier_.status("starting");
  publish_process("starting");
  const bool all_started = co_await start_services();
  if (all_started && driver_.notify_started()) {
    announce_ready();
    notifier_.status("running");
    spdlog::info("{}: started in {}", options_.name, millis(clock::now() - began));
    publish_process("ready", {{"took_ms", detail::took_ms(clock::now() - began)}});
  }

  co_await wait_until([this] { return is_stop_begun(); }, clock::time_point::max());
  co_await shutdown();
  finish();
}

asio::awaitable<bool> host::impl::start_services() {
  const auto token = lifetime_.stopping();
  // A failure stops the host at once: it never became ready, so there is nothing to drain.
  const auto failed = [this, &token](service_entry& entry, const char* hook, hook_end end,
                                     const std::exception_ptr& error) {
    if (end == hook_end::returned)
      return true;
    entry.state = service_state::failed;
    if (is_cancellation(error) && token.is_cancellation_requested())
      return false;  // the stop began during startup: logged by the pass
    notifier_.error_number(errno_of(error));
    fail(exit_code_of(error));  // 1; 64 or 78 for a usage_error or config_error
    start_failed_ = true;
    spdlog::info("{}: service '{}' failed in {}(): stopping without a drain", options_.name,
                 entry.service->name(), hook);
    lifetime_.stop_application(cancellation_reason::requested);
    return false;
  };

  hook_pass starting{"starting", false, service_state::registered};
  starting.until_stopping = true;
  starting.call = [&token](service_entry& entry) {
    entry.state = service_state::starting;
    return entry.service->starting(token);
  };
  starting.then = [&](service_entry& entry, hook_end end, const std::exception_ptr& error) {
    return failed(entry, "starting", end, error);
  };
  if (!co_await for_each_service(std::move(starting)))
    co_return false;

  hook_pass start{"start", false, service_state::starting};
  start.until_stopping = true;
  start.call = [&token](service_entry& entry) { return entry.service->start(token); };
  start.then = [&](service_entry& entry, hook_end end, const std::exception_ptr& error) {
    if (!failed(entry, "start", end, error))
      return false;
    entry.state = service_state::started;
    spdlog::info("{}: service '{}' started", options_.name, entry.service->name());
    if (entry.background != nullptr)
      start_background(entry);
    return true;
  };
  if (!co_await for_each_service(std::move(start)))
    co_return false;

  hook_pass started{"started", false, service_state::started};
  started.until_stopping = true;
  started.call = [](service_entry& entry) { return entry.service->started(); };
  started.then = [&](service_entry& entry, hook_end end, const std::exception_ptr& error) {
    const bool ok = failed(entry, "started", end, error);
    entry.state = service_state::started;  // it did start: stop it like the others
    return ok;
  };
  co_return co_await for_each_service(std::move(started));
}

void host::impl::start_background(service_entry& entry) {
  entry.run_source = cancellation_source::linked({lifetime_.stopping(), in_flight_cancel_.token()});
  entry.running = true;
  asio::co_spawn(
      io_.get_executor(), entry.background->run(entry.run_source->token()),
      asio::bind_executor(strand_, [self = shared_from_this(), &entry](std::exception_ptr error) {
        self->on_background_done(entry, std::move(error));
      }));
}

void host::impl::on_background_done(service_entry& entry, std::exception_ptr error) {
  entry.running = false;
  const auto name = entry.service->name();
  if (!error) {
    spdlog::info("{}: background service '{}' finished", options_.name, name);
  } else if (is_cancellation(error) && entry.run_source->is_cancellation_requested()) {
    spdlog::info("{}: background service '{}' cancelled", options_.name, name);
  } else {
    spdlog::error("{}: background service '{}' failed: {}", options_.name, name,
                  describe_exception(error));
    fail(to_int(exit_code::service_failed));
    lifetime_.stop_application(cancellation_reason::requested);
  }
  wake();
}

}  // namespace lifetime::host
