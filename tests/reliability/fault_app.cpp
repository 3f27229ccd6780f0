// SPDX-License-Identifier: MIT
// A host program for the fault matrix (fault_matrix_test.cpp): one misbehaving piece of user code
// among well-behaved services, chosen with `--site NAME --fault KIND`.
//
// Sites: started-callback, stopping-callback, stopped-callback (a callback registered on the
// token, named "culprit-callback" with lifetime::named), on-stopping (on_stopping
// "culprit-callback"), lease (delay_shutdown "culprit-lease", never released), service.starting,
// service.start, service.started, service.stopping, service.stop, service.stopped (that hook of
// the hosted service "culprit"), background.run (run() of the background service "culprit"),
// io-handler (a handler posted on an I/O thread when the stop begins), destructor (the destructor
// of the service "culprit"; run() returns instead of exiting so that destructors run), none.
// Kinds: block (blocks its thread forever), await (awaits something that never comes; in a
// synchronous site, waits on a future never set), throw (throws std::runtime_error "fault
// injected"; background.run throws once its token fired), ignore-token (keeps working in 10 ms
// steps and never looks at its token).
//
// The well-behaved services "first", "worker" (background) and "last" log "hook: <name>.<hook>()".
// The culprit logs "fault: <site> <kind> begins" when it starts misbehaving; "ready: all services
// started" is logged from a started() callback once the host runs.
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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
using namespace std::chrono_literals;

namespace {

struct fault {
  std::string site;
  std::string kind;  ///< block, await, throw, ignore-token

  bool at(std::string_view where) const { return site == where; }
  void announce() const { spdlog::info("fault: {} {} begins", site, kind); }
};

/// Misbehaves on the calling thread: never returns, or throws.
void misbehave(const fault& f) {
  f.announce();
  if (f.kind == "throw")
    throw std::runtime_error("fault injected");
  if (f.kind == "await") {
    std::promise<void> never;
    never.get_future().wait();
  }
  for (;;)  // block: one long sleep at a time; ignore-token: short steps, never checking
    std::this_thread::sleep_for(f.kind == "block" ? std::chrono::milliseconds(1h) : 10ms);
}

/// Misbehaves in a coroutine: blocks its thread, awaits forever, throws, or keeps stepping.
asio::awaitable<void> misbehave_async(const fault& f) {
  if (f.kind == "block" || f.kind == "throw")
    misbehave(f);
  f.announce();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  if (f.kind == "await") {
    timer.expires_at(asio::steady_timer::time_point::max());
    co_await timer.async_wait(asio::use_awaitable);
  }
  for (;;) {
    timer.expires_after(10ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

void log_hook(std::string_view service, const char* hook) {
  spdlog::info("hook: {}.{}()", service, hook);
}

/// A hosted service that logs its hooks, and misbehaves in the one `fault` names.
class service : public lifetime::host::hosted_service {
 public:
  service(std::string name, fault f) : name_(std::move(name)), fault_(std::move(f)) {}
  ~service() override {
    if (fault_.at("destructor"))
      misbehave(fault_);
  }
  std::string_view name() const noexcept override { return name_; }
  asio::awaitable<void> starting(cancellation_token) override { co_await hook("starting"); }
  asio::awaitable<void> start(cancellation_token) override { co_await hook("start"); }
  asio::awaitable<void> started() override { co_await hook("started"); }
  asio::awaitable<void> stopping() override { co_await hook("stopping"); }
  asio::awaitable<void> stop(cancellation_token) override { co_await hook("stop"); }
  asio::awaitable<void> stopped() override { co_await hook("stopped"); }

 private:
  asio::awaitable<void> hook(const char* name) {
    log_hook(name_, name);
    if (fault_.at(std::string("service.") + name))
      co_await misbehave_async(fault_);
  }

  std::string name_;
  fault fault_;
};

/// A background service whose run() waits for its token, or misbehaves if `fault` says so.
class worker : public lifetime::host::background_service {
 public:
  worker(std::string name, fault f) : name_(std::move(name)), fault_(std::move(f)) {}
  std::string_view name() const noexcept override { return name_; }
  asio::awaitable<void> run(cancellation_token token) override {
    log_hook(name_, "run");
    const bool culprit = fault_.at("background.run");
    if (culprit && fault_.kind != "throw")
      co_await misbehave_async(fault_);
    co_await lifetime::async_wait_cancelled(token, co_await asio::this_coro::executor,
                                            asio::use_awaitable);
    spdlog::info("hook: {}.run() saw its token fire", name_);
    if (culprit)
      co_await misbehave_async(fault_);
  }
  asio::awaitable<void> stop(cancellation_token) override {
    log_hook(name_, "stop");
    co_return;
  }

 private:
  std::string name_;
  fault fault_;
};

/// Registers `callback` on `token`; the registration lives as long as the pointer.
template <class F>
std::shared_ptr<void> register_on(const cancellation_token& token, F&& callback) {
  using registration = decltype(token.register_callback(std::forward<F>(callback)));
  return std::shared_ptr<registration>(
      new registration(token.register_callback(std::forward<F>(callback))));
}

}  // namespace

int main(int argc, char* argv[]) {
  lifetime::host::options opts("fault_app", "1.0.0");
  opts.add_options()                                                                           //
      ("site", po::value<std::string>()->default_value("none"), "where user code misbehaves")  //
      ("fault", po::value<std::string>()->default_value("block"),
       "how: block, await, throw, ignore-token")  //
      ("threads", po::value<unsigned>()->default_value(2), "I/O threads");
  if (auto code = opts.parse(argc, const_cast<const char* const*>(argv)))
    return *code;
  const fault f{opts.value<std::string>("site"), opts.value<std::string>("fault")};

  auto host_options = opts.to_host_options();
  host_options.threads = opts.value<unsigned>("threads");
  host_options.exit_when_stopped = !f.at("destructor");
  lifetime::host::host h(host_options);
  const fault none{"none", f.kind};
  h.add_service<service>("first", none);
  h.add_service<worker>(f.at("background.run") ? "culprit" : "worker", f);
  if (f.site.starts_with("service.") || f.at("destructor"))
    h.add_service<service>("culprit", f);
  h.add_service<service>("last", none);

  auto& app = h.lifetime();
  std::vector<std::shared_ptr<void>> registrations;
  auto culprit_callback = lifetime::named("culprit-callback", [f] { misbehave(f); });
  if (f.at("started-callback"))
    registrations.push_back(register_on(app.started(), culprit_callback));
  if (f.at("stopping-callback"))
    registrations.push_back(register_on(app.stopping(), culprit_callback));
  if (f.at("stopped-callback"))
    registrations.push_back(register_on(app.stopped(), culprit_callback));
  if (f.at("on-stopping"))
    app.on_stopping("culprit-callback", [f](cancellation_token) { misbehave(f); });
  std::optional<lifetime::shutdown_lease> lease;
  if (f.at("lease")) {
    lease.emplace(app.delay_shutdown("culprit-lease", 1h));
    f.announce();
  }
  if (f.at("io-handler")) {
    registrations.push_back(register_on(app.stopping(), lifetime::named("post-io-handler", [&h, f] {
                                          asio::post(h.get_executor(), [f] { misbehave(f); });
                                        })));
  }
  // Registered after the culprit: the callbacks of a token run newest first.
  registrations.push_back(register_on(app.started(), lifetime::named("ready", [] {
                                        spdlog::info("ready: all services started");
                                      })));
  const int code = h.run();
  spdlog::info("main: run() returned {}", code);
  return code;
}
