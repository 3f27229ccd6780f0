// SPDX-License-Identifier: MIT
// The C ABI's cancellation: each guarantee of <lifetime/lifetime.h> as a case.
#include <lifetime/lifetime.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace {

struct recorder {
  std::atomic<int> calls{0};
  std::atomic<lifetime_reason> reason{LIFETIME_REASON_NONE};
  std::atomic<std::thread::id> thread{};
};

void record(void* user, lifetime_reason reason) {
  auto* r = static_cast<recorder*>(user);
  r->reason = reason;
  r->thread = std::this_thread::get_id();
  ++r->calls;
}

struct source_ptr {
  lifetime_source* p = nullptr;
  ~source_ptr() { lifetime_source_release(p); }
};
struct token_ptr {
  lifetime_token* p = nullptr;
  ~token_ptr() { lifetime_token_release(p); }
};

/// A manual event with a timed wait (no sleeps as synchronisation).
class event {
 public:
  void set() {
    std::lock_guard lock(mutex_);
    set_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return set_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool set_ = false;
};

}  // namespace

TEST_CASE("cancel runs a registered callback once on the cancelling thread with the reason") {
  source_ptr source;
  REQUIRE(lifetime_source_create(LIFETIME_NO_DEADLINE, &source.p) == LIFETIME_OK);
  token_ptr token;
  REQUIRE(lifetime_source_token(source.p, &token.p) == LIFETIME_OK);
  recorder r;
  lifetime_registration* registration = nullptr;
  REQUIRE(lifetime_token_register(token.p, record, &r, &registration) == LIFETIME_OK);
  CHECK(lifetime_registration_is_registered(registration) == 1);
  CHECK(lifetime_token_is_cancelled(token.p) == 0);

  CHECK(lifetime_source_cancel(source.p, LIFETIME_REASON_CLIENT_DISCONNECTED) == 1);
  CHECK(lifetime_source_cancel(source.p, LIFETIME_REASON_RESTART) == 0);
  CHECK(r.calls == 1);
  CHECK(r.reason == LIFETIME_REASON_CLIENT_DISCONNECTED);
  CHECK(r.thread.load() == std::this_thread::get_id());
  CHECK(lifetime_token_is_cancelled(token.p) == 1);
  CHECK(lifetime_token_reason(token.p) == LIFETIME_REASON_CLIENT_DISCONNECTED);
  CHECK(std::strcmp(lifetime_reason_name(lifetime_token_reason(token.p)), "client_disconnected") ==
        0);
  CHECK(lifetime_registration_is_registered(registration) == 0);
  lifetime_registration_release(registration);
}

TEST_CASE("registering on a cancelled token runs the callback inline before the call returns") {
  source_ptr source;
  REQUIRE(lifetime_source_create(LIFETIME_NO_DEADLINE, &source.p) == LIFETIME_OK);
  lifetime_source_cancel(source.p, LIFETIME_REASON_USER + 7);
  token_ptr token;
  REQUIRE(lifetime_source_token(source.p, &token.p) == LIFETIME_OK);
  recorder r;
  lifetime_registration* registration = nullptr;
  REQUIRE(lifetime_token_register(token.p, record, &r, &registration) == LIFETIME_OK);
  CHECK(r.calls == 1);
  CHECK(r.reason == LIFETIME_REASON_USER + 7);
  CHECK(std::strcmp(lifetime_reason_name(r.reason), "user") == 0);
  lifetime_registration_release(registration);
}

TEST_CASE("a released registration is never called") {
  source_ptr source;
  REQUIRE(lifetime_source_create(LIFETIME_NO_DEADLINE, &source.p) == LIFETIME_OK);
  token_ptr token;
  REQUIRE(lifetime_source_token(source.p, &token.p) == LIFETIME_OK);
  recorder r;
  lifetime_registration* registration = nullptr;
  REQUIRE(lifetime_token_register(token.p, record, &r, &registration) == LIFETIME_OK);
  lifetime_registration_unregister(registration);
  lifetime_registration_unregister(registration);  // idempotent
  lifetime_source_cancel(source.p, LIFETIME_REASON_REQUESTED);
  CHECK(r.calls == 0);
  lifetime_registration_release(registration);
}

