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
#include <grp.h>
#include <pwd.h>
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
/* DT_VERSION, DT_COMMIT and DT_LIBDIR, written by the Makefile into
 * $(BUILD)/gen (rewritten only when one of them changes). */
#include "buildinfo.h"

/* Prints "CMD VERSION (commit HASH)" on stdout, for --version. */
void dt__print_version(const char *cmd) {
  printf("%s %s (commit %s)\n", cmd, DT_VERSION, DT_COMMIT);
}

/* realpath of cand into out (PATH_MAX bytes) if cand is readable. */
static int take(const char *cand, char *out) {
  return access(cand, R_OK) == 0 && realpath(cand, out) != NULL ? 0 : -ENOENT;
}

/* Finds libdtask_shim.so for the commands, in this order: $DTASK_SHIM;
 * beside the running executable (the build tree); the LIBDIR the
 * commands were built for (an installed copy); ../lib/ from the
 * executable (an installed tree that was moved, or a DESTDIR).  out must
 * hold PATH_MAX bytes.  Returns 0, or -ENOENT with a message on stderr
 * that begins with cmd and names the places searched. */
int dt__find_shim(const char *cmd, char *out) {
  const char *env = getenv(DT__ENV_SHIM);
  if (env != NULL && env[0] != '\0') {
    if (take(env, out) == 0)
      return 0;
    fprintf(stderr, "%s: " DT__ENV_SHIM "=%s: %s\n", cmd, env,
            strerror(errno));
    return -ENOENT;
  }
  char exe[PATH_MAX], cand[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
  if (slash != NULL) {
    *slash = '\0';
    snprintf(cand, sizeof cand, "%s/libdtask_shim.so", exe);
    if (take(cand, out) == 0)
      return 0;
  }
  if (take(DT_LIBDIR "/libdtask_shim.so", out) == 0)
    return 0;
  if (slash != NULL) {
    snprintf(cand, sizeof cand, "%s/../lib/libdtask_shim.so", exe);
    if (take(cand, out) == 0)
      return 0;
  }
  fprintf(stderr, "%s: cannot find libdtask_shim.so beside this program, "
                  "in " DT_LIBDIR " or in ../lib; set " DT__ENV_SHIM
                  " to its path\n",
          cmd);
  return -ENOENT;
}

/* Runs the rest of this process as user name (dtask-runner -u): its
 * groups, gid and uid, and HOME, USER and LOGNAME from the password
 * database.  As that user already, nothing changes; otherwise it takes
 * root.  Returns 0, or 2 with a message on stderr that begins with
 * cmd. */
int dt__become_user(const char *cmd, const char *name) {
  struct passwd *pw = getpwnam(name);
  if (pw == NULL) {
    fprintf(stderr, "%s: -u %s: no such user in the password database\n",
            cmd, name);
    return 2;
  }
  if (geteuid() == pw->pw_uid && getuid() == pw->pw_uid)
    return 0;
  if (geteuid() != 0) {
    fprintf(stderr, "%s: -u %s: only root can run a pool as another user "
                    "(you are uid %u); leave out -u\n",
            cmd, name, (unsigned)geteuid());
    return 2;
  }
  if (initgroups(name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
      setuid(pw->pw_uid) != 0) {
    fprintf(stderr, "%s: -u %s: cannot become that user: %s\n", cmd, name,
            strerror(errno));
    return 2;
  }
  if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
    fprintf(stderr, "%s: -u %s: root could be regained; stopping\n", cmd,
            name);
    return 2;
  }
  setenv("HOME", pw->pw_dir, 1);
  setenv("USER", pw->pw_name, 1);
  setenv("LOGNAME", pw->pw_name, 1);
  return 0;
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

/* Parses "[-c FILE] [-w N] [-u USER] [--] PROG [ARGS]" for the
 * launchers (-u only when user is not NULL; also --help and --version).
 * Returns the index of PROG in argv, 0 after -h or --help (the caller
 * prints the usage on stdout), DT__LAUNCH_VERSION after -V or --version
 * (printed here), or -1 for a usage error (message on stderr, prefixed
 * with cmd).
 *
 * Option parsing stops at the first operand, so
 * PROG's own options are never taken for ours. */
int dt__launch_args(const char *cmd, int argc, char **argv, const char **file,
                    int *workers, const char **user) {
  static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
                                        {"version", no_argument, NULL, 'V'},
                                        {NULL, 0, NULL, 0}};
  int c;
  *file = NULL;
  *workers = 0;
  if (user != NULL)
    *user = NULL;
  optind = 1;
  while ((c = getopt_long(argc, argv, user ? "+c:w:u:hV" : "+c:w:hV", longs,
                          NULL)) != -1) {
    switch (c) {
    case 'c':
      *file = optarg;
      break;
    case 'u':
      *user = optarg;
      break;
    case 'V':
      dt__print_version(cmd);
      return DT__LAUNCH_VERSION;
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
