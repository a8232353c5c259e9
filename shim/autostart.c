/* autostart.c: owns starting a runner pool from the caller.
 *
 * When no runner serves the queue and [runner] autostart is on, the
 * first call starts a pool from the program's own image, detached in its
 * own session, and waits for it to serve.  A lock file in the queue
 * directory makes processes that start at once start one pool, not one
 * each.  The pool exits when idle (idle_exit). */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"
#include "queue/queue.h"
#include "shim/autostart.h"
#include "shim/runenv.h"
#include "shim/state.h"

extern char **environ;

/* The config's absolute path, for the pool (which starts elsewhere). */
static char a_config_abs[PATH_MAX];

/* Resolves the config's path once, at start-up (after dt__state_init):
 * the program may change its directory before its first call. */
void dt__autostart_init(void) {
  const char *path = dt__caller.cfg->path;
  if (realpath(path, a_config_abs) == NULL)
    snprintf(a_config_abs, sizeof a_config_abs, "%s", path);
}

/* Starts a runner pool from this program's image, detached: posix_spawn
 * (which runs no fork handlers of the host) in a new session, with the
 * runner environment of shim/runenv.c, logging to runner.log in the
 * queue directory; the spawned runner forks once more and its first
 * process exits at once, so the host gains no child.  Returns 0 or a
 * negative errno. */
static int spawn_runner(dt__queue *q) {
  char log[PATH_MAX + 16], cmd[8192];
  char *argv[256];
  int argc = 0;
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  ssize_t len = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
  if (fd >= 0)
    close(fd);
  if (len <= 0)
    return -EIO;
  cmd[len] = '\0';
  for (char *p = cmd; p < cmd + len && argc < 255; p += strlen(p) + 1)
    argv[argc++] = p;
  argv[argc] = NULL;

  dt__runenv how = {a_config_abs, 0, true, false};
  char **envp = dt__runenv_build(environ, &how);
  if (envp == NULL)
    return -ENOMEM;

  snprintf(log, sizeof log, "%s/runner.log", dt__queue_dir(q));
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  /* The pool must not hold the host's pipes open (a reader waiting for
   * EOF would wait until idle_exit). */
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
  pid_t pid;
  int rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  free(envp);
  if (rc != 0)
    return -rc;
  /* The runner daemonizes (forks, and this first process exits), so this
   * wait is short and leaves no zombie behind. */
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  dt__log(DT__LOG_INFO, "autostarted a runner for %s (log: %s)",
          dt__queue_dir(q), log);
  return 0;
}

/* Makes sure a runner serves q, starting one if [runner] autostart is
 * on.  Two processes starting at once serialize on autostart.lock in the
 * queue directory: the second finds the first one's runner alive.  A
 * failure is said; the call then waits as it would for any runner. */
void dt__autostart_ensure(dt__queue *q) {
  char path[PATH_MAX + 32];
  if (!dt__caller.cfg->autostart ||
      dt__queue_runner_alive(q, DT__RUNNER_MAX_AGE_NS))
    return;
  snprintf(path, sizeof path, "%s/autostart.lock", dt__queue_dir(q));
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
    ;
  if (!dt__queue_runner_alive(q, DT__RUNNER_MAX_AGE_NS)) {
    int rc = spawn_runner(q);
    if (rc != 0)
      dt__log(DT__LOG_ERROR, "cannot start a runner: %s", strerror(-rc));
    else if (dt__queue_wait_runner(q, DT__RUNNER_MAX_AGE_NS,
                                   DT__AUTOSTART_WAIT_NS) != 0)
      dt__log(DT__LOG_ERROR,
              "the autostarted runner did not come up within %llus; see "
              "%s/runner.log",
              DT__AUTOSTART_WAIT_NS / 1000000000ull, dt__queue_dir(q));
  }
  flock(fd, LOCK_UN);
  close(fd);
}
