/* test_lmdb_limits.c: unit tests of the "lmdb" queue backend's admission
 * (queue/lmdb_gate.c, claim_in and answer_in in queue/lmdb.c: a
 * concurrency gate and a GCRA rate per task, queue/queue.h's dt__admit),
 * and of dt__gcra itself.  The answers cache is test_lmdb_cache.c's.
 *
 * As in test_queue.c, everything is real: every test gets a fresh
 * directory under /dev/shm with a real LMDB environment and doorbell,
 * waits are real futex waits, and other workers are real threads and
 * real processes (fork).  A forked child never calls a cmocka assertion:
 * it opens its own handle, reports through its exit status or a pipe,
 * and leaves with _exit; the teardown kills and reaps any child a failed
 * test left.  Raw entries are read and written with LMDB directly, in a
 * child (no process opens the environment twice).
 *
 * Timing: "promptly" means well under the one second after which a
 * worker held back by a full gate looks again by itself (lmdb.c's
 * GATE_LOOK_NS), for waits whose timeout is five seconds. */
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

#define FX_DIR "/dev/shm/dtlm-XXXXXX"
#include "lmdbfx.h"
#include "gatefx.h"
/* =========================================================== ungated */

/* Without admission (adm NULL, or with both names empty) tasks go FIFO as
 * before, their records exactly as written, stored without a block. */
static void test_ungated_fifo(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t ids[6];
  dt__admit empty = admit(NULL, 0, NULL, 0, 0);
  empty.running = 3; /* numbers without names ask nothing */
  empty.interval_ns = SEC;
  empty.burst = 1;
  assert_ok(dt__queue_waiter(q, &slot));
  for (int i = 0; i < 6; i++)
    submit_task(q, slot, i % 2 ? &empty : NULL, i, &ids[i]);
  counts_are(q, 6, 0, 0);
  /* The stored value is the header and the record: no block, no flag. */
  uint8_t k[8], v[1024];
  id_key(k, ids[1]);
  long n = raw_get(f, "tasks", k, 8, v, sizeof v);
  assert_int_equal(n, 8 + (long)tsize(1));
  assert_int_equal(get32(v + 4) & ADMIT_FLAG, 0);
  for (int i = 0; i < 6; i++)
    claim_is(q, SEC, ids[i], i);
  claim_none(q, 20 * MS);
  counts_are(q, 0, 6, 0);
  for (int i = 0; i < 6; i++)
    complete(q, ids[i]);
  counts_are(q, 0, 0, 6);
}

/* ============================================================== gate */

/* Five tasks of gate "g" (2 running) then one without: the claims take
 * gated #1 and #2, pass over #3 for the ungated task, then find nothing;
 * each answer to a gated call lets the next gated one in, in order. */
static void test_gate_passes_over(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t g[5], u;
  dt__admit a = admit("g", 2, NULL, 0, 0);
  assert_ok(dt__queue_waiter(q, &slot));
  for (int i = 0; i < 5; i++)
    submit_task(q, slot, &a, i, &g[i]);
  submit_task(q, slot, NULL, 5, &u);
  claim_is(q, 50 * MS, g[0], 0);
  claim_is(q, 50 * MS, g[1], 1);
  claim_is(q, 50 * MS, u, 5);
  uint64_t t0 = dt__now_ns();
  claim_none(q, 50 * MS);
  /* It waited for its timeout, no longer (not for the 1 s look). */
  uint64_t ms = elapsed_ms(t0);
  if (ms < 40 || ms > 600)
    fail_msg("a 50 ms claim held back by a gate returned after %llu ms",
             (unsigned long long)ms);
  counts_are(q, 3, 3, 0);
  complete(q, u); /* not gated: frees no place */
  claim_none(q, 50 * MS);
  complete(q, g[0]);
  claim_is(q, 50 * MS, g[2], 2);
  claim_none(q, 50 * MS);
  complete(q, g[2]);
  complete(q, g[1]);
  claim_is(q, 50 * MS, g[3], 3);
  claim_is(q, 50 * MS, g[4], 4);
  claim_none(q, 50 * MS);
  complete(q, g[3]);
  complete(q, g[4]);
  counts_are(q, 0, 0, 6);
}

