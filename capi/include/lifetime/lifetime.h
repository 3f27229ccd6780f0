/* SPDX-License-Identifier: MIT */
/* lifetime's C ABI: cancellation tokens, the application lifetime and the host, for C and for
 * any language with a C foreign-function interface (C11; library liblifetime-c, symbols
 * versioned LIFETIME_C_1.0).
 *
 * Guarantees (the C++ library's, kept across the boundary):
 * - Handles are opaque, created by a *_create or accessor call that returns a new handle, and
 *   freed by the matching *_release (NULL is accepted and ignored). A borrowed pointer (noted
 *   "borrowed") must not be released.
 * - No C++ exception crosses the boundary. A call that can fail returns a lifetime_status;
 *   lifetime_last_error() then gives the message, for the calling thread, until its next
 *   failing call. Calls returning int or a value never fail.
 * - Threads: every function may be called from any thread unless its comment says otherwise.
 * - Callbacks get the user pointer given at registration. A callback must not unwind (longjmp,
 *   C++ exception) out of itself: the library catches C++ exceptions and reports them (see
 *   lifetime/callback_exception_handler.hpp) and never lets one out.
 * - Releasing a registration whose callback runs on another thread waits until it returns; from
 *   inside that callback it does not wait; it never waits for other callbacks.
 * - Deadlines are CLOCK_MONOTONIC nanoseconds (lifetime_now_ns(), Python's
 *   time.monotonic_ns()); LIFETIME_NO_DEADLINE means none.
 */
#ifndef LIFETIME_LIFETIME_H
#define LIFETIME_LIFETIME_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define LIFETIME_C_API __attribute__((visibility("default")))
#else
#define LIFETIME_C_API
#endif

/* C++ callers see every function as noexcept: nothing unwinds out of the library. */
#ifdef __cplusplus
#define LIFETIME_NOEXCEPT noexcept
#else
#define LIFETIME_NOEXCEPT
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define LIFETIME_C_VERSION_MAJOR 1
#define LIFETIME_C_VERSION_MINOR 0

/* ---- Errors ------------------------------------------------------------------------------ */

typedef int32_t lifetime_status;
#define LIFETIME_OK 0
#define LIFETIME_ERROR_INVALID_ARGUMENT 1 /* a NULL handle or out-pointer, a bad value */
#define LIFETIME_ERROR_NO_MEMORY 2
#define LIFETIME_ERROR_STATE 3  /* not allowed now (host already started, wrong mode) */
#define LIFETIME_ERROR_USAGE 4  /* a command-line mistake (host exit code 64) */
#define LIFETIME_ERROR_CONFIG 5 /* a configuration mistake (host exit code 78) */
#define LIFETIME_ERROR_SYSTEM 6 /* the operating system refused (errno in the message) */
#define LIFETIME_ERROR_INTERNAL 7

/* The message of this thread's last failing call ("" if none). Valid until this thread's next
 * call into the library. */
LIFETIME_C_API const char* lifetime_last_error(void) LIFETIME_NOEXCEPT;
/* "ok", "invalid_argument", ... (static storage). */
LIFETIME_C_API const char* lifetime_status_name(lifetime_status status) LIFETIME_NOEXCEPT;

/* ---- Reasons and time -------------------------------------------------------------------- */

typedef uint16_t lifetime_reason;
#define LIFETIME_REASON_NONE 0
#define LIFETIME_REASON_REQUESTED 1
#define LIFETIME_REASON_APPLICATION_STOPPING 2
#define LIFETIME_REASON_CLIENT_DISCONNECTED 3
#define LIFETIME_REASON_DEADLINE_EXCEEDED 4
#define LIFETIME_REASON_RESTART 5
#define LIFETIME_REASON_USER 256 /* first value free for applications */

/* "requested", "application_stopping", ...; "user" for any application reason. */
LIFETIME_C_API const char* lifetime_reason_name(lifetime_reason reason) LIFETIME_NOEXCEPT;

