/* SPDX-License-Identifier: MIT */
/* <lifetime/lifetime.h> compiles as C11 with every warning, and its basics work from C. */
#include <lifetime/lifetime.h>

#include <stdio.h>
#include <string.h>

static int failures = 0;
#define EXPECT(condition)                                             \
  do {                                                                \
    if (!(condition)) {                                               \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

static void count(void* user, lifetime_reason reason) {
  (void)reason;
  ++*(int*)user;
}

int main(void) {
  lifetime_source* parent = NULL;
  lifetime_token* parent_token = NULL;
  EXPECT(lifetime_source_create(LIFETIME_NO_DEADLINE, &parent) == LIFETIME_OK);
  EXPECT(lifetime_source_token(parent, &parent_token) == LIFETIME_OK);
  const lifetime_token* parents[1] = {parent_token};
  lifetime_source* child = NULL;
  EXPECT(lifetime_source_create_linked(parents, 1, lifetime_now_ns() + 1000000000, &child) ==
         LIFETIME_OK);
  lifetime_token* child_token = NULL;
  EXPECT(lifetime_source_token(child, &child_token) == LIFETIME_OK);
  int calls = 0;
  lifetime_registration* registration = NULL;
  EXPECT(lifetime_token_register(child_token, count, &calls, &registration) == LIFETIME_OK);
  EXPECT(lifetime_source_cancel(parent, LIFETIME_REASON_DEADLINE_EXCEEDED) == 1);
  EXPECT(calls == 1);
  EXPECT(strcmp(lifetime_reason_name(lifetime_token_reason(child_token)), "deadline_exceeded") ==
         0);
  EXPECT(lifetime_source_create(0, NULL) == LIFETIME_ERROR_INVALID_ARGUMENT);
  EXPECT(strlen(lifetime_last_error()) > 0);
  lifetime_registration_release(registration);
  lifetime_token_release(child_token);
  lifetime_source_release(child);
  lifetime_token_release(parent_token);
  lifetime_source_release(parent);
  printf("header_test: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
