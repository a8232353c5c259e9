/* pid.c: owns the cached process id (common/pid.h).
 *
 * getpid() is a system call (glibc stopped caching it), about 1 us on a
 * paravirtualised machine such as the bench's, and the call path asked
 * for it several times per call, on both sides, to notice a fork.  The
 * cache is filled on first use, after the fork handler that refreshes it
 * in each child is registered (once). */
#include <pthread.h>
#include <unistd.h>

#include "common/pid.h"

static int s_pid; /* 0 until known (atomic) */
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

/* In the child of fork(), before fork() returns there. */
static void refresh(void) {
  __atomic_store_n(&s_pid, (int)getpid(), __ATOMIC_RELAXED);
}

static void watch_fork(void) { pthread_atfork(NULL, NULL, refresh); }

/* This process's id (getpid()'s), cached.  Async-signal-safe once
 * known. */
int dt__pid(void) {
  int pid = __atomic_load_n(&s_pid, __ATOMIC_RELAXED);
  if (pid != 0)
    return pid;
  pthread_once(&s_once, watch_fork);
  pid = (int)getpid();
  __atomic_store_n(&s_pid, pid, __ATOMIC_RELAXED);
  return pid;
}