#define LIFETIME_NO_DEADLINE INT64_MAX
/* Now on the clock deadlines use (CLOCK_MONOTONIC), in nanoseconds. */
LIFETIME_C_API int64_t lifetime_now_ns(void) LIFETIME_NOEXCEPT;

/* ---- Cancellation ------------------------------------------------------------------------ */

typedef struct lifetime_source lifetime_source;
typedef struct lifetime_token lifetime_token;
typedef struct lifetime_registration lifetime_registration;

/* Runs once when the token is cancelled, on the cancelling thread, with no lock held. */
typedef void (*lifetime_callback_fn)(void* user, lifetime_reason reason);

/* A new source, with `deadline_ns` (or LIFETIME_NO_DEADLINE). The deadline is information: nothing
 * cancels the source at it by itself. */
LIFETIME_C_API lifetime_status lifetime_source_create(int64_t deadline_ns,
                                                      lifetime_source** out) LIFETIME_NOEXCEPT;
/* A source cancelled when any of `parents` is (with that parent's reason), or by its own cancel.
 * Its deadline is the earliest of `deadline_ns` and its parents'. NULL parents are ignored. When
 * released it unregisters from every parent. */
LIFETIME_C_API lifetime_status
lifetime_source_create_linked(const lifetime_token* const* parents, size_t count,
                              int64_t deadline_ns, lifetime_source** out) LIFETIME_NOEXCEPT;
/* Releases this handle; tokens taken from it stay valid (and can no longer be cancelled). */
LIFETIME_C_API void lifetime_source_release(lifetime_source* source) LIFETIME_NOEXCEPT;
/* Cancels with `reason` and runs every callback, newest first, on this thread before returning.
 * Returns 1 for the one call that cancelled, 0 if it was already cancelled (the first reason
 * stays). */
LIFETIME_C_API int lifetime_source_cancel(lifetime_source* source,
                                          lifetime_reason reason) LIFETIME_NOEXCEPT;
/* A new token observing `source`; release it with lifetime_token_release(). */
LIFETIME_C_API lifetime_status lifetime_source_token(const lifetime_source* source,
                                                     lifetime_token** out) LIFETIME_NOEXCEPT;
LIFETIME_C_API int lifetime_source_is_cancelled(const lifetime_source* source) LIFETIME_NOEXCEPT;
LIFETIME_C_API lifetime_reason lifetime_source_reason(const lifetime_source* source)
    LIFETIME_NOEXCEPT;
LIFETIME_C_API int64_t lifetime_source_deadline(const lifetime_source* source) LIFETIME_NOEXCEPT;

/* A token's queries accept NULL as the token that is never cancelled. */
LIFETIME_C_API lifetime_status lifetime_token_clone(const lifetime_token* token,
                                                    lifetime_token** out) LIFETIME_NOEXCEPT;
LIFETIME_C_API void lifetime_token_release(lifetime_token* token) LIFETIME_NOEXCEPT;
/* One acquire load. */
LIFETIME_C_API int lifetime_token_is_cancelled(const lifetime_token* token) LIFETIME_NOEXCEPT;
/* 0 for NULL and for a token whose sources are all gone without cancelling. */
LIFETIME_C_API int lifetime_token_can_be_cancelled(const lifetime_token* token) LIFETIME_NOEXCEPT;
/* LIFETIME_REASON_NONE while not cancelled. */
LIFETIME_C_API lifetime_reason lifetime_token_reason(const lifetime_token* token) LIFETIME_NOEXCEPT;
LIFETIME_C_API int64_t lifetime_token_deadline(const lifetime_token* token) LIFETIME_NOEXCEPT;

/* Registers `callback(user, reason)` to run when `token` is cancelled. If it already is, the
 * callback runs inline before this returns. Either a concurrent cancel runs it, or this call
 * does; never both, never neither. `*out` is always set on success; release it to unregister. */
