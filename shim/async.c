/* async.c: owns the calls no caller waits for ([[offload]] async = true).
 *
 * An async call copies its arguments (scalars, in buffers, strings) into
 * the process's async arena, queues its task under the process's async
 * waiter slot and returns at once: the caller's errno is left as it was,
 * and the function's own errno is never seen.  The caller may reuse its
 * buffers as soon as the call returns.
 *
 * One thread per process, the reaper, started by the first async call,
 * takes the answers in the order the calls were queued and settles each
 * as a waited call would be (shim/trip.c): a retry, the inline fallback
 * (run in the reaper, with the copied arguments), an on_* value (which no
 * one reads), except that a failure that would kill a waiting caller
 * (on_crash = "signal") is said on stderr instead.  Every call is thus
 * executed once, or said to have failed.
 *
 * At exit (the shim's destructor, after exit() or a return from main),
 * dt__async_drain waits for the calls still pending, each until its
 * symbol's drain_timeout after the drain began, so that the exit is held
 * no longer: then a call no worker took is withdrawn, never run, and one
 * a worker still runs is left to it (said once per symbol).  A call made
 * once the drain has begun (by another thread) is made as a waited call,
 * so that threads that go on calling cannot hold the exit.  _exit skips
 * the drain.
 *
 * Bounded: at most MAX_PENDING calls and ARENA_BYTES of copied arguments
 * per process; past either, an async call waits for the reaper to make
 * room (the queue's back-pressure).  A call too large for a quarter of
 * the arena, and one made by the reaper itself (a function run inline
 * that calls an async function), is made as a waited call instead.  The
 * arena is one mapping reserved on first use (MAP_NORESERVE) and used as
 * a ring, since calls are settled in the order they were queued: no
 * malloc, as everywhere on the call path.  After fork the child starts
 * with none of the parent's calls. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "common/guard.h"
#include "common/log.h"
#include "config/config.h"
#include "config/policy.h"
#include "config/sig.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "shim/async.h"
#include "shim/autostart.h"
#include "shim/call.h"
#include "shim/state.h"
#include "shim/symbol.h"
#include "shim/trip.h"

#define MAX_PENDING 4096
#define ARENA_BYTES (64u << 20)
#define SLOT_BYTES 16 /* one scalar or pointer argument, aligned */
/* How long the drain waits for the reaper beyond the longest
 * drain_timeout (a retry or an inline run at the end). */
#define DRAIN_GRACE_NS (5ull * 1000000000ull)

/* One queued call: its stub, id, task size, and its copied arguments at
 * off in the arena (len bytes, after skip bytes left at the arena's end
 * when it wrapped). */
typedef struct pending {
  dt__stub *s;
  uint64_t id;
  size_t size;
  size_t off, len, skip;
  int saved;   /* the caller's errno at the call */
  uint64_t t0; /* when the call was made */
} pending;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t more;  /* a call was queued, or the drain began */
  pthread_cond_t room;  /* the reaper freed a call */
  pthread_cond_t done;  /* the reaper ended */
  bool init, failed;    /* the arena, slot and reaper: set up, or not */
  pthread_t reaper;
  bool running, draining, ended;
  uint64_t drain_start;
  uint64_t no_runner; /* the reaper's: since when it saw none (0: one) */
  pending ring[MAX_PENDING];
  unsigned first, n;    /* the oldest call, and how many */
  unsigned char *arena;
  size_t head, tail, used;
  dt__thread_state ts;  /* the async slot, and the answer it may hold */
} A = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .more = PTHREAD_COND_INITIALIZER,
       .room = PTHREAD_COND_INITIALIZER,
       .done = PTHREAD_COND_INITIALIZER};

/* ------------------------------------------------------------ the arena */

/* Takes len bytes (a multiple of 16) from the ring: sets *off and *skip
 * and returns true, or false when they do not fit now. */
static bool arena_take(size_t len, size_t *off, size_t *skip) {
  if (A.used == 0)
    A.head = A.tail = 0;
  *skip = 0;
  if (A.used == 0 || A.tail > A.head) {
    if (ARENA_BYTES - A.tail >= len) {
      *off = A.tail;
    } else if (A.head >= len) {
      *skip = ARENA_BYTES - A.tail;
      *off = 0;
    } else {
      return false;
    }
  } else if (A.head - A.tail >= len) {
    *off = A.tail;
  } else {
    return false;
  }
  A.tail = *off + len;
  A.used += len + *skip;
  return true;
}

/* Gives back the oldest call's bytes (calls are freed in order). */
static void arena_give(const pending *p) {
  A.used -= p->len + p->skip;
  A.head = p->off + p->len;
}

/* ------------------------------------------------------ copied arguments */

