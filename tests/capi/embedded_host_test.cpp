// SPDX-License-Identifier: MIT
// The C ABI's embedded host: hooks run inside lifetime_host_poll() on the polling thread, in the
// documented order; completions may come from any thread; the budget still bounds the stop.
#include <lifetime/lifetime.h>

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct journal {
  std::mutex mutex;
  std::vector<std::string> entries;
  std::thread::id poller = std::this_thread::get_id();
  std::atomic<bool> off_thread{false};
  void add(const std::string& entry) {
    std::lock_guard lock(mutex);
    entries.push_back(entry);
  }
};

const char* hook_name(int kind) {
  static const char* names[] = {"starting", "start",   "started", "stopping",
                                "stop",     "stopped", "reload",  "run"};
  return kind >= 0 && kind < 8 ? names[kind] : "?";
}

/// A synchronous hook: records itself (and whether it ran on the polling thread), completes.
void sync_hook(void* user, lifetime_hook* call) {
  auto* j = static_cast<journal*>(user);
  if (std::this_thread::get_id() != j->poller)
    j->off_thread = true;
  j->add(hook_name(lifetime_hook_kind(call)));
  lifetime_hook_complete(call, nullptr);
}

lifetime_service make_service(journal& j, const char* name) {
  lifetime_service s{};
  s.struct_size = sizeof s;
  s.name = name;
  s.user = &j;
  s.starting = s.start = s.started = s.stopping = s.stop = s.stopped = sync_hook;
  return s;
}

lifetime_host_options budget(int64_t ms) {
  lifetime_host_options o;
  lifetime_host_options_init(&o);
  o.shutdown_timeout_ms = ms;
  o.name = "embedded-test";
  return o;
}

struct exit_record {
  std::atomic<int> code{-1};
  std::atomic<int> calls{0};
};
void on_exit(void* user, int code) {
  auto* e = static_cast<exit_record*>(user);
  e->code = code;
  ++e->calls;
}

/// The foreign loop's other event source: an eventfd that token callbacks (which run on the
/// host's thread, not the loop's) write to, so the loop wakes when the host has started.
class wake_on_token {
 public:
  explicit wake_on_token(lifetime_app* app) : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    lifetime_token* started = nullptr;
    REQUIRE(lifetime_app_started(app, &started) == LIFETIME_OK);
    REQUIRE(lifetime_token_register(started, wake, this, &registration_) == LIFETIME_OK);
    lifetime_token_release(started);
  }
  wake_on_token(const wake_on_token&) = delete;
  wake_on_token& operator=(const wake_on_token&) = delete;
  ~wake_on_token() {
    lifetime_registration_release(registration_);
    ::close(fd_);
  }
  int fd() const noexcept { return fd_; }

 private:
  static void wake(void* user, lifetime_reason) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(static_cast<wake_on_token*>(user)->fd_, &one, sizeof one);
  }
  int fd_;
  lifetime_registration* registration_ = nullptr;
};

/// The foreign loop: waits on the host's fd (and `extra_fd`) and polls until `done()` or the
/// timeout.
template <class Done>
bool drive(lifetime_host* host, Done done, std::chrono::milliseconds timeout, int extra_fd = -1) {
  const auto deadline = clock_type::now() + timeout;
  while (!done()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0)
      return false;
    pollfd watch[2] = {{lifetime_host_fd(host), POLLIN, 0}, {extra_fd, POLLIN, 0}};
    ::poll(watch, extra_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    lifetime_host_poll(host);
  }
  return true;
}

/// Drives `host` until its application has started.
bool drive_until_started(lifetime_host* host, const wake_on_token& started) {
  lifetime_app* app = lifetime_host_app(host);
  return drive(
      host, [&] { return lifetime_app_state(app) == LIFETIME_STATE_STARTED; },
      std::chrono::seconds(10), started.fd());
}

}  // namespace

