// SPDX-License-Identifier: MIT
// Binary upgrade on SIGUSR1 (host.hpp, "Binary upgrade"): the old process's side on its strand,
// the new process's readiness, and the pid file.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <optional>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>

#include <lifetime/host/duration.hpp>

#include "host_impl.hpp"
#include "pid_file.hpp"

namespace lifetime::host {
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using detail::millis;

namespace {

std::string describe_wait_status(int status) {
  if (WIFEXITED(status))
    return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {}", WTERMSIG(status));
  return "ended";
}

/// Watches one new process from the strand: its readiness byte, its exit, a deadline. Owns the
/// two descriptors spawn_upgrade() returned; the caller must reap the process (exited()).
class child_watch {
 public:
  using clock = std::chrono::steady_clock;

  child_watch(const asio::any_io_executor& executor, detail::spawned_process child)
      : pid_(child.pid),
        ready_(executor, child.ready_fd),
        pidfd_(executor),
        timer_(executor),
        poll_(executor) {
    if (child.pidfd >= 0)
      pidfd_.assign(child.pidfd);
  }

  pid_t pid() const noexcept { return pid_; }

  /// True once the byte arrived; false when the channel closed (or failed) without it.
  asio::awaitable<bool> ready() {
    char byte = 0;
    auto [ec, n] = co_await asio::async_read(ready_, asio::buffer(&byte, 1),
                                             asio::as_tuple(asio::use_awaitable));
    co_return !ec && n == 1;
  }

  /// Completes once the process has exited, reaped: its wait status.
  asio::awaitable<int> exited() {
    for (;;) {
      if (auto status = try_reap())
        co_return *status;
      if (pidfd_.is_open()) {
        co_await pidfd_.async_wait(asio::posix::descriptor_base::wait_read, asio::use_awaitable);
      } else {
        // No pidfd (a kernel before 5.3): look again shortly.
        poll_.expires_after(std::chrono::milliseconds(20));
        co_await poll_.async_wait(asio::use_awaitable);
      }
    }
  }

  /// Completes at `deadline`.
  asio::awaitable<void> until(clock::time_point deadline) {
    timer_.expires_at(deadline);
    co_await timer_.async_wait(asio::use_awaitable);
  }

 private:
  std::optional<int> try_reap() {
    int status = 0;
    pid_t reaped;
    do {
      reaped = ::waitpid(pid_, &status, WNOHANG);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == pid_)
      return status;
    if (reaped < 0)
      return 0;  // not ours to reap any more (ECHILD): gone
    return std::nullopt;
  }