/* The bytes the copy of args takes: an argument vector, a slot per
 * argument, and every in buffer and string, each on its type's alignment
 * (dt__wire_frame_align, as in a worker's frame: room for its padding is
 * counted) and at least 16 bytes, so that a present buffer of 0 bytes
 * gets a pointer of its own; never 0.  len[i] gets each buffer's or
 * string's byte count (0 for a NULL one), for copy_args.
 * Returns 0, or -E2BIG for arguments that cannot be sized (the call then
 * waits, as any other). */
static int copy_bytes(const dt__sig *sig, void **args, size_t *out,
                      uint64_t len[DT__MAX_PARAMS]) {
  size_t n = (((size_t)sig->nparams * sizeof(void *) + 15) & ~(size_t)15) +
             (size_t)sig->nparams * SLOT_BYTES;
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    uint64_t b = 0;
    len[i] = 0;
    if (!p->is_buffer && p->type.tag != DT__T_CSTRING)
      continue;
    const void *src = *(void **)args[i];
    if (src == NULL)
      continue;
    if (p->is_buffer && dt__wire_buffer_bytes(sig, i, args, &b) != 0)
      return -E2BIG;
    if (!p->is_buffer)
      b = strlen(src) + 1;
    if (b > ARENA_BYTES)
      return -E2BIG;
    len[i] = b;
    n += dt__wire_frame_align(&p->type) - 16 +
         (((size_t)(b ? b : 1) + 15) & ~(size_t)15);
  }
  /* At least 16 bytes, even without arguments: a call of none would
   * leave the arena's count at 0 while queued, and arena_take would start
   * the ring over under the calls queued before it. */
  *out = n > 0 ? n : 16;
  return 0;
}

/* Copies args into dst (copy_bytes of them, 16-aligned; len as it left
 * them): returns the copied argument vector, at dst's start, whose
 * pointers lead into dst. */
static void **copy_args(const dt__sig *sig, void **args,
                        const uint64_t len[DT__MAX_PARAMS],
                        unsigned char *dst) {
  void **argv = (void **)dst;
  unsigned char *slots =
      dst + (((size_t)sig->nparams * sizeof(void *) + 15) & ~(size_t)15);
  unsigned char *data = slots + (size_t)sig->nparams * SLOT_BYTES;
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    unsigned char *slot = slots + (size_t)i * SLOT_BYTES;
    argv[i] = slot;
    if (!p->is_buffer && p->type.tag != DT__T_CSTRING) {
      memcpy(slot, args[i], p->type.size);
      continue;
    }
    const void *src = *(void **)args[i];
    void *copy = NULL;
    if (src != NULL) {
      size_t a = dt__wire_frame_align(&p->type);
      data += (a - (uintptr_t)data % a) % a;
      memcpy(data, src, (size_t)len[i]);
      copy = data;
      data += ((size_t)(len[i] ? len[i] : 1) + 15) & ~(size_t)15;
    }
    memcpy(slot, &copy, sizeof copy);
  }
  return argv;
}

/* ------------------------------------------------------------ the reaper */

/* Settles the call p, whose answer comes under the async slot; with
 * until (the drain), gives up at that time. */
static void settle(dt__queue *q, pending *p, uint64_t until) {
  dt__stub *s = p->s;
  void **argv = (void **)(A.arena + p->off);
  uint64_t ret[2] = {0, 0}; /* a void function's: never read */
  dt__call_ctx c;
  dt__trip_ctx_init(&c, s, argv, ret, p->saved, NULL);
  c.id = p->id;
  dt__watch w = {0, 0, false, until};
  /* No runner: wait_for_runner counts from when the call was made (or
   * from when the reaper found none, if later), not from now: the calls
   * queued behind one that waited for a runner have waited as long, and
   * must not wait it again one after another. */
  if (dt__queue_runner_recent(q, DT__RUNNER_MAX_AGE_NS)) {
    A.no_runner = 0;
  } else {
    if (A.no_runner == 0)
      A.no_runner = dt__now_ns();
    w.since = p->t0 > A.no_runner ? p->t0 : A.no_runner;
  }
  dt__outcome o = dt__trip_wait(s, q, &A.ts, &c, false, 0, &w);
  if (o == DT__OUT_DRAINED) {
    /* Past drain_timeout: the exit is not held longer.  A call no worker
     * took is withdrawn (never run: running it here would hold the exit),
     * one a worker has is left to it; said per symbol at the end. */
    if (dt__queue_cancel(q, p->id) == 1)
      s->drain_dropped++;
    else
      s->drain_left++;
    return;
  }
  int err;
  int how = dt__trip_settle(s, q, &A.ts, ret, argv, p->size, p->saved, o, &c,
                            &err);
  if (how == DT__SETTLED_RESULT)
    __atomic_add_fetch(&s->hist[dt__hist_bucket(dt__now_ns() - p->t0)], 1,
                       __ATOMIC_RELAXED);
}

