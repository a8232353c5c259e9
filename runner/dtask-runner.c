/* dtask-runner.c: start a runner pool for a program image.
 *
 *     dtask-runner [-c FILE] [-w N] [-u USER] -- PROG [ARGS]
 *
 * validates the config (exit 2 on error), then replaces itself with PROG
 * in runner role: PROG's constructors run, then the shim's serve loop
 * runs instead of main, with N worker processes.  It stops on SIGTERM or
 * SIGINT after the calls in hand are finished.  With -u (root only, as
 * the systemd unit tools/dtask-runner@.service uses it) the pool runs as
 * USER, who reads the config. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "runner/launch.h"

/* Prints the usage text on out. */
static void usage(FILE *out) {
  fprintf(out, "usage: dtask-runner [-c FILE] [-w N] [-u USER] -- PROG [ARGS]\n"
               "       dtask-runner --version\n"
               "  -c FILE  the config (default $" DT__ENV_CONFIG
               ", ./dtask.toml)\n"
               "  -w N     worker processes (default [runner] workers)\n"
               "  -u USER  run the pool as USER (root only; the user of the "
               "callers)\n");
}

/* Validates the config, then execs PROG in runner role.  Returns only
 * after -h or --version (0), or when it cannot: 1 for a usage error, 2
 * for a bad config, a user it cannot become or no shim, 127 when PROG
 * cannot be run. */
int main(int argc, char **argv) {
  const char *file, *user;
  int workers;
  int at = dt__launch_args("dtask-runner", argc, argv, &file, &workers, &user);
  if (at == DT__LAUNCH_VERSION)
    return 0;
  if (at <= 0) {
    usage(at == 0 ? stdout : stderr);
    return at == 0 ? 0 : 1;
  }
  if (user != NULL && dt__become_user("dtask-runner", user) != 0)
    return 2;
  dt__config *cfg = NULL;
  char abs[PATH_MAX], shim[PATH_MAX];
  int rc = dt__launch_config("dtask-runner", file, &cfg, abs, sizeof abs);
  if (rc != 0)
    return rc;
  dt__config_free(cfg);
  if (dt__find_shim("dtask-runner", shim) != 0)
    return 2;
  rc = dt__exec_runner(shim, abs, workers, argv + at);
  fprintf(stderr, "dtask-runner: cannot run %s: %s\n", argv[at],
          strerror(-rc));
  return 127;
}