LIFETIME_C_API lifetime_status
lifetime_token_register(const lifetime_token* token, lifetime_callback_fn callback, void* user,
                        lifetime_registration** out) LIFETIME_NOEXCEPT;
/* Unregisters: if the callback has not started it never will; if it runs on another thread,
 * waits until it returns; from inside the callback, does not wait. Idempotent. */
LIFETIME_C_API void lifetime_registration_unregister(lifetime_registration* registration)
    LIFETIME_NOEXCEPT;
/* Unregisters (as above) and frees. May be called from inside the callback itself. */
LIFETIME_C_API void lifetime_registration_release(lifetime_registration* registration)
    LIFETIME_NOEXCEPT;
/* 1 while registered and not yet run. */
LIFETIME_C_API int lifetime_registration_is_registered(const lifetime_registration* registration)
    LIFETIME_NOEXCEPT;

/* ---- Application lifetime ---------------------------------------------------------------- */

typedef struct lifetime_app lifetime_app;
typedef struct lifetime_lease lifetime_lease;

#define LIFETIME_STATE_STARTING 0
#define LIFETIME_STATE_STARTED 1
#define LIFETIME_STATE_STOPPING 2
#define LIFETIME_STATE_STOPPED 3

/* Named stopping callback: runs once, on a worker thread of the library (never the signal
 * thread, never the thread that stopped), one at a time, within its time box. `token` (borrowed,
 * valid during the call) is cancelled with deadline_exceeded when the box ends; a callback still
 * running then is abandoned (its thread is left to it) and the exit code becomes 70. */
typedef void (*lifetime_stopping_fn)(void* user, const lifetime_token* token);

/* New tokens: fire when every service has started / when the stop begins (with its reason) / at
 * the very end of the stop. */
LIFETIME_C_API lifetime_status lifetime_app_started(lifetime_app* app,
                                                    lifetime_token** out) LIFETIME_NOEXCEPT;
LIFETIME_C_API lifetime_status lifetime_app_stopping(lifetime_app* app,
                                                     lifetime_token** out) LIFETIME_NOEXCEPT;
LIFETIME_C_API lifetime_status lifetime_app_stopped(lifetime_app* app,
                                                    lifetime_token** out) LIFETIME_NOEXCEPT;
/* LIFETIME_STATE_*. */
LIFETIME_C_API int lifetime_app_state(const lifetime_app* app) LIFETIME_NOEXCEPT;
/* Begins the stop (stopping() fires on this thread). 1 for the call that began it, else 0.
 * Not from a signal handler. */
LIFETIME_C_API int lifetime_app_stop(lifetime_app* app, lifetime_reason reason) LIFETIME_NOEXCEPT;
LIFETIME_C_API lifetime_reason lifetime_app_stop_reason(const lifetime_app* app) LIFETIME_NOEXCEPT;
/* Registers a named stopping callback bounded by `max_ms` (negative: only by the budget). `user`
 * must stay valid until the callback has returned or the host is released. */
LIFETIME_C_API lifetime_status lifetime_app_on_stopping(lifetime_app* app, const char* name,
                                                        lifetime_stopping_fn callback, void* user,
                                                        int64_t max_ms) LIFETIME_NOEXCEPT;
/* A lease that holds the shutdown open until released or `max_ms` passes (never past the
 * budget). A lease may outlive the host. */
LIFETIME_C_API lifetime_status lifetime_app_delay_shutdown(lifetime_app* app, const char* name,
                                                           int64_t max_ms,
                                                           lifetime_lease** out) LIFETIME_NOEXCEPT;
/* Ends the hold and frees the lease. */
LIFETIME_C_API void lifetime_lease_release(lifetime_lease* lease) LIFETIME_NOEXCEPT;
LIFETIME_C_API int lifetime_lease_is_holding(const lifetime_lease* lease) LIFETIME_NOEXCEPT;

/* ---- Services ---------------------------------------------------------------------------- */

typedef struct lifetime_hook lifetime_hook;