TEST_CASE("the NULL token is never cancelled and its registration never runs") {
  CHECK(lifetime_token_is_cancelled(nullptr) == 0);
  CHECK(lifetime_token_can_be_cancelled(nullptr) == 0);
  CHECK(lifetime_token_reason(nullptr) == LIFETIME_REASON_NONE);
  CHECK(lifetime_token_deadline(nullptr) == LIFETIME_NO_DEADLINE);
  recorder r;
  lifetime_registration* registration = nullptr;
  REQUIRE(lifetime_token_register(nullptr, record, &r, &registration) == LIFETIME_OK);
  CHECK(lifetime_registration_is_registered(registration) == 0);
  lifetime_registration_release(registration);
  CHECK(r.calls == 0);
}

TEST_CASE("a token whose sources are all released can no longer be cancelled") {
  token_ptr token;
  {
    source_ptr source;
    REQUIRE(lifetime_source_create(LIFETIME_NO_DEADLINE, &source.p) == LIFETIME_OK);
    REQUIRE(lifetime_source_token(source.p, &token.p) == LIFETIME_OK);
    CHECK(lifetime_token_can_be_cancelled(token.p) == 1);
  }
  CHECK(lifetime_token_can_be_cancelled(token.p) == 0);
  CHECK(lifetime_token_is_cancelled(token.p) == 0);
}

