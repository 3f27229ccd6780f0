// SPDX-License-Identifier: MIT
// A program built on the host, for the process tests: flags select what its services do.
//
// Every hook logs "hook: <service>.<hook>", so tests can assert the order. Services, in
// registration order: "recorder" (plain), "worker" (background), then the optional ones.
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
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
#include <lifetime/named_callback.hpp>

namespace asio = boost::asio;
namespace po = boost::program_options;
using lifetime::cancellation_token;
using lifetime::host::duration_value;

namespace {

std::optional<std::chrono::milliseconds> optional_duration(const lifetime::host::options& opts,
                                                           const std::string& name) {
  if (!opts.has(name))
    return std::nullopt;
  return opts.duration(name);
}

class recorder : public lifetime::host::hosted_service {
 public:
  recorder(std::string name, const lifetime::host::options& opts)
      : name_(std::move(name)), opts_(opts) {}
  ~recorder() override { spdlog::info("hook: {} destroyed", name_); }
  std::string_view name() const noexcept override { return name_; }
  asio::awaitable<void> starting(cancellation_token) override {
    log("starting");
    co_return;
  }
  asio::awaitable<void> start(cancellation_token) override {
    log("start");
    co_return;
  }
  asio::awaitable<void> started() override {
    log("started");
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
    spdlog::info("greeting: {}", opts_.value<std::string>("greeting"));
    co_return;
  }

 private:
  void log(const char* hook) { spdlog::info("hook: {}.{}()", name_, hook); }
  std::string name_;
  const lifetime::host::options& opts_;
};

/// Runs until its token fires; with --background-throw-after, throws after that long.
class worker : public lifetime::host::background_service {
 public:
  explicit worker(std::optional<std::chrono::milliseconds> throw_after)
      : throw_after_(throw_after) {}
  std::string_view name() const noexcept override { return "worker"; }
  asio::awaitable<void> run(cancellation_token token) override {
    spdlog::info("hook: worker.run()");
    auto executor = co_await asio::this_coro::executor;
    if (throw_after_) {
      asio::steady_timer timer(executor, *throw_after_);
      co_await timer.async_wait(asio::use_awaitable);
      throw std::runtime_error("worker exploded");
    }
    co_await lifetime::async_wait_cancelled(token, executor, asio::use_awaitable);
    spdlog::info("worker: token fired ({})", lifetime::to_string(token.reason()));
  }
  asio::awaitable<void> stop(cancellation_token) override {
    spdlog::info("hook: worker.stop()");
    co_return;
  }

 private:
  std::optional<std::chrono::milliseconds> throw_after_;
};

class failing : public lifetime::host::hosted_service {
 public:
  std::string_view name() const noexcept override { return "failing"; }
  asio::awaitable<void> start(cancellation_token) override {
    spdlog::info("hook: failing.start()");
    throw std::runtime_error("cannot bind port 1");
    co_return;
  }
  asio::awaitable<void> stop(cancellation_token) override {
    spdlog::info("hook: failing.stop()");
    co_return;
  }
};

/// Blocks the host's thread in stopping(): only the exit enforcer can end the process.
class wedge : public lifetime::host::hosted_service {
 public:
  std::string_view name() const noexcept override { return "wedge"; }
  asio::awaitable<void> stopping() override {
    spdlog::info("hook: wedge.stopping() blocks its thread");
    std::promise<void>().get_future().wait();
    co_return;
  }
};

/// Holds one in-flight request from start until in_flight_token() fires.
class request_holder : public lifetime::host::hosted_service {
 public:
  explicit request_holder(lifetime::host::host& h) : host_(h) {}
  std::string_view name() const noexcept override { return "requests"; }
  asio::awaitable<void> start(cancellation_token) override {
    holder_ = host_.in_flight().enter();
    registration_.emplace(host_.in_flight_token(), [this](lifetime::cancellation_reason reason) {
      spdlog::info("request cancelled: {}", lifetime::to_string(reason));
      holder_.release();
    });
    co_return;
  }

