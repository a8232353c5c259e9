/* test_queue_sweep.c: unit tests of the queue interface (queue/queue.h)
 * with its "lmdb" backend where processes come and go: runner pools'
 * heartbeats (alive, wait_runner, recent, workers); the sweep of what a
 * dead caller left (tasks, answers, blobs, a claim) and of a dead
 * worker's claim (given back, up to the crash answer after 4 requeues);
 * fail_claim only for a dead holder; cancel of a dead worker's claim; a
 * handle after fork; a writer killed inside its transaction.
 *
 * As in test_queue.c, everything is real: every test gets a fresh
 * directory under /dev/shm with a real LMDB environment and doorbell in
 * it, and other callers and workers are real threads and real processes
 * (fork).  A forked child never calls a cmocka assertion: it opens its
 * own handle, reports through its exit status or a pipe, and leaves with
 * _exit; the teardown kills and reaps any child a failed test left.
 * Timing assertions use generous bounds, as there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

#include "lmdbfx.h"
#include "queuefx.h" /* tests/queue/ */

/* A pid that no process has: a child that has exited and been reaped. */
static pid_t dead_pid(fx *f) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    fail_msg("fork: %s", strerror(errno));
  if (pid == 0)
    _exit(0);
  int st;
  waitpid(pid, &st, 0);
  (void)f;
  return pid;
}

/* ------------------------------------------------------------ runners */

static void test_heartbeat_alive(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  assert_int_equal(dt__queue_runner_alive(q, 10 * SEC), 0); /* never beat */

  dt__queue_heartbeat(q, getpid());
  assert_int_equal(dt__queue_runner_alive(q, 10 * SEC), 1);
  sleep_ms(5);
  assert_int_equal(dt__queue_runner_alive(q, 1), 0); /* older than 1 ns */
  assert_int_equal(dt__queue_runner_alive(q, 10 * SEC), 1);

  dt__queue_heartbeat(q, 0); /* the pool stopped */
  assert_int_equal(dt__queue_runner_alive(q, 10 * SEC), 0);

  pid_t gone = dead_pid(f);
  dt__queue_heartbeat(q, gone);
  assert_int_equal(dt__queue_runner_alive(q, 10 * SEC), 0);

  dt__queue_heartbeat(q, getpid());
  assert_int_equal(dt__queue_runner_alive(q, 10 * SEC), 1);
}

/* Heartbeats as a runner pool 50 ms from now, then lives until the pipe
 * is closed. */
static int child_runner(fx *f, void *arg) {
  pipes *p = arg;
  close(p->down[1]);
  dt__queue *q = child_open(f);
  sleep_ms(50);
  dt__queue_heartbeat(q, getpid());
  char c;
  read_all(p->down[0], &c, 1);
  dt__queue_close(q);
  return 0;
}

static void test_wait_runner(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  pipes p;
  assert_int_equal(pipe(p.down), 0);
  uint64_t t0 = dt__now_ns();
  pid_t pid = spawn(f, child_runner, &p);
  close(p.down[0]);
  int rc = dt__queue_wait_runner(q, 10 * SEC, 5 * SEC);
  uint64_t ms = elapsed_ms(t0);
  int alive = dt__queue_runner_alive(q, 10 * SEC);
  close(p.down[1]);
  reap_ok(f, pid);
  assert_int_equal(rc, 0);
  assert_int_equal(alive, 1);
  if (ms < 40 || ms > 2500)
    fail_msg("wait_runner returned after %llu ms; the runner beat after "
             "50 ms",
             (unsigned long long)ms);
  /* its process is gone now */
  assert_int_equal(dt__queue_runner_alive(q, 10 * SEC), 0);

  t0 = dt__now_ns();
  rc = dt__queue_wait_runner(q, 10 * SEC, 100 * MS);
  ms = elapsed_ms(t0);
  assert_int_equal(rc, -ETIMEDOUT);
  if (ms < 90 || ms > 2000)
    fail_msg("a 100 ms wait_runner returned after %llu ms",
             (unsigned long long)ms);
}

typedef struct beater {
  dt__queue *q;
  unsigned delay_ms;
} beater;

static void *beat_later(void *arg) {
  beater *b = arg;
  sleep_ms(b->delay_ms);
  dt__queue_heartbeat(b->q, getpid());
  return NULL;
}

