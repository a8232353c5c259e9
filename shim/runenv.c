/* runenv.c: owns the environment a runner pool starts with.
 *
 * A pool is started in two ways: by a caller whose first call finds no
 * runner (autostart, shim/autostart.c) and by the launchers, dtask-runner
 * and `dtask run` (runner/launch.c).  Both start it with the environment
 * built here, from the one they would pass on, so that the two never
 * disagree on what makes a process a runner.  This file depends on libc
 * and common/ only: the commands link it too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "shim/runenv.h"

/* Whether the environment entry ("NAME=value") sets the variable name. */
static bool sets(const char *entry, const char *name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* Builds a runner pool's environment from base, the environment it would
 * otherwise inherit: base without the variables that say what a process
 * is (DTASK_ROLE, DTASK_CONFIG, DTASK_MODE and DTASK_AUTOSTARTED; also
 * DTASK_READY_FD unless how->ready_fd, and DTASK_WORKERS when
 * how->workers > 0), then DTASK_ROLE=runner, DTASK_AUTOSTARTED=1 if
 * how->autostarted, DTASK_CONFIG=how->config and, if how->workers > 0,
 * DTASK_WORKERS.  A runner always serves in offload mode, so DTASK_MODE
 * is dropped rather than passed on.
 *
 * Returns one calloc'd block that holds the NULL-terminated array and
 * the strings added to it (the strings of base are pointed to, not
 * copied): the caller frees it with free() once the pool is started.
 * Returns NULL when out of memory.  Allocates nothing else and changes no
 * process state, so a multithreaded host may call it. */
char **dt__runenv_build(char *const *base, const dt__runenv *how) {
  size_t nbase = 0;
  while (base[nbase] != NULL)
    nbase++;
  /* Room for the variables added (at most four) and the NULL. */
  size_t nptr = nbase + 5;
  size_t cfglen = sizeof DT__ENV_CONFIG + strlen(how->config) + 1;
  size_t wlen = sizeof DT__ENV_WORKERS + 16;
  char **envp = calloc(1, nptr * sizeof *envp + cfglen + wlen);
  if (envp == NULL)
    return NULL;
  char *cfgvar = (char *)(envp + nptr);
  char *wvar = cfgvar + cfglen;

  size_t k = 0;
  for (size_t i = 0; i < nbase; i++) {
    const char *e = base[i];
    if (sets(e, DT__ENV_ROLE) || sets(e, DT__ENV_CONFIG) ||
        sets(e, DT__ENV_MODE) || sets(e, DT__ENV_AUTOSTARTED) ||
        (!how->ready_fd && sets(e, DT__ENV_READY_FD)) ||
        (how->workers > 0 && sets(e, DT__ENV_WORKERS)))
      continue;
    envp[k++] = base[i];
  }
  envp[k++] = DT__ENV_ROLE "=" DT__ROLE_RUNNER;
  if (how->autostarted)
    envp[k++] = DT__ENV_AUTOSTARTED "=1";
  snprintf(cfgvar, cfglen, "%s=%s", DT__ENV_CONFIG, how->config);
  envp[k++] = cfgvar;
  if (how->workers > 0) {
    snprintf(wvar, wlen, "%s=%d", DT__ENV_WORKERS, how->workers);
    envp[k++] = wvar;
  }
  envp[k] = NULL;
  return envp;
}
