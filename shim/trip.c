/* trip.c: owns one round trip of a call through the queue, and what
 * follows it under the symbol's policy.
 *
 * A call is encoded straight into space reserved in the LMDB queue (no
 * intermediate buffer), the doorbell wakes one idle worker, and the
 * calling thread sleeps on its own futex word until the worker's result
 * wakes it.  The result then writes the return value, the out and inout
 * buffers and errno back, as if the function had run here.  While no
 * runner serves, the wait starts one (autostart) and ends, at
 * wait_for_runner, in on_unavailable.  dt__trip_settle then takes the
 * call to its end: the result, a retry, the inline fallback, an on_*
 * value, or the caller dying as the worker did.
 *
 * Both the single call (call.c) and each slice of a fan-out call
 * (fanout.c) go through here. */
#include <stdio.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/guard.h"
#include "common/log.h"
#include "config/config.h"
#include "config/policy.h"
#include "config/sig.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "shim/autostart.h"
#include "shim/bigbuf.h"
#include "shim/limits.h"
#include "shim/rstring.h"
#include "shim/state.h"
#include "shim/symbol.h"
#include "shim/trip.h"

/* The longest a wait sleeps before it looks whether a runner serves. */
#define WAIT_TICK_NS (1000000000ull)

/* dt__queue_submit_drop's encoder: writes c's task straight into the
 * space reserved for it in the queue. */
static int encode_task(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
  dt__call_ctx *c = ctx;
  if (c->ar != NULL)
    return dt__wire_task_encode_arena(&c->s->off->sig, dt__caller.fp,
                                      c->s->index, id, c->caller_errno,
                                      c->args, c->ar, dt__stub_obj(c->s), buf,
                                      size);
  return dt__wire_task_encode_refs(&c->s->off->sig, dt__caller.fp,
                                   c->s->index, id, c->caller_errno, c->args,
                                   c->refs, dt__stub_obj(c->s), buf, size);
}

/* The wire decoder's keep: a string returned by c's symbol is interned
 * for it (shim/rstring.c), so that it lives as long as native code's
 * would. */
static int keep_string(void *ctx, const char *s, size_t len,
                       const char **out) {
  dt__call_ctx *c = ctx;
  return dt__rstr_keep(c->s->index, c->s->off->symbol, s, len, out);
}

/* dt__queue_wait's reader: applies c's result (return value, out
 * buffers, errno) from the record in the queue; from says who stored it
 * (DT__FROM_*).  A returned cstring is kept by rstring.c, or is the
 * caller's own pointer into an argument.  Returns 0 or a negative errno. */
static int apply_result(void *ctx, const uint8_t *rec, size_t size,
                        int from) {
  dt__call_ctx *c = ctx;
  dt__error e;
  int rc = dt__wire_result_apply_arena(&c->s->off->sig, c->args, c->ar,
                                       c->id, rec, size, c->ret, &c->err,
                                       keep_string, c, &e);
  /* Copied as bytes: a call that succeeds has an empty message, and
   * snprintf would cost it more than the copy. */
  size_t ml = strnlen(e.msg, sizeof c->msg - 1);
  memcpy(c->msg, e.msg, ml);
  c->msg[ml] = '\0';
  if (rc < 0)
    return rc;
  c->status = rc;
  c->from = from;
  if (c->keep) {
    /* The answers cache keeps it (shim/limits.c): read in place here,
     * it is copied; a copy that cannot be made only goes uncached. */
    free(c->kept);
    c->kept = malloc(size ? size : 1);
    c->kept_size = size;
    if (c->kept != NULL)
      memcpy(c->kept, rec, size);
  }
  return 0;
}

/* Applies a cached answer rec (size bytes) to c, as its worker's: the
 * record names the call it first answered, which c takes as its own.
 * Returns 0 (c->status says which result it is) or a negative errno
 * with c->msg saying why the record was refused. */
int dt__trip_apply_cached(dt__call_ctx *c, const uint8_t *rec, size_t size) {
  uint64_t id = 0;
  if (size >= 20)
    for (int i = 7; i >= 0; i--)
      id = id << 8 | rec[12 + i]; /* the header's u64 call_id (wire.h) */
  c->id = id;
  c->keep = false;
  return apply_result(c, rec, size, DT__FROM_WORKER);
}

