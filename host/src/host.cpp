// SPDX-License-Identifier: MIT
// The host: construction, startup, the run loop, signals, reload and the state dump. The six
// shutdown phases are in host_shutdown.cpp.
#include <lifetime/host/host.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/duration.hpp>
#include <lifetime/host/logging.hpp>

#include <boost/system/system_error.hpp>

#include "host_impl.hpp"

namespace lifetime::host {
namespace asio = boost::asio;

using detail::describe;
using detail::millis;

std::string detail::millis(std::chrono::steady_clock::duration d) {
  return fmt::format("{}ms", std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

namespace {

bool is_cancellation(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const operation_cancelled&) {
    return true;
  } catch (...) {
    return false;
  }
}

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

const char* signal_name(int signal_number) {
  switch (signal_number) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGHUP:
      return "SIGHUP";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "signal";
  }
}

std::string_view to_string(service_state state) {
  switch (state) {
    case service_state::registered:
      return "registered";
    case service_state::starting:
      return "starting";
    case service_state::started:
      return "started";
    case service_state::failed:
      return "failed";
    case service_state::stopping:
      return "stopping";
    case service_state::stopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace

// ---- impl: construction ------------------------------------------------------------------------

host::impl::impl(std::unique_ptr<detail::owned_io_context> owned,
                 std::unique_ptr<detail::owned_io_context> control, asio::io_context& io,
                 host_options options)
    : owned_io_(std::move(owned)),
      control_io_(std::move(control)),
      options_(std::move(options)),
      io_(io),
      strand_(asio::make_strand(control_io_ ? *control_io_ : io_)),
      watchdog_strand_(asio::make_strand(io_)),
      wake_(strand_),
      watchdog_timer_(watchdog_strand_),
      extend_timer_(strand_) {}

host::impl::~impl() {
  signals_.reset();
  enforcer_.disarm();
}

void host::impl::init() {
  notifier_ = systemd::notifier::from_environment();
  notifier_.set_warning_handler([](std::string_view text) { spdlog::warn("systemd: {}", text); });
  if (owned_io_) {
    // Only the process's own host reads the process's systemd environment.
    watchdog_ = systemd::watchdog_from_environment();
    listen_fds_ = systemd::take_listen_fds();
  }
  stop_watch_.emplace(lifetime_.stopping(), [this] { on_stop_begun(); });
}

void host::impl::on_stop_begun() {
  std::call_once(stop_once_, [this] {
    budget_ = shutdown_budget::compute(clock::now(), options_.shutdown_timeout,
                                       options_.drain_delay, in_flight_.count());
    stop_begun_.store(true, std::memory_order_release);
    if (owned_io_) {
      enforcer_.arm(budget_.budget_end + exit_margin, to_int(exit_code::software),
                    [this] { return state_dump(); });
    }
  });
}

void host::impl::fail(int code) noexcept {
  int current = exit_code_.load();
  while (current < code && !exit_code_.compare_exchange_weak(current, code)) {
  }
}

void host::impl::wake() {
  wake_.cancel();
}

// ---- run and start -----------------------------------------------------------------------------

int host::impl::run() {
  if (options_.handle_signals) {
    signals_ = std::make_unique<detail::signal_listener>(
        detail::host_signals, [this](int signal_number) { on_signal(signal_number); });
  }
  int result = to_int(exit_code::software);
  bool stopped = false;
  start([this, &result, &stopped](int code) {
    result = code;
    stopped = true;
    io_.stop();
  });
  const auto run_loop = [this](asio::io_context& context) {
    for (;;) {
      try {
        context.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("{}: an I/O handler threw: {}", options_.name, e.what());
      }
    }
  };
  // The I/O threads run until on_exit stops them, even when no service has I/O pending; the
  // sequence's own thread runs until the I/O threads are done.
  auto io_work = asio::make_work_guard(io_);
  auto control_work = asio::make_work_guard(*control_io_);
  std::thread control([&] {
    detail::block_host_signals();
    run_loop(*control_io_);
  });
  const unsigned extra = options_.threads > 1 ? options_.threads - 1 : 0;
  std::vector<std::thread> threads;
  threads.reserve(extra);
  for (unsigned i = 0; i < extra; ++i)
    threads.emplace_back([&] {
      detail::block_host_signals();
      run_loop(io_);
    });
  run_loop(io_);
  for (auto& t : threads)
    t.join();
  control_work.reset();
  control_io_->stop();
  control.join();
  if (options_.exit_when_stopped && stopped) {
    // The stop is over: what is left (connections, coroutine frames, pending operations) is
    // memory and descriptors the kernel reclaims faster than their destructors would.
    spdlog::debug("{}: exiting with code {} without destroying what is left", options_.name,
                  result);
    flush_logs();
    std::fflush(nullptr);
    ::_exit(result);
  }
  signals_.reset();
  return result;
}

void host::impl::start(std::function<void(int)> on_exit) {
  if (started_)
    throw std::logic_error("host::start() called twice");
  started_ = true;
  on_exit_ = std::move(on_exit);
  asio::co_spawn(strand_, run_host(), [self = shared_from_this()](std::exception_ptr error) {
    if (error) {
      // Unreachable by design: run_host() catches what hooks throw. Stop anyway.
      spdlog::critical("{}: host sequence failed: {}", self->options_.name, describe(error));
      self->fail(to_int(exit_code::software));
      self->lifetime_.notify_stopped();
      self->finish();
    }
  });
}

void host::impl::finish() {
  if (finished_)
    return;
  finished_ = true;
  phase_ = shutdown_phase::stopped;
  if (owned_io_)
    enforcer_.settle(exit_code_.load());
  asio::post(watchdog_strand_, [self = shared_from_this()] { self->watchdog_timer_.cancel(); });
  extend_timer_.cancel();
  {
    std::lock_guard lock(parent_leases_mutex_);
    parent_leases_.clear();
  }
  if (on_exit_) {
    // Owning mode: run()'s own callback, on the sequence's thread rather than behind whatever
    // the I/O threads still have queued.
    auto call = [on_exit = std::move(on_exit_), code = exit_code_.load()] { on_exit(code); };
    if (control_io_)
      asio::post(*control_io_, std::move(call));
    else
      asio::post(io_, std::move(call));
  }
}

// ---- startup -----------------------------------------------------------------------------------

asio::awaitable<void> host::impl::run_host() {
  auto self = shared_from_this();
  if (watchdog_.enabled())
    asio::co_spawn(watchdog_strand_, watchdog_loop(), asio::detached);

  const auto began = clock::now();
  spdlog::info("{}: starting {} service(s)", options_.name, services_.size());
  notifier_.status("starting");
  const bool all_started = co_await start_services();
  if (all_started && !lifetime_.stopping().is_cancellation_requested()) {
    lifetime_.notify_started();
    notifier_.ready();
    notifier_.status("running");
    spdlog::info("{}: started in {}", options_.name, millis(clock::now() - began));
  }

  const auto stopping = lifetime_.stopping();
  co_await async_wait_cancelled(stopping, strand_, asio::use_awaitable);
  co_await shutdown();
  finish();
}

asio::awaitable<bool> host::impl::start_services() {
  const auto token = lifetime_.stopping();
  const auto failed = [this, &token](service_entry& entry, const char* hook,
                                     std::exception_ptr error) {
    entry.state = service_state::failed;
    if (is_cancellation(error) && token.is_cancellation_requested()) {
      spdlog::info("{}: service '{}' {}() cancelled: the stop began during startup", options_.name,
                   entry.service->name(), hook);
      return;
    }
    spdlog::error("{}: service '{}' failed in {}(): {}", options_.name, entry.service->name(), hook,
                  describe(error));
    notifier_.error_number(errno_of(error));
    fail(exit_code_of(error));  // 1; 64 or 78 for a usage_error or config_error
    lifetime_.stop_application(cancellation_reason::requested);
  };

  for (auto& entry : services_) {
    if (token.is_cancellation_requested())
      co_return false;
    entry->state = service_state::starting;
    spdlog::debug("{}: service '{}' starting()", options_.name, entry->service->name());
    auto outcome =
        co_await bounded([&] { return entry->service->starting(token); }, clock::time_point::max());
    if (outcome.error) {
      failed(*entry, "starting", outcome.error);
      co_return false;
    }
  }
  for (auto& entry : services_) {
    if (token.is_cancellation_requested())
      co_return false;
    spdlog::debug("{}: service '{}' start()", options_.name, entry->service->name());
    auto outcome =
        co_await bounded([&] { return entry->service->start(token); }, clock::time_point::max());
    if (outcome.error) {
      failed(*entry, "start", outcome.error);
      co_return false;
    }
    entry->state = service_state::started;
    spdlog::info("{}: service '{}' started", options_.name, entry->service->name());
    if (entry->background != nullptr)
      start_background(*entry);
  }
  for (auto& entry : services_) {
    if (token.is_cancellation_requested())
      co_return false;
    auto outcome =
        co_await bounded([&] { return entry->service->started(); }, clock::time_point::max());
    if (outcome.error) {
      failed(*entry, "started", outcome.error);
      entry->state = service_state::started;  // it did start: stop it like the others
      co_return false;
    }
  }
  co_return true;
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
    spdlog::error("{}: background service '{}' failed: {}", options_.name, name, describe(error));
    fail(to_int(exit_code::service_failed));
    lifetime_.stop_application(cancellation_reason::requested);
  }
  wake();
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

// ---- signals -----------------------------------------------------------------------------------

void host::impl::on_signal(int signal_number) {
  // On the signal listener's own thread: everything here is thread-safe.
  if (signal_number == SIGHUP) {
    spdlog::info("{}: SIGHUP: reload requested", options_.name);
    asio::co_spawn(strand_, reload(), asio::detached);
    return;
  }
  if (signal_number == SIGUSR2) {
    std::istringstream dump(state_dump());
    for (std::string line; std::getline(dump, line);)
      spdlog::info("state: {}", line);
    return;
  }
  const int count = signal_count_.fetch_add(1) + 1;
  if (count == 1) {
    spdlog::info("{}: {} received: stopping gracefully (budget {})", options_.name,
                 signal_name(signal_number), format_duration(options_.shutdown_timeout));
    lifetime_.stop_application(cancellation_reason::application_stopping);
  } else if (count == 2) {
    spdlog::warn("{}: second stop signal ({}): fast stop, cancelling in-flight work now",
                 options_.name, signal_name(signal_number));
    lifetime_.stop_application(cancellation_reason::application_stopping);
    fast_stop();
  } else {
    const int code = signal_exit_code(signal_number);
    spdlog::critical("{}: third stop signal ({}): exiting now with code {}", options_.name,
                     signal_name(signal_number), code);
    flush_logs();
    ::_exit(code);
  }
}

void host::impl::fast_stop() {
  if (fast_.exchange(true))
    return;
  stop_accepting_.cancel(cancellation_reason::application_stopping);
  in_flight_cancel_.cancel(cancellation_reason::application_stopping);
  in_flight_.close();
  asio::post(strand_, [self = shared_from_this()] { self->wake(); });
}

// ---- reload, watchdog, EXTEND_TIMEOUT ----------------------------------------------------------

asio::awaitable<void> host::impl::reload() {
  auto self = shared_from_this();
  if (lifetime_.state() != lifetime_state::started) {
    spdlog::info("{}: reload ignored: the host is {}", options_.name,
                 lifetime::to_string(lifetime_.state()));
    co_return;
  }
  if (reloading_.exchange(true)) {
    spdlog::info("{}: reload ignored: a reload is in progress", options_.name);
    co_return;
  }
  const auto began = clock::now();
  notifier_.reloading();
  notifier_.status("reloading");
  bool ok = true;
  try {
    if (options_.reload_config)
      options_.reload_config();
  } catch (const std::exception& e) {
    ok = false;
    spdlog::error("{}: reload: configuration not re-read, keeping the old one: {}", options_.name,
                  e.what());
  }
  if (ok) {
    for (auto& entry : services_) {
      if (entry->state != service_state::started)
        continue;
      try {
        co_await entry->service->reload();  // a synchronous throw lands in the catch too
      } catch (...) {
        spdlog::error("{}: service '{}' failed in reload(): {}", options_.name,
                      entry->service->name(), describe(std::current_exception()));
      }
    }
    spdlog::info("{}: reload complete in {}", options_.name, millis(clock::now() - began));
  }
  if (lifetime_.state() == lifetime_state::started) {
    notifier_.ready();
    notifier_.status("running");
  }
  reloading_ = false;
}

asio::awaitable<void> host::impl::watchdog_loop() {
  auto self = shared_from_this();
  const auto interval = std::chrono::duration_cast<clock::duration>(watchdog_.ping_interval());
  while (!finished_) {
    notifier_.watchdog();
    watchdog_timer_.expires_after(interval);
    boost::system::error_code ec;
    co_await watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> host::impl::extend_timeout_loop() {
  auto self = shared_from_this();
  // While the shutdown progresses within its budget, tell systemd how long it may still take.
  constexpr auto margin = std::chrono::seconds(5);
  while (!finished_) {
    const auto left = budget_.budget_end - clock::now();
    if (left <= clock::duration::zero())
      co_return;
    notifier_.extend_timeout(std::chrono::duration_cast<std::chrono::microseconds>(left + margin));
    notifier_.status(stop_status());
    extend_timer_.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await extend_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

std::string host::impl::stop_status() const {
  const shutdown_phase phase = phase_.load();
  const auto now = clock::now();
  const auto left = budget_.budget_end > now ? budget_.budget_end - now : clock::duration::zero();
  const auto seconds_left = std::chrono::duration_cast<std::chrono::seconds>(
      left + std::chrono::milliseconds(500));  // rounded
  return fmt::format("stopping: phase {}/6 {}, {} request(s) in flight, {}s left",
                     phase_number(phase), to_string(phase), in_flight_.count(),
                     seconds_left.count());
}

// ---- the state dump ----------------------------------------------------------------------------

std::string host::impl::state_dump() const {
  std::ostringstream out;
  const shutdown_phase phase = phase_.load();
  out << options_.name << ": lifetime " << lifetime::to_string(lifetime_.state()) << ", phase "
      << to_string(phase);
  if (phase_number(phase) != 0)
    out << " (" << phase_number(phase) << "/6)";
  if (is_stop_begun()) {
    const auto now = clock::now();
    const auto b = budget_;
    const auto left = b.budget_end > now ? b.budget_end - now : clock::duration::zero();
    out << ", stop reason " << lifetime::to_string(lifetime_.stop_reason()) << ", elapsed "
        << millis(now - b.began) << ", budget " << format_duration(options_.shutdown_timeout)
        << ", time left " << millis(left) << (fast_ ? ", fast stop" : "");
  } else {
    out << ", budget " << format_duration(options_.shutdown_timeout) << " (not stopping)";
  }
  out << "\n";
  out << "in flight: " << in_flight_.count() << (in_flight_.is_closed() ? " (closed)" : "") << "\n";
  for (const auto& entry : services_) {
    out << "service '" << entry->service->name() << "': " << to_string(entry->state.load());
    if (entry->background != nullptr)
      out << (entry->running ? ", run() running" : ", run() done");
    out << "\n";
  }
  const auto work = lifetime_.shutdown_work();
  if (work.items.empty())
    out << "shutdown work: none\n";
  for (const auto& item : work.items) {
    out << lifetime::to_string(item.kind) << " '" << item.name
        << "': " << lifetime::to_string(item.status) << ", held " << millis(item.held);
    if (item.max != clock::duration::max()) {
      out << " (max "
          << format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(item.max))
          << ")";
    }
    if (!item.error.empty())
      out << ", error: " << item.error;
    out << "\n";
  }
  return out.str();
}

// ---- host --------------------------------------------------------------------------------------

host::host(host_options options) {
  if (options.configure_logging) {
    configure_logging(options.log_level);
    install_exception_logger();
  }
  auto io = std::make_unique<detail::owned_io_context>(
      options.threads > 1 ? static_cast<int>(options.threads) : 1);
  auto& io_ref = *io;
  impl_ = std::make_shared<impl>(std::move(io), std::make_unique<detail::owned_io_context>(1),
                                 io_ref, std::move(options));
  impl_->init();
}

host::host(asio::io_context& io, host_options options)
    : impl_(std::make_shared<impl>(nullptr, nullptr, io, std::move(options))) {
  impl_->options_.handle_signals = false;
  impl_->init();
}

host::~host() {
  if (impl_->owned_io_) {
    // Destroy what is still queued (abandoned coroutines, timers' handlers) on the sequence's
    // context and on the I/O context while the services are alive, then the services, then the
    // contexts (the impl's last members).
    impl_->signals_.reset();
    impl_->control_io_->stop();
    impl_->control_io_->shutdown();
    impl_->owned_io_->stop();
    impl_->owned_io_->shutdown();
  }
}

lifetime::application_lifetime& host::lifetime() noexcept {
  return impl_->lifetime_;
}
asio::any_io_executor host::get_executor() noexcept {
  return impl_->io_.get_executor();
}
asio::io_context& host::io_context() noexcept {
  return impl_->io_;
}
const host_options& host::options() const noexcept {
  return impl_->options_;
}

hosted_service& host::add_service(std::unique_ptr<hosted_service> service) {
  if (impl_->started_)
    throw std::logic_error("host::add_service() after start");
  auto entry = std::make_unique<service_entry>();
  entry->background = dynamic_cast<background_service*>(service.get());
  entry->service = std::move(service);
  hosted_service& result = *entry->service;
  impl_->services_.push_back(std::move(entry));
  return result;
}

lifetime::gate& host::in_flight() noexcept {
  return impl_->in_flight_;
}
cancellation_token host::stop_accepting_token() const noexcept {
  return impl_->stop_accepting_.token();
}
cancellation_token host::in_flight_token() const noexcept {
  return impl_->in_flight_cancel_.token();
}

void host::link_parent(cancellation_token parent) {
  impl_->parent_links_.emplace_back(
      parent, std::function<void()>([weak = std::weak_ptr(impl_)] {
        if (auto self = weak.lock()) {
          self->lifetime_.stop_application(cancellation_reason::application_stopping);
        }
      }));
}

void host::link_parent(lifetime::application_lifetime& parent) {
  {
    std::lock_guard lock(impl_->parent_leases_mutex_);
    impl_->parent_leases_.push_back(parent.delay_shutdown(
        impl_->options_.name, lifetime::application_lifetime::clock::duration::max()));
  }
  link_parent(parent.stopping());
}

int host::run() {
  if (!impl_->owned_io_)
    throw std::logic_error("host::run() needs an owning host");
  return impl_->run();
}

void host::start(std::function<void(int)> on_exit) {
  impl_->start(std::move(on_exit));
}

void host::request_reload() {
  asio::co_spawn(impl_->strand_, impl_->reload(), asio::detached);
}

std::string host::state_dump() const {
  return impl_->state_dump();
}

std::vector<systemd::listen_fd> host::take_listen_fds() {
  std::lock_guard lock(impl_->listen_fds_mutex_);
  return std::exchange(impl_->listen_fds_, {});
}

systemd::notifier& host::notifier() noexcept {
  return impl_->notifier_;
}

}  // namespace lifetime::host
