/* call.c: owns the caller's side of an offloaded call: its entry.
 *
 * An intercepted call arrives here from its stub (stub.c) with its
 * arguments unpacked by libffi.  It gets the process's queue and the
 * thread's waiter slot (state.c), makes sure a runner serves
 * (autostart.c), and goes through the queue as one task (trip.c) or, for
 * a split entry, as slices (fanout.c).  Its round trip is counted in the
 * stub, and told to `dtask status` at most once a second (tripstat.c).
 * At exit, this process's latency histograms go to `dtask run`.
 *
 * A call is never lost: when no queue or runner can be had, or a runner
 * refuses the task, the call runs inline and a message says why. */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/guard.h"
#include "common/log.h"
#include "common/pid.h"
#include "config/config.h"
#include "config/sig.h"
#include "config/split.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "shim/autostart.h"
#include "shim/bigbuf.h"
#include "shim/call.h"
#include "shim/fanout.h"
#include "shim/limits.h"
#include "shim/state.h"
#include "shim/symbol.h"
#include "shim/trip.h"
#include "shim/tripstat.h"

/* Starts the offload path: keeps cfg and the stub table (both owned by
 * shim.c for the life of the process) and resolves what autostart needs.
 * Called once by the engine's start (shim/shim.c), before any
 * intercepted call. */
void dt__offload_init(const dt__config *cfg, dt__stub *stubs, size_t n) {
  dt__state_init(cfg, stubs, n);
  dt__tripstat_init();
  dt__autostart_init();
}

/* Runs one intercepted call through a runner: encodes it, queues it,
 * blocks until the result arrives, and writes the return value, the
 * out-parameters and errno back.  Never loses the call: if no queue or
 * runner can be had, the call runs inline and a message says why.
 * Returns where it ran. */
dt__where dt__offload_call(dt__stub *s, void *ret, void **args) {
  int saved = errno;
  uint64_t t0 = dt__now_ns();
  dt__call_ctx c;
  size_t size;
  int e;
  dt__where where = DT__RAN_INLINE;

  dt__in_shim = 1;
  dt__queue *q = dt__state_queue();
  dt__thread_state *ts = dt__state_thread();
  if (q == NULL || ts == NULL)
    goto local;
  if (!ts->has_slot || ts->pid != dt__pid()) {
    if (dt__queue_waiter(q, &ts->slot) != 0) {
      dt__log(DT__LOG_ERROR, "no free waiter slot in %s; calling %s inline",
              dt__queue_dir(q), s->off->symbol);
      goto local;
    }
    ts->has_slot = true;
    ts->pid = dt__pid();
  }
  /* A cached answer needs no runner: looked up before one is sought. */
  dt__trip_ctx_init(&c, s, args, ret, saved, NULL);
  dt__cache_key ck;
  bool cached = s->off->limits.cache && dt__limits_cache_key(s, args, &ck) == 0;
  if (cached) {
    uint8_t *rec;
    size_t rsize;
    if (dt__limits_cache_find(q, &ck, &rec, &rsize)) {
      int arc = dt__trip_apply_cached(&c, rec, rsize);
      free(rec);
      if (arc == 0 && c.status == DT__ST_OK) {
        __atomic_add_fetch(&s->cache_hits, 1, __ATOMIC_RELAXED);
        dt__tripstat_tick(q, ts->slot, dt__now_ns());
        e = c.err;
        where = DT__RAN_CACHE;
        goto out;
      }
      dt__log(DT__LOG_ERROR, "%s: a cached answer was refused (%s); the "
              "call goes out as if none were kept", s->off->symbol,
              arc != 0 ? c.msg : "not a worker's result");
      dt__trip_ctx_init(&c, s, args, ret, saved, NULL);
    }
    __atomic_add_fetch(&s->cache_misses, 1, __ATOMIC_RELAXED);
    c.keep = true;
  }
  /* Every call looks at the heartbeat (a memory read); only a stale one
   * leads to the full check and, with autostart, to starting a pool.  A
   * pool that died within the last beat's age is noticed by the wait's
   * one-second tick. */
  if (!dt__queue_runner_recent(q, DT__RUNNER_MAX_AGE_NS) &&
      dt__autostart_ensure(q, s->off->policy.wait_for_runner_ns) ==
          -ETIMEDOUT &&
      s->off->policy.on_unavailable.kind != DT__ON_WAIT) {
    /* Another process has held the autostart lock for the whole of
     * wait_for_runner: on_unavailable applies now, nothing is queued. */
    dt__trip_ctx_init(&c, s, args, ret, saved, NULL);
    snprintf(c.msg, sizeof c.msg,
             "no runner serves %s, and another process has held %s/"
             "autostart.lock for %gs (wait_for_runner) without starting one "
             "(see which: fuser -v %s/autostart.lock)",
             dt__queue_dir(q), dt__queue_dir(q),
             (double)s->off->policy.wait_for_runner_ns / 1e9,
             dt__queue_dir(q));
    int how = dt__trip_settle(s, q, ts, ret, args, 0, saved,
                              DT__OUT_UNAVAILABLE, &c, &e);
    where = how == DT__SETTLED_VALUE ? DT__RAN_VALUE : DT__RAN_INLINE;
    goto out;
  }
  /* A split call is sized slice by slice: the whole may be larger than
   * one task could be. */
  if (s->off->split.enabled) {
    const dt__split *sp = &s->off->split;
    uint64_t n;
    if (dt__scalar_count(&s->off->sig.params[sp->over].type, args[sp->over],
                      &n) == 0) {
      int w = dt__queue_workers(q);
      uint64_t count =
          dt__split_count(sp, n, w > 0 ? w : dt__caller.cfg->workers);
      if (count > 1)
        return dt__fanout(s, q, ts, ret, args, saved, n, count);
    }
  }
  dt__wire_arena ar;
  if (dt__bigbuf_place(s, q, ts, args, &ar))
    c.ar = &ar;
  int rc = c.ar != NULL ? dt__wire_task_size_arena(&s->off->sig, args, &ar,
                                                   dt__stub_obj(s), &size)
                        : dt__wire_task_size(&s->off->sig, args,
                                             dt__stub_obj(s), &size);
  if (rc != 0) {
    dt__log(DT__LOG_ERROR,
            "%s: a buffer length is %s in this call; calling it inline",
            s->off->symbol, rc == -ERANGE ? "negative" : "too large");
    goto local;
  }
  dt__outcome o = dt__trip_round(s, q, ts, size, &c);
  int how = dt__trip_settle(s, q, ts, ret, args, size, saved, o, &c, &e);
  if (cached) {
    if (how == DT__SETTLED_RESULT)
      dt__limits_cache_keep(s, q, &ck, &c, ret);
    free(c.kept); /* the copy of an answer not kept (NULL once kept) */
  }
  if (how == DT__SETTLED_RESULT) {
    uint64_t t1 = dt__now_ns();
    __atomic_add_fetch(&s->hist[dt__hist_bucket(t1 - t0)], 1,
                       __ATOMIC_RELAXED);
    dt__tripstat_tick(q, ts->slot, t1);
    where = DT__RAN_WORKER;
  } else if (how == DT__SETTLED_VALUE) {
    where = DT__RAN_VALUE;
  }
  goto out;
local:
  /* No queue, no waiter slot or an unsizable call: it runs here. */
  e = dt__trip_inline(s, ret, args, saved);
out:
  dt__in_shim = 0;
  errno = e;
  return where;
}

