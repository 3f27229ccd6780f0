// SPDX-License-Identifier: MIT
// The host's sequencing, in-process: embedded hosts on an io_context the test drives, services
// that record their hooks, stops requested by tokens. Nothing waits on a wall clock except the
// cases about the budget itself, which wait for the event with a bound.
#include <lifetime/host/host.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <lifetime/asio.hpp>
#include <lifetime/host/nested_host.hpp>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using lifetime::cancellation_token;
using lifetime::host::host;
using lifetime::host::host_options;

namespace {

using journal = std::vector<std::string>;

/// Records every hook as "<name>.<hook>", plus what the lifetime said at that moment.
class recording_service : public lifetime::host::hosted_service {
 public:
  recording_service(std::string name, journal& log, lifetime::application_lifetime& lifetime)
      : name_(std::move(name)), log_(log), lifetime_(lifetime) {}

  std::string_view name() const noexcept override { return name_; }
  asio::awaitable<void> starting(cancellation_token) override { return record("starting"); }
  asio::awaitable<void> start(cancellation_token) override {
    if (fail_in_start)
      throw std::runtime_error(name_ + " cannot start");
    return record("start");
  }
  asio::awaitable<void> started() override {
    // started() fires after every service's started().
    CHECK_FALSE(lifetime_.started().is_cancellation_requested());
    return record("started");
  }
  asio::awaitable<void> stopping() override {
    CHECK(lifetime_.stopping().is_cancellation_requested());
    return record("stopping");
  }
  asio::awaitable<void> stop(cancellation_token) override { return record("stop"); }
  asio::awaitable<void> stopped() override {
    CHECK_FALSE(lifetime_.stopped().is_cancellation_requested());
    return record("stopped");
  }
  asio::awaitable<void> reload() override { return record("reload"); }

  bool fail_in_start = false;

 private:
  asio::awaitable<void> record(const char* hook) {
    log_.push_back(name_ + "." + hook);
    co_return;
  }
  std::string name_;
  journal& log_;
  lifetime::application_lifetime& lifetime_;
};

/// run(token) records, waits for its token, records again; or throws when told to.
class recording_worker : public lifetime::host::background_service {
 public:
  recording_worker(journal& log, bool throw_at_once) : log_(log), throw_at_once_(throw_at_once) {}
  std::string_view name() const noexcept override { return "worker"; }
  asio::awaitable<void> run(cancellation_token token) override {
    log_.push_back("worker.run");
    if (throw_at_once_)
      throw std::runtime_error("worker failed");
    const auto executor = co_await asio::this_coro::executor;
    co_await lifetime::async_wait_cancelled(token, executor, asio::use_awaitable);
    log_.push_back(std::string("worker.run returns: ") +
                   std::string(lifetime::to_string(token.reason())));
  }
  asio::awaitable<void> stop(cancellation_token) override {
    log_.push_back("worker.stop");
    co_return;
  }

 private:
  journal& log_;
  bool throw_at_once_;
};

host_options quiet_options(std::string name = "test-host") {
  host_options options;
  options.name = std::move(name);
  options.shutdown_timeout = 5s;
  return options;
}

/// Starts `h`, runs `io` until the host has fully stopped (bounded), returns the exit code.
int run_to_exit(asio::io_context& io, host& h) {
  std::optional<int> code;
  h.start([&](int c) { code = c; });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!code && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(100ms);
  }
  REQUIRE(code);
  return *code;
}

/// Stops `h` as soon as it has started.
auto stop_when_started(host& h) {
  return h.lifetime().started().register_callback([&h] { h.lifetime().stop_application(); });
}

}  // namespace

TEST_CASE("hooks run in registration order on the way up and in reverse order on the way down",
          "[host][sequence][threads]") {
  asio::io_context io;
  host h(io, quiet_options());
  journal log;
  h.add_service<recording_service>("a", log, h.lifetime());
  h.add_service<recording_service>("b", log, h.lifetime());
  auto stop = stop_when_started(h);
  bool stopped_fired_at_exit = false;
  std::optional<int> code;
  h.start([&](int c) {
    code = c;
    stopped_fired_at_exit = h.lifetime().stopped().is_cancellation_requested();
  });
  while (!code)
    io.run_one_for(1s);
  CHECK(*code == 0);
  CHECK(stopped_fired_at_exit);
  CHECK(log == journal{"a.starting", "b.starting", "a.start", "b.start", "a.started", "b.started",
                       "b.stopping", "a.stopping", "b.stop", "a.stop", "b.stopped", "a.stopped"});
  CHECK(h.lifetime().state() == lifetime::lifetime_state::stopped);
}