/* The reaper thread: settles the pending calls in order until the drain
 * finds none left.  It blocks every signal (the host's handlers run on
 * the host's threads) and runs as the shim's own code. */
static void *reaper(void *arg) {
  (void)arg;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  dt__in_shim = 1;
  dt__queue *q = dt__state_queue();
  pthread_mutex_lock(&A.mu);
  for (;;) {
    while (A.n == 0 && !A.draining)
      pthread_cond_wait(&A.more, &A.mu);
    if (A.n == 0)
      break;
    pending *p = &A.ring[A.first];
    uint64_t until = A.draining ? A.drain_start + p->s->off->policy
                                                      .drain_timeout_ns
                                : 0;
    pthread_mutex_unlock(&A.mu);
    settle(q, p, until);
    pthread_mutex_lock(&A.mu);
    arena_give(p);
    A.first = (A.first + 1) % MAX_PENDING;
    A.n--;
    pthread_cond_broadcast(&A.room);
  }
  if (A.ts.has_drop && q != NULL)
    dt__queue_drop(q, A.ts.drop);
  A.ts.has_drop = false;
  for (size_t i = 0; i < dt__caller.n; i++) {
    dt__stub *s = &dt__caller.stubs[i];
    if (s->drain_dropped + s->drain_left > 0)
      dt__log(DT__LOG_ERROR, "async calls of %s at exit, past drain_timeout "
              "(%gs): %lu not run (no worker had taken them: withdrawn), "
              "%lu left running in workers (their answers not read)",
              s->off->symbol, (double)s->off->policy.drain_timeout_ns / 1e9,
              s->drain_dropped, s->drain_left);
  }
  A.ended = true;
  pthread_cond_broadcast(&A.done);
  pthread_mutex_unlock(&A.mu);
  return NULL;
}

/* The fork handler, in the child: the parent's calls, slot and reaper
 * are not ours; the arena mapping is reused. */
static void atfork_child(void) {
  pthread_mutex_init(&A.mu, NULL);
  pthread_cond_init(&A.more, NULL);
  pthread_cond_init(&A.room, NULL);
  pthread_cond_init(&A.done, NULL);
  A.running = A.draining = A.ended = false;
  A.first = A.n = 0;
  A.head = A.tail = A.used = 0;
  A.ts.has_slot = A.ts.has_drop = false;
  A.no_runner = 0;
}

/* Installs atfork_child, once per process, before the first async call
 * takes A.mu.  Installed later, under A.mu (as it once was), it left a
 * window: a fork while another thread held A.mu for that first call's
 * set-up (with Redis, a round trip to the server for the async slot)
 * gave a child whose A.mu stayed locked for good, and whose first async
 * call hung (tests/integration/async.sh 13). */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static void watch_fork(void) { pthread_atfork(NULL, NULL, atfork_child); }

/* Sets up, under A.mu, what async calls need: the arena, the async slot
 * and the reaper.  Returns true when they are there. */