/* Appends this process's offload latencies to $DTASK_STATS (set by
 * `dtask run`): one line per symbol, "dtask-stats 1 SYMBOL CALLS" then
 * "BUCKET:COUNT" pairs, "dtask-local 1 SYMBOL CALLS" for the calls
 * offload_if kept in the caller, and "dtask-cache 1 SYMBOL HITS MISSES"
 * for an entry with a cache, written with one O_APPEND write each. */
static void write_stats(void) {
  const char *path = getenv(DT__ENV_STATS);
  if (path == NULL || path[0] == '\0' || dt__caller.stubs == NULL)
    return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  for (size_t i = 0; i < dt__caller.n; i++) {
    static char line[32768]; /* one line per symbol; written one at a time */
    const dt__stub *st = &dt__caller.stubs[i];
    size_t n = 0;
    unsigned long calls = 0;
    for (int b = 0; b < DT__HIST_BUCKETS; b++)
      calls += __atomic_load_n(&st->hist[b], __ATOMIC_RELAXED);
    unsigned long local = __atomic_load_n(&st->local, __ATOMIC_RELAXED);
    if (local > 0) {
      n = (size_t)snprintf(line, sizeof line, "dtask-local 1 %s %lu\n",
                           st->off->symbol, local);
      ssize_t w = write(fd, line, n < sizeof line ? n : sizeof line - 1);
      (void)w;
      n = 0;
    }
    unsigned long hits = __atomic_load_n(&st->cache_hits, __ATOMIC_RELAXED);
    unsigned long misses =
        __atomic_load_n(&st->cache_misses, __ATOMIC_RELAXED);
    if (hits + misses > 0) {
      n = (size_t)snprintf(line, sizeof line, "dtask-cache 1 %s %lu %lu\n",
                           st->off->symbol, hits, misses);
      ssize_t w = write(fd, line, n < sizeof line ? n : sizeof line - 1);
      (void)w;
      n = 0;
    }
    if (calls == 0)
      continue;
    n += (size_t)snprintf(line + n, sizeof line - n, "dtask-stats 1 %s %lu",
                          st->off->symbol, calls);
    for (int b = 0; b < DT__HIST_BUCKETS && n + 32 < sizeof line; b++) {
      unsigned long c = __atomic_load_n(&st->hist[b], __ATOMIC_RELAXED);
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
 * (other threads drop theirs when they exit), adds the round trips not
 * yet told to the queue, and appends this process's round-trip
 * histograms to $DTASK_STATS for `dtask run`'s summary. */
void dt__offload_fini(void) {
  dt__state_fini();
  dt__tripstat_exit();
  write_stats();
}
