/* proc.c: process and thread liveness, read from /proc and kill(2).
 *
 * This file owns the one reading of /proc/PID/stat in dtask (state and
 * start time) and the rules built on it: a zombie is not running, and a
 * recycled pid is not the process that held a lease.  It calls nothing
 * else of dtask. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "queue/proc.h"

/* Reads the state (field 3) and the start time in clock ticks since boot
 * (field 22) of /proc/PID/stat.  Returns false if it cannot be read. */
static bool process_stat(int pid, char *state, uint64_t *start) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: fields are counted
   * from the last ')'. */
  char *p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ' || p[2] == '\0')
    return false;
  *state = p[2];
  p++;
  for (int field = 3; field < 22 && p != NULL; field++)
    p = strchr(p + 1, ' ');
  *start = p != NULL ? strtoull(p + 1, NULL, 10) : 0;
  return true;
}

/* Whether pid is a running process; *start gets its start time in clock
 * ticks since boot (0 when /proc does not tell).  A zombie is not
 * running: it has died and only waits for its parent to reap it, which
 * may take long (an orphaned worker under a PID 1 that reaps late, or
 * never).  When /proc does not tell, kill(pid, 0) does.  Changes errno. */
bool dt__proc_runs(int pid, uint64_t *start) {
  char state;
  *start = 0;
  if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
    return false;
  if (!process_stat(pid, &state, start)) {
    *start = 0;
    return true;
  }
  return state != 'Z' && state != 'X';
}

/* Whether pid is a running process (dt__proc_runs, start time unused). */
bool dt__proc_alive(int pid) {
  uint64_t start;
  return dt__proc_runs(pid, &start);
}

/* Whether the worker that holds a lease (pid, start time as
 * dt__proc_runs gives it) still runs: a live process with that start
 * time, since a recycled pid is someone else.  A start time of 0 on
 * either side (unknown) matches any. */
bool dt__proc_lease_alive(int pid, uint64_t start) {
  uint64_t now;
  return dt__proc_runs(pid, &now) && (start == 0 || now == 0 || now == start);
}

/* Whether thread tid of process pid still exists (tgkill with signal 0;
 * a thread of another user's process counts as existing).  Changes
 * errno. */
bool dt__proc_thread_alive(int pid, int tid) {
  if (syscall(SYS_tgkill, pid, tid, 0) == 0)
    return true;
  return errno == EPERM;
}
