// SPDX-License-Identifier: MIT
// The C ABI's host: owning and embedded modes, services, run, start, poll and release.
//
// An embedded C host owns an io_context run by one internal thread (every signal blocked there)
// on which the C++ host sequences its phases; user code is queued on a dispatcher for the foreign
// loop. Members are declared so that they are destroyed in a safe order: the thread is joined
// first (in lifetime_host_release), then the C++ host (its services call destroy()) and its
// internal state (destroy_embedded), then the dispatcher the services used, then the io_context
// (destroying any abandoned hook's frame).
#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <new>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <lifetime/host/host.hpp>

#include "dispatch.hpp"
#include "error.hpp"
#include "handles.hpp"
#include "host_options.hpp"
#include "service.hpp"

using lifetime::capi::fail;
using lifetime::capi::guarded;

struct lifetime_host {
  using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

  explicit lifetime_host(bool embedded_mode) : embedded(embedded_mode), dispatch(embedded_mode) {}

  const bool embedded;
  std::unique_ptr<boost::asio::io_context> io;  // embedded only
  lifetime::capi::dispatcher dispatch;
  std::unique_ptr<lifetime::host::host> host;
  // Embedded: a parent the host links to, never cancelled. The link is a registration that the
  // host's internal state holds; when the count drops to 0 that state is gone (see release).
  lifetime::cancellation_source sentinel;
  std::optional<work_guard> guard;
  std::thread thread;
  std::atomic<int> exit_code{-1};
  bool started = false;
  lifetime_exit_fn on_exit = nullptr;
  void* on_exit_user = nullptr;
};