  pid_t pid_;
  asio::posix::stream_descriptor ready_;
  asio::posix::stream_descriptor pidfd_;
  asio::steady_timer timer_;
  asio::steady_timer poll_;
};

/// A new process that was not ready in time may have accepted connections already: it is asked
/// to stop gracefully (SIGTERM), killed if still running after `grace`, and reaped.
asio::awaitable<void> stop_unready(child_watch& child, std::chrono::milliseconds grace,
                                   const std::string& name) {
  using clock = child_watch::clock;
  ::kill(child.pid(), SIGTERM);
  auto stopped = co_await (child.exited() || child.until(clock::now() + grace));
  if (stopped.index() == 1) {
    spdlog::warn("{}: upgrade: process {} still running after SIGTERM; killing it", name,
                 child.pid());
    ::kill(child.pid(), SIGKILL);
    stopped = co_await (child.exited() || child.until(clock::now() + std::chrono::seconds(5)));
  }
  if (stopped.index() == 0) {
    spdlog::info("{}: upgrade: process {} {}", name, child.pid(),
                 describe_wait_status(std::get<0>(stopped)));
  }
}

}  // namespace

std::optional<std::string> host::impl::upgrade_refusal() const {
  if (!owned_io_)
    return "an embedded host does not own its process";
  if (upgrading_)
    return fmt::format("the upgrade to process {} is still in progress", upgrade_pid_.load());
  if (is_stop_begun())
    return "this process is stopping";
  if (lifetime_.state() != lifetime::lifetime_state::started)
    return "this process has not started yet";
  return std::nullopt;
}

asio::awaitable<void> host::impl::upgrade() {
  auto self = shared_from_this();
  if (const auto why = upgrade_refusal()) {
    spdlog::warn("{}: upgrade refused: {}", options_.name, *why);
    events_.publish("upgrade", {{"state", std::string("refused")}, {"detail", *why}});
    co_return;
  }
  const auto asked = clock::now();
  const auto fail_now = [this, asked](const std::string& why) {
    upgrades_failed_.fetch_add(1);
    spdlog::error("{}: upgrade failed: {}; this process keeps serving", options_.name, why);
    events_.publish(
        "upgrade",
        {{"state", std::string("failed")},
         {"took_ms", std::chrono::duration<double, std::milli>(clock::now() - asked).count()},
         {"detail", why + "; this process keeps serving"}});
  };

  std::vector<systemd::listen_fd> sockets;
  std::string names;
  for (const auto& entry : services_) {
    if (entry->state.load() != service_state::started)
      continue;
    try {
      for (auto& socket : entry->service->sockets_to_hand_over()) {
        names +=
            (names.empty() ? "" : ", ") + socket.name + " (fd " + std::to_string(socket.fd) + ")";
        sockets.push_back(std::move(socket));
      }
    } catch (const std::exception& e) {
      fail_now(fmt::format("service '{}' could not name its sockets: {}", entry->service->name(),
                           e.what()));
      co_return;
    }
  }
  detail::spawned_process spawned;
  try {
    spawned = detail::spawn_upgrade(image_, sockets);
  } catch (const std::exception& e) {
    fail_now(fmt::format("cannot start {}: {}", image_.executable, e.what()));
    co_return;
  }
  upgrading_ = true;
  upgrade_pid_ = spawned.pid;
  const auto began = clock::now();
  const auto deadline = began + options_.upgrade_timeout;
  spdlog::info(
      "{}: upgrade: started {} as process {}, handing over {} socket(s){}; waiting up to "
      "{} for it to be ready",
      options_.name, image_.executable, spawned.pid, sockets.size(),
      names.empty() ? "" : " (" + names + ")", format_duration(options_.upgrade_timeout));
  events_.publish("upgrade", {{"state", std::string("started")},
                              {"pid", static_cast<std::int64_t>(spawned.pid)},
                              {"detail", "handing over " + std::to_string(sockets.size()) +
                                             " socket(s); waiting for it to be ready"}});
  child_watch child(co_await asio::this_coro::executor, spawned);

  auto first = co_await (child.ready() || child.exited() || child.until(deadline));
  if (first.index() == 0 && std::get<0>(first)) {
    upgrades_succeeded_.fetch_add(1);
    handed_over_ = true;
    // The service is the new process's now: this one must not tell the manager it is stopping.
    notifier_.silence();
    spdlog::info("{}: upgrade: process {} is ready after {}; stopping gracefully (budget {})",
                 options_.name, child.pid(), millis(clock::now() - began),
                 format_duration(options_.shutdown_timeout));
    events_.publish(
        "upgrade",
        {{"state", std::string("ready")},
         {"pid", static_cast<std::int64_t>(child.pid())},
         {"took_ms", std::chrono::duration<double, std::milli>(clock::now() - began).count()},
         {"detail", std::string("the new process serves; this one stops")}});
    lifetime_.stop_application(cancellation_reason::application_stopping);
    co_return;  // still upgrading_: no other upgrade from a process on its way out
  }
  std::optional<int> status;
  if (first.index() == 1) {
    status = std::get<1>(first);
  } else if (first.index() == 0) {
    // The channel closed without the byte: the process is exiting (or closed it itself).
    auto second = co_await (child.exited() || child.until(deadline));
    if (second.index() == 0)
      status = std::get<0>(second);
  }
  if (status) {
    fail_now(fmt::format("new process {} {} before it was ready", child.pid(),
                         describe_wait_status(*status)));
  } else {
    fail_now(fmt::format("new process {} not ready within {}", child.pid(),
                         format_duration(options_.upgrade_timeout)));
    co_await stop_unready(child, options_.shutdown_timeout + std::chrono::seconds(1),
                          options_.name);
  }
  upgrading_ = false;
  upgrade_pid_ = 0;
}

void host::impl::announce_ready() {
  if (upgrade_ready_fd_ < 0) {
    notifier_.ready();
    return;
  }
  // Started by an upgrade: take the pid file and the service over, then tell the old process.
  if (!options_.pid_file.empty()) {
    std::error_code ec;
    detail::write_pid_file(options_.pid_file, ::getpid(), ec);
    if (ec) {
      spdlog::error("{}: cannot write --pid-file {}: {}", options_.name, options_.pid_file,
                    ec.message());
    }
  }
  if (notifier_.enabled()) {
    std::error_code ec;
    notifier_.notify(fmt::format("MAINPID={}\nREADY=1", ::getpid()), ec);
    if (ec)
      spdlog::warn("systemd: sd_notify MAINPID= failed: {}", ec.message());
  }
  spdlog::info("{}: ready; telling the process this one replaces (upgrade)", options_.name);
  detail::signal_upgrade_ready(upgrade_ready_fd_);
}

bool host::impl::write_pid_file_at_start() {
  if (options_.pid_file.empty() || upgrade_ready_fd_ >= 0)
    return true;
  std::error_code ec;
  detail::write_pid_file(options_.pid_file, ::getpid(), ec);
  if (!ec)
    return true;
  spdlog::critical("{}: not starting: cannot write --pid-file {}: {}", options_.name,
                   options_.pid_file, ec.message());
  return false;
}

void host::impl::remove_pid_file() noexcept {
  if (!options_.pid_file.empty())
    detail::remove_pid_file_if_ours(options_.pid_file, ::getpid());
}

}  // namespace lifetime::host