/* Runs the call of s inline with the shim's flag lowered (and errno set
 * to saved), and returns the errno the function left; the flag is raised
 * again.  The one inline path of the offload: the fallback that keeps a
 * call from being lost.  The caller lowers the flag and sets errno when
 * it returns to the host. */
int dt__trip_inline(dt__stub *s, void *ret, void **args, int saved) {
  dt__in_shim = 0;
  errno = saved;
  ffi_call(&s->cif, FFI_FN(s->real), ret, args);
  int e = errno;
  dt__in_shim = 1;
  return e;
}

/* Starts a call context for one attempt of the call of s with args,
 * its return value written to ret; saved is the caller's errno and refs
 * the fan-out's in buffers stored once (or NULL). */
void dt__trip_ctx_init(dt__call_ctx *c, dt__stub *s, void **args, void *ret,
                       int saved, const uint64_t *refs) {
  memset(c, 0, sizeof *c);
  c->s = s;
  c->args = args;
  c->ret = ret;
  c->err = saved;
  c->caller_errno = saved;
  c->refs = refs;
  c->async = s->off->async != 0;
}

/* Whether a call of s with args, whose task takes size bytes, is too
 * large for the queue: its task, or the result it will make (the caller
 * knows every out length, so it adds them up before queueing), over
 * dt__wire_call_limit.  Such a call is never queued, so that no worker
 * runs a function whose result could not be stored (it would then run a
 * second time here).  Returns 0, or -EFBIG after saying so in one line
 * (once per call with said, as dt__trip_submit). */
int dt__trip_too_big(dt__stub *s, size_t size, void **args, bool *said) {
  uint64_t limit = dt__wire_call_limit(dt__caller.cfg), rb = 0;
  int rc = dt__wire_result_bytes(&s->off->sig, args, &rb);
  if (rc == 0 && size <= limit && rb <= limit)
    return 0;
  if (said == NULL || !*said) {
    if (said != NULL)
      *said = true;
    dt__log(DT__LOG_ERROR,
            "cannot queue a call of %s: its %s would take %llu bytes, "
            "larger than a quarter of [queue] map_size or than [queue] "
            "max_call_size (%llu bytes for one call); calling it inline "
            "instead, before any worker runs it%s",
            s->off->symbol, rc != 0 || rb > limit ? "result" : "task",
            (unsigned long long)(rc != 0 ? UINT64_MAX
                                 : rb > limit ? rb
                                              : (uint64_t)size),
            (unsigned long long)limit,
            said != NULL ? " (and any other slice of this call that cannot "
                           "be queued)"
                         : "");
  }
  return -EFBIG;
}

/* The queue's filesystem was full at the last submit that found it so,
 * and that was said: said again only once a submit has gone through
 * (atomic). */
static int s_full_said;

/* Queues c's task (size bytes) with the waiter slot slot, dropping the
 * answer drop (DT__NO_ID: none) in the same transaction.  A task too
 * large for one call is refused first (-EFBIG, said by
 * dt__trip_too_big).  Any other failure is said once per call (said:
 * shared by the slices of a fan-out call, NULL for a single call) with
 * what to do; a full filesystem (-EDQUOT) is said once until a submit
 * goes through again.  Returns 0 (c->id set) or a negative errno. */
