/* dtask-runner.c: start a runner pool for a program image.
 *
 *     dtask-runner [-c FILE] [-w N] -- PROG [ARGS]
 *
 * validates the config (exit 2 on error), then replaces itself with PROG
 * in runner role: PROG's constructors run, then the shim's serve loop
 * runs instead of main, with N worker processes.  It stops on SIGTERM or
 * SIGINT after the calls in hand are finished. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtask_internal.h"

static void usage(FILE *out) {
  fprintf(out, "usage: dtask-runner [-c FILE] [-w N] -- PROG [ARGS]\n"
               "  -c FILE  the config (default $DTASK_CONFIG, ./dtask.toml)\n"
               "  -w N     worker processes (default [runner] workers)\n");
}

int main(int argc, char **argv) {
  const char *file = NULL;
  int workers = 0, c;
  while ((c = getopt(argc, argv, "+c:w:h")) != -1) {
    switch (c) {
    case 'c':
      file = optarg;
      break;
    case 'w':
      workers = atoi(optarg);
      if (workers < 1 || workers > 1024) {
        fprintf(stderr, "dtask-runner: -w takes 1 to 1024 workers\n");
        return 1;
      }
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 1;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return 1;
  }
  if (file == NULL)
    file = dt__config_default_path();
  if (file == NULL) {
    fprintf(stderr, "dtask-runner: no config: pass -c FILE, set "
                    "DTASK_CONFIG, or create ./dtask.toml\n");
    return 2;
  }
  dt__config *cfg = NULL;
  dt__error err = {0, 0, ""};
  if (dt__config_load(file, &cfg, &err) != 0) {
    char msg[4800];
    fprintf(stderr, "dtask-runner: %s\n",
            dt__error_format(&err, file, msg, sizeof msg));
    return 2;
  }
  dt__config_free(cfg);
  char abs[PATH_MAX], shim[PATH_MAX];
  if (realpath(file, abs) == NULL) {
    perror(file);
    return 2;
  }
  if (dt__find_shim(shim, sizeof shim) != 0) {
    fprintf(stderr, "dtask-runner: cannot find libdtask_shim.so beside this "
                    "program; set DTASK_SHIM\n");
    return 2;
  }
  int rc = dt__exec_runner(shim, abs, workers, argv + optind);
  fprintf(stderr, "dtask-runner: cannot run %s: %s\n", argv[optind],
          strerror(-rc));
  return 127;
}
