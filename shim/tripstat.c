/* tripstat.c: owns what a caller tells `dtask status` of its round
 * trips: for each symbol, the offloaded calls answered, the retries, the
 * answers cache's hits and misses and
 * the histogram of round-trip times, which the call path already counts
 * in the stub (relaxed atomic adds; shim/call.c, shim/trip.c).
 *
 * They reach the queue (its trips_add: a file of the queue directory
 * with LMDB, a hash with Redis) as increments since the last add, at
 * most once a second: the thread that ends a call a second or more
 * after the last add makes the next one, after its own call is done;
 * every other call pays one relaxed load and a compare.  An add that
 * does not go through (another process holds the file, the server is
 * away) leaves its increments for the next one.  At exit the rest is
 * added.  A process killed with SIGKILL loses at most its last second.
 *
 * Memory: two tables of one dt__trips per stub, mapped on the first add
 * and kept for the process's life (what was added so far, and the
 * increments being added). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/pid.h"
#include "shim/state.h"
#include "shim/symbol.h"
#include "shim/tripstat.h"

#define PERIOD_NS 1000000000ull

static uint64_t s_next;    /* CLOCK_MONOTONIC ns of the next add; 0: the
                              first call has not come (atomic) */
static int s_busy;         /* a thread is adding (atomic) */
static dt__trips *s_added; /* per stub: added so far */
static dt__trips *s_delta; /* increments of one add, packed */
static uint32_t *s_of;     /* per increment: its stub */

/* The fork handler, in the child: its counts start from zero (state.c
 * zeroes the stubs' counters), and so does what it has added. */
static void atfork_child(void) {
  s_next = 0;
  s_busy = 0;
  if (s_added != NULL)
    memset(s_added, 0, dt__caller.n * sizeof *s_added);
}

/* Installs the fork handler.  Called once, at start-up, after
 * dt__state_init. */
void dt__tripstat_init(void) {
  pthread_atfork(NULL, NULL, atfork_child);
}

/* Packs the increments since the last add into s_delta; returns how
 * many symbols have any.  Maps the tables on first use (0 when it
 * cannot). */
static size_t collect(void) {
  size_t n = dt__caller.n;
  if (s_added == NULL)
    s_added = dt__state_map(n * sizeof *s_added);
  if (s_delta == NULL)
    s_delta = dt__state_map(n * sizeof *s_delta);
  if (s_of == NULL)
    s_of = dt__state_map(n * sizeof *s_of);
  if (s_added == NULL || s_delta == NULL || s_of == NULL)
    return 0; /* no memory: tried again at the next add */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    const dt__stub *s = &dt__caller.stubs[i];
    dt__trips *d = &s_delta[m];
    uint64_t calls = 0;
    for (int b = 0; b < DT__HIST_BUCKETS; b++) {
      uint64_t c = __atomic_load_n(&s->hist[b], __ATOMIC_RELAXED);
      d->hist[b] = c - s_added[i].hist[b];
      calls += d->hist[b];
    }
    d->calls = calls;
    d->retries =
        __atomic_load_n(&s->retries, __ATOMIC_RELAXED) - s_added[i].retries;
    d->hits =
        __atomic_load_n(&s->cache_hits, __ATOMIC_RELAXED) - s_added[i].hits;
    d->misses = __atomic_load_n(&s->cache_misses, __ATOMIC_RELAXED) -
                s_added[i].misses;
    if (d->calls == 0 && d->retries == 0 && d->hits == 0 && d->misses == 0)
      continue;
    snprintf(d->symbol, sizeof d->symbol, "%s", s->off->symbol);
    s_of[m++] = (uint32_t)i;
  }
  return m;
}

/* Adds the increments to q (slot: the calling thread's waiter slot or
 * UINT32_MAX) and, when that went through, to what was added. */
static void add(dt__queue *q, uint32_t slot, size_t m) {
  int rc = dt__queue_trips_add(q, slot, s_delta, m);
  if (rc != 0 && rc != -ENOSPC)
    return; /* kept for the next add */
  for (size_t j = 0; j < m; j++) {
    dt__trips *a = &s_added[s_of[j]];
    a->calls += s_delta[j].calls;
    a->retries += s_delta[j].retries;
    a->hits += s_delta[j].hits;
    a->misses += s_delta[j].misses;
    for (int b = 0; b < DT__HIST_BUCKETS; b++)
      a->hist[b] += s_delta[j].hist[b];
  }
}

/* At the end of an offloaded call that ended at now_ns, on q with the
 * thread's waiter slot: adds the increments when a second has passed
 * since the last add (the first call only starts the clock).  Costs one
 * relaxed load otherwise. */
void dt__tripstat_tick(dt__queue *q, uint32_t slot, uint64_t now_ns) {
  uint64_t next = __atomic_load_n(&s_next, __ATOMIC_RELAXED);
  if (now_ns < next)
    return;
  if (!__atomic_compare_exchange_n(&s_next, &next, now_ns + PERIOD_NS, false,
                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED) ||
      next == 0)
    return;
  if (__atomic_exchange_n(&s_busy, 1, __ATOMIC_ACQUIRE) != 0)
    return;
  size_t m = collect();
  if (m > 0)
    add(q, slot, m);
  __atomic_store_n(&s_busy, 0, __ATOMIC_RELEASE);
}

/* At exit: adds what is left, unless another thread is adding now.
 * Opens nothing when there is nothing to add. */
void dt__tripstat_exit(void) {
  if (dt__caller.stubs == NULL ||
      __atomic_exchange_n(&s_busy, 1, __ATOMIC_ACQUIRE) != 0)
    return;
  size_t m = collect();
  dt__queue *q = m > 0 ? dt__state_queue() : NULL;
  if (q != NULL) {
    const dt__thread_state *ts = dt__state_current();
    add(q, ts != NULL && ts->has_slot && ts->pid == dt__pid()
               ? ts->slot
               : UINT32_MAX,
        m);
  }
  __atomic_store_n(&s_busy, 0, __ATOMIC_RELEASE);
}