TEST_CASE(
    "a service that fails in start aborts startup, the started ones are stopped in reverse, "
    "and the exit code is 1",
    "[host][sequence][threads]") {
  asio::io_context io;
  host h(io, quiet_options());
  journal log;
  h.add_service<recording_service>("a", log, h.lifetime());
  h.add_service<recording_service>("b", log, h.lifetime());
  h.add_service<recording_service>("c", log, h.lifetime()).fail_in_start = true;
  h.add_service<recording_service>("d", log, h.lifetime());
  CHECK(run_to_exit(io, h) == 1);
  CHECK(log == journal{"a.starting", "b.starting", "c.starting", "d.starting", "a.start", "b.start",
                       "b.stopping", "a.stopping", "b.stop", "a.stop", "b.stopped", "a.stopped"});
  CHECK_FALSE(h.lifetime().started().is_cancellation_requested());
}

TEST_CASE(
    "a background service's token fires when the stop begins, and run() is awaited before "
    "its stop()",
    "[host][sequence][threads]") {
  asio::io_context io;
  host h(io, quiet_options());
  journal log;
  h.add_service<recording_worker>(log, false);
  auto stop = stop_when_started(h);
  CHECK(run_to_exit(io, h) == 0);
  CHECK(log == journal{"worker.run", "worker.run returns: application_stopping", "worker.stop"});
}

TEST_CASE("a background service that throws in-process stops the host with exit code 1",
          "[host][sequence][threads]") {
  asio::io_context io;
  host h(io, quiet_options());
  journal log;
  h.add_service<recording_service>("a", log, h.lifetime());
  h.add_service<recording_worker>(log, true);
  CHECK(run_to_exit(io, h) == 1);
  CHECK(log.back() == "a.stopped");
}

TEST_CASE("a parent token stops an embedded host", "[host][sequence][threads]") {
  asio::io_context io;
  host h(io, quiet_options());
  lifetime::cancellation_source parent;
  h.link_parent(parent.token());
  auto stop = h.lifetime().started().register_callback([&] { parent.cancel(); });
  CHECK(run_to_exit(io, h) == 0);
  CHECK(h.lifetime().stop_reason() == lifetime::cancellation_reason::application_stopping);
}

TEST_CASE("a stop requested before start starts no service and exits 0",
          "[host][sequence][threads]") {
  asio::io_context io;
  host h(io, quiet_options());
  journal log;
  h.add_service<recording_service>("a", log, h.lifetime());
  h.lifetime().stop_application();
  CHECK(run_to_exit(io, h) == 0);
  CHECK(log.empty());
}

TEST_CASE("a nested host stops with its outer host and finishes before the outer reports stopped",
          "[host][sequence][threads]") {
  asio::io_context io;
  host outer(io, quiet_options("outer"));
  journal log;
  outer.add_service<recording_service>("outer-a", log, outer.lifetime());
  auto& nested = outer.add_service<lifetime::host::nested_host>(outer, quiet_options("inner"));
  nested.inner().add_service<recording_service>("inner-a", log, nested.inner().lifetime());
  auto inner_stopped = nested.inner().lifetime().stopped().register_callback(
      [&] { log.push_back("inner lifetime stopped"); });
  auto outer_stopped = outer.lifetime().stopped().register_callback(
      [&] { log.push_back("outer lifetime stopped"); });
  auto stop = stop_when_started(outer);
  CHECK(run_to_exit(io, outer) == 0);
  CHECK(log == journal{"outer-a.starting", "outer-a.start", "inner-a.starting", "inner-a.start",
                       "inner-a.started", "outer-a.started", "inner-a.stopping", "outer-a.stopping",
                       "inner-a.stop", "inner-a.stopped", "inner lifetime stopped", "outer-a.stop",
                       "outer-a.stopped", "outer lifetime stopped"});
}