TEST_CASE("a linked source fires with its parent's reason and inherits the earliest deadline") {
  const int64_t now = lifetime_now_ns();
  source_ptr a, b;
  REQUIRE(lifetime_source_create(now + 5'000'000'000, &a.p) == LIFETIME_OK);
  REQUIRE(lifetime_source_create(LIFETIME_NO_DEADLINE, &b.p) == LIFETIME_OK);
  token_ptr ta, tb;
  REQUIRE(lifetime_source_token(a.p, &ta.p) == LIFETIME_OK);
  REQUIRE(lifetime_source_token(b.p, &tb.p) == LIFETIME_OK);
  const lifetime_token* parents[] = {ta.p, nullptr, tb.p};
  source_ptr linked;
  REQUIRE(lifetime_source_create_linked(parents, 3, now + 9'000'000'000, &linked.p) == LIFETIME_OK);
  CHECK(lifetime_source_deadline(linked.p) == now + 5'000'000'000);
  token_ptr child;
  REQUIRE(lifetime_source_token(linked.p, &child.p) == LIFETIME_OK);
  CHECK(lifetime_token_deadline(child.p) == now + 5'000'000'000);
  recorder r;
  lifetime_registration* registration = nullptr;
  REQUIRE(lifetime_token_register(child.p, record, &r, &registration) == LIFETIME_OK);

  lifetime_source_cancel(b.p, LIFETIME_REASON_APPLICATION_STOPPING);
  CHECK(r.calls == 1);
  CHECK(lifetime_source_reason(linked.p) == LIFETIME_REASON_APPLICATION_STOPPING);
  CHECK(lifetime_token_is_cancelled(ta.p) == 0);
  lifetime_registration_release(registration);
}

TEST_CASE("deadlines are CLOCK_MONOTONIC nanoseconds") {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t before = int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  const int64_t now = lifetime_now_ns();
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t after = int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  CHECK(before <= now);
  CHECK(now <= after);
}

TEST_CASE("a failing call returns a status and leaves a message, and nothing throws") {
  CHECK(lifetime_source_create(LIFETIME_NO_DEADLINE, nullptr) == LIFETIME_ERROR_INVALID_ARGUMENT);
  CHECK(std::strstr(lifetime_last_error(), "lifetime_source_create") != nullptr);
  CHECK(std::strcmp(lifetime_status_name(LIFETIME_ERROR_INVALID_ARGUMENT), "invalid_argument") ==
        0);
  lifetime_registration* registration = nullptr;
  CHECK(lifetime_token_register(nullptr, nullptr, nullptr, &registration) ==
        LIFETIME_ERROR_INVALID_ARGUMENT);
  CHECK(lifetime_source_create_linked(nullptr, 2, 0, nullptr) == LIFETIME_ERROR_INVALID_ARGUMENT);
}

namespace {
struct self_release {
  lifetime_registration* registration = nullptr;
  int calls = 0;
};
void release_self(void* user, lifetime_reason) {
  auto* s = static_cast<self_release*>(user);
  ++s->calls;
  lifetime_registration_release(s->registration);  // from inside: does not wait
}
}  // namespace

TEST_CASE("a callback may release its own registration without waiting for itself") {
  source_ptr source;
  REQUIRE(lifetime_source_create(LIFETIME_NO_DEADLINE, &source.p) == LIFETIME_OK);
  token_ptr token;
  REQUIRE(lifetime_source_token(source.p, &token.p) == LIFETIME_OK);
  self_release s;
  REQUIRE(lifetime_token_register(token.p, release_self, &s, &s.registration) == LIFETIME_OK);
  lifetime_source_cancel(source.p, LIFETIME_REASON_REQUESTED);
  CHECK(s.calls == 1);
}

namespace {
struct slow_callback {
  event entered;
  event may_leave;
  std::atomic<bool> left{false};
};
void block_until_told(void* user, lifetime_reason) {
  auto* s = static_cast<slow_callback*>(user);
  s->entered.set();
  s->may_leave.wait();
  s->left = true;
}
}  // namespace

TEST_CASE("releasing a registration waits for its callback running on another thread",
          "[threads]") {
  source_ptr source;
  REQUIRE(lifetime_source_create(LIFETIME_NO_DEADLINE, &source.p) == LIFETIME_OK);
  token_ptr token;
  REQUIRE(lifetime_source_token(source.p, &token.p) == LIFETIME_OK);
  slow_callback s;
  lifetime_registration* registration = nullptr;
  REQUIRE(lifetime_token_register(token.p, block_until_told, &s, &registration) == LIFETIME_OK);
  std::thread canceller([&] { lifetime_source_cancel(source.p, LIFETIME_REASON_REQUESTED); });
  REQUIRE(s.entered.wait());
  event released;
  std::atomic<bool> left_before_release{false};
  std::thread releaser([&] {
    lifetime_registration_release(registration);
    left_before_release = s.left.load();
    released.set();
  });
  // While the callback is held, release must not return.
  CHECK_FALSE(released.wait(std::chrono::milliseconds(100)));
  s.may_leave.set();
  CHECK(released.wait());
  releaser.join();
  canceller.join();
  CHECK(left_before_release.load());
}

TEST_CASE("concurrent register and cancel run each callback exactly once", "[threads]") {
  for (int round = 0; round < 200; ++round) {
    source_ptr source;
    REQUIRE(lifetime_source_create(LIFETIME_NO_DEADLINE, &source.p) == LIFETIME_OK);
    token_ptr token;
    REQUIRE(lifetime_source_token(source.p, &token.p) == LIFETIME_OK);
    recorder r;
    lifetime_registration* registration = nullptr;
    std::thread canceller([&] { lifetime_source_cancel(source.p, LIFETIME_REASON_RESTART); });
    REQUIRE(lifetime_token_register(token.p, record, &r, &registration) == LIFETIME_OK);
    canceller.join();
    CHECK(r.calls == 1);
    CHECK(r.reason == LIFETIME_REASON_RESTART);
    lifetime_registration_release(registration);
  }
}
