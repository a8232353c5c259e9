/* offload.c: the caller's side of an offloaded call.
 *
 * An intercepted call arrives here with its arguments unpacked by libffi.
 * It is encoded straight into space reserved in the LMDB queue (no
 * intermediate buffer), the doorbell wakes one idle worker, and the
 * calling thread sleeps on its own futex word until the worker's result
 * wakes it.  The result then writes the return value, the out and inout
 * buffers and errno back, as if the function had run here.
 *
 * This file owns the process's queue handle (opened on first use, and
 * again in a child after fork: LMDB handles never cross fork), each
 * thread's waiter slot and cstring-return buffers, and autostart: when no
 * runner serves the queue and [runner] autostart is on, the first call
 * starts one from the program's own image, detached in its own session.
 *
 * A call is never lost: when no queue or runner can be had, or a runner
 * refuses the task, the call runs inline and a message says why. */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "common/guard.h"
#include "common/log.h"
#include "config/config.h"
#include "config/policy.h"
#include "config/sig.h"
#include "config/split.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "shim/offload.h"
#include "shim/runenv.h"
#include "shim/stub.h"

#define RUNNER_MAX_AGE_NS (3ull * 1000000000ull)
#define AUTOSTART_WAIT_NS (10ull * 1000000000ull)
#define WAIT_TICK_NS (1000000000ull)
#define WAIT_FOR_RUNNER_NS (30ull * 1000000000ull)

extern char **environ;

static const dt__config *o_cfg;
static dt__stub *o_stubs;
static size_t o_n;
static uint64_t o_fp;
static char o_config_abs[PATH_MAX];
static pthread_mutex_t o_lock = PTHREAD_MUTEX_INITIALIZER;
static dt__queue *o_q;         /* opened lazily, per process */
static bool o_queue_failed;    /* said once per process */
static pthread_key_t o_tls_key;

/* A thread's state: its waiter slot and its cstring-return buffers (one
 * per symbol, so each stays valid until that symbol's next call). */
typedef struct thread_state {
  int pid;
  uint32_t slot;
  bool has_slot;
  bool has_drop;  /* the last result, read in place, is still queued */
  uint64_t drop;
  size_t nbufs;
  struct {
    char *p;
    size_t cap;
  } buf[];
} thread_state;

static __thread thread_state *t_state
    __attribute__((tls_model("initial-exec")));

/* Memory for per-thread state comes from mmap, not malloc, so that a
 * host that interposes malloc never sees the shim in its allocator. */