/* Two gate names do not share places (nor does a name that merely starts
 * like another). */
static void test_gate_names_separate(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t a1, a2, b1, b2, a3;
  dt__admit ga = admit("gate-a", 1, NULL, 0, 0);
  dt__admit gb = admit("gate-b", 1, NULL, 0, 0);
  dt__admit gb2 = admit("gate-a=b", 1, NULL, 0, 0); /* not gate-a */
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &ga, 0, &a1);
  submit_task(q, slot, &ga, 1, &a2);
  submit_task(q, slot, &gb, 2, &b1);
  submit_task(q, slot, &gb2, 3, &b2);
  submit_task(q, slot, &ga, 4, &a3);
  claim_is(q, 50 * MS, a1, 0);
  claim_is(q, 50 * MS, b1, 2);
  claim_is(q, 50 * MS, b2, 3);
  claim_none(q, 50 * MS); /* a2 and a3: gate-a is full */
  complete(q, b1);        /* another gate's answer frees no place here */
  claim_none(q, 50 * MS);
  complete(q, a1);
  claim_is(q, 50 * MS, a2, 1);
  complete(q, a2);
  claim_is(q, 50 * MS, a3, 4);
  complete(q, a3);
  complete(q, b2);
  counts_are(q, 0, 0, 5);
}

/* Each task's own running says how many of its gate may run for it to
 * start (queue.h: "at most running tasks with this gate run at once"),
 * whatever the tasks before it say: with one call of gate-a running, a
 * task of gate-a that allows 2 starts even though an older one that
 * allows 1 waits (as it would if it were first in the queue). */
static void test_gate_running_per_task(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t a1, a2, a3;
  dt__admit one = admit("gate-a", 1, NULL, 0, 0);
  dt__admit two = admit("gate-a", 2, NULL, 0, 0);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &one, 0, &a1);
  submit_task(q, slot, &one, 1, &a2);
  submit_task(q, slot, &two, 2, &a3);
  claim_is(q, 50 * MS, a1, 0);
  claim_is(q, 50 * MS, a3, 2); /* two of gate-a may run for it */
  claim_none(q, 50 * MS);       /* a2 allows one: two run */
  complete(q, a1);
  claim_none(q, 50 * MS); /* a3 still runs: one of gate-a */
  complete(q, a3);
  claim_is(q, 50 * MS, a2, 1);
  complete(q, a2);
}

/* The stored task is the header, the block and the record; the flag is
 * in the header's second word with the slot.  The claim takes the record
 * only; the claim's value keeps the block (it is what holds the place). */
static void test_gate_block_stored(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id;
  dt__admit a = admit("g.1", 3, "rate@x", 250 * MS, 7);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &a, 7, &id);
  uint8_t k[8], v[1024];
  id_key(k, id);
  long n = raw_get(f, "tasks", k, 8, v, sizeof v);
  size_t block = 22 + 3 + 6;
  assert_int_equal(n, (long)(8 + block + tsize(7)));
  assert_int_equal(get32(v), (uint32_t)getpid());
  assert_int_equal(get32(v + 4), slot | ADMIT_FLAG);
  uint16_t bs;
  memcpy(&bs, v + 8, 2);
  assert_int_equal(bs, block);
  assert_int_equal(get32(v + 10), 3);
  assert_int_equal(get32(v + 14), 7);
  uint64_t iv;
  memcpy(&iv, v + 18, 8);
  assert_int_equal(iv, 250 * MS);
  assert_int_equal(v[26], 3);
  assert_int_equal(v[27], 6);
  assert_memory_equal(v + 30, "g.1rate@x", 9);
  uint8_t want[512];
  tdata(want, 7);
  assert_memory_equal(v + 8 + block, want, tsize(7));
  claim_is(q, SEC, id, 7);
  n = raw_get(f, "claims", k, 8, v, sizeof v);
  assert_int_equal(n, (long)(12 + 8 + block + tsize(7)));
  assert_int_equal(get32(v + 12 + 4), slot | ADMIT_FLAG);
  assert_memory_equal(v + 12 + 8 + block, want, tsize(7));
  complete(q, id);
  /* The answer reaches the caller's slot. */
  uint8_t back[8];
  app_ctx ac = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &ac, SEC));
  assert_int_equal(ac.got, 4);
  assert_memory_equal(back, "done", 4);
  counts_are(q, 0, 0, 0);
}

