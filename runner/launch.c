/* launch.c: what dtask-runner and `dtask run` share to start programs.
 *
 * Both commands start a program image with the shim preloaded: a runner
 * pool (DTASK_ROLE=runner) or the caller itself.  This file owns finding
 * the shim, putting it first in LD_PRELOAD without losing what the user
 * preloads already, reading the launchers' options and config, and
 * exec'ing a runner (with the environment of shim/runenv.c, the one
 * autostart gives a pool too). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/error.h"
#include "config/config.h"
#include "runner/launch.h"
#include "shim/runenv.h"

/* Finds libdtask_shim.so for the commands: $DTASK_SHIM, else beside the
 * running executable, else ../lib/ from it.  Returns 0 or -ENOENT. */
int dt__find_shim(char *out, size_t outsz) {
  const char *env = getenv(DT__ENV_SHIM);
  char exe[PATH_MAX];
  if (env != NULL && env[0] != '\0') {
    if (realpath(env, out) == NULL || access(out, R_OK) != 0)
      return -ENOENT;
    return 0;
  }
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return -ENOENT;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash == NULL)
    return -ENOENT;
  *slash = '\0';
  static const char *const rel[] = {"libdtask_shim.so",
                                    "../lib/libdtask_shim.so", NULL};
  for (int i = 0; rel[i] != NULL; i++) {
    char cand[PATH_MAX + 32];
    snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
    if (access(cand, R_OK) == 0 && realpath(cand, out) != NULL)
      return 0;
  }
  (void)outsz;
  return -ENOENT;
}

/* A sanitizer runtime must stay first in LD_PRELOAD. */
static int is_sanitizer_runtime(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  return strncmp(base, "libasan", 7) == 0 || strncmp(base, "libtsan", 7) == 0 ||
         strstr(base, "clang_rt.asan") != NULL;
}

/* Puts shim first in LD_PRELOAD, keeping what was there (and dropping a
 * copy of shim already in the list).
 *
 * LD_PRELOAD entries are separated by ':' or
 * spaces, as ld.so accepts.  Sanitizer runtimes already in the list stay
 * in front of the shim, as they require. */
int dt__env_preload(const char *shim) {
  const char *old = getenv("LD_PRELOAD");
  size_t cap = 2 * (strlen(shim) + (old ? strlen(old) : 0)) + 4;
  char *v = malloc(cap), *copy = strdup(old ? old : "");
  if (v == NULL || copy == NULL) {
    free(v);
    free(copy);
    return -ENOMEM;
  }
  v[0] = '\0';
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      strcat(v, v[0] ? ":" : "");
      strcat(v, shim);
    }
    char *tmp = strdup(copy), *save = NULL;
    if (tmp == NULL)
      break;
    for (char *tok = strtok_r(tmp, ": ", &save); tok != NULL;
         tok = strtok_r(NULL, ": ", &save)) {
      if (strcmp(tok, shim) == 0 || is_sanitizer_runtime(tok) != (pass == 0))
        continue;
      strcat(v, v[0] ? ":" : "");
      strcat(v, tok);
    }
    free(tmp);
  }
  free(copy);
  int rc = setenv("LD_PRELOAD", v, 1) == 0 ? 0 : -errno;
  free(v);
  return rc;
}

/* Replaces this process with PROG in runner role: puts the shim in
 * LD_PRELOAD, then execs PROG with the runner environment of
 * shim/runenv.c (DTASK_ROLE=runner, DTASK_CONFIG=config, DTASK_WORKERS
 * if workers > 0; an inherited DTASK_READY_FD stays for the launcher that
 * waits on it).  Returns only on failure (-errno). */
int dt__exec_runner(const char *shim, const char *config, int workers,
                    char **argv) {
  if (dt__env_preload(shim) != 0)
    return -ENOMEM;
  dt__runenv how = {config, workers, false, true};
  char **envp = dt__runenv_build(environ, &how);
  if (envp == NULL)
    return -ENOMEM;
  execvpe(argv[0], argv, envp);
  int e = errno;
  free(envp);
  return -e;
}

/* Parses "[-c FILE] [-w N] [--] PROG [ARGS]" for the launchers.  Returns
 * the index of PROG in argv, 0 after -h (usage printed on stdout), or -1
 * for a usage error (message on stderr, prefixed with cmd).
 *
 * Option parsing stops at the first operand, so
 * PROG's own options are never taken for ours. */
int dt__launch_args(const char *cmd, int argc, char **argv, const char **file,
                    int *workers) {
  int c;
  *file = NULL;
  *workers = 0;
  optind = 1;
  while ((c = getopt(argc, argv, "+c:w:h")) != -1) {
    switch (c) {
    case 'c':
      *file = optarg;
      break;
    case 'w':
      *workers = atoi(optarg);
      if (*workers < 1 || *workers > 1024) {
        fprintf(stderr, "%s: -w takes 1 to 1024 workers\n", cmd);
        return -1;
      }
      break;
    case 'h':
      return 0;
    default:
      return -1;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "%s: name the program to run after the options, e.g. "
                    "%s -c my.toml -- ./prog\n",
            cmd, cmd);
    return -1;
  }
  return optind;
}

/* Finds (file, else $DTASK_CONFIG, else ./dtask.toml), loads and validates
 * the config.  On success *cfg is owned by the caller and abs holds the
 * file's absolute path.  On failure prints "CMD: FILE:LINE:COL: ..." on
 * stderr and returns 2 (the launchers' exit status for a bad config). */
int dt__launch_config(const char *cmd, const char *file, dt__config **cfg,
                      char *abs, size_t abssz) {
  dt__error err = {0, 0, ""};
  *cfg = NULL;
  if (file == NULL)
    file = dt__config_default_path();
  if (file == NULL) {
    fprintf(stderr, "%s: no config: pass -c FILE, set " DT__ENV_CONFIG ", or "
                    "create ./dtask.toml (see config/dtask.example.toml)\n",
            cmd);
    return 2;
  }
  if (dt__config_load(file, cfg, &err) != 0) {
    char msg[4800];
    fprintf(stderr, "%s: %s\n", cmd,
            dt__error_format(&err, file, msg, sizeof msg));
    return 2;
  }
  char tmp[PATH_MAX];
  if (realpath(file, tmp) == NULL || strlen(tmp) >= abssz) {
    fprintf(stderr, "%s: %s: %s\n", cmd, file, strerror(errno));
    dt__config_free(*cfg);
    *cfg = NULL;
    return 2;
  }
  snprintf(abs, abssz, "%s", tmp);
  return 0;
}
