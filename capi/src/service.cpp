// SPDX-License-Identifier: MIT
// Internal: the C service adapter's hooks and lifetime_hook_*.
#include "service.hpp"

#include <chrono>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace lifetime::capi {

namespace asio = boost::asio;

c_service::c_service(const lifetime_service& service, dispatcher& dispatch)
    : service_(service), dispatch_(dispatch) {
  if (service.struct_size < sizeof(lifetime_service))
    throw std::invalid_argument("lifetime_service: struct_size is too small");
  name_ = service.name != nullptr ? service.name : "service";
  service_.name = nullptr;
}

c_service::~c_service() {
  if (service_.destroy != nullptr)
    service_.destroy(service_.user);
}

asio::awaitable<void> c_service::call(lifetime_hook_fn fn, int kind, cancellation_token token) {
  if (fn == nullptr)
    co_return;
  auto state = std::make_shared<hook_state>(kind, std::move(token));
  asio::steady_timer timer(co_await asio::this_coro::executor,
                           std::chrono::steady_clock::time_point::max());
  {
    std::lock_guard lock(state->mutex);
    state->timer = &timer;
    state->executor = timer.get_executor();
  }
  // Whether the hook completes, throws or is abandoned (the frame destroyed with the host), a
  // later completion must not touch this frame's timer.
  struct detach {
    hook_state& state;
    ~detach() {
      std::lock_guard lock(state.mutex);
      state.timer = nullptr;
      state.executor = {};
    }
  } detach_on_exit{*state};

  auto* hook = new lifetime_hook{state};
  try {
    dispatch_.push([fn, user = service_.user, hook] { fn(user, hook); });
  } catch (...) {
    delete hook;
    throw;
  }
  for (;;) {
    {
      std::lock_guard lock(state->mutex);
      if (state->done)
        break;
    }
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  std::lock_guard lock(state->mutex);
  if (state->failed)
    throw std::runtime_error(state->error);
}

asio::awaitable<void> c_service::starting(cancellation_token token) {
  return call(service_.starting, LIFETIME_HOOK_STARTING, std::move(token));
}
asio::awaitable<void> c_service::start(cancellation_token token) {
  return call(service_.start, LIFETIME_HOOK_START, std::move(token));
}
asio::awaitable<void> c_service::started() {
  return call(service_.started, LIFETIME_HOOK_STARTED, {});
}
asio::awaitable<void> c_service::stopping() {
  return call(service_.stopping, LIFETIME_HOOK_STOPPING, {});
}
asio::awaitable<void> c_service::stop(cancellation_token token) {
  return call(service_.stop, LIFETIME_HOOK_STOP, std::move(token));
}
asio::awaitable<void> c_service::stopped() {
  return call(service_.stopped, LIFETIME_HOOK_STOPPED, {});
}
asio::awaitable<void> c_service::reload() {
  return call(service_.reload, LIFETIME_HOOK_RELOAD, {});
}
asio::awaitable<void> c_service::run(cancellation_token token) {
  return call(service_.run, LIFETIME_HOOK_RUN, std::move(token));
}

}  // namespace lifetime::capi

extern "C" {

int lifetime_hook_kind(const lifetime_hook* call) noexcept {
  return call != nullptr ? call->state->kind : -1;
}

const lifetime_token* lifetime_hook_token(const lifetime_hook* call) noexcept {
  return call != nullptr ? &call->state->token : nullptr;
}

void lifetime_hook_complete(lifetime_hook* call, const char* error) noexcept {
  if (call == nullptr)
    return;
  auto& state = *call->state;
  {
    std::lock_guard lock(state.mutex);
    if (!state.done) {
      state.done = true;
      if (error != nullptr) {
        state.failed = true;
        try {
          state.error = error;
        } catch (...) {
          // Out of memory: the hook still fails, with an empty message.
        }
      }
      if (state.timer != nullptr) {
        try {
          boost::asio::post(state.executor, [s = call->state] {
            std::lock_guard inner(s->mutex);
            if (s->timer != nullptr)
              s->timer->cancel();
          });
        } catch (...) {
          // Out of memory: the waiter stays until the host abandons it.
        }
      }
    }
  }
  delete call;
}

}  // extern "C"
