/* worker.h: a worker of a runner pool, and the table it shares with its
 * supervisor (runner/worker.c). */
#ifndef DT_WORKER_H
#define DT_WORKER_H

#include <signal.h>

#include "common/log.h"
#include "config/config.h"
#include "shim/symbol.h"

#define DT__MAX_WORKERS 1024
/* The pool's housekeeping period: the supervisor's tick, and the longest
 * a worker waits for a task before it looks whether to stop. */
#define DT__RUNNER_TICK_NS 1000000000ull
/* A worker whose call's deadline is earlier than the supervisor's next
 * wake-up says so with this signal. */
#define DT__WAKE_SIGNAL SIGUSR1

/* What each worker is doing, shared with the supervisor. */
typedef struct dt__wstate {
  uint64_t busy;     /* call id + 1 while a call is claimed; 0 when idle */
  uint64_t deadline; /* CLOCK_MONOTONIC ns past which it is killed; 0 */
  uint32_t entry;    /* the call's config entry, when known */
  uint32_t pad;
  uint64_t since;    /* CLOCK_MONOTONIC ns when the call was claimed */
  char caller[64];   /* who made it, as the queue says ("PID" or
                        "HOST:PID"); written before busy */
} dt__wstate;

/* Per config entry, what the pool's workers did since it started
 * (dtask status; runner/poolstat.c reads them).  Counters only grow,
 * with relaxed atomic adds: no lock, no system call on the call path. */
#define DT__STAT_ENTRIES 64
typedef struct dt__wsym {
  uint64_t calls;    /* answered by a worker, whatever the answer */
  uint64_t errors;   /* answered with an error record, not run or lost */
  uint64_t crashes;  /* killed its worker (the supervisor's count) */
  uint64_t timeouts; /* ran past its timeout (the supervisor's count) */
  uint64_t exec[DT__HIST_BUCKETS]; /* run time in the worker (log.h) */
} dt__wsym;

/* The table of a pool (MAP_SHARED, created by the supervisor before its
 * first fork). */
typedef struct dt__wtable {
  uint64_t next_wake; /* when the supervisor wakes next (ns) */
  uint32_t ready;     /* workers that have opened the queue */
  uint32_t pad;
  char image[160];    /* the image's queue name (dt__image_queue_self) */
  char name[64];      /* the program's name, for process titles */
  dt__wstate w[DT__MAX_WORKERS];
  dt__wsym sym[DT__STAT_ENTRIES]; /* entries past the last are not counted */
} dt__wtable;

int dt__worker_run(const dt__config *cfg, dt__stub *stubs, size_t n,
                   dt__wtable *table, int i, int supervisor);

#endif /* DT_WORKER_H */