/* A pool whose heartbeat went stale (its supervisor stalled) beats again
 * with the same pid.  wait_runner "waits (futex on the doorbell, no
 * polling) until a pool is alive": it must return soon after that beat,
 * not at its timeout. */
static void test_wait_runner_same_pid_beats_again(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  dt__queue_heartbeat(q, getpid());
  sleep_ms(60);
  assert_int_equal(dt__queue_runner_alive(q, 30 * MS), 0); /* stale */
  beater b = {q, 50};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, beat_later, &b), 0);
  uint64_t t0 = dt__now_ns();
  int rc = dt__queue_wait_runner(q, 30 * MS, 2 * SEC);
  uint64_t ms = elapsed_ms(t0);
  pthread_join(t, NULL);
  if (rc != 0 || ms > 1000)
    fail_msg("the stale pool beat again (same pid) after 50 ms, but "
             "wait_runner(max_age 30 ms, timeout 2000 ms) returned %d after "
             "%llu ms; expected 0 soon after the beat",
             rc, (unsigned long long)ms);
}

/* The pool's published state: runner_recent without asking the kernel,
 * the worker count (0 when not known or not positive). */
static void test_runner_recent_and_workers(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  assert_int_equal(dt__queue_runner_recent(q, 10 * SEC), 0);
  assert_int_equal(dt__queue_workers(q), 0);
  dt__queue_heartbeat(q, getpid());
  assert_int_equal(dt__queue_runner_recent(q, 10 * SEC), 1);
  dt__queue_set_workers(q, 3);
  assert_int_equal(dt__queue_workers(q), 3);
  dt__queue_set_workers(q, -2);
  assert_int_equal(dt__queue_workers(q), 0);
  dt__queue_heartbeat(q, 0);
  assert_int_equal(dt__queue_runner_recent(q, 10 * SEC), 0);
}

/* -------------------------------------------------------------- sweep */

static int child_submit3_and_exit(fx *f, void *arg) {
  (void)arg;
  dt__queue *q = child_open(f);
  uint32_t slot;
  uint64_t id;
  if (dt__queue_waiter(q, &slot) != 0)
    return 10;
  for (int i = 0; i < 3; i++)
    if (submit_bytes(q, "orphan", 6, slot, &id) != 0)
      return 11;
  _exit(0); /* no close, no wait: a caller killed mid-call */
}

/* Submits one 200-byte task per 'S' read from the pipe, answering 'k';
 * exits on 'Q' or EOF. */
static int child_submit_on_demand(fx *f, void *arg) {
  pipes *p = arg;
  close(p->up[0]);
  close(p->down[1]);
  dt__queue *q = child_open(f);
  uint32_t slot;
  if (dt__queue_waiter(q, &slot) != 0)
    return 10;
  uint8_t data[200];
  char c;
  while (read_all(p->down[0], &c, 1) == 0 && c == 'S') {
    uint64_t id;
    pattern(data, sizeof data, 99);
    if (submit_bytes(q, data, sizeof data, slot, &id) != 0)
      return 11;
    write_all(p->up[1], "k", 1);
  }
  _exit(0);
}

static void test_sweep_dead_caller_tasks(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  pid_t pid = spawn(f, child_submit3_and_exit, NULL);
  reap_ok(f, pid);
  counts_are(q, 3, 0, 0);
  unsigned reclaimed = 99;
  assert_int_equal(dt__queue_sweep(q, &reclaimed), 3);
  assert_int_equal(reclaimed, 0); /* no lease: a dead caller's tasks */
  counts_are(q, 0, 0, 0);
  assert_int_equal(dt__queue_sweep(q, NULL), 0);

  /* 200 dead tasks interleaved with 100 live ones, over many pages */
  pipes p;
  assert_int_equal(pipe(p.up), 0);
  assert_int_equal(pipe(p.down), 0);
  pid = spawn(f, child_submit_on_demand, &p);
  close(p.up[1]);
  close(p.down[0]);
  uint32_t slot;
  assert_ok(dt__queue_waiter(q, &slot));
  uint64_t mine[100];
  int nmine = 0;
  uint8_t data[200];
  for (int i = 0; i < 300; i++) {
    if (i % 3 == 0) {
      pattern(data, sizeof data, (uint32_t)nmine);
      assert_ok(submit_bytes(q, data, sizeof data, slot, &mine[nmine]));
      nmine++;
    } else {
      char c = 'S';
      write_all(p.down[1], &c, 1);
      assert_int_equal(read_all(p.up[0], &c, 1), 0);
      assert_int_equal(c, 'k');
    }
  }
  write_all(p.down[1], "Q", 1);
  reap_ok(f, pid);
  close(p.up[0]);
  close(p.down[1]);
  counts_are(q, 300, 0, 0);
  assert_int_equal(dt__queue_sweep(q, NULL), 200);
  counts_are(q, 100, 0, 0);
  for (int i = 0; i < 100; i++) {
    uint8_t *rec;
    size_t size;
    uint64_t id;
    assert_ok(dt__queue_claim(q, &rec, &size, &id, SEC));
    assert_int_equal(id, mine[i]);
    pattern(data, sizeof data, (uint32_t)i);
    assert_int_equal(size, sizeof data);
    assert_memory_equal(rec, data, sizeof data);
    free(rec);
  }
}