/* complete with next claims in the same step as its answer: the answer's
 * place at the gate is free for it, and a task of a gate still full is
 * passed over there too. */
static void test_gate_complete_next(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t u0, t1, t2, u3;
  dt__admit a = admit("g", 1, NULL, 0, 0);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, NULL, 0, &u0);
  submit_task(q, slot, &a, 1, &t1);
  submit_task(q, slot, &a, 2, &t2);
  submit_task(q, slot, NULL, 3, &u3);
  claim_is(q, SEC, u0, 0);
  claim_is(q, SEC, t1, 1);
  dt__claimed next = {NULL, 0, 0};
  uint8_t want[512];
  /* u0's answer frees no place: t2 is passed over for u3. */
  assert_int_equal(
      dt__queue_complete_next(q, u0, (const uint8_t *)"a", 1, &next), 1);
  assert_int_equal(next.id, u3);
  tdata(want, 3);
  assert_int_equal(next.size, tsize(3));
  assert_memory_equal(next.rec, want, next.size);
  free(next.rec);
  next = (dt__claimed){NULL, 0, 0};
  assert_int_equal(
      dt__queue_complete_next(q, u3, (const uint8_t *)"b", 1, &next), 0);
  assert_null(next.rec);
  /* t1's answer frees its place: t2 in the same step. */
  assert_int_equal(
      dt__queue_complete_next(q, t1, (const uint8_t *)"c", 1, &next), 1);
  assert_int_equal(next.id, t2);
  tdata(want, 2);
  assert_int_equal(next.size, tsize(2));
  assert_memory_equal(next.rec, want, next.size);
  free(next.rec);
  counts_are(q, 0, 1, 3);
  complete(q, t2);
}

/* ------------------------------------------------------------ wake-ups */

/* A thread blocked in claim while the only task's gate is full is woken
 * by the answer to a gated call, at once. */
static void test_gate_wakes_thread_on_complete(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t t1, t2;
  dt__admit a = admit("g", 1, NULL, 0, 0);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &a, 1, &t1);
  submit_task(q, slot, &a, 2, &t2);
  claim_is(q, SEC, t1, 1);
  claimer c = {q, 5 * SEC, 1, 0, NULL, 0, 0, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, claim_thread, &c), 0);
  sleep_ms(150);
  int early = claimer_done(&c);
  uint64_t t_event = dt__now_ns();
  complete(q, t1);
  pthread_join(t, NULL);
  if (early)
    fail_msg("the claim returned %d before the gate opened", c.rc);
  claimer_got(&c, t2, 2, t_event, 500, "the answer to a gated call");
  complete(q, t2);
}