TEST_CASE("a host linked to another host's lifetime finishes before the other reports stopped",
          "[host][sequence][threads]") {
  asio::io_context io;
  host outer(io, quiet_options("outer"));
  host inner(io, quiet_options("inner"));
  journal log;
  inner.link_parent(outer.lifetime());
  auto inner_stopped =
      inner.lifetime().stopped().register_callback([&] { log.push_back("inner stopped"); });
  auto outer_stopped =
      outer.lifetime().stopped().register_callback([&] { log.push_back("outer stopped"); });
  std::optional<int> inner_code;
  inner.start([&](int c) { inner_code = c; });
  auto stop = stop_when_started(outer);
  CHECK(run_to_exit(io, outer) == 0);
  CHECK(inner_code == 0);
  CHECK(log == journal{"inner stopped", "outer stopped"});
}

TEST_CASE("in-flight work holds the drain; in_flight_token fires only at phase 5",
          "[host][sequence][threads]") {
  asio::io_context io;
  host h(io, quiet_options());
  auto holder = h.in_flight().enter();
  std::optional<int> code;
  h.start([&](int c) { code = c; });
  h.lifetime().stop_application();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!h.stop_accepting_token().is_cancellation_requested() &&
         std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(100ms);
  }
  REQUIRE(h.stop_accepting_token().is_cancellation_requested());
  CHECK(h.in_flight().is_closed());
  CHECK_FALSE(h.in_flight().try_enter());
  io.poll();
  CHECK_FALSE(h.in_flight_token().is_cancellation_requested());
  CHECK_FALSE(code);
  CHECK(h.state_dump().find("phase drain (4/6)") != std::string::npos);
  holder.release();
  while (!code && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(100ms);
  CHECK(code == 0);
  CHECK(h.in_flight_token().reason() == lifetime::cancellation_reason::application_stopping);
}

TEST_CASE("a lease released during the drain lets the stop finish with exit code 0",
          "[host][sequence][threads]") {
  asio::io_context io;
  host h(io, quiet_options());
  auto lease = h.lifetime().delay_shutdown("upload", 1min);
  auto release = h.stop_accepting_token().register_callback([&] { lease.release(); });
  auto stop = stop_when_started(h);
  CHECK(run_to_exit(io, h) == 0);
}

TEST_CASE("a stop() that never completes is abandoned at the budget and the exit code is 70",
          "[host][sequence][threads]") {
  class stuck : public lifetime::host::hosted_service {
   public:
    std::string_view name() const noexcept override { return "stuck"; }
    asio::awaitable<void> stop(cancellation_token) override {
      // Awaits a timer no one fires: it ignores the budget token on purpose.
      const auto executor = co_await asio::this_coro::executor;
      asio::steady_timer never(executor, std::chrono::hours(1));
      co_await never.async_wait(asio::use_awaitable);
    }
  };
  asio::io_context io;
  auto options = quiet_options();
  options.shutdown_timeout = 300ms;
  host h(io, options);
  h.add_service<stuck>();
  auto stop = stop_when_started(h);
  const auto began = std::chrono::steady_clock::now();
  CHECK(run_to_exit(io, h) == 70);
  CHECK(std::chrono::steady_clock::now() - began < 3s);
}

TEST_CASE(
    "a reload calls reload_config then every started service's reload(), only while "
    "running",
    "[host][sequence][threads]") {
  asio::io_context io;
  auto options = quiet_options();
  journal log;
  options.reload_config = [&] { log.push_back("config"); };
  host h(io, options);
  h.add_service<recording_service>("a", log, h.lifetime());
  h.add_service<recording_service>("b", log, h.lifetime());
  h.request_reload();  // not running yet: ignored
  auto reload = h.lifetime().started().register_callback([&] { h.request_reload(); });
  std::optional<int> code;
  h.start([&](int c) { code = c; });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::count(log.begin(), log.end(), "b.reload") == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(100ms);
  }
  h.lifetime().stop_application();
  while (!code && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(100ms);
  CHECK(code == 0);
  const journal expected_reload{"config", "a.reload", "b.reload"};
  const auto first = std::find(log.begin(), log.end(), "config");
  REQUIRE(first != log.end());
  CHECK(journal(first, first + 3) == expected_reload);
  CHECK(std::count(log.begin(), log.end(), "config") == 1);
}