static int child_submit1_report(fx *f, void *arg) {
  pipes *p = arg;
  close(p->up[0]);
  dt__queue *q = child_open(f);
  uint32_t slot;
  uint64_t id;
  if (dt__queue_waiter(q, &slot) != 0)
    return 10;
  if (submit_bytes(q, "doomed", 6, slot, &id) != 0)
    return 11;
  write_all(p->up[1], &id, sizeof id);
  _exit(0);
}

/* A result whose caller died is removed; a live caller's stays. */
static void test_sweep_dead_caller_results(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  pipes p;
  assert_int_equal(pipe(p.up), 0);
  pid_t pid = spawn(f, child_submit1_report, &p);
  close(p.up[1]);
  uint64_t theirs = 0, mine, id;
  assert_int_equal(read_all(p.up[0], &theirs, sizeof theirs), 0);
  close(p.up[0]);
  reap_ok(f, pid);

  uint32_t slot;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "alive", 5, slot, &mine));
  assert_ok(echo_one(q, SEC, &id)); /* the dead child's, first by id */
  assert_int_equal(id, theirs);
  assert_ok(echo_one(q, SEC, &id));
  assert_int_equal(id, mine);
  counts_are(q, 0, 0, 2);

  unsigned reclaimed = 99;
  assert_int_equal(dt__queue_sweep(q, &reclaimed), 1);
  assert_int_equal(reclaimed, 0); /* a result removed, no lease */
  counts_are(q, 0, 0, 1);
  uint8_t back[8];
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, mine, slot, apply_copy, &a, SEC));
  assert_memory_equal(back, "alive", 5);
  counts_are(q, 0, 0, 0);
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

/* dt__queue_fail answers a claim only for the worker that holds it, and
 * only once that worker is dead: a live worker (or whatever claimed the
 * task) cannot report its own crash, which decides how the caller dies.
 * The answer is stored as the runner's. */
static void test_fail_only_for_the_holder(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id, cid, r[2];
  uint8_t *rec;
  size_t size;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "t", 1, slot, &id));
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  free(rec);
  assert_int_equal(dt__queue_fail(q, id, getpid() + 1, (const uint8_t *)"x",
                                  1),
                   -ENOENT);
  assert_int_equal(dt__queue_fail(q, id, getpid(), (const uint8_t *)"x", 1),
                   -EPERM);
  counts_are(q, 0, 1, 0);
  assert_ok(dt__queue_complete(q, id, (const uint8_t *)"done", 4));
  uint8_t back[8];
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &a, SEC));
  assert_int_equal(last_from, DT__FROM_WORKER);

  assert_ok(submit_bytes(q, "t", 1, slot, &id));
  spawn_report(f, child_claim_pid_and_die, r, sizeof r);
  assert_true(r[0] == id);
  assert_int_equal(dt__queue_fail(q, id, (int)r[1] + 1, (const uint8_t *)"x",
                                  1),
                   -ENOENT);
  counts_are(q, 0, 1, 0);
  assert_ok(dt__queue_fail(q, id, (int)r[1], (const uint8_t *)"crash", 5));
  counts_are(q, 0, 0, 1);
  /* Answered: a second answer for it is refused. */
  assert_int_equal(dt__queue_fail(q, id, (int)r[1], (const uint8_t *)"y", 1),
                   -ENOENT);
  app_ctx b = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &b, SEC));
  assert_int_equal(b.got, 5);
  assert_memory_equal(back, "crash", 5);
  assert_int_equal(last_from, DT__FROM_RUNNER); /* the supervisor's word */
  counts_are(q, 0, 0, 0);
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