static void *map_bytes(size_t n) {
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static size_t state_size(size_t n) {
  return sizeof(thread_state) + n * 2 * sizeof(void *);
}

static void free_state(void *p) {
  thread_state *ts = p;
  if (ts == NULL)
    return;
  /* The thread is exiting: its waiter slot goes back to the queue. */
  dt__queue *q = __atomic_load_n(&o_q, __ATOMIC_ACQUIRE);
  if (ts->has_slot && ts->pid == getpid() && q != NULL &&
      !dt__queue_stale(q)) {
    if (ts->has_drop)
      dt__queue_drop(q, ts->drop);
    dt__queue_waiter_release(q, ts->slot);
  }
  if (t_state == ts)
    t_state = NULL;
  for (size_t i = 0; i < ts->nbufs; i++)
    if (ts->buf[i].p != NULL)
      munmap(ts->buf[i].p, ts->buf[i].cap);
  munmap(ts, state_size(ts->nbufs));
}

static thread_state *get_state(void) {
  if (t_state == NULL) {
    t_state = map_bytes(state_size(o_n));
    if (t_state == NULL)
      return NULL;
    t_state->nbufs = o_n;
    pthread_setspecific(o_tls_key, t_state);
  }
  return t_state;
}

/* In the child after fork, the parent's handle and slots are not ours. */
/* Handles inherited across fork: never used or closed in the child (see
 * dt__queue_close), but kept reachable, so that leak checkers do not
 * report them.  One per fork generation; past the table's size they are
 * simply dropped. */
static dt__queue *o_abandoned[64];
static size_t o_nabandoned;

static void atfork_child(void) {
  if (o_q != NULL && o_nabandoned < sizeof o_abandoned / sizeof *o_abandoned)
    o_abandoned[o_nabandoned++] = o_q;
  o_q = NULL; /* abandoned: see dt__queue_close */
  o_queue_failed = false;
  pthread_mutex_init(&o_lock, NULL);
  if (t_state != NULL) {
    t_state->has_slot = false;
    t_state->has_drop = false; /* the parent's, not ours */
  }
  /* The parent's calls are the parent's: the child counts its own. */
  for (size_t i = 0; i < o_n; i++) {
    memset(o_stubs[i].hist, 0, sizeof o_stubs[i].hist);
    o_stubs[i].calls = 0;
    o_stubs[i].local = 0;
  }
}

/* Caller role (offload.c).  dt__offload_init keeps cfg and the stub table
 * (both owned by shim.c for the life of the process). */
void dt__offload_init(const dt__config *cfg, dt__stub *stubs, size_t n) {
  o_cfg = cfg;
  o_stubs = stubs;
  o_n = n;
  o_fp = dt__wire_fingerprint(cfg);
  if (realpath(cfg->path, o_config_abs) == NULL)
    snprintf(o_config_abs, sizeof o_config_abs, "%s", cfg->path);
  pthread_key_create(&o_tls_key, free_state);
  pthread_atfork(NULL, NULL, atfork_child);
}

/* Opens this process's queue handle once. */
static dt__queue *get_queue(void) {
  dt__queue *q = __atomic_load_n(&o_q, __ATOMIC_ACQUIRE);
  if (q != NULL && !dt__queue_stale(q))
    return q;
  pthread_mutex_lock(&o_lock);
  q = o_q;
  if ((q == NULL || dt__queue_stale(q)) && !o_queue_failed) {
    char err[600];
    q = NULL;
    int rc = dt__queue_open(o_cfg, &q, err, sizeof err);
    if (rc != 0) {
      o_queue_failed = true;
      dt__log(DT__LOG_ERROR, "%s; calls run inline in %s instead", err,
              program_invocation_short_name);
      q = NULL;
    }
    __atomic_store_n(&o_q, q, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&o_lock);
  return q;
}

/* ----------------------------------------------------------- autostart */

/* Starts a runner pool from this program's image, detached: posix_spawn
 * (which runs no fork handlers of the host) in a new session, logging to
 * runner.log in the queue directory; the spawned runner forks once more
 * and its first process exits at once, so the host gains no child. */
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

  dt__runenv how = {o_config_abs, 0, true, false};
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

/* Makes sure a runner serves q, starting one if the config allows.  Two
 * processes starting at once serialize on autostart.lock: the second
 * finds the first one's runner alive. */
static void ensure_runner(dt__queue *q) {
  char path[PATH_MAX + 32];
  if (!o_cfg->autostart || dt__queue_runner_alive(q, RUNNER_MAX_AGE_NS))
    return;
  snprintf(path, sizeof path, "%s/autostart.lock", dt__queue_dir(q));
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
    ;
  if (!dt__queue_runner_alive(q, RUNNER_MAX_AGE_NS)) {
    int rc = spawn_runner(q);
    if (rc != 0)
      dt__log(DT__LOG_ERROR, "cannot start a runner: %s", strerror(-rc));
    else if (dt__queue_wait_runner(q, RUNNER_MAX_AGE_NS, AUTOSTART_WAIT_NS) !=
             0)
      dt__log(DT__LOG_ERROR,
              "the autostarted runner did not come up within %llus; see "
              "%s/runner.log",
              AUTOSTART_WAIT_NS / 1000000000ull, dt__queue_dir(q));
  }
  flock(fd, LOCK_UN);
  close(fd);
}

/* ------------------------------------------------------------ the call */

typedef struct call_ctx {
  dt__stub *s;
  void **args;
  void *ret;
  int err;
  int caller_errno;
  int status;
  size_t need;
  uint64_t id;
  const uint64_t *refs; /* fan-out: in buffers stored once, or NULL */
  bool quiet;           /* fan-out: another slice said it already */
  char msg[512];
} call_ctx;

static int encode_task(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
  call_ctx *c = ctx;
  return dt__wire_task_encode_refs(&c->s->off->sig, o_fp, c->s->index, id,
                                   c->caller_errno, c->args, c->refs, buf,
                                   size);
}

static int apply_result(void *ctx, const uint8_t *rec, size_t size) {
  call_ctx *c = ctx;
  thread_state *ts = t_state;
  char *cbuf = NULL;
  size_t cap = 0;
  if (ts != NULL && c->s->index < ts->nbufs) {
    cbuf = ts->buf[c->s->index].p;
    cap = ts->buf[c->s->index].cap;
  }
  int rc = dt__wire_result_apply(&c->s->off->sig, c->args, c->id, rec, size,
                                 c->ret, &c->err, cbuf, cap, &c->need, c->msg,
                                 sizeof c->msg);
  if (rc < 0)
    return rc;
  c->status = rc;
  return 0;
}

/* Grows this thread's cstring buffer for symbol index i to need bytes. */
static int grow_cbuf(uint32_t i, size_t need) {
  thread_state *ts = get_state();
  if (ts == NULL || i >= ts->nbufs)
    return -ENOMEM;
  size_t cap = 4096;
  while (cap < need)
    cap *= 2;
  char *p = map_bytes(cap);
  if (p == NULL)
    return -ENOMEM;
  if (ts->buf[i].p != NULL)
    munmap(ts->buf[i].p, ts->buf[i].cap);
  ts->buf[i].p = p;
  ts->buf[i].cap = cap;
  return 0;
}

/* Runs the call inline with the shim's flag lowered, and returns the
 * errno it left: the fallback that keeps a call from being lost (the
 * caller lowers the flag again and sets errno when it returns). */
static int run_inline(dt__stub *s, void *ret, void **args, int saved) {
  dt__in_shim = 0;
  errno = saved;
  ffi_call(&s->cif, FFI_FN(s->real), ret, args);
  int e = errno;
  dt__in_shim = 1;
  return e;
}

/* How one round trip through the queue ended. */
typedef enum outcome {
  OUT_OK,          /* the worker's result is applied */
  OUT_INLINE,      /* refused or impossible: run the call inline */
  OUT_CRASH,       /* the worker died running it (c.err: the detail) */
  OUT_TIMEOUT,     /* it ran past its timeout and its worker was killed */
  OUT_UNAVAILABLE  /* no runner within wait_for_runner */
} outcome;

/* Queues the call (dropping this thread's last result in the same
 * transaction).  Returns 0, or a negative errno after saying why the call
 * will run inline instead. */
static int submit_task(dt__stub *s, dt__queue *q, thread_state *ts,
                       size_t size, call_ctx *c, bool *said) {
  int rc = dt__queue_submit_drop(q, size, encode_task, c, ts->slot,
                                 ts->has_drop ? ts->drop : DT__NO_ID, &c->id);
  if (rc != 0 && (said == NULL || !*said)) {
    if (said != NULL)
      *said = true;
    dt__log(DT__LOG_ERROR, "cannot queue a call of %s: %s%s; calling it "
            "inline%s", s->off->symbol, strerror(-rc),
            rc == -ENOSPC   ? " (the queue is full: raise [queue] map_size)"
            : rc == -E2BIG ? " (larger than a quarter of [queue] map_size: "
                             "raise it)"
                           : "",
            said != NULL ? " (and any other slice of this call that cannot "
                           "be queued)"
                         : "");
  }
  if (rc != 0)
    return rc;
  ts->has_drop = false;
  return 0;
}

/* How long calls have found no runner: one per call, shared by the
 * slices of a fan-out call, so that they wait for a runner once, not once
 * each. */
typedef struct watch {
  uint64_t since;   /* when no runner was first seen (0: one is alive) */
  uint64_t started; /* when this call last tried to autostart a pool */
  bool said;        /* the on_unavailable = "wait" message is out */
} watch;

static outcome wait_task(dt__stub *s, dt__queue *q, thread_state *ts,
                         call_ctx *c, bool first, uint32_t seen, watch *w);

/* One round trip: queue the call, block until its answer. */
static outcome round_trip(dt__stub *s, dt__queue *q, thread_state *ts,
                          size_t size, call_ctx *c) {
  watch w = {0, 0, false};
  uint32_t seen = dt__queue_slot_seq(q, ts->slot);
  if (submit_task(s, q, ts, size, c, NULL) != 0)
    return OUT_INLINE;
  return wait_task(s, q, ts, c, true, seen, &w);
}

/* Blocks until the answer of c->id.  With first, the answer is read in
 * place and left for this thread's next submit to drop (the fast path;
 * seen is the slot's count before the submit); otherwise it is taken and
 * deleted.  While no runner is alive, the wait is cut into ticks that
 * end at wait_for_runner, when on_unavailable applies. */
static outcome wait_task(dt__stub *s, dt__queue *q, thread_state *ts,
                         call_ctx *c, bool first, uint32_t seen, watch *w) {
  const dt__policy *pol = &s->off->policy;
  int rc;
  if (w->since == 0 && !dt__queue_runner_recent(q, RUNNER_MAX_AGE_NS))
    w->since = dt__now_ns();
  for (;;) {
    uint64_t tick = WAIT_TICK_NS;
    if (w->since != 0 && pol->on_unavailable.kind != DT__ON_WAIT) {
      uint64_t waited = dt__now_ns() - w->since;
      if (waited < pol->wait_for_runner_ns) {
        if (pol->wait_for_runner_ns - waited < tick)
          tick = pol->wait_for_runner_ns - waited;
      } else if (dt__queue_runner_alive(q, RUNNER_MAX_AGE_NS)) {
        w->since = 0;
      } else if (dt__queue_cancel(q, c->id) == 1) {
        snprintf(c->msg, sizeof c->msg,
                 "no runner has served %s for %gs (start one with "
                 "dtask-runner, or set [runner] autostart = true)",
                 dt__queue_dir(q), (double)pol->wait_for_runner_ns / 1e9);
        return OUT_UNAVAILABLE;
      }
      /* Otherwise its answer is there, or a live worker has it. */
    }
    if (tick < 1000000)
      tick = 1000000; /* at least 1 ms: never a busy loop */
    /* The first wait reads the result in place and leaves it for the
     * next call's submit to drop; later ones (after a timeout or a
     * buffer too small) take and delete it themselves. */
    rc = first ? dt__queue_wait_since(q, c->id, ts->slot, seen, apply_result,
                                      c, tick)
               : dt__queue_wait(q, c->id, ts->slot, apply_result, c, tick);
    if (first && (rc == 0 || rc == -EPROTO)) {
      ts->has_drop = true;
      ts->drop = c->id;
    }
    first = false;
    if (rc == -ENOSPC) {
      if (grow_cbuf(s->index, c->need) != 0)
        break;
      continue;
    }
    if (rc != -ETIMEDOUT)
      break;
    /* No result within a tick: is anyone serving?  A live pool answers
     * every call it claimed, or gives it back when its worker is killed;
     * a pool that died leaves claims that a new pool's sweep requeues. */
    if (dt__queue_runner_alive(q, RUNNER_MAX_AGE_NS)) {
      w->since = 0;
      continue;
    }
    if (w->since == 0 ||
        (o_cfg->autostart && dt__now_ns() - w->started >= AUTOSTART_WAIT_NS)) {
      /* No runner: start one (again, if the last one this call started
       * has died too, at most once per AUTOSTART_WAIT_NS). */
      if (w->since == 0)
        w->since = dt__now_ns();
      w->started = dt__now_ns();
      ensure_runner(q);
      continue;
    }
    if (pol->on_unavailable.kind == DT__ON_WAIT && !w->said &&
        dt__now_ns() - w->since > pol->wait_for_runner_ns) {
      dt__log(DT__LOG_ERROR,
              "no runner has served %s for %gs; call %llu of %s waits for "
              "one (on_unavailable = \"wait\"): start one with dtask-runner",
              dt__queue_dir(q), (double)pol->wait_for_runner_ns / 1e9,
              (unsigned long long)c->id, s->off->symbol);
      w->said = true;
    }
  }
  if (rc != 0) {
    /* The call runs here instead.  Taken back from the queue first, it
     * runs once; if a worker already has it or has answered it, its
     * answer is dropped (now, or by this thread's next submit). */
    bool twice = dt__queue_cancel(q, c->id) != 1;
    if (twice) {
      dt__queue_drop(q, c->id);
      if (!ts->has_drop) {
        ts->has_drop = true;
        ts->drop = c->id;
      }
    }
    dt__log(DT__LOG_ERROR, "call %llu of %s: %s%s; calling it inline%s",
            (unsigned long long)c->id, s->off->symbol,
            rc == -EPROTO ? "malformed result: " : strerror(-rc),
            rc == -EPROTO ? c->msg : "",
            twice ? " (a worker ran it or runs it too)" : "");
    return OUT_INLINE;
  }
  if (c->status == DT__ST_OK)
    return OUT_OK;
  /* Messages from the sweep do not know the symbol: name it. */
  size_t sl = strlen(s->off->symbol);
  if (strncmp(c->msg, s->off->symbol, sl) != 0 ||
      (c->msg[sl] != ' ' && c->msg[sl] != ':')) {
    char m[sizeof c->msg];
    snprintf(m, sizeof m, "%s: %.*s", s->off->symbol,
             (int)(sizeof m - sl - 3), c->msg);
    memcpy(c->msg, m, sizeof m);
  }
  if (c->status == DT__ST_CRASH)
    return OUT_CRASH;
  if (c->status == DT__ST_TIMEOUT)
    return OUT_TIMEOUT;
  dt__log(DT__LOG_ERROR, "%s: %s; calling it inline", s->off->symbol, c->msg);
  return OUT_INLINE;
}

/* A per-thread xorshift generator for backoff jitter (no locks, no libc
 * state shared with the host). */
static uint64_t jitter(void) {
  static __thread uint64_t x __attribute__((tls_model("initial-exec")));
  if (x == 0)
    x = dt__now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32) ^
        0x9e3779b97f4a7c15ull;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return x;
}

/* Sleeps before retry number attempt (the policy's backoff). */
static void backoff(const dt__policy *p, int attempt) {
  uint64_t ns = dt__policy_backoff_ns(p, attempt, jitter());
  struct timespec ts = {(time_t)(ns / 1000000000ull),
                        (long)(ns % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
    ;
}

/* on_crash / on_timeout = "signal": the caller dies as the worker did.
 * A signal goes through the host's own disposition first (a handler
 * runs, as it would have for a local crash); if that returns, the
 * default action follows.  An exit inside the function exits. */
static void die_like(outcome o, const call_ctx *c) {
  int sig = o == OUT_TIMEOUT ? SIGALRM : c->err;
  if (o == OUT_CRASH && c->err >= 256) {
    dt__log(DT__LOG_ERROR, "%s; exiting with status %d here (on_crash = "
            "\"signal\")", c->msg, c->err - 256);
    dt__in_shim = 0;
    exit(c->err - 256);
  }
  if (sig <= 0 || sig >= NSIG)
    sig = SIGABRT;
  dt__log(DT__LOG_ERROR, "%s; raising SIG%s here (%s = \"signal\")", c->msg,
          sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
          o == OUT_TIMEOUT ? "on_timeout" : "on_crash");
  dt__in_shim = 0;
  raise(sig);
  signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, NULL);
  raise(sig);
  _exit(128 + sig);
}


/* Starts a call context for one attempt. */
static void ctx_init(call_ctx *c, dt__stub *s, void **args, void *ret,
                     int saved, const uint64_t *refs) {
  memset(c, 0, sizeof *c);
  c->s = s;
  c->args = args;
  c->ret = ret;
  c->err = saved;
  c->caller_errno = saved;
  c->refs = refs;
}

/* How settle() ended. */
enum { SETTLED_RESULT, SETTLED_INLINE, SETTLED_VALUE };

/* Takes a call whose first attempt ended with o (c holds its answer) to
 * its end under the symbol's policy: retries, the inline fallback, an
 * on_* value, or dying like the worker did (no return).  *err gets the
 * errno the caller must see.  SETTLED_RESULT: ret holds the function's
 * result from a worker; SETTLED_INLINE: the function ran here;
 * SETTLED_VALUE: ret holds an on_* value. */
static int settle(dt__stub *s, dt__queue *q, thread_state *ts, void *ret,
                  void **args, size_t size, int saved, outcome o, call_ctx *c,
                  int *err) {
  const dt__policy *pol = &s->off->policy;
  for (int attempt = 0;; attempt++) {
    if (attempt > 0) {
      ctx_init(c, s, args, ret, saved, c->refs);
      o = round_trip(s, q, ts, size, c);
    }
    const dt__action *act = NULL;
    switch (o) {
    case OUT_OK:
      if (attempt < pol->retries &&
          dt__policy_should_retry(pol, &s->off->sig, ret, c->err)) {
        const char *en = dt__errno_name(c->err);
        dt__log(DT__LOG_INFO, "%s failed with %s; retry %d of %d",
                s->off->symbol, en ? en : "an error", attempt + 1,
                pol->retries);
        backoff(pol, attempt + 1);
        continue;
      }
      *err = c->err;
      return SETTLED_RESULT;
    case OUT_INLINE:
      *err = run_inline(s, ret, args, saved);
      return SETTLED_INLINE;
    case OUT_UNAVAILABLE:
      act = &pol->on_unavailable;
      break;
    case OUT_CRASH:
      act = &pol->on_crash;
      break;
    case OUT_TIMEOUT:
      act = &pol->on_timeout;
      break;
    }
    if (act->kind == DT__ON_LOCAL) {
      if (!c->quiet)
        dt__log(DT__LOG_ERROR, "%s; calling %s inline", c->msg,
                s->off->symbol);
      *err = run_inline(s, ret, args, saved);
      return SETTLED_INLINE;
    }
    if (act->kind == DT__ON_RETURN && !c->quiet) {
      dt__log(DT__LOG_ERROR, "%s; %s returns %s", c->msg, s->off->symbol,
              o == OUT_CRASH     ? "the on_crash value"
              : o == OUT_TIMEOUT ? "the on_timeout value"
                                 : "the on_unavailable value");
    }
    if (act->kind == DT__ON_RETURN) {
      dt__policy_store_return(act, &s->off->sig, ret);
      *err = act->err != 0 ? act->err : saved;
      return SETTLED_VALUE;
    }
    if (act->kind == DT__ON_RETRY && attempt < pol->retries) {
      /* A crash or a timeout is worth a line even when it is retried. */
      dt__log(DT__LOG_ERROR, "%s; retry %d of %d", c->msg, attempt + 1,
              pol->retries);
      backoff(pol, attempt + 1);
      continue;
    }
    if (act->kind == DT__ON_RETRY)
      dt__log(DT__LOG_ERROR, "%s: %d retries failed", s->off->symbol,
              pol->retries);
    die_like(o, c);
  }
}


/* ------------------------------------------------------------- fan-out */

#define FANOUT_WINDOW 256 /* slices in flight at once */

/* One slice of a fan-out call: its own argument vector (the count and
 * the sliced buffers' pointers moved to the slice), return buffer and
 * context.  Lives in an mmap'd window, never in the host's heap. */
typedef struct slice {
  void *argv[DT__MAX_PARAMS];
  union {
    uint64_t u;
    void *p;
  } v[DT__MAX_PARAMS];
  union {
    ffi_arg a;
    double d;
    unsigned char b[16];
  } ret;
  call_ctx c;
  size_t size;
  bool queued;
} slice;

/* Bytes a slice keeps in the queue while in flight: its task, and the
 * result it will leave there until this thread takes it. */
static uint64_t slice_bytes(const dt__sig *sig, void **argv, size_t size) {
  uint64_t n = size + 256;
  for (int i = 0; i < sig->nparams; i++) {
    uint64_t b;
    if (sig->params[i].is_buffer && sig->params[i].dir != DT__DIR_IN &&
        dt__wire_buffer_bytes(sig, i, argv, &b) == 0)
      n += b;
  }
  return n;
}

/* Runs a call split into count slices over n elements: each slice is a
 * task of its own (in buffers common to all stored once and referenced),
 * queued in windows of at most FANOUT_WINDOW slices and a quarter of the
 * map's bytes; the out slices land in place in the caller's buffers;
 * return values fold with the aggregate.
 *
 * Slices are taken in order.  A slice fails when it ends in an on_*
 * value (its worker crashed, it timed out, no runner) or returns a
 * failure (non-zero under first_nonzero; otherwise what retry_if, or the
 * C convention ret < 0 / NULL, calls one).  errno is that of the first
 * failing slice, or, if none failed, of the last slice that changed it
 * (what the call run in order would leave).  An on_* value, or the slice
 * that first_nonzero picks, decides the call: its value is returned,
 * the later slices of the window that no worker has taken are withdrawn,
 * the others are only waited for (their failures no longer matter), and
 * no further window is queued. */
static void fanout(dt__stub *s, dt__queue *q, thread_state *ts, void *ret,
                   void **args, int saved, uint64_t n, uint64_t count) {
  const dt__split *sp = &s->off->split;
  const dt__sig *sig = &s->off->sig;
  const dt__policy *pol = &s->off->policy;
  uint64_t t0 = dt__now_ns();
  uint64_t refs[DT__MAX_PARAMS], stride[DT__MAX_PARAMS];
  size_t wbytes = sizeof(slice) * FANOUT_WINDOW;
  slice *win = map_bytes(wbytes);
  if (win == NULL) {
    int e = run_inline(s, ret, args, saved);
    dt__in_shim = 0;
    errno = e;
    return;
  }
  /* Strides: a sliced buffer's bytes per element of `over`. */
  void *one[DT__MAX_PARAMS];
  union {
    uint64_t u;
    void *p;
  } onev;
  for (int i = 0; i < sig->nparams; i++)
    one[i] = args[i];
  dt__arg_store(&sig->params[sp->over].type, 1, &onev.u);
  one[sp->over] = &onev;
  for (int i = 0; i < sig->nparams; i++) {
    refs[i] = DT__NO_ID;
    stride[i] = 0;
    const void *ptr = NULL;
    if (sig->params[i].is_buffer)
      memcpy(&ptr, args[i], sizeof ptr);
    if (ptr == NULL)
      continue;
    if (sp->sliced[i]) {
      dt__wire_buffer_bytes(sig, i, one, &stride[i]);
    } else if (sp->common[i]) {
      uint64_t nb;
      int rc = dt__wire_buffer_bytes(sig, i, args, &nb);
      if (rc == 0 && nb > 0)
        rc = dt__queue_blob_put(q, ptr, (size_t)nb, &refs[i]);
      if (rc != 0) {
        /* Every slice would carry it, and be refused the same way: say
         * so once and run the whole call here. */
        refs[i] = DT__NO_ID;
        dt__log(DT__LOG_ERROR,
                "%s: cannot store buffer '%s' (%llu bytes) in the queue "
                "once for its slices: %s%s; calling it inline",
                s->off->symbol, sig->params[i].name, (unsigned long long)nb,
                strerror(-rc),
                rc == -E2BIG || rc == -ENOSPC ? " (raise [queue] map_size)"
                                              : "");
        for (int j = 0; j < i; j++)
          if (refs[j] != DT__NO_ID)
            dt__queue_blob_drop(q, refs[j]);
        munmap(win, wbytes);
        int e = run_inline(s, ret, args, saved);
        dt__in_shim = 0;
        errno = e;
        return;
      }
    }
  }
  const uint64_t budget = o_cfg->map_size / 4;
  watch w = {0, 0, false};
  bool said_unavailable = false, said_queue = false;
  uint64_t acc = 0, decided_ret = 0;
  int err_fail = saved, err_last = saved;
  bool failed = false, decided = false, by_value = false, all_remote = true;
  uint64_t base = 0;
  while (base < count && !decided) {
    /* Fill a window: slices in order, within FANOUT_WINDOW and the byte
     * budget (always at least one slice). */
    uint64_t m = 0, bytes = 0;
    while (m < FANOUT_WINDOW && base + m < count) {
      slice *sl = &win[m];
      uint64_t k = base + m;
      uint64_t start = dt__split_start(sp, n, count, k);
      uint64_t len = dt__split_start(sp, n, count, k + 1) - start;
      memset(sl, 0, sizeof *sl);
      for (int i = 0; i < sig->nparams; i++) {
        sl->argv[i] = args[i];
        if (i == sp->over) {
          dt__arg_store(&sig->params[i].type, len, &sl->v[i].u);
          sl->argv[i] = &sl->v[i];
        } else if (sp->sliced[i]) {
          char *ptr;
          memcpy(&ptr, args[i], sizeof ptr);
          sl->v[i].p = ptr != NULL ? ptr + start * stride[i] : NULL;
          sl->argv[i] = &sl->v[i];
        }
      }
      ctx_init(&sl->c, s, sl->argv, &sl->ret, saved, refs);
      bool sized = dt__wire_task_size_refs(sig, sl->argv, refs, &sl->size) == 0;
      uint64_t b = sized ? slice_bytes(sig, sl->argv, sl->size) : 0;
      if (m > 0 && bytes + b > budget)
        break;
      bytes += b;
      if (!sized && !said_queue) {
        said_queue = true;
        dt__log(DT__LOG_ERROR, "%s: slice %llu is too large for one task; "
                "calling it (and any other such slice) inline",
                s->off->symbol, (unsigned long long)k);
      }
      if (sized && submit_task(s, q, ts, sl->size, &sl->c, &said_queue) == 0)
        sl->queued = true;
      m++;
    }
    for (uint64_t j = 0; j < m; j++) {
      slice *sl = &win[j];
      if (decided) {
        /* The call's outcome is known: first every slice of the window
         * that no worker has taken yet is withdrawn, then the others are
         * waited for (their answers must not stay in the queue). */
        for (uint64_t r = j; r < m; r++)
          if (win[r].queued && dt__queue_cancel(q, win[r].c.id) == 1)
            win[r].queued = false;
        for (uint64_t r = j; r < m; r++)
          if (win[r].queued)
            (void)wait_task(s, q, ts, &win[r].c, false, 0, &w);
        break;
      }
      outcome o = sl->queued ? wait_task(s, q, ts, &sl->c, false, 0, &w)
                             : OUT_INLINE;
      int e;
      sl->c.quiet = o == OUT_UNAVAILABLE && said_unavailable;
      if (o == OUT_UNAVAILABLE)
        said_unavailable = true;
      int how = settle(s, q, ts, &sl->ret, sl->argv, sl->size, saved, o,
                       &sl->c, &e);
      if (how != SETTLED_RESULT)
        all_remote = false;
      if (e != saved)
        err_last = e;
      if (how == SETTLED_VALUE) {
        memcpy(&decided_ret, &sl->ret, sizeof decided_ret);
        decided = by_value = true;
      } else {
        uint64_t v = 0;
        if (sig->ret.tag != DT__T_VOID)
          dt__wire_ret_value(&sig->ret, &sl->ret, &v);
        decided = dt__split_fold(sp->agg, &sig->ret, &acc, v,
                                 base + j == 0) != 0;
      }
      /* Under first_nonzero, failing is being picked; otherwise the
       * return value says (retry_if, or the C convention). */
      bool fails = decided || (sp->agg != DT__AGG_FIRST_NONZERO &&
                               sig->ret.tag != DT__T_VOID &&
                               dt__policy_is_failure(pol, sig, &sl->ret));
      if (!failed && fails) {
        failed = true;
        err_fail = e;
      }
    }
    base += m;
  }
  for (int i = 0; i < sig->nparams; i++)
    if (refs[i] != DT__NO_ID)
      dt__queue_blob_drop(q, refs[i]);
  munmap(win, wbytes);
  if (by_value && sig->ret.tag != DT__T_VOID)
    memcpy(ret, &decided_ret, sizeof(ffi_arg)); /* the on_* value */
  else if (sig->ret.tag != DT__T_VOID)
    dt__wire_ret_store(&sig->ret, acc, ret);
  if (all_remote && !by_value)
    __atomic_add_fetch(&s->hist[dt__hist_bucket(dt__now_ns() - t0)], 1,
                       __ATOMIC_RELAXED);
  dt__in_shim = 0;
  errno = failed ? err_fail : err_last;
}

/* Runs one intercepted call through a runner: encodes it, queues it,
 * blocks until the result arrives, and writes the return value, the
 * out-parameters and errno back.  Never loses the call: if no queue or
 * runner can be had, the call runs inline and a message says why. */
void dt__offload_call(dt__stub *s, void *ret, void **args) {
  int saved = errno;
  uint64_t t0 = dt__now_ns();
  call_ctx c;
  size_t size;
  int e;

  dt__in_shim = 1;
  dt__queue *q = get_queue();
  thread_state *ts = get_state();
  if (q == NULL || ts == NULL) {
    goto local;
  }
  if (!ts->has_slot || ts->pid != getpid()) {
    if (dt__queue_waiter(q, &ts->slot) != 0) {
      dt__log(DT__LOG_ERROR, "no free waiter slot in %s; calling %s inline",
              dt__queue_dir(q), s->off->symbol);
      goto local;
    }
    ts->has_slot = true;
    ts->pid = getpid();
  }
  /* Every call looks at the heartbeat (a memory read); only a stale one
   * leads to the full check and, with autostart, to starting a pool.  A
   * pool that died within the last beat's age is noticed by the wait's
   * one-second tick. */
  if (!dt__queue_runner_recent(q, RUNNER_MAX_AGE_NS))
    ensure_runner(q);
  /* A split call is sized slice by slice: the whole may be larger than
   * one task could be. */
  if (s->off->split.enabled) {
    const dt__split *sp = &s->off->split;
    uint64_t n;
    if (dt__arg_count(&s->off->sig.params[sp->over].type, args[sp->over],
                      &n) == 0) {
      int w = dt__queue_workers(q);
      uint64_t count = dt__split_count(sp, n, w > 0 ? w : o_cfg->workers);
      if (count > 1) {
        fanout(s, q, ts, ret, args, saved, n, count);
        return;
      }
    }
  }
  int rc = dt__wire_task_size(&s->off->sig, args, &size);
  if (rc != 0) {
    dt__log(DT__LOG_ERROR,
            "%s: a buffer length is %s in this call; calling it inline",
            s->off->symbol, rc == -ERANGE ? "negative" : "too large");
    goto local;
  }
  ctx_init(&c, s, args, ret, saved, NULL);
  outcome o = round_trip(s, q, ts, size, &c);
  if (settle(s, q, ts, ret, args, size, saved, o, &c, &e) == SETTLED_RESULT)
    __atomic_add_fetch(&s->hist[dt__hist_bucket(dt__now_ns() - t0)], 1,
                       __ATOMIC_RELAXED);
  goto out;
local:
  /* No queue, no waiter slot or an unsizable call: it runs here. */
  e = run_inline(s, ret, args, saved);
out:
  dt__in_shim = 0;
  errno = e;
}

/* Appends this process's offload latencies to $DTASK_STATS (set by
 * `dtask run`): one line per symbol, "dtask-stats 1 SYMBOL CALLS" then
 * "BUCKET:COUNT" pairs, and "dtask-local 1 SYMBOL CALLS" for the calls
 * offload_if kept in the caller, written with one O_APPEND write each. */
static void write_stats(void) {
  const char *path = getenv(DT__ENV_STATS);
  if (path == NULL || path[0] == '\0' || o_stubs == NULL)
    return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  for (size_t i = 0; i < o_n; i++) {
    static char line[32768]; /* one line per symbol; written one at a time */
    size_t n = 0;
    unsigned long calls = 0;
    for (int b = 0; b < DT__HIST_BUCKETS; b++)
      calls += __atomic_load_n(&o_stubs[i].hist[b], __ATOMIC_RELAXED);
    unsigned long local = __atomic_load_n(&o_stubs[i].local, __ATOMIC_RELAXED);
    if (local > 0) {
      n = (size_t)snprintf(line, sizeof line, "dtask-local 1 %s %lu\n",
                           o_stubs[i].off->symbol, local);
      ssize_t w = write(fd, line, n < sizeof line ? n : sizeof line - 1);
      (void)w;
      n = 0;
    }
    if (calls == 0)
      continue;
    n += (size_t)snprintf(line + n, sizeof line - n, "dtask-stats 1 %s %lu",
                          o_stubs[i].off->symbol, calls);
    for (int b = 0; b < DT__HIST_BUCKETS && n + 32 < sizeof line; b++) {
      unsigned long c = __atomic_load_n(&o_stubs[i].hist[b], __ATOMIC_RELAXED);
      if (c > 0)
        n += (size_t)snprintf(line + n, sizeof line - n, " %d:%lu", b, c);
    }
    line[n++] = '\n';
    ssize_t w = write(fd, line, n);
    (void)w;
  }
  close(fd);
}

/* At exit: drops the calling thread's last result, still in the queue
 * (other threads drop theirs when they exit), and appends this process's
 * round-trip histograms to $DTASK_STATS for `dtask run`'s summary. */
void dt__offload_fini(void) {
  thread_state *ts = t_state;
  dt__queue *q = __atomic_load_n(&o_q, __ATOMIC_ACQUIRE);
  if (ts != NULL && ts->has_drop && ts->pid == getpid() && q != NULL &&
      !dt__queue_stale(q)) {
    dt__queue_drop(q, ts->drop);
    ts->has_drop = false;
  }
  write_stats();
}