static void test_gate_wakes_process_on_complete(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t t1, t2;
  dt__admit a = admit("g", 1, NULL, 0, 0);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &a, 1, &t1);
  submit_task(q, slot, &a, 2, &t2);
  claim_is(q, SEC, t1, 1);
  pipes p;
  p.arg = NULL;
  assert_int_equal(pipe(p.up), 0);
  pid_t pid = spawn(f, child_claim_report, &p);
  close(p.up[1]);
  sleep_ms(300);
  uint64_t t_event = dt__now_ns();
  complete(q, t1);
  uint64_t r[4];
  int got = read_all(p.up[0], r, sizeof r);
  close(p.up[0]);
  reap_ok(f, pid);
  assert_int_equal(got, 0);
  assert_int_equal((int)(int64_t)r[0], 0);
  assert_int_equal(r[1], t2);
  uint8_t want[512];
  tdata(want, 2);
  assert_int_equal(r[2], fnv(want, tsize(2)));
  if (r[3] < t_event)
    fail_msg("the other process claimed t2 before t1 was answered");
  uint64_t ms = (r[3] - t_event) / MS;
  if (ms > 500)
    fail_msg("the other process's claim returned %llu ms after the gate "
             "opened", (unsigned long long)ms);
}

/* Claims one task and exits (a worker that died running it), after
 * reporting the task id and its own pid. */
static int child_claim_pid_and_die(fx *f, void *arg) {
  pipes *p = arg;
  close(p->up[0]);
  dt__queue *q = child_open(f);
  uint8_t *rec;
  size_t size;
  uint64_t r[2] = {0, (uint64_t)getpid()};
  if (dt__queue_claim(q, &rec, &size, &r[0], 5 * SEC) != 0)
    return 10;
  write_all(p->up[1], r, sizeof r);
  _exit(0);
}

/* A dead worker's claim holds its place until answered: the runner's
 * fail_claim answers it, which wakes a worker blocked on the gate. */
static void test_gate_wakes_on_fail_claim(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t t1, t2, r[2];
  dt__admit a = admit("g", 1, NULL, 0, 0);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &a, 1, &t1);
  submit_task(q, slot, &a, 2, &t2);
  spawn_report(f, child_claim_pid_and_die, NULL, r, sizeof r);
  assert_int_equal(r[0], t1);
  counts_are(q, 1, 1, 0);
  claim_none(q, 50 * MS); /* the dead worker's claim holds the gate */
  claimer c = {q, 5 * SEC, 1, 0, NULL, 0, 0, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, claim_thread, &c), 0);
  sleep_ms(150);
  int early = claimer_done(&c);
  uint64_t t_event = dt__now_ns();
  assert_ok(dt__queue_fail(q, t1, (int)r[1], (const uint8_t *)"crash", 5));
  pthread_join(t, NULL);
  if (early)
    fail_msg("the claim returned %d before the gate opened", c.rc);
  claimer_got(&c, t2, 2, t_event, 500, "fail_claim's answer");
  uint8_t back[8];
  app_ctx ac = {back, sizeof back, 0, 0, 0};
  last_from = -1; /* set by this wait's answer, checked below */
  assert_ok(dt__queue_wait(q, t1, slot, apply_copy, &ac, SEC));
  assert_int_equal(ac.got, 5);
  assert_int_equal(last_from, DT__FROM_RUNNER);
  complete(q, t2);
}

/* The sweep gives a dead worker's gated claim back while its caller
 * waits: a blocked worker is woken and gets it, unchanged and still
 * gated (the requeued task holds the place again). */