/* A task whose workers keep dying is requeued 4 times and then answered
 * as a crash, which wakes its caller: no endless loop of dead workers. */
static void test_requeue_limit(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id, cid = 0;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "doom", 4, slot, &id));
  for (int round = 1; round <= 5; round++) {
    spawn_report(f, child_claim_and_die, &cid, sizeof cid);
    assert_int_equal(cid, id);
    unsigned reclaimed = 99;
    assert_int_equal(dt__queue_sweep(q, &reclaimed), 1);
    assert_int_equal(reclaimed, 1); /* requeued, or answered the 5th time */
    if (round < 5)
      counts_are(q, 1, 0, 0);
  }
  counts_are(q, 0, 0, 1);
  uint8_t back[600];
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &a, SEC));
  /* The record is a dtask crash result that says why. */
  int e = 0;
  dt__error werr;
  dt__sig sig;
  dt__error err;
  assert_ok(dt__sig_parse("int f(int x)", NULL, 0, &sig, &err));
  int x = 1;
  void *args[1] = {&x};
  ffi_arg ret;
  assert_int_equal(dt__wire_result_apply(&sig, args, id, back, a.got, &ret, &e,
                                         NULL, 0, NULL, &werr),
                   DT__ST_CRASH);
  assert_int_equal(e, SIGKILL);
  assert_contains(werr.msg, "killed 5 times");
}

/* A claim whose worker died goes back to the tasks, unchanged: the next
 * claim gets the same id and payload, and its result still wakes the
 * original caller's slot. */
static void test_sweep_dead_worker_requeues(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id, cid = 0;
  uint8_t task[500];
  pattern(task, sizeof task, 3);
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, task, sizeof task, slot, &id));

  spawn_report(f, child_claim_and_die, &cid, sizeof cid);
  assert_int_equal(cid, id);
  counts_are(q, 0, 1, 0);

  unsigned reclaimed = 99;
  assert_int_equal(dt__queue_sweep(q, &reclaimed), 1);
  assert_int_equal(reclaimed, 1); /* the lease taken back */
  counts_are(q, 1, 0, 0);

  uint8_t *rec;
  size_t size;
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  assert_int_equal(cid, id);
  assert_int_equal(size, sizeof task);
  assert_memory_equal(rec, task, sizeof task);
  free(rec);
  reclaimed = 99;
  assert_int_equal(dt__queue_sweep(q, &reclaimed), 0); /* this worker lives */
  assert_int_equal(reclaimed, 0);
  counts_are(q, 0, 1, 0);

  later l = {q, cid, 30, (const uint8_t *)"redone", 6, -1};
  pthread_t t;
  uint8_t back[8];
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_int_equal(pthread_create(&t, NULL, complete_later, &l), 0);
  uint64_t t0 = dt__now_ns();
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &a, 5 * SEC));
  pthread_join(t, NULL);
  assert_true(elapsed_ms(t0) < 2000);
  assert_int_equal(a.got, 6);
  assert_memory_equal(back, "redone", 6);
  counts_are(q, 0, 0, 0);
}

/* A caller can cancel a task whose worker died after claiming it (no
 * supervisor is left to sweep the claim), but not one a live worker
 * holds. */
static void test_cancel_claim_of_dead_worker(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id, claimed = 0;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "x", 1, slot, &id));
  spawn_report(f, child_claim_and_die, &claimed, sizeof claimed);
  assert_int_equal(claimed, id);
  counts_are(q, 0, 1, 0);
  assert_int_equal(dt__queue_cancel(q, id), 1);
  counts_are(q, 0, 0, 0);

  /* A claim held by this (live) process is not cancellable. */
  uint8_t *rec = NULL;
  size_t size;
  uint64_t cid;
  assert_ok(submit_bytes(q, "y", 1, slot, &id));
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  free(rec);
  assert_int_equal(dt__queue_cancel(q, id), 0);
  counts_are(q, 0, 1, 0);
}

/* A dead worker's claim goes back to the queue only while its caller
 * lives: a task of a dead caller is dropped, not run again. */
