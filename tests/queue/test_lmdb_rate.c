/* test_lmdb_rate.c: the rates of the "lmdb" queue's admission (a GCRA
 * rate per task, queue/lmdb_gate.c and claim_in in queue/lmdb.c) and
 * dt__gcra itself: one start per interval, bursts, a rate across
 * processes, a gate's refusal that spends no rate, and the algorithm's
 * boundaries and largest values.  Gates are test_lmdb_limits.c's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include <ffi.h>

#include "common/common.h"
#include "common/log.h"
#include "config/config.h"
#include "config/sig.h"
#include "queue/bell.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "testutil.h"

/* The task header's flag that an admission block follows (lmdb_rec.h). */
#define ADMIT_FLAG 0x80000000u

#define FX_DIR "/dev/shm/dtlr-XXXXXX"
#include "lmdbfx.h"
#include "gatefx.h"
/* ============================================================== rate */

/* Claims n tasks as they come (timeout 2 s each); their times into at. */
static void claim_times(dt__queue *q, int n, const uint64_t *ids,
                        const int *idx, uint64_t *at) {
  for (int i = 0; i < n; i++) {
    claim_is(q, 2 * SEC, ids[i], idx[i]);
    at[i] = dt__now_ns();
  }
}

/* interval 100 ms, burst 1: one task per 100 ms; a claim held back by
 * the rate sleeps until the rate's time, not its timeout. */
static void test_rate_one_per_interval(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t ids[4], at[4];
  int idx[4] = {0, 1, 2, 3};
  dt__admit a = admit(NULL, 0, "r", 100 * MS, 1);
  assert_ok(dt__queue_waiter(q, &slot));
  for (int i = 0; i < 4; i++)
    submit_task(q, slot, &a, i, &ids[i]);
  uint64_t t0 = dt__now_ns();
  claim_times(q, 4, ids, idx, at);
  if ((at[0] - t0) / MS > 50)
    fail_msg("the first task came after %llu ms",
             (unsigned long long)((at[0] - t0) / MS));
  for (int i = 1; i < 4; i++) {
    uint64_t gap = (at[i] - at[i - 1]) / MS;
    if (gap < 90 || gap > 400)
      fail_msg("tasks %d and %d were claimed %llu ms apart; expected about "
               "100 ms",
               i - 1, i, (unsigned long long)gap);
  }
  /* A claim with a short timeout times out; one of 2 s that must wait
   * 100 ms returns after about 100 ms. */
  for (int i = 0; i < 4; i++)
    complete(q, ids[i]);
  uint64_t id;
  submit_task(q, slot, &a, 4, &id);
  claim_none(q, 20 * MS);
  uint64_t t1 = dt__now_ns();
  claim_is(q, 2 * SEC, id, 4);
  uint64_t ms = elapsed_ms(t1);
  if (ms > 400)
    fail_msg("a claim held back by the rate returned after %llu ms; the "
             "rate allowed the task within 100 ms",
             (unsigned long long)ms);
  complete(q, id);
}

/* burst 3: three start at once after a quiet spell, the fourth one
 * interval later; the rate applies across names only by name. */
static void test_rate_burst(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t ids[4], at[4], other;
  int idx[4] = {0, 1, 2, 3};
  dt__admit a = admit(NULL, 0, "burst", 100 * MS, 3);
  dt__admit b = admit(NULL, 0, "burst2", 100 * MS, 1);
  assert_ok(dt__queue_waiter(q, &slot));
  for (int i = 0; i < 4; i++)
    submit_task(q, slot, &a, i, &ids[i]);
  submit_task(q, slot, &b, 4, &other);
  uint64_t t0 = dt__now_ns();
  claim_times(q, 3, ids, idx, at);
  if ((at[2] - t0) / MS > 50)
    fail_msg("three of burst 3 took %llu ms",
             (unsigned long long)((at[2] - t0) / MS));
  /* The fourth waits; another rate's task does not. */
  claim_is(q, 50 * MS, other, 4);
  claim_times(q, 1, ids + 3, idx + 3, at + 3);
  uint64_t ms = (at[3] - t0) / MS;
  if (ms < 90 || ms > 400)
    fail_msg("the fourth of burst 3 came after %llu ms; expected about 100",
             (unsigned long long)ms);
  claim_none(q, 20 * MS);
}

