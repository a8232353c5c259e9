/* state.c: owns the caller role's state.
 *
 * That is: the settings every call reads (the config, the stub table and
 * the config's fingerprint, set once at start-up); the process's queue
 * handle, opened on first use and again in a child after fork (LMDB
 * handles never cross fork); and each thread's state, its waiter slot
 * and its arena, created on the thread's first call and given back when
 * the thread exits (returned strings are shim/rstring.c's).  A fork handler makes
 * the child start afresh: no handle, no slots, no counts of the
 * parent's.
 *
 * Memory for per-thread state comes from mmap, not malloc, so that a host
 * that interposes malloc never sees the shim in its allocator. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/common.h"
#include "common/log.h"
#include "common/pid.h"
#include "config/config.h"
#include "queue/image.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "shim/rstring.h"
#include "shim/state.h"
#include "shim/symbol.h"

dt__caller_set dt__caller;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static dt__queue *s_q;         /* opened lazily, per process */
/* After a failed open: when to try again (CLOCK_MONOTONIC ns; 0: the
 * last open did not fail), and what it said (said again only when it
 * changes, so that a session is told once, not once a call). */
static uint64_t s_retry_at;
static char s_said[512];
/* How often a queue that could not be opened is tried again: a user who
 * fixes the directory (or the other user who removes theirs) gets
 * offload back without restarting the program. */
#define QUEUE_RETRY_NS (5ull * 1000000000ull)
static pthread_key_t s_tls_key;

static __thread dt__thread_state *t_state
    __attribute__((tls_model("initial-exec")));

/* Handles inherited across fork: never used or closed in the child (see
 * dt__queue_close), but kept reachable, so that leak checkers do not
 * report them.  One per fork generation; past the table's size they are
 * simply dropped. */
static dt__queue *s_abandoned[64];
static size_t s_nabandoned;

/* Maps n bytes of private, zeroed memory; NULL on failure.  The caller
 * unmaps them (munmap with the same n). */