 private:
  lifetime::host::host& host_;
  lifetime::gate::holder holder_;
  std::optional<
      lifetime::cancellation_registration<std::function<void(lifetime::cancellation_reason)>>>
      registration_;
};

/// stop() ignores its token and never returns (without blocking its thread).
class stuck_stop : public lifetime::host::hosted_service {
 public:
  std::string_view name() const noexcept override { return "stuck"; }
  asio::awaitable<void> stop(cancellation_token) override {
    spdlog::info("hook: stuck.stop() never returns");
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
};

}  // namespace

int main(int argc, char* argv[]) {
  lifetime::host::options opts("host_test_app", "1.2.3");
  opts.add_options()                                                                      //
      ("greeting", po::value<std::string>()->default_value("hello"), "logged on reload")  //
      ("lease-release-after", po::value<duration_value>(),
       "take lease 'test-lease' at start, release it this long after the stop begins")    //
      ("lease-never", po::bool_switch(), "take lease 'test-lease' and never release it")  //
      ("callback-block", po::bool_switch(),
       "register on_stopping callback 'blocking-callback' that never returns")  //
      ("callback-sleep", po::value<duration_value>(),
       "register on_stopping callback 'quick-callback' that returns after this long")  //
      ("token-callback-block", po::bool_switch(),
       "register 'flush journal' directly on stopping(): it blocks forever")  //
      ("token-callback-busy", po::value<duration_value>(),
       "register 'flush journal' directly on stopping(): it works this long, then returns")     //
      ("stuck-stop", po::bool_switch(), "add service 'stuck' whose stop() never returns")       //
      ("fail-start", po::bool_switch(), "add service 'failing' whose start() throws")           //
      ("background-throw-after", po::value<duration_value>(), "worker throws after this long")  //
      ("wedge", po::bool_switch(), "add service 'wedge' whose stopping() blocks its thread")    //
      ("hold-request", po::bool_switch(), "hold one in-flight request until phase 5")           //
      ("return-from-run", po::bool_switch(),
       "exit_when_stopped off: run() returns and the host is destroyed before main returns")  //
      ("block-after-run", po::bool_switch(),
       "with --return-from-run: block forever once run() has returned")  //
      ("wedge-connection-thread", po::value<duration_value>(),
       "run 2 threads and, once started, block the last connection thread this long");
  if (auto code = opts.parse(argc, const_cast<const char* const*>(argv)))
    return *code;

  auto host_options = opts.to_host_options();
  if (opts.value<bool>("return-from-run"))
    host_options.exit_when_stopped = false;
  const auto wedge_for = optional_duration(opts, "wedge-connection-thread");
  if (wedge_for)
    host_options.threads = 2;
  std::optional<lifetime::host::host> owned(std::in_place, host_options);
  lifetime::host::host& h = *owned;
  std::optional<lifetime::cancellation_registration<std::function<void()>>> wedging;
  if (wedge_for) {
    wedging.emplace(h.lifetime().started(), std::function<void()>([&h, wedge_for] {
                      boost::asio::post(h.connection_executors().back(), [wedge_for] {
                        spdlog::info("wedging connection thread 1");
                        std::this_thread::sleep_for(*wedge_for);  // a handler that blocks
                        spdlog::info("connection thread 1 runs again");
                      });
                    }));
  }
  h.add_service<recorder>("recorder", opts);
  h.add_service<worker>(optional_duration(opts, "background-throw-after"));
  if (opts.value<bool>("fail-start"))
    h.add_service<failing>();
  if (opts.value<bool>("wedge"))
    h.add_service<wedge>();
  if (opts.value<bool>("stuck-stop"))
    h.add_service<stuck_stop>();
  if (opts.value<bool>("hold-request"))
    h.add_service<request_holder>(h);
  h.add_service<recorder>("last", opts);

  std::optional<lifetime::shutdown_lease> lease;
  std::optional<asio::steady_timer> lease_timer;
  if (opts.value<bool>("lease-never") || opts.has("lease-release-after")) {
    lease.emplace(h.lifetime().delay_shutdown("test-lease", std::chrono::hours(1)));
  }
  std::optional<lifetime::cancellation_registration<std::function<void()>>> on_stop;
  if (auto after = optional_duration(opts, "lease-release-after")) {
    lease_timer.emplace(h.get_executor());
    on_stop.emplace(h.lifetime().stopping(), std::function<void()>([&, after] {
                      asio::post(h.get_executor(), [&, after] {
                        lease_timer->expires_after(*after);
                        lease_timer->async_wait([&](boost::system::error_code) {
                          spdlog::info("releasing test-lease");
                          lease->release();
                        });
                      });
                    }));
  }
  if (opts.value<bool>("callback-block")) {
    h.lifetime().on_stopping("blocking-callback", [] {
      spdlog::info("blocking-callback: blocking forever");
      std::promise<void>().get_future().wait();
    });
  }
  if (auto sleep = optional_duration(opts, "callback-sleep")) {
    h.lifetime().on_stopping("quick-callback", [sleep](cancellation_token token) {
      std::mutex m;
      std::condition_variable cv;
      std::unique_lock lock(m);
      cv.wait_for(lock, *sleep, [&] { return token.is_cancellation_requested(); });
      spdlog::info("quick-callback: done");
    });
  }
  std::optional<
      lifetime::cancellation_registration<lifetime::named_callback<std::function<void()>>>>
      flush;
  if (opts.value<bool>("token-callback-block")) {
    flush.emplace(h.lifetime().stopping(),
                  lifetime::named("flush journal", std::function<void()>([] {
                                    spdlog::info("flush journal: blocking forever");
                                    std::promise<void>().get_future().wait();
                                  })));
  } else if (auto busy = optional_duration(opts, "token-callback-busy")) {
    flush.emplace(h.lifetime().stopping(),
                  lifetime::named("flush journal", std::function<void()>([busy] {
                                    spdlog::info("flush journal: working");
                                    std::this_thread::sleep_for(*busy);  // the work it does
                                    spdlog::info("flush journal: done");
                                  })));
  }
  auto stopped =
      h.lifetime().stopped().register_callback([] { spdlog::info("lifetime: stopped fired"); });
  const int code = h.run();
  spdlog::info("run() returned {}", code);
  if (opts.value<bool>("block-after-run")) {
    spdlog::info("blocking after run()");
    std::promise<void>().get_future().wait();
  }
  flush.reset();
  on_stop.reset();
  lease_timer.reset();
  lease.reset();
  stopped.unregister();
  wedging.reset();
  owned.reset();
  spdlog::info("host destroyed");
  return code;
}