/* The rate's time is kept in the queue, shared by every process: a
 * second process's claim of the same rate waits its turn. */
static void test_rate_across_processes(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t t1, t2, r[4];
  dt__admit a = admit(NULL, 0, "shared", 200 * MS, 1);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &a, 1, &t1);
  submit_task(q, slot, &a, 2, &t2);
  uint64_t t0 = dt__now_ns();
  claim_is(q, SEC, t1, 1);
  spawn_report(f, child_claim_report, NULL, r, sizeof r);
  assert_int_equal((int)(int64_t)r[0], 0);
  assert_int_equal(r[1], t2);
  uint64_t ms = (r[3] - t0) / MS;
  if (ms < 180 || ms > 800)
    fail_msg("the other process claimed the second task %llu ms after the "
             "first; the rate allows one per 200 ms",
             (unsigned long long)ms);
}

/* The gate is looked at first: a task the gate holds back spends no turn
 * of its rate.  T1 and T2 share gate g (1 running) and rate r (burst 2);
 * T3 has rate r only.  T1 runs, T2 is passed over by the gate, and T3
 * gets the rate's second turn. */
static void test_gate_refusal_spends_no_rate(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t t1, t2, t3;
  dt__admit both = admit("g", 1, "r", 500 * MS, 2);
  dt__admit rate = admit(NULL, 0, "r", 500 * MS, 2);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &both, 1, &t1);
  submit_task(q, slot, &both, 2, &t2);
  submit_task(q, slot, &rate, 3, &t3);
  uint64_t t0 = dt__now_ns();
  claim_is(q, 50 * MS, t1, 1); /* turn 1 */
  claim_is(q, 50 * MS, t3, 3); /* t2 held by the gate; turn 2 */
  if (elapsed_ms(t0) > 150)
    fail_msg("t1 and t3 took %llu ms", (unsigned long long)elapsed_ms(t0));
  claim_none(q, 50 * MS); /* t2: the gate is full */
  complete(q, t1);
  /* Now the gate has room and the rate's next turn is 500 ms after the
   * first two. */
  claim_is(q, 2 * SEC, t2, 2);
  uint64_t ms = elapsed_ms(t0);
  if (ms < 450 || ms > 1200)
    fail_msg("t2 came %llu ms after the first two; the rate allows it after "
             "500 ms",
             (unsigned long long)ms);
  complete(q, t2);
  complete(q, t3);
}

/* ============================================================= gcra */

static void test_gcra_burst_one(void **state) {
  (void)state;
  uint64_t tat = 0;
  assert_int_equal(dt__gcra(&tat, 1000, 100, 1), 0);
  assert_int_equal(tat, 1100);
  assert_int_equal(dt__gcra(&tat, 1000, 100, 1), 1100);
  assert_int_equal(tat, 1100); /* untouched when refused */
  assert_int_equal(dt__gcra(&tat, 1099, 100, 1), 1100);
  assert_int_equal(dt__gcra(&tat, 1100, 100, 1), 0); /* exactly on time */
  assert_int_equal(tat, 1200);
  /* A quiet spell does not bank turns with burst 1. */
  assert_int_equal(dt__gcra(&tat, 5000, 100, 1), 0);
  assert_int_equal(tat, 5100);
  assert_int_equal(dt__gcra(&tat, 5001, 100, 1), 5100);
}