void *dt__state_map(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

/* The thread-specific data destructor: the thread is exiting, so its
 * waiter slot goes back to the queue (with the result it still holds
 * there) and its memory is unmapped. */
static void free_state(void *p) {
  dt__thread_state *ts = p;
  if (ts == NULL)
    return;
  dt__queue *q = __atomic_load_n(&s_q, __ATOMIC_ACQUIRE);
  if (ts->has_slot && ts->pid == dt__pid() && q != NULL &&
      !dt__queue_stale(q)) {
    if (ts->has_drop)
      dt__queue_drop(q, ts->drop);
    dt__arena_drop(&ts->arena, q->dirfd); /* before its slot goes */
    dt__queue_waiter_release(q, ts->slot);
  }
  if (t_state == ts)
    t_state = NULL;
  munmap(ts, sizeof *ts);
}

/* This thread's state, created on its first call (owned by the thread,
 * freed when it exits); NULL when no memory can be mapped. */
dt__thread_state *dt__state_thread(void) {
  if (t_state == NULL) {
    t_state = dt__state_map(sizeof *t_state);
    if (t_state == NULL)
      return NULL;
    pthread_setspecific(s_tls_key, t_state);
  }
  return t_state;
}

/* This thread's state if it has one, else NULL (creates nothing). */
dt__thread_state *dt__state_current(void) {
  return t_state;
}

/* The fork handler, in the parent just before a fork: this process's
 * image is identified (dt__image_self caches it) before the child is
 * made, so that the child's first call never has to walk the loaded
 * objects for it: a walk that another thread of the parent had under way
 * at the fork (its own first call) leaves the loader's lock held in the
 * child, whose dl_iterate_phdr then blocks forever. */
static void atfork_prepare(void) {
  int saved = errno;
  dt__objid id;
  (void)dt__image_self(&id, NULL, 0);
  errno = saved;
}

/* The fork handler, in the child: the parent's handle and slots are not
 * ours, and neither are the parent's calls (the child counts its own). */
static void atfork_child(void) {
  if (s_q != NULL && s_nabandoned < sizeof s_abandoned / sizeof *s_abandoned)
    s_abandoned[s_nabandoned++] = s_q;
  s_q = NULL; /* abandoned: see dt__queue_close */
  s_retry_at = 0;
  s_said[0] = '\0';
  pthread_mutex_init(&s_lock, NULL);
  if (t_state != NULL) {
    t_state->has_slot = false;
    t_state->has_drop = false; /* the parent's, not ours */
    /* Its arena is the parent's thread's, not mapped here (queue/arena.c:
     * MADV_DONTFORK). */
    memset(&t_state->arena, 0, sizeof t_state->arena);
  }
  for (size_t i = 0; i < dt__caller.n; i++) {
    memset(dt__caller.stubs[i].hist, 0, sizeof dt__caller.stubs[i].hist);
    dt__caller.stubs[i].calls = 0;
    dt__caller.stubs[i].local = 0;
    dt__caller.stubs[i].retries = 0;
  }
}

/* Keeps cfg and the stub table (both owned by shim.c for the life of the
 * process), makes room for the strings its symbols return (rstring.c;
 * without it a returned string makes the call run inline) and installs
 * the thread-exit and fork handlers.  Called once, by the shim's
 * constructor, before any intercepted call. */
void dt__state_init(const dt__config *cfg, dt__stub *stubs, size_t n) {
  dt__caller.cfg = cfg;
  dt__caller.stubs = stubs;
  dt__caller.n = n;
  dt__caller.fp = dt__wire_fingerprint(cfg);
  const char *p = getenv(DT__ENV_PROGRESS);
  int saved = errno;
  dt__caller.progress =
      (cfg->progress || (p != NULL && strcmp(p, "1") == 0)) && isatty(2);
  errno = saved;
  dt__rstr_init(n);
  pthread_key_create(&s_tls_key, free_state);
  pthread_atfork(atfork_prepare, NULL, atfork_child);
}

/* This process's queue handle, opened on first use (and again after a
 * fork); NULL when it cannot be opened.  A failed open is tried again
 * at most every QUEUE_RETRY_NS, so that offload comes back once the
 * directory is fixed; its reason is said once (and again if it changes),
 * and the return of offload is said at DTASK_LOG=info.  The handle lives
 * as long as the process. */
dt__queue *dt__state_queue(void) {
  dt__queue *q = __atomic_load_n(&s_q, __ATOMIC_ACQUIRE);
  if (q != NULL && !dt__queue_stale(q))
    return q;
  uint64_t retry = __atomic_load_n(&s_retry_at, __ATOMIC_ACQUIRE);
  if (q == NULL && retry != 0 && dt__now_ns() < retry)
    return NULL; /* failed lately: no lock, no system call but the clock */
  pthread_mutex_lock(&s_lock);
  q = s_q;
  if ((q == NULL || dt__queue_stale(q)) &&
      (s_retry_at == 0 || dt__now_ns() >= s_retry_at)) {
    dt__error err = {0, 0, ""};
    char image[160];
    q = NULL;
    int rc = dt__image_queue_self(image, sizeof image);
    if (rc != 0)
      dt__error_set(&err, 0, 0, "cannot identify the program image of %s "
                    "(%s), so no pool can be matched to it",
                    program_invocation_short_name, strerror(-rc));
    else
      rc = dt__queue_open_image(dt__caller.cfg, image, &q, &err);
    if (rc != 0) {
      if (strcmp(err.msg, s_said) != 0)
        dt__log(DT__LOG_ERROR, "%s; calls run inline in %s instead (tried "
                "again every %llus)", err.msg, program_invocation_short_name,
                QUEUE_RETRY_NS / 1000000000ull);
      snprintf(s_said, sizeof s_said, "%s", err.msg);
      __atomic_store_n(&s_retry_at, dt__now_ns() + QUEUE_RETRY_NS,
                       __ATOMIC_RELEASE);
      q = NULL;
    } else if (s_retry_at != 0) {
      dt__log(DT__LOG_INFO, "the queue in %s opens now; calls of %s are "
              "offloaded again", dt__queue_dir(q),
              program_invocation_short_name);
      s_said[0] = '\0';
      __atomic_store_n(&s_retry_at, 0, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&s_q, q, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&s_lock);
  return q;
}

/* At exit: drops the calling thread's last result, still in the queue,
 * and unlinks the arenas of every thread of this process (threads that
 * exit drop theirs; a pool's sweep unlinks those of a process that died
 * or exec'd). */
void dt__state_fini(void) {
  dt__thread_state *ts = t_state;
  dt__queue *q = __atomic_load_n(&s_q, __ATOMIC_ACQUIRE);
  if (ts != NULL && ts->pid == dt__pid() && q != NULL &&
      !dt__queue_stale(q)) {
    if (ts->has_drop)
      dt__queue_drop(q, ts->drop);
    ts->has_drop = false;
    dt__arena_drop(&ts->arena, q->dirfd);
  }
  /* The arenas of this process's other threads, which no destructor
   * drops at exit. */
  if (q != NULL && !dt__queue_stale(q) && q->ops->arena)
    (void)dt__arena_drop_process(q->dirfd);
}
