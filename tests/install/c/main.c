/* SPDX-License-Identifier: MIT */
/* Uses the installed C ABI: a linked source, a registration, and an embedded host whose one
 * service's hooks run inside lifetime_host_poll(). */
#include <lifetime/lifetime.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>

static int cancelled = 0;
static int stopped_service = 0;
static int exit_code = -1;

static void on_cancel(void* user, lifetime_reason reason) {
  (void)user;
  cancelled = reason == LIFETIME_REASON_CLIENT_DISCONNECTED;
}

/* Once started, the connection goes: the request is cancelled and the host, linked to it, stops. */
static void on_started(void* user, lifetime_hook* call) {
  lifetime_source_cancel((lifetime_source*)user, LIFETIME_REASON_CLIENT_DISCONNECTED);
  lifetime_hook_complete(call, NULL);
}

static void on_stop(void* user, lifetime_hook* call) {
  (void)user;
  stopped_service = 1;
  lifetime_hook_complete(call, NULL);
}

static void on_exit_code(void* user, int code) {
  (void)user;
  exit_code = code;
}

int main(void) {
  lifetime_source* connection = NULL;
  lifetime_token* token = NULL;
  lifetime_source* request = NULL;
  lifetime_token* request_token = NULL;
  lifetime_registration* registration = NULL;
  if (lifetime_source_create(LIFETIME_NO_DEADLINE, &connection) != LIFETIME_OK ||
      lifetime_source_token(connection, &token) != LIFETIME_OK ||
      lifetime_source_create_linked((const lifetime_token* const*)&token, 1, LIFETIME_NO_DEADLINE,
                                    &request) != LIFETIME_OK ||
      lifetime_source_token(request, &request_token) != LIFETIME_OK ||
      lifetime_token_register(request_token, on_cancel, NULL, &registration) != LIFETIME_OK) {
    fprintf(stderr, "lifetime: %s\n", lifetime_last_error());
    return 1;
  }

  lifetime_host_options options;
  lifetime_host_options_init(&options);
  options.name = "c-consumer";
  options.shutdown_timeout_ms = 5000;
  lifetime_host* host = NULL;
  lifetime_service service;
  memset(&service, 0, sizeof service);
  service.struct_size = sizeof service;
  service.name = "consumer";
  service.user = connection;
  service.started = on_started;
  service.stop = on_stop;
  if (lifetime_host_create_embedded(&options, &host) != LIFETIME_OK ||
      lifetime_host_add_service(host, &service) != LIFETIME_OK ||
      lifetime_host_link_parent(host, token) != LIFETIME_OK ||
      lifetime_host_start(host, on_exit_code, NULL) != LIFETIME_OK) {
    fprintf(stderr, "lifetime: %s\n", lifetime_last_error());
    return 1;
  }
  for (int rounds = 0; exit_code < 0 && rounds < 100; ++rounds) {
    struct pollfd watch = {lifetime_host_fd(host), POLLIN, 0};
    poll(&watch, 1, 100);
    lifetime_host_poll(host);
  }
  lifetime_host_release(host);
  lifetime_registration_release(registration);
  lifetime_token_release(request_token);
  lifetime_source_release(request);
  lifetime_token_release(token);
  lifetime_source_release(connection);
  const int ok = cancelled && stopped_service && exit_code == 0;
  printf("lifetime C consumer: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