static void test_gcra_burst(void **state) {
  (void)state;
  uint64_t tat = 0;
  for (int i = 0; i < 3; i++)
    assert_int_equal(dt__gcra(&tat, 1000, 100, 3), 0);
  assert_int_equal(tat, 1300);
  /* The fourth: at tat - tau = 1300 - 200. */
  assert_int_equal(dt__gcra(&tat, 1000, 100, 3), 1100);
  assert_int_equal(dt__gcra(&tat, 1099, 100, 3), 1100);
  assert_int_equal(dt__gcra(&tat, 1100, 100, 3), 0);
  assert_int_equal(tat, 1400);
  assert_int_equal(dt__gcra(&tat, 1100, 100, 3), 1200);
  /* After a quiet spell, a burst again, and no more. */
  int n = 0;
  while (dt__gcra(&tat, 100000, 100, 3) == 0 && n < 10)
    n++;
  assert_int_equal(n, 3);
  /* Half a spell: the turns come back one per interval. */
  n = 0;
  while (dt__gcra(&tat, 100150, 100, 3) == 0 && n < 10)
    n++;
  assert_int_equal(n, 1);
}

/* Exact boundaries: admitted while tat - now <= tau; refused at tau + 1
 * (may start 1 ns later); a stored time up to now + tau + interval is
 * one an admission could have left (kept), beyond it is from another
 * clock (reset). */
static void test_gcra_boundaries(void **state) {
  (void)state;
  const uint64_t now = 1000000, iv = 1000;
  const uint32_t burst = 4;
  const uint64_t tau = 3 * iv;
  uint64_t tat = now + tau;
  assert_int_equal(dt__gcra(&tat, now, iv, burst), 0);
  assert_int_equal(tat, now + tau + iv);
  tat = now + tau + 1;
  assert_int_equal(dt__gcra(&tat, now, iv, burst), now + 1);
  assert_int_equal(tat, now + tau + 1);
  /* The furthest an admission leaves it: kept, refused until interval. */
  tat = now + tau + iv;
  assert_int_equal(dt__gcra(&tat, now, iv, burst), now + iv);
  assert_int_equal(tat, now + tau + iv);
  /* Further: a time from another boot or a clock that went back. */
  tat = now + tau + iv + 1;
  assert_int_equal(dt__gcra(&tat, now, iv, burst), 0);
  assert_int_equal(tat, now + iv);
  tat = UINT64_MAX;
  assert_int_equal(dt__gcra(&tat, now, iv, burst), 0);
  assert_int_equal(tat, now + iv);
  /* A time in the past counts as now. */
  tat = 5;
  assert_int_equal(dt__gcra(&tat, now, iv, burst), 0);
  assert_int_equal(tat, now + iv);
  /* The time a refusal names is one at which the task is admitted. */
  tat = 0;
  for (uint32_t i = 0; i < burst; i++)
    assert_int_equal(dt__gcra(&tat, now, iv, burst), 0);
  uint64_t at = dt__gcra(&tat, now, iv, burst);
  assert_int_equal(at, now + iv);
  assert_int_equal(dt__gcra(&tat, at - 1, iv, burst), at);
  assert_int_equal(dt__gcra(&tat, at, iv, burst), 0);
}

/* The largest settings config/limits.c accepts (burst 1000000, an
 * interval up to a year) must not wrap around: burst * interval here is
 * just over 2^64 ns. */
static void test_gcra_large_values(void **state) {
  (void)state;
  const uint64_t iv = 18446744073710ull; /* about 5.1 h: "0.195/h" */
  const uint32_t burst = 1000000;
  const uint64_t now = 1000 * SEC;
  uint64_t tat = 0;
  uint32_t n = 0;
  while (n <= burst && dt__gcra(&tat, now, iv, burst) == 0)
    n++;
  if (n != burst)
    fail_msg("interval %llu ns, burst %u: %u admitted at once, expected %u",
             (unsigned long long)iv, burst, n, burst);
  /* A year's interval with the largest burst. */
  const uint64_t year = 366ull * 86400ull * SEC;
  tat = 0;
  assert_int_equal(dt__gcra(&tat, now, year, burst), 0);
  assert_int_equal(tat, now + year);
  assert_int_equal(dt__gcra(&tat, now, year, burst), 0);
  assert_int_equal(tat, now + 2 * year);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_rate_one_per_interval),
      T(test_rate_burst),
      T(test_rate_across_processes),
      T(test_gate_refusal_spends_no_rate),
      T(test_gcra_burst_one),
      T(test_gcra_burst),
      T(test_gcra_boundaries),
      T(test_gcra_large_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
