// SPDX-License-Identifier: MIT
// A program built on the host for the fault tests: each flag adds one misbehaving piece.
//
// Every hook of the well-behaved services "first" and "last" logs "hook: <service>.<hook>()", so
// the tests can tell that nothing was skipped. "ready: <pid>" is printed once the host started.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <future>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/host.hpp>
#include <lifetime/host/options.hpp>

namespace asio = boost::asio;
namespace po = boost::program_options;
using lifetime::cancellation_token;

namespace {

class recorder : public lifetime::host::hosted_service {
 public:
  explicit recorder(std::string name) : name_(std::move(name)) {}
  std::string_view name() const noexcept override { return name_; }
  asio::awaitable<void> start(cancellation_token) override {
    log("start");
    co_return;
  }
  asio::awaitable<void> stopping() override {
    log("stopping");
    co_return;
  }
  asio::awaitable<void> stop(cancellation_token) override {
    log("stop");
    co_return;
  }
  asio::awaitable<void> stopped() override {
    log("stopped");
    co_return;
  }
  asio::awaitable<void> reload() override {
    log("reload");
    co_return;
  }

 private:
  void log(const char* hook) { spdlog::info("hook: {}.{}()", name_, hook); }
  std::string name_;
};

/// start() waits for its token: a stop during startup cancels it.
class slow_start : public lifetime::host::hosted_service {
 public:
  std::string_view name() const noexcept override { return "slow"; }
  asio::awaitable<void> start(cancellation_token token) override {
    spdlog::info("hook: slow.start() waits for its token");
    co_await lifetime::async_wait_cancelled(token, co_await asio::this_coro::executor,
                                            asio::use_awaitable);
    spdlog::info("slow: start token fired ({})", lifetime::to_string(token.reason()));
    token.throw_if_cancellation_requested();
  }
  asio::awaitable<void> stop(cancellation_token) override {
    spdlog::info("hook: slow.stop()");
    co_return;
  }
};

/// start() ignores its token and never finishes.
class deaf_start : public lifetime::host::hosted_service {
 public:
  std::string_view name() const noexcept override { return "deaf"; }
  asio::awaitable<void> start(cancellation_token) override {
    spdlog::info("hook: deaf.start() never finishes");
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
};

/// stop() ignores its token and never finishes (without blocking the thread).
class stuck_stop : public lifetime::host::hosted_service {
 public:
  std::string_view name() const noexcept override { return "stuck"; }
  asio::awaitable<void> stop(cancellation_token) override {
    spdlog::info("hook: stuck.stop() never returns");
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
};

/// stop() blocks its thread forever.
class blocking_stop : public lifetime::host::hosted_service {
 public:
  std::string_view name() const noexcept override { return "blocking"; }
  asio::awaitable<void> stop(cancellation_token) override {
    spdlog::info("hook: blocking.stop() blocks its thread");
    std::promise<void>().get_future().wait();
    co_return;
  }
};

/// Reads one line of stdin. ThreadSanitizer's builds run without SA_RESTART (see host/src/
/// signals.cpp): there a signal the kernel hands to this thread fails the read with EINTR, and the
/// read is tried again instead of taking the failure for the end of input.
bool read_line_from_stdin(std::string& line) {
  for (;;) {
    errno = 0;
    if (std::getline(std::cin, line))
      return true;
    if (errno != EINTR)
      return false;  // the end of input, or a real error
    std::cin.clear();
    std::clearerr(stdin);
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  lifetime::host::options opts("reliability_app", "1.0.0");
  opts.add_options()                                                                         //
      ("slow-start", po::bool_switch(), "add 'slow' whose start() waits for its token")      //
      ("deaf-start", po::bool_switch(), "add 'deaf' whose start() never finishes")           //
      ("stuck-stop", po::bool_switch(), "add 'stuck' whose stop() never finishes")           //
      ("blocking-stop", po::bool_switch(), "add 'blocking' whose stop() blocks its thread")  //
      ("callback-throw", po::bool_switch(),
       "register on_stopping 'throwing-callback' that throws, then 'after-callback'")  //
      ("lease-until-stdin", po::bool_switch(),
       "take lease 'stdin-lease', released when a line arrives on stdin");
  if (auto code = opts.parse(argc, const_cast<const char* const*>(argv)))
    return *code;

  lifetime::host::host h(opts.to_host_options());
  h.add_service<recorder>("first");
  if (opts.value<bool>("slow-start"))
    h.add_service<slow_start>();
  if (opts.value<bool>("deaf-start"))
    h.add_service<deaf_start>();
  if (opts.value<bool>("stuck-stop"))
    h.add_service<stuck_stop>();
  if (opts.value<bool>("blocking-stop"))
    h.add_service<blocking_stop>();
  h.add_service<recorder>("last");

  if (opts.value<bool>("callback-throw")) {
    h.lifetime().on_stopping("throwing-callback", [] {
      spdlog::info("throwing-callback: throwing");
      throw std::runtime_error("callback exploded");
    });
    h.lifetime().on_stopping("after-callback", [] { spdlog::info("after-callback ran"); });
  }

  std::optional<lifetime::shutdown_lease> lease;
  if (opts.value<bool>("lease-until-stdin")) {
    lease.emplace(h.lifetime().delay_shutdown("stdin-lease", std::chrono::hours(1)));
    std::thread([&h, &lease] {
      std::string line;
      if (read_line_from_stdin(line)) {
        asio::post(h.get_executor(), [&lease] {
          spdlog::info("releasing stdin-lease");
          lease->release();
        });
      }
    }).detach();
  }
  auto started =
      h.lifetime().started().register_callback([] { spdlog::info("ready: all services started"); });
  auto stopped =
      h.lifetime().stopped().register_callback([] { spdlog::info("lifetime: stopped fired"); });
  return h.run();
}