static void test_gate_wakes_on_sweep(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t t1, t2, r[2];
  dt__admit a = admit("g", 1, NULL, 0, 0);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &a, 1, &t1);
  submit_task(q, slot, &a, 2, &t2);
  spawn_report(f, child_claim_pid_and_die, NULL, r, sizeof r);
  assert_int_equal(r[0], t1);
  claimer c = {q, 5 * SEC, 1, 0, NULL, 0, 0, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, claim_thread, &c), 0);
  sleep_ms(150);
  int early = claimer_done(&c);
  uint64_t t_event = dt__now_ns();
  unsigned reclaimed = 99;
  int swept = dt__queue_sweep(q, &reclaimed);
  pthread_join(t, NULL);
  if (early)
    fail_msg("the claim returned %d before the sweep", c.rc);
  assert_int_equal(swept, 1);
  assert_int_equal(reclaimed, 1);
  claimer_got(&c, t1, 1, t_event, 500, "the sweep");
  /* Requeued with its block and flag, one requeue counted. */
  uint8_t k[8], v[1024];
  id_key(k, t1);
  long n = raw_get(f, "claims", k, 8, v, sizeof v);
  assert_int_equal(n, (long)(12 + 8 + 22 + 1 + tsize(1)));
  assert_int_equal(get32(v + 12 + 4), slot | ADMIT_FLAG | 1u << 16);
  /* Still gated: t2 waits while t1 runs here. */
  claim_none(q, 50 * MS);
  complete(q, t1);
  claim_is(q, 50 * MS, t2, 2);
  complete(q, t2);
  uint8_t back[8];
  app_ctx ac = {back, sizeof back, 0, 0, 0};
  last_from = -1; /* set by this wait's answer, checked below */
  assert_ok(dt__queue_wait(q, t1, slot, apply_copy, &ac, SEC));
  assert_int_equal(last_from, DT__FROM_WORKER);
}

static int child_claim_and_die(fx *f, void *arg) {
  pipes *p = arg;
  close(p->up[0]);
  dt__queue *q = child_open(f);
  uint8_t *rec;
  size_t size;
  uint64_t id;
  if (dt__queue_claim(q, &rec, &size, &id, 5 * SEC) != 0)
    return 10;
  write_all(p->up[1], &id, sizeof id);
  _exit(0); /* a worker that crashed running the call */
}

/* A gated and rated task whose workers keep dying is requeued 4 times,
 * keeping its admission each time, and then answered as a crash: the
 * count lives beside the flag in the header's word. */
static void test_gated_requeue_limit(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id, cid = 0;
  dt__admit a = admit("g", 1, "r", 1 * MS, 1);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &a, 9, &id);
  uint8_t k[8], v[1024];
  id_key(k, id);
  for (int round = 1; round <= 5; round++) {
    spawn_report(f, child_claim_and_die, NULL, &cid, sizeof cid);
    assert_int_equal(cid, id);
    unsigned reclaimed = 99;
    assert_int_equal(dt__queue_sweep(q, &reclaimed), 1);
    assert_int_equal(reclaimed, 1);
    if (round < 5) {
      counts_are(q, 1, 0, 0);
      long n = raw_get(f, "tasks", k, 8, v, sizeof v);
      assert_int_equal(n, (long)(8 + 22 + 2 + tsize(9)));
      assert_int_equal(get32(v + 4),
                       slot | ADMIT_FLAG | (uint32_t)round << 16);
    }
  }
  counts_are(q, 0, 0, 1);
  uint8_t back[600];
  app_ctx ac = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &ac, SEC));
  int e = 0;
  dt__error werr;
  dt__sig sig;
  dt__error err;
  assert_ok(dt__sig_parse("int f(int x)", NULL, 0, &sig, &err));
  int x = 1;
  void *args[1] = {&x};
  ffi_arg ret;
  assert_int_equal(dt__wire_result_apply(&sig, args, id, back, ac.got, &ret,
                                         &e, NULL, 0, NULL, &werr),
                   DT__ST_CRASH);
  assert_contains(werr.msg, "killed 5 times");
}

/* ====================================================== cancel, stats */