static int submit(dt__stub *s, dt__queue *q, uint32_t slot, uint64_t drop,
                  unsigned flags, size_t size, dt__call_ctx *c, bool *said) {
  if (dt__trip_too_big(s, size, c->args, said) != 0)
    return -EFBIG;
  dt__admit a;
  int rc = dt__queue_submit_drop(q, size, encode_task, c, slot, drop, flags,
                                 dt__limits_admit(s, c->args, &a), &c->id);
  bool quiet = false;
  if (rc == -EDQUOT)
    quiet = __atomic_exchange_n(&s_full_said, 1, __ATOMIC_RELAXED) != 0;
  else if (rc == 0 && __atomic_load_n(&s_full_said, __ATOMIC_RELAXED) != 0)
    __atomic_store_n(&s_full_said, 0, __ATOMIC_RELAXED);
  if (rc != 0 && rc != -EFBIG && !quiet && (said == NULL || !*said)) {
    if (said != NULL)
      *said = true;
    dt__log(DT__LOG_ERROR, "cannot queue a call of %s: %s%s%s; calling it "
            "inline%s", s->off->symbol,
            rc == -EDQUOT ? "the filesystem holding the queue is full (df "
                          : strerror(-rc),
            rc == -EDQUOT ? dt__queue_dir(q) : "",
            rc == -EDQUOT ? "): free space there, or set [queue] path on a "
                            "larger one (said once while it stays full)"
            : rc == -ENOSPC ? " (the queue is full: raise [queue] map_size, "
                              "or the Redis server's maxmemory)"
            : rc == -E2BIG ? " (larger than a quarter of [queue] map_size: "
                             "raise it)"
                           : "",
            said != NULL ? " (and any other slice of this call that cannot "
                           "be queued)"
                         : "");
  }
  return rc;
}

/* Queues c's task (size bytes) with the thread's waiter slot ts, dropping
 * the thread's last answer, still in the queue, in the same transaction.
 * A single call (said NULL) is waited for next with wait_since; the
 * slices of a fan-out call share said (see submit).  Returns 0 or a
 * negative errno (-EFBIG: too large for one call). */
int dt__trip_submit(dt__stub *s, dt__queue *q, dt__thread_state *ts,
                    size_t size, dt__call_ctx *c, bool *said) {
  int rc = submit(s, q, ts->slot, ts->has_drop ? ts->drop : DT__NO_ID,
                  said == NULL ? DT__SUBMIT_NEXT : 0, size, c, said);
  if (rc == 0)
    ts->has_drop = false;
  return rc;
}

/* Queues the task of an async call c (size bytes) with the process's
 * async waiter slot, whose answer shim/async.c takes later with
 * dt__trip_wait.  Returns 0 or a negative errno, said as for a single
 * call. */
int dt__trip_submit_async(dt__stub *s, dt__queue *q, uint32_t slot,
                          size_t size, dt__call_ctx *c) {
  return submit(s, q, slot, DT__NO_ID, DT__SUBMIT_SHARED, size, c, NULL);
}

/* Says in c->msg why the answer to c is not trusted (why: a clause),
 * after what the record said. */
static void lost_because(dt__call_ctx *c, const char *why) {
  char m[sizeof c->msg];
  snprintf(m, sizeof m, "%.300s (status %d): %s; the call is lost, and "
           "not run again here", c->msg, c->status, why);
  memcpy(c->msg, m, sizeof m);
}

/* Blocks until the answer of c->id and applies it.  With first, the
 * answer is read in place and left for this thread's next submit to drop
 * (the fast path; seen is the slot's count before the submit); otherwise
 * it is taken and deleted.  While no runner is alive, the wait is cut
 * into ticks that end at wait_for_runner, when on_unavailable applies; w
 * is shared by the slices of one call.  Returns how the round trip ended,
 * with c->msg saying why when it did not end with a result. */
