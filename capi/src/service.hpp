// SPDX-License-Identifier: MIT
// Internal: a hosted service whose hooks are C callbacks (lifetime_service).
//
// Each hook coroutine (on the host's strand) creates a lifetime_hook, hands the C callback to the
// dispatcher (inline, or queued for the foreign loop), then waits on a timer until
// lifetime_hook_complete() is called from any thread; an error message makes the hook throw
// std::runtime_error, which the host logs with the service's name. A hook the host abandons at
// its deadline leaves its coroutine suspended; the lifetime_hook stays valid until completed,
// and completing it after the host is gone does nothing but free it.
//
// Invariants of hook_state: everything is under `mutex`; `timer`/`executor` are set only while
// the coroutine's frame is alive, so a completion posts to an executor that still exists.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <lifetime/lifetime.h>
#include <lifetime/host/hosted_service.hpp>

#include "dispatch.hpp"
#include "handles.hpp"

namespace lifetime::capi {

struct hook_state {
  hook_state(int kind, cancellation_token token) : kind(kind), token{std::move(token)} {}

  const int kind;
  const lifetime_token token;
  std::mutex mutex;
  bool done = false;
  bool failed = false;
  std::string error;
  boost::asio::steady_timer* timer = nullptr;
  boost::asio::any_io_executor executor;
};

class c_service : public lifetime::host::background_service {
 public:
  /// Copies `service` and its name. @throws std::invalid_argument for a bad struct_size.
  c_service(const lifetime_service& service, dispatcher& dispatch);
  c_service(const c_service&) = delete;
  c_service& operator=(const c_service&) = delete;
  /// Calls the service's destroy(user).
  ~c_service() override;

  std::string_view name() const noexcept override { return name_; }
  boost::asio::awaitable<void> starting(cancellation_token token) override;
  boost::asio::awaitable<void> start(cancellation_token token) override;
  boost::asio::awaitable<void> started() override;
  boost::asio::awaitable<void> stopping() override;
  boost::asio::awaitable<void> stop(cancellation_token token) override;
  boost::asio::awaitable<void> stopped() override;
  boost::asio::awaitable<void> reload() override;
  boost::asio::awaitable<void> run(cancellation_token token) override;

 private:
  boost::asio::awaitable<void> call(lifetime_hook_fn fn, int kind, cancellation_token token);

  lifetime_service service_;
  std::string name_;
  dispatcher& dispatch_;
};

}  // namespace lifetime::capi

struct lifetime_hook {
  std::shared_ptr<lifetime::capi::hook_state> state;
};