static void test_sweep_drops_claim_of_dead_caller(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint64_t submitted = 0, claimed = 0;
  spawn_report(f, child_submit1_report, &submitted, sizeof submitted);
  spawn_report(f, child_claim_and_die, &claimed, sizeof claimed);
  assert_int_equal(claimed, submitted);
  counts_are(q, 0, 1, 0);
  unsigned reclaimed = 99;
  assert_int_equal(dt__queue_sweep(q, &reclaimed), 1);
  /* Removed, not taken back: no caller waits for it. */
  assert_int_equal(reclaimed, 0);
  counts_are(q, 0, 0, 0);
}

static int child_blob_and_exit(fx *f, void *arg) {
  (void)arg;
  dt__queue *q = child_open(f);
  uint64_t id;
  if (dt__queue_blob_put(q, "left", 4, &id) != 0)
    return 10;
  _exit(0);
}

/* A dead caller's blobs go with the sweep. */
static void test_sweep_dead_caller_blobs(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint64_t mine;
  assert_ok(dt__queue_blob_put(q, "mine", 4, &mine));
  reap_ok(f, spawn(f, child_blob_and_exit, NULL));
  dt__queue_stats st;
  assert_ok(dt__queue_stat(q, &st));
  assert_int_equal(st.blobs, 2);
  assert_int_equal(dt__queue_sweep(q, NULL), 1);
  assert_ok(dt__queue_stat(q, &st));
  assert_int_equal(st.blobs, 1);
}

/* -------------------------------------------------------------- stale */

static int child_stale(fx *f, void *arg) {
  (void)arg;
  dt__queue *inherited = f->q;
  if (dt__queue_stale(inherited) != 1)
    return 10;
  dt__queue_close(inherited); /* abandons it: must not touch the parent's */
  dt__queue *q = child_open(f);
  if (dt__queue_stale(q) != 0)
    return 11;
  int rc = echo_round_trips(q, 50, 2);
  if (rc != 0)
    return rc;
  dt__queue_close(q);
  return 0;
}

/* After fork the parent's handle is stale in the child; the child opens
 * its own, and both processes run round trips at the same time, each
 * answering whatever it claims. */
static void test_stale_after_fork(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  assert_int_equal(dt__queue_stale(q), 0);
  pid_t pid = spawn(f, child_stale, NULL);
  int rc = echo_round_trips(q, 50, 1);
  int st = reap(f, pid);
  assert_int_equal(rc, 0);
  assert_int_equal(st, 0);
  assert_int_equal(dt__queue_stale(q), 0);
  /* the parent's handle is intact after the child closed its copy */
  assert_int_equal(echo_round_trips(q, 5, 3), 0);
  counts_are(q, 0, 0, 0);
}

/* --------------------------------------------------- crash in a write */

static int die_in_encode(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
  (void)ctx;
  (void)buf;
  (void)size;
  (void)id;
  _exit(0); /* killed while holding LMDB's write lock */
}

static int child_die_in_submit(fx *f, void *arg) {
  (void)arg;
  dt__queue *q = child_open(f);
  uint32_t slot;
  uint64_t id;
  if (dt__queue_waiter(q, &slot) != 0)
    return 10;
  dt__queue_submit(q, 16, die_in_encode, NULL, slot, &id);
  return 11;
}

/* A caller killed inside submit's write transaction does not wedge the
 * queue: the next writer recovers LMDB's (robust) lock and nothing of
 * the dead transaction is visible. */
static void test_writer_killed_in_txn(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  pid_t pid = spawn(f, child_die_in_submit, NULL);
  reap_ok(f, pid);
  alarm(20); /* a wedged lock must fail loudly, not hang the suite */
  counts_are(q, 0, 0, 0);
  int rc = echo_round_trips(q, 3, 9);
  alarm(0);
  assert_int_equal(rc, 0);
  counts_are(q, 0, 0, 0);
}

/* --------------------------------------------------------------- main */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_heartbeat_alive),
      T(test_wait_runner),
      T(test_wait_runner_same_pid_beats_again),
      T(test_sweep_dead_caller_tasks),
      T(test_sweep_dead_caller_results),
      T(test_fail_only_for_the_holder),
      T(test_requeue_limit),
      T(test_sweep_dead_worker_requeues),
      T(test_stale_after_fork),
      T(test_writer_killed_in_txn),
      T(test_cancel_claim_of_dead_worker),
      T(test_sweep_drops_claim_of_dead_caller),
      T(test_sweep_dead_caller_blobs),
      T(test_runner_recent_and_workers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