dt__outcome dt__trip_wait(dt__stub *s, dt__queue *q, dt__thread_state *ts,
                          dt__call_ctx *c, bool first, uint32_t seen,
                          dt__watch *w) {
  const dt__policy *pol = &s->off->policy;
  int rc;
  if (w->since == 0 && !dt__queue_runner_recent(q, DT__RUNNER_MAX_AGE_NS))
    w->since = dt__now_ns();
  for (;;) {
    uint64_t tick = WAIT_TICK_NS;
    if (w->since != 0 && pol->on_unavailable.kind != DT__ON_WAIT) {
      uint64_t waited = dt__now_ns() - w->since;
      if (waited < pol->wait_for_runner_ns) {
        if (pol->wait_for_runner_ns - waited < tick)
          tick = pol->wait_for_runner_ns - waited;
      } else if (dt__queue_runner_alive(q, DT__RUNNER_MAX_AGE_NS)) {
        w->since = 0;
      } else if (dt__queue_cancel(q, c->id) == 1) {
        snprintf(c->msg, sizeof c->msg,
                 "no runner has served %s for %gs (%s)", dt__queue_dir(q),
                 (double)pol->wait_for_runner_ns / 1e9,
                 dt__caller.cfg->autostart
                     ? "the pool started for it stopped or could not start: "
                       "its log is runner.log there"
                     : "start one with dtask-runner, or set [runner] "
                       "autostart = true");
        return DT__OUT_UNAVAILABLE;
      }
      /* Otherwise its answer is there, or a live worker has it. */
    }
    if (w->until != 0) {
      uint64_t now = dt__now_ns();
      if (now >= w->until) {
        snprintf(c->msg, sizeof c->msg, "%s: call %llu: no answer by the "
                 "end of drain_timeout", s->off->symbol,
                 (unsigned long long)c->id);
        return DT__OUT_DRAINED;
      }
      if (w->until - now < tick)
        tick = w->until - now;
    }
    if (tick < 1000000)
      tick = 1000000; /* at least 1 ms: never a busy loop */
    /* The first wait reads the result in place and leaves it for the
     * next call's submit to drop; later ones (after a timeout) take and
     * delete it themselves. */
    rc = first ? dt__queue_wait_since(q, c->id, ts->slot, seen, apply_result,
                                      c, tick)
               : dt__queue_wait(q, c->id, ts->slot, apply_result, c, tick);
    if (first && (rc == 0 || rc == -EPROTO)) {
      ts->has_drop = true;
      ts->drop = c->id;
    }
    first = false;
    if (rc != -ETIMEDOUT)
      break;
    /* No result within a tick: is anyone serving?  A live pool answers
     * every call it claimed, or gives it back when its worker is killed;
     * a pool that died leaves claims that a new pool's sweep requeues. */
    if (dt__queue_runner_alive(q, DT__RUNNER_MAX_AGE_NS)) {
      w->since = 0;
      continue;
    }
    if (w->since == 0 ||
        (dt__caller.cfg->autostart &&
         dt__now_ns() - w->started >= DT__AUTOSTART_WAIT_NS)) {
      /* No runner: start one (again, if the last one this call started
       * has died too, at most once per DT__AUTOSTART_WAIT_NS). */
      if (w->since == 0)
        w->since = dt__now_ns();
      w->started = dt__now_ns();
      /* The autostart lock is waited for at most what is left of
       * wait_for_runner; on_unavailable then applies at the top. */
      uint64_t gone = dt__now_ns() - w->since;
      dt__autostart_ensure(q, gone < pol->wait_for_runner_ns
                                  ? pol->wait_for_runner_ns - gone
                                  : 0);
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
      if (c->ar != NULL)
        dt__bigbuf_abandon(q, ts); /* its worker may write there still */
      if (!ts->has_drop) {
        ts->has_drop = true;
        ts->drop = c->id;
      }
      /* A worker ran it or runs it: never a second time here. */
      char m[300];
      snprintf(m, sizeof m, "%.290s", rc == -EPROTO ? c->msg : strerror(-rc));
      snprintf(c->msg, sizeof c->msg, "%.64s: call %llu: %s%.300s; a worker "
               "ran it or runs it, so it is not run again here",
               s->off->symbol, (unsigned long long)c->id,
               rc == -EPROTO ? "refused its result: " : "", m);
      return DT__OUT_LOST;
    }
    dt__log(DT__LOG_ERROR, "call %llu of %s: %s%s; calling it inline",
            (unsigned long long)c->id, s->off->symbol,
            rc == -EPROTO ? "malformed result: " : strerror(-rc),
            rc == -EPROTO ? c->msg : "");
    return DT__OUT_INLINE;
  }
  if (c->status == DT__ST_OK)
    return DT__OUT_OK;
  /* Messages from the sweep do not know the symbol: name it. */
  size_t sl = strlen(s->off->symbol);
  if (strncmp(c->msg, s->off->symbol, sl) != 0 ||
      (c->msg[sl] != ' ' && c->msg[sl] != ':')) {
    char m[sizeof c->msg];
    snprintf(m, sizeof m, "%s: %.*s", s->off->symbol,
             (int)(sizeof m - sl - 3), c->msg);
    memcpy(c->msg, m, sizeof m);
  }
  switch (c->status) {
  case DT__ST_CRASH:
  case DT__ST_TIMEOUT:
    /* How the caller dies is the supervisor's word, which saw the worker
     * die, never a worker's (or whoever wrote a record as one). */
    if (c->from == DT__FROM_RUNNER)
      return c->status == DT__ST_CRASH ? DT__OUT_CRASH : DT__OUT_TIMEOUT;
    lost_because(c, "a worker's answer claims a crash, which only the "
                    "supervisor that saw it reports");
    return DT__OUT_LOST;
  case DT__ST_MALFORMED:
  case DT__ST_FINGERPRINT:
  case DT__ST_NO_ENTRY:
  case DT__ST_NO_SYMBOL:
  case DT__ST_NOMEM:
  case DT__ST_TOO_BIG:
    /* Refused before it ran: it runs here, once.  A worker that could not
     * use the thread's arena (its file gone) refused it: the next call
     * makes a new one. */
    if (c->ar != NULL && c->status == DT__ST_MALFORMED)
      dt__bigbuf_abandon(q, ts);
    dt__log(DT__LOG_ERROR, "%s; calling it inline", c->msg); /* named above */
    return DT__OUT_INLINE;
  case DT__ST_LOST:
    return DT__OUT_LOST;
  default:
    lost_because(c, "its answer has a status this shim does not know");
    return DT__OUT_LOST;
  }
}

