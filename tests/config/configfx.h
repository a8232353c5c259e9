/* configfx.h: what the tests of the config reader share (test_config.c,
 * test_config_queue.c, test_config_offload.c): the group setup and
 * teardown every one of them runs with.  The setup saves USER, HOME,
 * DTASK_CONFIG and the working directory (a saved_env, the group's
 * state), sets USER to "tester" and HOME to "/home/tester" so that
 * expanded paths are known in advance, and unsets DTASK_TEST_NOPE, the
 * variable the tests name as one that is not set; the teardown puts all
 * of it back.  Include it after <cmocka.h>. */
#ifndef DT_TESTS_CONFIGFX_H
#define DT_TESTS_CONFIGFX_H

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct saved_env {
  char *user, *home, *config;
  char cwd[PATH_MAX];
} saved_env;

static inline char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

static inline void restore(const char *name, const char *value) {
  if (value != NULL)
    setenv(name, value, 1);
  else
    unsetenv(name);
}

static inline int group_setup(void **state) {
  saved_env *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -1;
  s->user = dup_or_null(getenv("USER"));
  s->home = dup_or_null(getenv("HOME"));
  s->config = dup_or_null(getenv("DTASK_CONFIG"));
  if (getcwd(s->cwd, sizeof s->cwd) == NULL)
    return -1;
  setenv("USER", "tester", 1);
  setenv("HOME", "/home/tester", 1);
  unsetenv("DTASK_TEST_NOPE");
  *state = s;
  return 0;
}

static inline int group_teardown(void **state) {
  saved_env *s = *state;
  restore("USER", s->user);
  restore("HOME", s->home);
  restore("DTASK_CONFIG", s->config);
  if (chdir(s->cwd) != 0)
    return -1;
  free(s->user);
  free(s->home);
  free(s->config);
  free(s);
  return 0;
}

#endif /* DT_TESTS_CONFIGFX_H */