static void test_gated_cancel_and_stats(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t t1, t2, t3;
  dt__admit a = admit("g", 1, "r", 10 * SEC, 1);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &a, 1, &t1);
  submit_task(q, slot, &a, 2, &t2);
  submit_task(q, slot, &a, 3, &t3);
  dt__queue_stats st;
  assert_ok(dt__queue_stat(q, &st));
  assert_int_equal(st.tasks, 3);
  assert_int_equal(st.claims, 0);
  claim_is(q, 50 * MS, t1, 1);
  assert_ok(dt__queue_stat(q, &st));
  assert_int_equal(st.tasks, 2); /* both waiting, gated and rated */
  assert_int_equal(st.claims, 1);
  assert_int_equal(dt__queue_cancel(q, t2), 1); /* not started */
  assert_int_equal(dt__queue_cancel(q, t1), 0); /* running here */
  assert_int_equal(dt__queue_cancel(q, t2), 0); /* gone */
  assert_ok(dt__queue_stat(q, &st));
  assert_int_equal(st.tasks, 1);
  claim_none(q, 50 * MS);
  complete(q, t1);
  claim_none(q, 50 * MS); /* t3: the rate (10 s) */
  assert_int_equal(dt__queue_cancel(q, t3), 1);
  counts_are(q, 0, 0, 1);
  /* reject answers a waiting gated task too, and it never runs. */
  uint64_t t4;
  submit_task(q, slot, &a, 4, &t4);
  assert_ok(dt__queue_reject(q, t4, (const uint8_t *)"no", 2));
  counts_are(q, 0, 0, 2);
  claim_none(q, 20 * MS);
}

/* A dead worker's claim removed without an answer (cancel: its caller
 * gave up) gives its place back without ringing; a worker held back by
 * the gate looks again by itself within about a second (lmdb.c's
 * GATE_LOOK_NS) rather than sleeping to its timeout. */
static void test_gate_looks_again_within_a_second(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t t1, t2, r[2];
  dt__admit a = admit("g", 1, NULL, 0, 0);
  assert_ok(dt__queue_waiter(q, &slot));
  submit_task(q, slot, &a, 1, &t1);
  submit_task(q, slot, &a, 2, &t2);
  spawn_report(f, child_claim_pid_and_die, NULL, r, sizeof r);
  assert_int_equal(r[0], t1);
  claimer c = {q, 5 * SEC, 1, 0, NULL, 0, 0, 0};
  pthread_t t;
  uint64_t t_start = dt__now_ns();
  assert_int_equal(pthread_create(&t, NULL, claim_thread, &c), 0);
  sleep_ms(100);
  assert_int_equal(dt__queue_cancel(q, t1), 1); /* its worker is gone */
  pthread_join(t, NULL);
  claimer_got(&c, t2, 2, t_start, 1500, "the claim began");
  complete(q, t2);
}

/* The waiter slot shares the task header's word with the requeue count
 * and the admission flag: a slot out of range must not turn an ungated
 * task into a gated one (whose block would then be read from its
 * record).  Either submit refuses it, or the task is claimed intact. */
static void test_slot_out_of_range(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint64_t id;
  uint8_t buf[512];
  tdata(buf, 3);
  int rc = submit_adm(q, buf, tsize(3), UINT32_MAX, NULL, &id);
  if (rc == -EINVAL)
    return;
  assert_ok(rc);
  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t cid = 0;
  rc = dt__queue_claim(q, &rec, &size, &cid, 50 * MS);
  if (rc != 0)
    fail_msg("an ungated task submitted with waiter slot %u was not "
             "claimed (%d: %s): the slot's high bit reads as the admission "
             "flag, and the task is dropped as malformed",
             UINT32_MAX, rc, strerror(-rc));
  assert_int_equal(cid, id);
  assert_int_equal(size, tsize(3));
  assert_memory_equal(rec, buf, size);
  free(rec);
}

/* ====================================================== crafted blocks */

/* Writes a task value with a crafted admission block: glen and rlen as
 * given (names of 'a' and 'b'), running, interval, burst, record "x". */