static bool ready(dt__queue *q) {
  if (!A.init) {
    A.init = true;
    A.arena = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (A.arena == MAP_FAILED) {
      A.arena = NULL;
      A.failed = true;
      dt__log(DT__LOG_ERROR, "cannot reserve memory for async calls: %s; "
              "they are made as waited calls", strerror(errno));
    }
  }
  if (A.failed)
    return false;
  if (!A.ts.has_slot) {
    if (dt__queue_waiter(q, &A.ts.slot) != 0)
      return false;
    A.ts.has_slot = true;
  }
  if (!A.running && !A.ended) {
    /* Created with every signal blocked: none of the host's handlers
     * runs in it, not even before it blocks them itself. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&A.reaper, NULL, reaper, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
      return false;
    A.running = true;
  }
  return !A.ended;
}

/* --------------------------------------------------------------- calls */

/* wait_room's cleanup: a caller cancelled while it waits for room. */
static void cancelled(void *arg) {
  (void)arg;
  dt__in_shim = 0;
  pthread_mutex_unlock(&A.mu);
}

/* Waits, with A.mu held, until the reaper frees room; the wait can be
 * cancelled as the caller's cancel state (cancel) allows, as a call
 * blocked on a full pipe could be, and the thread then ends without
 * A.mu. */
static void wait_room(int cancel) {
  pthread_cleanup_push(cancelled, NULL);
  pthread_setcancelstate(cancel, NULL);
  pthread_cond_wait(&A.room, &A.mu);
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
  pthread_cleanup_pop(0);
}

/* Makes the async call of s (args as libffi passes them): queued, the
 * caller does not wait.  A call that cannot be queued so (no memory for
 * async calls, no slot, arguments too large, the reaper's own, no runner
 * within wait_for_runner, made once the drain at exit has begun) is made
 * as a waited call; one that cannot be queued at all runs inline.  errno
 * is left as the caller had it.
 * Returns where the call went. */
dt__where dt__async_call(dt__stub *s, void *ret, void **args) {
  int saved = errno, cancel;
  /* Not cancelled (pthread_cancel) while it holds A.mu, but for the wait
   * for room (wait_room): a request otherwise waits for the program's
   * next cancellation point. */
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
  pthread_once(&fork_once, watch_fork);
  dt__in_shim = 1;
  dt__where where = DT__RAN_QUEUED;
  dt__queue *q = dt__state_queue();
  size_t bytes = 0, size = 0;
  uint64_t len[DT__MAX_PARAMS];
  bool waited = q == NULL ||
                copy_bytes(&s->off->sig, args, &bytes, len) != 0 ||
                bytes > ARENA_BYTES / 4 ||
                dt__wire_task_size(&s->off->sig, args, dt__stub_obj(s),
                                   &size) != 0;
  if (!waited && !dt__queue_runner_recent(q, DT__RUNNER_MAX_AGE_NS) &&
      dt__autostart_ensure(q, s->off->policy.wait_for_runner_ns) ==
          -ETIMEDOUT &&
      s->off->policy.on_unavailable.kind != DT__ON_WAIT)
    waited = true; /* on_unavailable decides, as for a waited call */
  pthread_mutex_lock(&A.mu);
  if (!waited && (!ready(q) || (A.running &&
                                pthread_equal(A.reaper, pthread_self()))))
    waited = true;
  pending p = {s, 0, size, 0, bytes, 0, saved, dt__now_ns()};
  size_t old_tail, old_used, old_head;
  while (!waited) {
    old_tail = A.tail, old_used = A.used, old_head = A.head;
    if (A.ended || A.draining) /* the exit waits for the calls queued */
      waited = true;           /* before it, not for new ones */
    else if (A.n < MAX_PENDING && arena_take(bytes, &p.off, &p.skip))
      break;
    else
      wait_room(cancel);
  }
  if (waited) {
    pthread_mutex_unlock(&A.mu);
    pthread_setcancelstate(cancel, NULL);
    dt__in_shim = 0;
    errno = saved;
    where = dt__offload_call(s, ret, args);
    errno = saved;
    return where;
  }
  (void)copy_args(&s->off->sig, args, len, A.arena + p.off);
  dt__call_ctx c;
  dt__trip_ctx_init(&c, s, args, ret, saved, NULL);
  if (dt__trip_submit_async(s, q, A.ts.slot, size, &c) != 0) {
    A.tail = old_tail;
    A.used = old_used;
    A.head = old_head;
    pthread_mutex_unlock(&A.mu);
    /* Said by the submit; nothing was queued: it runs here, once. */
    pthread_setcancelstate(cancel, NULL);
    (void)dt__trip_inline(s, ret, args, saved);
    dt__in_shim = 0;
    errno = saved;
    return DT__RAN_INLINE;
  }
  p.id = c.id;
  A.ring[(A.first + A.n) % MAX_PENDING] = p;
  A.n++;
  pthread_cond_signal(&A.more);
  pthread_mutex_unlock(&A.mu);
  pthread_setcancelstate(cancel, NULL);
  dt__in_shim = 0;
  errno = saved;
  return where;
}

/* At exit: waits for every async call still pending (see the top of this
 * file), at most the longest drain_timeout and a few seconds more.
 * Nothing when no async call was made, or when the reaper itself exits
 * (a function run inline that calls exit). */
void dt__async_drain(void) {
  pthread_mutex_lock(&A.mu);
  if (!A.running || pthread_equal(A.reaper, pthread_self())) {
    pthread_mutex_unlock(&A.mu);
    return;
  }
  uint64_t longest = 0;
  for (size_t i = 0; i < dt__caller.n; i++)
    if (dt__caller.stubs[i].off->async &&
        dt__caller.stubs[i].off->policy.drain_timeout_ns > longest)
      longest = dt__caller.stubs[i].off->policy.drain_timeout_ns;
  A.draining = true;
  A.drain_start = dt__now_ns();
  pthread_cond_signal(&A.more);
  pthread_cond_broadcast(&A.room); /* callers waiting for room: waited */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  uint64_t wait = longest + DRAIN_GRACE_NS;
  until.tv_sec += (time_t)(wait / 1000000000ull);
  until.tv_nsec += (long)(wait % 1000000000ull);
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  int rc = 0;
  while (!A.ended && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&A.done, &A.mu, &until);
  bool ended = A.ended;
  unsigned left = A.n;
  pthread_mutex_unlock(&A.mu);
  if (ended)
    pthread_join(A.reaper, NULL);
  else
    dt__log(DT__LOG_ERROR, "%u async call%s still pending at exit after "
            "the drain's %gs; the process exits without them", left,
            left == 1 ? "" : "s", (double)wait / 1e9);
}