TEST_CASE("an embedded host runs its C hooks in order on the polling thread and exits 0") {
  journal j;
  exit_record exit;
  lifetime_host* host = nullptr;
  const auto options = budget(5000);
  REQUIRE(lifetime_host_create_embedded(&options, &host) == LIFETIME_OK);
  REQUIRE(lifetime_host_fd(host) >= 0);
  auto a = make_service(j, "a");
  auto b = make_service(j, "b");
  REQUIRE(lifetime_host_add_service(host, &a) == LIFETIME_OK);
  REQUIRE(lifetime_host_add_service(host, &b) == LIFETIME_OK);
  wake_on_token started(lifetime_host_app(host));
  REQUIRE(lifetime_host_start(host, on_exit, &exit) == LIFETIME_OK);
  CHECK(lifetime_host_add_service(host, &a) == LIFETIME_ERROR_STATE);

  lifetime_app* app = lifetime_host_app(host);
  REQUIRE(drive_until_started(host, started));
  CHECK(lifetime_app_stop(app, LIFETIME_REASON_APPLICATION_STOPPING) == 1);
  REQUIRE(drive(
      host, [&] { return exit.calls.load() == 1; }, std::chrono::seconds(10)));
  CHECK(exit.code == 0);
  CHECK(lifetime_host_exit_code(host) == 0);
  CHECK(lifetime_app_state(app) == LIFETIME_STATE_STOPPED);
  CHECK_FALSE(j.off_thread.load());
  lifetime_host_release(host);
  const std::vector<std::string> expected{"starting", "starting", "start",    "start",
                                          "started",  "started",  "stopping", "stopping",
                                          "stop",     "stop",     "stopped",  "stopped"};
  CHECK(j.entries == expected);
}

namespace {
struct async_run {
  std::atomic<lifetime_reason> reason{LIFETIME_REASON_NONE};
  lifetime_hook* call = nullptr;
  lifetime_registration* registration = nullptr;
  std::thread completer;
};
/// The token's callback completes the run hook from the cancelling thread.
void complete_on_cancel(void* user, lifetime_reason reason) {
  auto* r = static_cast<async_run*>(user);
  r->reason = reason;
  lifetime_hook_complete(r->call, nullptr);
}
void run_until_cancelled(void* user, lifetime_hook* call) {
  auto* r = static_cast<async_run*>(user);
  r->call = call;
  CHECK(lifetime_token_register(lifetime_hook_token(call), complete_on_cancel, r,
                                &r->registration) == LIFETIME_OK);
}
void complete_later(void* user, lifetime_hook* call) {
  auto* r = static_cast<async_run*>(user);
  r->completer = std::thread([call] { lifetime_hook_complete(call, nullptr); });
}
}  // namespace

TEST_CASE("a run hook completed from the cancelling thread gets the stop's reason", "[threads]") {
  async_run r;
  exit_record exit;
  lifetime_host* host = nullptr;
  const auto options = budget(5000);
  REQUIRE(lifetime_host_create_embedded(&options, &host) == LIFETIME_OK);
  lifetime_service s{};
  s.struct_size = sizeof s;
  s.name = "worker";
  s.user = &r;
  s.run = run_until_cancelled;
  s.stop = complete_later;  // completed on a thread of its own
  REQUIRE(lifetime_host_add_service(host, &s) == LIFETIME_OK);
  REQUIRE(lifetime_host_start(host, on_exit, &exit) == LIFETIME_OK);
  lifetime_app* app = lifetime_host_app(host);
  REQUIRE(drive(
      host, [&] { return r.call != nullptr; }, std::chrono::seconds(10)));
  lifetime_app_stop(app, LIFETIME_REASON_USER + 1);
  REQUIRE(drive(
      host, [&] { return exit.calls.load() == 1; }, std::chrono::seconds(10)));
  CHECK(r.reason == LIFETIME_REASON_USER + 1);
  CHECK(exit.code == 0);
  r.completer.join();
  lifetime_registration_release(r.registration);
  lifetime_host_release(host);
}

namespace {
void fail_start(void*, lifetime_hook* call) {
  lifetime_hook_complete(call, "cannot bind");
}
}  // namespace

TEST_CASE("a start hook that fails makes the embedded host exit with code 1") {
  exit_record exit;
  lifetime_host* host = nullptr;
  const auto options = budget(5000);
  REQUIRE(lifetime_host_create_embedded(&options, &host) == LIFETIME_OK);
  lifetime_service s{};
  s.struct_size = sizeof s;
  s.name = "failing";
  s.start = fail_start;
  REQUIRE(lifetime_host_add_service(host, &s) == LIFETIME_OK);
  REQUIRE(lifetime_host_start(host, on_exit, &exit) == LIFETIME_OK);
  REQUIRE(drive(
      host, [&] { return exit.calls.load() == 1; }, std::chrono::seconds(10)));
  CHECK(exit.code == 1);
  lifetime_host_release(host);
}

namespace {
void never_complete(void* user, lifetime_hook* call) {
  *static_cast<lifetime_hook**>(user) = call;
}
}  // namespace