namespace {

void block_all_signals() noexcept {
  sigset_t set;
  sigfillset(&set);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

lifetime_status not_before_start(const lifetime_host* host, const char* what) {
  if (host == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, std::string(what) + ": host is NULL");
  if (host->started)
    return fail(LIFETIME_ERROR_STATE, std::string(what) + ": the host has already started");
  return LIFETIME_OK;
}

/// Embedded: stop a host that still runs and poll until it has exited.
void stop_and_drain(lifetime_host& host) {
  if (host.exit_code.load() < 0)
    host.host->lifetime().stop_application();
  while (host.exit_code.load() < 0) {
    pollfd watch{host.dispatch.fd(), POLLIN, 0};
    ::poll(&watch, 1, 100);
    host.dispatch.run_pending();
  }
}

/// Embedded: the C++ host's internal state may outlive the host object for a moment (a thread
/// of the application lifetime, or a handler queued on the io_context, still holds it), and it
/// must be gone before the io_context is. Run what is queued and wait, bounded, until the
/// sentinel's registration count says it is.
void destroy_embedded(lifetime_host& host) noexcept {
  const lifetime::cancellation_token sentinel = host.sentinel.token();
  host.host.reset();
  host.io->restart();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (lifetime::registration_count(sentinel) != 0 &&
         std::chrono::steady_clock::now() < give_up) {
    try {
      host.io->poll();
    } catch (...) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (lifetime::registration_count(sentinel) != 0) {
    // Still held after 10 s: keep the sentinel's state alive for whoever holds the link.
    (void)new (std::nothrow) lifetime::cancellation_token(sentinel);
  }
}

}  // namespace

extern "C" {

lifetime_status lifetime_host_create(const lifetime_host_options* options,
                                     lifetime_host** out) noexcept {
  if (out == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_host_create: out is NULL");
  return guarded([&] {
    auto host = std::make_unique<lifetime_host>(false);
    host->host = std::make_unique<lifetime::host::host>(lifetime::capi::to_host_options(options));
    *out = host.release();
    return LIFETIME_OK;
  });
}

lifetime_status lifetime_host_create_embedded(const lifetime_host_options* options,
                                              lifetime_host** out) noexcept {
  if (out == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_host_create_embedded: out is NULL");
  return guarded([&] {
    auto host = std::make_unique<lifetime_host>(true);
    host->io = std::make_unique<boost::asio::io_context>(1);
    host->host =
        std::make_unique<lifetime::host::host>(*host->io, lifetime::capi::to_host_options(options));
    *out = host.release();
    return LIFETIME_OK;
  });
}

void lifetime_host_release(lifetime_host* host) noexcept {
  if (host == nullptr)
    return;
  if (host->embedded && host->started) {
    // Neither a C hook nor on_exit can throw; queueing can (out of memory): go on regardless.
    try {
      stop_and_drain(*host);
    } catch (...) {
    }
    host->thread.join();  // the internal thread stops its io_context right after queueing on_exit
    try {
      host->dispatch.run_pending();  // on_exit
    } catch (...) {
    }
  }
  if (host->embedded)
    destroy_embedded(*host);
  delete host;
}

lifetime_app* lifetime_host_app(lifetime_host* host) noexcept {
  return host != nullptr ? reinterpret_cast<lifetime_app*>(&host->host->lifetime()) : nullptr;
}

lifetime_status lifetime_host_add_service(lifetime_host* host,
                                          const lifetime_service* service) noexcept {
  if (auto status = not_before_start(host, "lifetime_host_add_service"))
    return status;
  if (service == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_host_add_service: service is NULL");
  return guarded([&] {
    host->host->add_service(std::make_unique<lifetime::capi::c_service>(*service, host->dispatch));
    return LIFETIME_OK;
  });
}

lifetime_status lifetime_host_link_parent(lifetime_host* host,
                                          const lifetime_token* parent) noexcept {
  if (auto status = not_before_start(host, "lifetime_host_link_parent"))
    return status;
  return guarded([&] {
    host->host->link_parent(lifetime::capi::token_of(parent));
    return LIFETIME_OK;
  });
}

lifetime_status lifetime_host_in_flight_token(lifetime_host* host, lifetime_token** out) noexcept {
  if (host == nullptr || out == nullptr)
    return fail(LIFETIME_ERROR_INVALID_ARGUMENT, "lifetime_host_in_flight_token: NULL argument");
  return guarded([&] {
    *out = new lifetime_token{host->host->in_flight_token()};
    return LIFETIME_OK;
  });
}

int lifetime_host_run(lifetime_host* host) noexcept {
  if (not_before_start(host, "lifetime_host_run") != LIFETIME_OK)
    return -1;
  if (host->embedded) {
    fail(LIFETIME_ERROR_STATE, "lifetime_host_run: an embedded host is started with start()");
    return -1;
  }
  host->started = true;
  try {
    const int code = host->host->run();
    host->exit_code.store(code);
    return code;
  } catch (...) {
    lifetime::capi::fail_current();
    return -1;
  }
}

lifetime_status lifetime_host_start(lifetime_host* host, lifetime_exit_fn on_exit,
                                    void* user) noexcept {
  if (auto status = not_before_start(host, "lifetime_host_start"))
    return status;
  if (!host->embedded)
    return fail(LIFETIME_ERROR_STATE, "lifetime_host_start: an owning host is run with run()");
  return guarded([&] {
    host->on_exit = on_exit;
    host->on_exit_user = user;
    host->guard.emplace(host->io->get_executor());
    host->host->start([host](int code) {
      host->exit_code.store(code);
      host->dispatch.push([host, code] {
        if (host->on_exit != nullptr)
          host->on_exit(host->on_exit_user, code);
      });
      host->io->stop();
    });
    host->thread = std::thread([host] {
      block_all_signals();
      host->io->run();
    });
    host->started = true;
    return LIFETIME_OK;
  });
}

int lifetime_host_fd(const lifetime_host* host) noexcept {
  return host != nullptr ? host->dispatch.fd() : -1;
}

int lifetime_host_poll(lifetime_host* host) noexcept {
  if (host == nullptr)
    return 0;
  try {
    return host->dispatch.run_pending();
  } catch (...) {
    lifetime::capi::fail_current();
    return 0;
  }
}

int lifetime_host_exit_code(const lifetime_host* host) noexcept {
  return host != nullptr ? host->exit_code.load() : -1;
}

void lifetime_host_request_reload(lifetime_host* host) noexcept {
  if (host != nullptr)
    host->host->request_reload();
}

}  // extern "C"
