// SPDX-License-Identifier: MIT
// The host's runtime: construction, the threads of an owning host, start, finish and the exit.
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <lifetime/host/logging.hpp>

#include "host_impl.hpp"

namespace lifetime::host {
namespace asio = boost::asio;

std::string detail::millis(std::chrono::steady_clock::duration d) {
  return fmt::format("{}ms", std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

bool detail::is_cancellation(const std::exception_ptr& error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const operation_cancelled&) {
    return true;
  } catch (...) {
    return false;
  }
}

namespace {

/// User and system CPU time this process has used.
std::chrono::microseconds process_cpu_time() noexcept {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0)
    return {};
  const auto to_us = [](const timeval& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return to_us(usage.ru_utime) + to_us(usage.ru_stime);
}

}  // namespace

// ---- sequence_waker ----------------------------------------------------------------------------

void sequence_waker::wake() {
  std::lock_guard lock(mutex_);
  if (host_ == nullptr)
    return;
  asio::post(host_->strand_, [self = shared_from_this()] {
    std::lock_guard inner(self->mutex_);
    if (self->host_ != nullptr)
      self->host_->wake();
  });
}

void sequence_waker::shutdown_work_over() {
  {
    std::lock_guard lock(mutex_);
    if (host_ == nullptr)
      return;
    host_->shutdown_work_over_ = true;  // done, or what remains was abandoned at its time box
  }
  wake();
}

void sequence_waker::detach() noexcept {
  std::lock_guard lock(mutex_);
  host_ = nullptr;
}

// ---- construction ------------------------------------------------------------------------------

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
      extend_timer_(strand_),
      in_flight_timer_(strand_),
      driver_(lifetime_.take_driver()),
      waker_(std::make_shared<sequence_waker>(*this)) {}

host::impl::~impl() {
  if (upgrade_ready_fd_ >= 0)
    ::close(upgrade_ready_fd_);
  waker_->detach();
  signals_.reset();
  // The services go while the exit enforcer still watches: a destructor that hangs is cut at the
  // budget's end like any other teardown.
  services_.clear();
  enforcer_.disarm();
}

void host::impl::init() {
  notifier_ = systemd::notifier::from_environment();
  notifier_.set_warning_handler([](std::string_view text) { spdlog::warn("systemd: {}", text); });
  if (owned_io_) {
    // Only the process's own host reads the process's systemd environment.
    watchdog_ = systemd::watchdog_from_environment();
    listen_fds_ = systemd::take_listen_fds();
    image_ = detail::current_process_image();
    upgrade_ready_fd_ = detail::take_upgrade_ready_fd();
  }
  driver_.on_stop_requested([this] { on_stop_begun(); });
}

void host::impl::on_stop_begun() {
  // Called once, by the lifetime, on whichever thread began the stop (a signal listener's too):
  // host code only, and nothing that blocks.
  cost_per_request_ =
      shutdown_budget::cost_per_request(process_cpu_time(), in_flight_.entered_total());
  const auto drain_delay =
      handed_over_.load() ? std::max(options_.drain_delay, handover_drain) : options_.drain_delay;
  budget_ = shutdown_budget::compute(clock::now(), options_.shutdown_timeout, drain_delay,
                                     in_flight_.count(), cost_per_request_);
  stop_begun_.store(true, std::memory_order_release);
  publish_stopping();
  if (owned_io_) {
    enforcer_.arm(budget_.budget_end + exit_margin, to_int(exit_code::software),
                  [this] { return state_dump(); });
  }
  waker_->wake();
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
  if (auto problem = check_supervisor_deadline(options_)) {
    spdlog::critical("{}: not starting: {}", options_.name, *problem);
    flush_logs();
    return to_int(exit_code::config);
  }
  if (!write_pid_file_at_start()) {
    flush_logs();
    return to_int(exit_code::config);
  }
  // While run() lends the calling thread to the I/O, that thread blocks the host's signals too:
  // only the listener's thread hears them (restored when run() returns).
  sigset_t caller_mask;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &caller_mask);
  if (options_.handle_signals) {
    signals_ = std::make_unique<detail::signal_listener>(
        detail::host_signals, [this](int signal_number) { on_signal(signal_number); });
    detail::block_host_signals();
  }
  int result = to_int(exit_code::software);
  bool stopped = false;
  start([this, &result, &stopped](int code) {
    result = code;
    stopped = true;
    io_.stop();
    for (auto& io : thread_io_)
      io->stop();
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
  // io_ is run by `threads` threads (this one and threads - 1 more); each connection context of
  // thread_io_ by one thread of its own.
  auto io_work = asio::make_work_guard(io_);
  auto control_work = asio::make_work_guard(*control_io_);
  std::thread control([&] {
    detail::block_host_signals();
    run_loop(*control_io_);
  });
  const unsigned extra = options_.threads > 1 ? options_.threads - 1 : 0;
  std::vector<std::thread> threads;
  threads.reserve(extra + thread_io_.size());
  for (unsigned i = 0; i < extra; ++i)
    threads.emplace_back([&] {
      detail::block_host_signals();
      run_loop(io_);
    });
  for (auto& io : thread_io_)
    threads.emplace_back([&run_loop, context = io.get()] {
      auto work = asio::make_work_guard(*context);
      detail::block_host_signals();
      run_loop(*context);
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
  ::pthread_sigmask(SIG_SETMASK, &caller_mask, nullptr);
  return result;
}

void host::impl::start(std::function<void(int)> on_exit) {
  if (started_)
    throw std::logic_error("host::start() called twice");
  started_ = true;
  on_exit_ = std::move(on_exit);
  if (auto problem = check_supervisor_deadline(options_)) {
    spdlog::critical("{}: not starting: {}", options_.name, *problem);
    fail(to_int(exit_code::config));
    driver_.notify_stopped();
    finish();
    return;
  }
  asio::co_spawn(strand_, run_host(), [self = shared_from_this()](std::exception_ptr error) {
    if (error) {
      // Unreachable by design: run_host() catches what hooks throw. Stop anyway.
      spdlog::critical("{}: host sequence failed: {}", self->options_.name,
                       describe_exception(error));
      self->fail(to_int(exit_code::software));
      self->driver_.notify_stopped();
      self->finish();
    }
  });
}

void host::impl::finish() {
  if (finished_)
    return;
  finished_ = true;
  phase_ = shutdown_phase::stopped;
  waker_->detach();  // from here on, no library thread reaches this host
  if (owned_io_) {
    enforcer_.settle(exit_code_.load());
    remove_pid_file();
  }
  asio::post(watchdog_strand_, [self = shared_from_this()] { self->watchdog_timer_.cancel(); });
  extend_timer_.cancel();
  in_flight_timer_.cancel();
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

}  // namespace lifetime::host