#define LIFETIME_HOOK_STARTING 0
#define LIFETIME_HOOK_START 1
#define LIFETIME_HOOK_STARTED 2
#define LIFETIME_HOOK_STOPPING 3
#define LIFETIME_HOOK_STOP 4
#define LIFETIME_HOOK_STOPPED 5
#define LIFETIME_HOOK_RELOAD 6
#define LIFETIME_HOOK_RUN 7

/* A service hook. The host calls it when the C++ hook of the same name would run (see
 * lifetime/host/hosted_service.hpp for the order) and waits until lifetime_hook_complete(call)
 * is called, exactly once, from any thread: before the hook returns (a synchronous hook) or later
 * (an asynchronous one, e.g. an asyncio task). Where it is called: owning host, on the host's
 * sequencing thread; embedded host, inside lifetime_host_poll(). Do not block there: a hook still
 * incomplete at its deadline is abandoned (exit code 70), but keeps its `call` until completed. */
typedef void (*lifetime_hook_fn)(void* user, lifetime_hook* call);

typedef struct lifetime_service {
  size_t struct_size; /* sizeof(lifetime_service) */
  const char* name;   /* copied */
  void* user;
  /* Any may be NULL (nothing to do). `run`: a background body started after start(); it gets
   * the stopping token; completing it with an error stops the host with exit code 1. */
  lifetime_hook_fn starting, start, started, stopping, stop, stopped, reload, run;
  /* Called once with `user` when the host that holds the service is released. May be NULL. */
  void (*destroy)(void* user);
} lifetime_service;

/* LIFETIME_HOOK_*. */
LIFETIME_C_API int lifetime_hook_kind(const lifetime_hook* call) LIFETIME_NOEXCEPT;
/* Borrowed, valid until the call is completed: starting/start's token fires if the stop begins
 * meanwhile; stop's just before the budget ends; run's when the stop begins. Never cancelled for
 * the other hooks. */
LIFETIME_C_API const lifetime_token* lifetime_hook_token(const lifetime_hook* call)
    LIFETIME_NOEXCEPT;
/* Completes the hook and frees `call`. `error` NULL: success; otherwise the hook failed with that
 * message (logged with the service's name; a failed start or run makes the exit code 1). */
LIFETIME_C_API void lifetime_hook_complete(lifetime_hook* call,
                                           const char* error) LIFETIME_NOEXCEPT;

/* ---- Host -------------------------------------------------------------------------------- */

typedef struct lifetime_host lifetime_host;

typedef struct lifetime_host_options {
  size_t struct_size;          /* sizeof(lifetime_host_options) */
  int64_t shutdown_timeout_ms; /* the budget of the whole stop (30000) */
  int64_t drain_delay_ms;      /* phase 2 (0) */
  unsigned threads;            /* owning mode: I/O threads (1) */
  int handle_signals;          /* owning mode: SIGTERM/INT/QUIT stop, HUP reloads, USR2 dumps (1) */
  int configure_logging;       /* owning mode: set up spdlog's default logger (1) */
  int exit_when_stopped;       /* owning mode: _exit(code) once the stop is over (1) */
  const char* name;            /* copied ("host") */
  const char* log_level;       /* copied ("info") */
} lifetime_host_options;

/* Fills `options` with the defaults above. */
LIFETIME_C_API void lifetime_host_options_init(lifetime_host_options* options) LIFETIME_NOEXCEPT;
/* Reads --shutdown-timeout, --drain-delay, --log-level, ..., the config file and LIFETIME_*
 * environment variables into `options` (see lifetime/host/options.hpp). `*exit_now` is -1 to go
 * on, else the code to exit with now (0 after --help, 64, 78; the text went to stdout/stderr).
 * The strings of `options` then point into storage valid until the next call on this thread. */
LIFETIME_C_API lifetime_status lifetime_host_options_parse(lifetime_host_options* options,
                                                           const char* program, int argc,
                                                           const char* const* argv,
                                                           int* exit_now) LIFETIME_NOEXCEPT;