static size_t crafted(uint8_t *v, uint32_t word, size_t glen, size_t rlen,
                      uint32_t running, uint64_t interval, uint32_t burst) {
  uint32_t pid = (uint32_t)getpid();
  memcpy(v, &pid, 4);
  memcpy(v + 4, &word, 4);
  uint16_t size = (uint16_t)(22 + glen + rlen);
  memcpy(v + 8, &size, 2);
  memcpy(v + 10, &running, 4);
  memcpy(v + 14, &burst, 4);
  memcpy(v + 18, &interval, 8);
  v[26] = (uint8_t)glen;
  v[27] = (uint8_t)rlen;
  v[28] = v[29] = 0;
  memset(v + 30, 'a', glen);
  memset(v + 30 + glen, 'b', rlen);
  v[30 + glen + rlen] = 'x';
  return 30 + glen + rlen + 1;
}

/* In a child (so that a crash is a status, not the end of the tests):
 * one claim of 50 ms.  Exits 0 when it found nothing (the crafted task
 * dropped as not one this version writes) or claimed the record "x",
 * 20 + the claim's error otherwise. */
static int child_claim_crafted(fx *f, void *arg) {
  (void)arg;
  dt__queue *q = child_open(f);
  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t id;
  int rc = dt__queue_claim(q, &rec, &size, &id, 50 * MS);
  if (rc == -ETIMEDOUT)
    return 0;
  if (rc == 0)
    return size == 1 && rec[0] == 'x' ? 0 : 19;
  return 20 + (-rc & 0x3f);
}

/* Names longer than any admission can carry (DT__GATE_MAX - 1 bytes):
 * such a task is not one this version wrote; a claim must not copy it
 * into its fixed buffers. */
static void test_crafted_long_names(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  static const struct {
    size_t glen, rlen;
    uint32_t running;
    uint64_t interval;
    uint32_t burst;
  } cases[] = {
      {255, 255, 0, 0, 0},      /* admitted by nothing: the whole block */
      {0, 255, 0, 1 * MS, 1},   /* a rate name too long for its key */
      {200, 0, 1, 0, 0},        /* a gate name too long */
      {159, 159, 2, 1 * MS, 1}, /* the longest names this version writes */
  };
  size_t held = 0; /* claims the children left (they exit holding them) */
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint8_t k[8], v[1024];
    id_key(k, 1000000 + i);
    size_t n = crafted(v, ADMIT_FLAG, cases[i].glen, cases[i].rlen,
                       cases[i].running, cases[i].interval, cases[i].burst);
    raw_put(f, "tasks", k, 8, v, n);
    pid_t pid = spawn(f, child_claim_crafted, NULL);
    int st = reap(f, pid);
    if (st != 0)
      fail_msg("case %zu (gate %zu bytes, rate %zu bytes): the claiming "
               "process exited with status %d%s",
               i, cases[i].glen, cases[i].rlen, st,
               st >= 128 ? " (killed by a signal: a crash)" : "");
    size_t tasks, claims, results;
    assert_ok(dt__queue_counts(q, &tasks, &claims, &results));
    assert_int_equal(tasks, 0);
    if (cases[i].glen < DT__GATE_MAX && cases[i].rlen < DT__GATE_MAX)
      held++;
    if (claims != held)
      fail_msg("case %zu (gate %zu bytes, rate %zu bytes): %zu claims, "
               "expected %zu (%s)",
               i, cases[i].glen, cases[i].rlen, claims, held,
               held == claims + 1 ? "a task this version writes, claimed"
                                  : "not a task this version writes: "
                                    "dropped, not claimed");
  }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_ungated_fifo),
      T(test_gate_passes_over),
      T(test_gate_names_separate),
      T(test_gate_running_per_task),
      T(test_gate_block_stored),
      T(test_gate_complete_next),
      T(test_gate_wakes_thread_on_complete),
      T(test_gate_wakes_process_on_complete),
      T(test_gate_wakes_on_fail_claim),
      T(test_gate_wakes_on_sweep),
      T(test_gated_requeue_limit),
      T(test_gated_cancel_and_stats),
      T(test_gate_looks_again_within_a_second),
      T(test_slot_out_of_range),
      T(test_crafted_long_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