TEST_CASE("the state dump names the phase, the in-flight count, the services and the leases",
          "[host][sequence][threads]") {
  asio::io_context io;
  host h(io, quiet_options());
  journal log;
  h.add_service<recording_service>("a", log, h.lifetime());
  auto lease = h.lifetime().delay_shutdown("upload-42", 1min);
  auto holder = h.in_flight().enter();
  const auto dump = h.state_dump();
  CHECK(dump.find("lifetime starting, phase running") != std::string::npos);
  CHECK(dump.find("in flight: 1") != std::string::npos);
  CHECK(dump.find("service 'a': registered") != std::string::npos);
  CHECK(dump.find("lease 'upload-42': holding") != std::string::npos);
  CHECK(dump.find("(max 1m)") != std::string::npos);
}

TEST_CASE(
    "a lease that outlives its own time box is abandoned at the box, not at the budget, "
    "and the exit code is 70",
    "[host][sequence][threads]") {
  asio::io_context io;
  auto options = quiet_options();
  options.shutdown_timeout = 20s;
  host h(io, options);
  auto lease = h.lifetime().delay_shutdown("slow-upload", 100ms);
  auto stop = stop_when_started(h);
  const auto began = std::chrono::steady_clock::now();
  CHECK(run_to_exit(io, h) == 70);
  CHECK(std::chrono::steady_clock::now() - began < 5s);
}

TEST_CASE("a nested host whose background service throws stops the outer host with exit code 1",
          "[host][sequence][threads]") {
  asio::io_context io;
  host outer(io, quiet_options("outer"));
  journal log;
  outer.add_service<recording_service>("outer-a", log, outer.lifetime());
  auto& nested = outer.add_service<lifetime::host::nested_host>(outer, quiet_options("inner"));
  nested.inner().add_service<recording_worker>(log, true);
  CHECK(run_to_exit(io, outer) == 1);
  CHECK(nested.exit_code() == 1);
  CHECK(log.back() == "outer-a.stopped");
}

TEST_CASE(
    "a request still in flight after its cancellation but answered before the end of the budget "
    "does not make the exit code 70",
    "[host][sequence][threads]") {
  // The request ignores phase 5's cancellation and finishes only when phase 6 stops the services:
  // late, but within the budget.
  class finishes_in_phase_6 : public lifetime::host::hosted_service {
   public:
    explicit finishes_in_phase_6(lifetime::gate::holder& request) : request_(request) {}
    std::string_view name() const noexcept override { return "late-request"; }
    asio::awaitable<void> stop(cancellation_token) override {
      request_.release();
      co_return;
    }

   private:
    lifetime::gate::holder& request_;
  };
  asio::io_context io;
  auto options = quiet_options();
  options.shutdown_timeout = 1s;
  host h(io, options);
  auto request = h.in_flight().enter();
  h.add_service<finishes_in_phase_6>(request);
  auto stop = stop_when_started(h);
  CHECK(run_to_exit(io, h) == 0);
  CHECK(h.in_flight().is_drained());
}

TEST_CASE("a request still in flight at the end of the budget makes the exit code 70",
          "[host][sequence][threads]") {
  asio::io_context io;
  auto options = quiet_options();
  options.shutdown_timeout = 300ms;
  host h(io, options);
  auto request = h.in_flight().enter();
  auto stop = stop_when_started(h);
  CHECK(run_to_exit(io, h) == 70);
  CHECK(h.in_flight().count() == 1);
}

TEST_CASE(
    "an embedder may destroy the host and its io_context once on_exit ran, while an abandoned "
    "stopping callback still runs on a library thread",
    "[host][sequence][threads]") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> returned;
  auto has_returned = returned.get_future();
  {
    auto io = std::make_unique<asio::io_context>();
    auto options = quiet_options();
    options.shutdown_timeout = 400ms;
    auto h = std::make_unique<host>(*io, options);
    h->lifetime().on_stopping("slow flush", [released, &returned] {
      released.wait();
      returned.set_value();
    });
    auto stop = stop_when_started(*h);
    CHECK(run_to_exit(*io, *h) == 70);  // abandoned at its box
    h.reset();
    io.reset();
  }
  // The library's threads (the abandoned worker, the supervisor) touch nothing of the host.
  release.set_value();
  CHECK(has_returned.wait_for(20s) == std::future_status::ready);
}
