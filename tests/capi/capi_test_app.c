/* SPDX-License-Identifier: MIT */
/* A daemon written in C against <lifetime/lifetime.h>, in owning mode, for the process tests:
 *   capi_test_app graceful        a background service that ends when its token fires
 *   capi_test_app blocking-stop   a stop hook that never completes (budget 500 ms, _exit)
 *   capi_test_app failing-run     a background run that fails
 * It prints "ready" once started and each event as a line; stdout is unbuffered. */
#include <lifetime/lifetime.h>

#include <stdio.h>
#include <string.h>

static lifetime_hook* running = NULL;
static lifetime_registration* on_cancel = NULL;

static void run_cancelled(void* user, lifetime_reason reason) {
  (void)user;
  printf("run cancelled: %s\n", lifetime_reason_name(reason));
  lifetime_hook_complete(running, NULL);
}

static void run_until_cancelled(void* user, lifetime_hook* call) {
  (void)user;
  running = call;
  if (lifetime_token_register(lifetime_hook_token(call), run_cancelled, NULL, &on_cancel) !=
      LIFETIME_OK)
    lifetime_hook_complete(call, lifetime_last_error());
}

static void run_fails(void* user, lifetime_hook* call) {
  (void)user;
  lifetime_hook_complete(call, "the worker broke");
}

static void say_ready(void* user, lifetime_hook* call) {
  (void)user;
  printf("ready\n");
  lifetime_hook_complete(call, NULL);
}

static void stop_never(void* user, lifetime_hook* call) {
  (void)user;
  (void)call; /* never completed: the host abandons it at the budget */
  printf("stop entered\n");
}

static void stopping_named(void* user, const lifetime_token* token) {
  (void)user;
  printf("stopping callback, cancelled=%d\n", lifetime_token_is_cancelled(token));
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char* mode = argc > 1 ? argv[1] : "graceful";
  lifetime_host_options options;
  lifetime_host_options_init(&options);
  options.name = "capi-test-app";
  options.shutdown_timeout_ms = 2000;
  options.exit_when_stopped = 0;
  if (strcmp(mode, "blocking-stop") == 0) {
    options.shutdown_timeout_ms = 500;
    options.exit_when_stopped = 1;
  }
  lifetime_host* host = NULL;
  if (lifetime_host_create(&options, &host) != LIFETIME_OK) {
    fprintf(stderr, "lifetime_host_create: %s\n", lifetime_last_error());
    return 2;
  }
  lifetime_service service;
  memset(&service, 0, sizeof service);
  service.struct_size = sizeof service;
  service.name = "worker";
  service.started = say_ready;
  if (strcmp(mode, "failing-run") == 0)
    service.run = run_fails;
  else
    service.run = run_until_cancelled;
  if (strcmp(mode, "blocking-stop") == 0)
    service.stop = stop_never;
  if (lifetime_host_add_service(host, &service) != LIFETIME_OK ||
      lifetime_app_on_stopping(lifetime_host_app(host), "note", stopping_named, NULL, 1000) !=
          LIFETIME_OK) {
    fprintf(stderr, "set-up: %s\n", lifetime_last_error());
    return 2;
  }
  const int code = lifetime_host_run(host);
  printf("run returned %d\n", code);
  lifetime_registration_release(on_cancel);
  lifetime_host_release(host);
  return code;
}