/* One round trip: queue the call of c (size bytes), block until its
 * answer.  Returns how it ended. */
dt__outcome dt__trip_round(dt__stub *s, dt__queue *q, dt__thread_state *ts,
                           size_t size, dt__call_ctx *c) {
  dt__watch w = {0, 0, false, 0};
  uint32_t seen = dt__queue_slot_seq(q, ts->slot);
  if (c->ar != NULL && !dt__bigbuf_again(s, q, ts, c->args, c->ar)) {
    /* A try after the thread let go of its arena, and no new one can be
     * had: this try's buffers go in its record. */
    c->ar = NULL;
    if (dt__wire_task_size(&s->off->sig, c->args, dt__stub_obj(s), &size) !=
        0)
      return DT__OUT_INLINE;
  }
  if (c->ar != NULL)
    dt__bigbuf_fill(s, c->args, c->ar);
  if (dt__trip_submit(s, q, ts, size, c, NULL) != 0)
    return DT__OUT_INLINE;
  return dt__trip_wait(s, q, ts, c, true, seen, &w);
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
__attribute__((noreturn)) static void die_like(dt__outcome o,
                                                const dt__call_ctx *c) {
  int sig = o == DT__OUT_TIMEOUT ? SIGALRM
            : o == DT__OUT_LOST  ? SIGABRT
                                 : c->err;
  if (o == DT__OUT_CRASH && c->err >= 256) {
    dt__log(DT__LOG_ERROR, "%s; exiting with status %d here (on_crash = "
            "\"signal\")", c->msg, c->err - 256);
    dt__in_shim = 0;
    exit(c->err - 256);
  }
  if (sig <= 0 || sig >= NSIG)
    sig = SIGABRT;
  dt__log(DT__LOG_ERROR, "%s; raising SIG%s here (%s = \"signal\")", c->msg,
          sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
          o == DT__OUT_TIMEOUT ? "on_timeout" : "on_crash");
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

/* The end of a call that cannot go on: die_like, unless no caller waits
 * for it (async = true), which a failure never kills: it is said, and
 * the call is over (DT__SETTLED_VALUE, *err the caller's errno). */
static int die_or_report(dt__outcome o, const dt__call_ctx *c, int *err,
                         int saved) {
  if (!c->async)
    die_like(o, c); /* no return */
  dt__log(DT__LOG_ERROR, "async call of %s failed: %s; it is not run again",
          c->s->off->symbol, c->msg);
  *err = saved;
  return DT__SETTLED_VALUE;
}

/* Takes a call whose first attempt ended with o (c holds its answer) to
 * its end under the symbol's policy: retries, the inline fallback, an
 * on_* value, or dying like the worker did (no return).  *err gets the
 * errno the caller must see.  Returns DT__SETTLED_RESULT: ret holds the
 * function's result from a worker; DT__SETTLED_INLINE: the function ran
 * here; DT__SETTLED_VALUE: ret holds an on_* value. */
int dt__trip_settle(dt__stub *s, dt__queue *q, dt__thread_state *ts,
                    void *ret, void **args, size_t size, int saved,
                    dt__outcome o, dt__call_ctx *c, int *err) {
  const dt__policy *pol = &s->off->policy;
  for (int attempt = 0;; attempt++) {
    if (attempt > 0) {
      bool keep = c->keep;
      dt__wire_arena *ar = c->ar;
      free(c->kept);
      dt__trip_ctx_init(c, s, args, ret, saved, c->refs);
      c->keep = keep;
      c->ar = ar;
      o = dt__trip_round(s, q, ts, size, c);
    }
    const dt__action *act = NULL;
    switch (o) {
    case DT__OUT_OK:
      if (attempt < pol->retries &&
          dt__policy_should_retry(pol, &s->off->sig, ret, c->err)) {
        const char *en = dt__errno_name(c->err);
        dt__log(DT__LOG_INFO, "%s failed with %s; retry %d of %d",
                s->off->symbol, en ? en : "an error", attempt + 1,
                pol->retries);
        __atomic_add_fetch(&s->retries, 1, __ATOMIC_RELAXED);
        backoff(pol, attempt + 1);
        continue;
      }
      *err = c->err;
      return DT__SETTLED_RESULT;
    case DT__OUT_INLINE:
      *err = dt__trip_inline(s, ret, args, saved);
      return DT__SETTLED_INLINE;
    case DT__OUT_UNAVAILABLE:
    case DT__OUT_DRAINED: /* shim/async.c's, never given here */
      act = &pol->on_unavailable;
      break;
    case DT__OUT_CRASH:
      act = &pol->on_crash;
      break;
    case DT__OUT_LOST:
      /* An outcome no one knows: on_crash says what to do, but a call a
       * worker may have run is never run inline (no "local"). */
      act = &pol->on_crash;
      if (act->kind == DT__ON_LOCAL) {
        dt__log(DT__LOG_ERROR, "%s", c->msg);
        return die_or_report(o, c, err, saved);
      }
      break;
    case DT__OUT_TIMEOUT:
      act = &pol->on_timeout;
      break;
    }
    if (act->kind == DT__ON_LOCAL) {
      if (!c->quiet)
        dt__log(DT__LOG_ERROR, "%s; calling %s inline", c->msg,
                s->off->symbol);
      *err = dt__trip_inline(s, ret, args, saved);
      return DT__SETTLED_INLINE;
    }
    if (act->kind == DT__ON_RETURN && !c->quiet) {
      dt__log(DT__LOG_ERROR, "%s; %s returns %s", c->msg, s->off->symbol,
              o == DT__OUT_CRASH || o == DT__OUT_LOST ? "the on_crash value"
              : o == DT__OUT_TIMEOUT ? "the on_timeout value"
                                     : "the on_unavailable value");
    }
    if (act->kind == DT__ON_RETURN) {
      dt__policy_store_return(act, &s->off->sig, ret);
      *err = act->err != 0 ? act->err : saved;
      return DT__SETTLED_VALUE;
    }
    if (act->kind == DT__ON_RETRY && attempt < pol->retries) {
      /* A crash or a timeout is worth a line even when it is retried. */
      dt__log(DT__LOG_ERROR, "%s; retry %d of %d", c->msg, attempt + 1,
              pol->retries);
      __atomic_add_fetch(&s->retries, 1, __ATOMIC_RELAXED);
      backoff(pol, attempt + 1);
      continue;
    }
    if (act->kind == DT__ON_RETRY)
      dt__log(DT__LOG_ERROR, "%s: %d retries failed", s->off->symbol,
              pol->retries);
    return die_or_report(o, c, err, saved);
  }
}
