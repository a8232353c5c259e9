/* autostart.c: owns starting a runner pool from the caller.
 *
 * When no runner serves the queue and [runner] autostart is on, the
 * first call starts a pool from the program's own image, detached in its
 * own session, and waits for it to serve.  A lock file in the queue
 * directory makes processes that start at once start one pool, not one
 * each; a caller waits for that lock no longer than its wait_for_runner
 * budget, asleep on the doorbell's pool word between tries, so that a
 * process that holds it and hangs cannot hang every caller.  The lock
 * and the pool's log are opened through the queue directory's
 * descriptor (dt__queue_open_file).  The pool exits when idle
 * (idle_exit). */
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
/* Until when (CLOCK_MONOTONIC ns) the autostart lock is taken for stuck:
 * a caller that waited its whole budget for it has the next calls of
 * this process try it once, without waiting, for DT__AUTOSTART_WAIT_NS,
 * so that a program is not slowed by a full wait on every call. */
static uint64_t a_stuck_until;

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
 * queue directory (opened here through the directory's descriptor, and
 * handed to the pool as its stdout and stderr); the spawned runner forks
 * once more and its first process exits at once, so the host gains no
 * child.  Returns 0 or a negative errno (said, for the log file). */
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
  dt__error err = {0, 0, ""};
  int logfd;
  int rc = dt__queue_open_file(q, "runner.log", O_WRONLY | O_APPEND | O_CREAT,
                               &logfd, &err);
  if (rc != 0) {
    dt__log(DT__LOG_ERROR, "%s", err.msg);
    free(envp);
    return rc;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, logfd, 1);
  posix_spawn_file_actions_adddup2(&fa, logfd, 2);
  /* The pool must not hold the host's pipes open (a reader waiting for
   * EOF would wait until idle_exit). */
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
  pid_t pid;
  rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, envp);
  close(logfd);
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

/* Takes autostart.lock (fd) within budget_ns: flock without blocking,
 * and between tries a sleep on the doorbell's pool word
 * (dt__queue_wait_runner) of 10 ms doubling up to 1 s, cut short when a
 * pool comes up.  Returns 0 with the lock held; 1 when a pool came up
 * meanwhile (the lock is not held and not needed); -ETIMEDOUT when
 * another process held the lock for the whole budget; or flock's
 * negative errno. */
static int take_lock(dt__queue *q, int fd, uint64_t budget_ns) {
  uint64_t start = dt__now_ns(), delay = 10000000ull;
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno != EWOULDBLOCK)
      return -errno;
    uint64_t waited = dt__now_ns() - start;
    if (waited >= budget_ns)
      return -ETIMEDOUT;
    uint64_t nap = budget_ns - waited < delay ? budget_ns - waited : delay;
    if (dt__queue_wait_runner(q, DT__RUNNER_MAX_AGE_NS, nap) == 0)
      return 1;
    if (delay < 1000000000ull)
      delay = delay * 2 > 1000000000ull ? 1000000000ull : delay * 2;
  }
}

/* Makes sure a runner serves q, starting one if [runner] autostart is
 * on.  Two processes starting at once serialize on autostart.lock in the
 * queue directory: the second finds the first one's runner alive.  The
 * lock is waited for at most budget_ns (the call's wait_for_runner): a
 * process that holds it and never lets go (a hung autostart, or a
 * `flock autostart.lock sleep ...`) cannot hang the callers; once it
 * has, the process's next calls try it without waiting for
 * DT__AUTOSTART_WAIT_NS (a_stuck_until).  Returns 0
 * when a runner serves, or autostart is off; -ETIMEDOUT when the lock
 * stayed held for the whole budget (the caller applies on_unavailable
 * now); another negative errno when no pool could be started, -EAGAIN
 * when the one started did not come up (said in a line; the call then
 * waits as it would for any runner). */
int dt__autostart_ensure(dt__queue *q, uint64_t budget_ns) {
  if (!dt__caller.cfg->autostart ||
      dt__queue_runner_alive(q, DT__RUNNER_MAX_AGE_NS))
    return 0;
  dt__error err = {0, 0, ""};
  int fd;
  int rc = dt__queue_open_file(q, "autostart.lock", O_RDWR | O_CREAT, &fd,
                               &err);
  if (rc != 0) {
    dt__log(DT__LOG_ERROR, "cannot start a runner: %s", err.msg);
    return rc;
  }
  if (dt__now_ns() < __atomic_load_n(&a_stuck_until, __ATOMIC_RELAXED))
    budget_ns = 0;
  rc = take_lock(q, fd, budget_ns);
  if (rc == -ETIMEDOUT)
    __atomic_store_n(&a_stuck_until, dt__now_ns() + DT__AUTOSTART_WAIT_NS,
                     __ATOMIC_RELAXED);
  if (rc != 0) {
    close(fd);
    return rc == 1 ? 0 : rc;
  }
  if (!dt__queue_runner_alive(q, DT__RUNNER_MAX_AGE_NS)) {
    rc = spawn_runner(q);
    if (rc != 0) {
      dt__log(DT__LOG_ERROR, "cannot start a runner: %s", strerror(-rc));
    } else if (dt__queue_wait_runner(q, DT__RUNNER_MAX_AGE_NS,
                                     DT__AUTOSTART_WAIT_NS) != 0) {
      rc = -EAGAIN;
      dt__log(DT__LOG_ERROR,
              "the autostarted runner did not come up within %llus; see "
              "%s/runner.log",
              DT__AUTOSTART_WAIT_NS / 1000000000ull, dt__queue_dir(q));
    }
  }
  flock(fd, LOCK_UN);
  close(fd);
  return rc;
}