/* Owning mode: the host owns its threads, signals, logger, systemd notifications and the exit
 * enforcer (the process exits at the budget + 100 ms whatever user code does). Run it with
 * lifetime_host_run(). */
LIFETIME_C_API lifetime_status lifetime_host_create(const lifetime_host_options* options,
                                                    lifetime_host** out) LIFETIME_NOEXCEPT;
/* Embedded mode, for a foreign event loop: no signals, no logger set-up, no process exit. The
 * host's sequencing (timers, phases, budget) runs on one internal thread, with every signal
 * blocked; everything that calls user code (hooks, on_exit) is queued for the foreign loop, which
 * runs it with lifetime_host_poll() when lifetime_host_fd() is readable. */
LIFETIME_C_API lifetime_status lifetime_host_create_embedded(const lifetime_host_options* options,
                                                             lifetime_host** out) LIFETIME_NOEXCEPT;
/* Owning: after lifetime_host_run() returned. Embedded: stops a running host and waits for its
 * exit, running its hooks on this thread (call it from the polling thread, not from a hook).
 * Then calls every service's destroy. */
LIFETIME_C_API void lifetime_host_release(lifetime_host* host) LIFETIME_NOEXCEPT;

/* Borrowed: the host's application lifetime, valid until the host is released. */
LIFETIME_C_API lifetime_app* lifetime_host_app(lifetime_host* host) LIFETIME_NOEXCEPT;
/* Adds a service, started after those added before. Before run/start, from one thread. */
LIFETIME_C_API lifetime_status
lifetime_host_add_service(lifetime_host* host, const lifetime_service* service) LIFETIME_NOEXCEPT;
/* When `parent` fires the host stops gracefully. Before run/start. */
LIFETIME_C_API lifetime_status
lifetime_host_link_parent(lifetime_host* host, const lifetime_token* parent) LIFETIME_NOEXCEPT;
/* New token: fires at phase 5 (or at once on a fast stop), reason application_stopping. */
LIFETIME_C_API lifetime_status
lifetime_host_in_flight_token(lifetime_host* host, lifetime_token** out) LIFETIME_NOEXCEPT;

/* Owning mode: starts, blocks until fully stopped and returns the exit code (0, 1, 64, 70, 78,
 * 128+signal); with exit_when_stopped it does not return but ends the process with the code.
 * Returns -1 with lifetime_last_error() set if it could not run. */
LIFETIME_C_API int lifetime_host_run(lifetime_host* host) LIFETIME_NOEXCEPT;

/* Called once, inside lifetime_host_poll(), when an embedded host has fully stopped. */
typedef void (*lifetime_exit_fn)(void* user, int exit_code);
/* Embedded mode: starts and returns at once. */
LIFETIME_C_API lifetime_status lifetime_host_start(lifetime_host* host, lifetime_exit_fn on_exit,
                                                   void* user) LIFETIME_NOEXCEPT;
/* Embedded mode: a file descriptor (owned by the host) that is readable while
 * lifetime_host_poll() has something to run. Watch it for reading (epoll, poll,
 * asyncio's loop.add_reader); -1 for an owning host. */
LIFETIME_C_API int lifetime_host_fd(const lifetime_host* host) LIFETIME_NOEXCEPT;
/* Embedded mode: runs the queued hooks and on_exit on this thread without blocking; returns how
 * many ran. Call it from one thread at a time (the foreign loop's). */
LIFETIME_C_API int lifetime_host_poll(lifetime_host* host) LIFETIME_NOEXCEPT;
/* The exit code once the host has stopped (embedded: once on_exit was queued), else -1. */
LIFETIME_C_API int lifetime_host_exit_code(const lifetime_host* host) LIFETIME_NOEXCEPT;
/* What SIGHUP does: re-read the configuration, then every service's reload hook. */
LIFETIME_C_API void lifetime_host_request_reload(lifetime_host* host) LIFETIME_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* LIFETIME_LIFETIME_H */