TEST_CASE("a stop hook that never completes is abandoned at the budget with exit code 70") {
  lifetime_hook* abandoned = nullptr;
  exit_record exit;
  lifetime_host* host = nullptr;
  const auto options = budget(300);
  REQUIRE(lifetime_host_create_embedded(&options, &host) == LIFETIME_OK);
  lifetime_service s{};
  s.struct_size = sizeof s;
  s.name = "stuck";
  s.user = &abandoned;
  s.stop = never_complete;
  REQUIRE(lifetime_host_add_service(host, &s) == LIFETIME_OK);
  wake_on_token started(lifetime_host_app(host));
  REQUIRE(lifetime_host_start(host, on_exit, &exit) == LIFETIME_OK);
  lifetime_app* app = lifetime_host_app(host);
  REQUIRE(drive_until_started(host, started));
  const auto stop_at = clock_type::now();
  lifetime_app_stop(app, LIFETIME_REASON_APPLICATION_STOPPING);
  REQUIRE(drive(
      host, [&] { return exit.calls.load() == 1; }, std::chrono::seconds(10)));
  const auto took = clock_type::now() - stop_at;
  CHECK(exit.code == 70);
  CHECK(took >= std::chrono::milliseconds(250));
  CHECK(took < std::chrono::milliseconds(300 + 400));
  REQUIRE(abandoned != nullptr);
  CHECK(lifetime_token_is_cancelled(lifetime_hook_token(abandoned)) == 1);
  lifetime_host_release(host);
  lifetime_hook_complete(abandoned, nullptr);  // after the host is gone: only frees
}

namespace {
struct stopping_work {
  std::atomic<bool> ran_elsewhere{false};
  std::thread::id poller = std::this_thread::get_id();
  lifetime_lease* lease = nullptr;
};
void stopping_callback(void* user, const lifetime_token* token) {
  auto* w = static_cast<stopping_work*>(user);
  w->ran_elsewhere = std::this_thread::get_id() != w->poller;
  (void)lifetime_token_is_cancelled(token);
  lifetime_lease_release(w->lease);  // the lease held the stop until now
}
int destroyed = 0;
void count_destroy(void*) {
  ++destroyed;
}
}  // namespace

TEST_CASE("a named stopping callback runs off the polling thread and a lease holds the stop") {
  stopping_work w;
  exit_record exit;
  lifetime_host* host = nullptr;
  const auto options = budget(5000);
  REQUIRE(lifetime_host_create_embedded(&options, &host) == LIFETIME_OK);
  lifetime_app* app = lifetime_host_app(host);
  REQUIRE(lifetime_app_delay_shutdown(app, "flush", 4000, &w.lease) == LIFETIME_OK);
  REQUIRE(lifetime_app_on_stopping(app, "release-flush", stopping_callback, &w, -1) == LIFETIME_OK);
  wake_on_token started(lifetime_host_app(host));
  REQUIRE(lifetime_host_start(host, on_exit, &exit) == LIFETIME_OK);
  REQUIRE(drive_until_started(host, started));
  const auto stop_at = clock_type::now();
  lifetime_app_stop(app, LIFETIME_REASON_APPLICATION_STOPPING);
  REQUIRE(drive(
      host, [&] { return exit.calls.load() == 1; }, std::chrono::seconds(10)));
  CHECK(exit.code == 0);
  CHECK(w.ran_elsewhere.load());
  CHECK(clock_type::now() - stop_at < std::chrono::seconds(3));  // the lease did not expire
  lifetime_host_release(host);
}

TEST_CASE("releasing a running embedded host stops it, runs its hooks, then destroys services") {
  journal j;
  destroyed = 0;
  lifetime_host* host = nullptr;
  const auto options = budget(5000);
  REQUIRE(lifetime_host_create_embedded(&options, &host) == LIFETIME_OK);
  auto s = make_service(j, "s");
  s.destroy = count_destroy;
  REQUIRE(lifetime_host_add_service(host, &s) == LIFETIME_OK);
  wake_on_token started(lifetime_host_app(host));
  REQUIRE(lifetime_host_start(host, nullptr, nullptr) == LIFETIME_OK);
  REQUIRE(drive_until_started(host, started));
  lifetime_host_release(host);
  CHECK(destroyed == 1);
  REQUIRE(j.entries.size() == 6);
  CHECK(j.entries.back() == "stopped");
}

TEST_CASE("host calls in the wrong mode fail with a state error") {
  lifetime_host* host = nullptr;
  const auto options = budget(1000);
  REQUIRE(lifetime_host_create_embedded(&options, &host) == LIFETIME_OK);
  CHECK(lifetime_host_run(host) == -1);
  CHECK(std::string(lifetime_last_error()).find("embedded") != std::string::npos);
  lifetime_host_options bad = options;
  bad.struct_size = 8;
  lifetime_host* other = nullptr;
  CHECK(lifetime_host_create_embedded(&bad, &other) == LIFETIME_ERROR_INVALID_ARGUMENT);
  CHECK(other == nullptr);
  lifetime_host_release(host);
}
