/* test_queue.c: unit tests of the queue interface (queue/queue.h) with
 * its "lmdb" backend (queue/lmdb.c, lmdb_env.c, bell.c, proc.c): a
 * call's steps: open (the directory and files it makes, what it
 * refuses), submit, claim, complete and wait (round trips, FIFO, an
 * answer taken at once or later, timeouts, signals and kicks), cancel,
 * and the waiters' slots on the doorbell.  Runner pools, sweeps and the
 * processes that die are tested in test_queue_sweep.c; many callers at
 * once, the map's limits, entries this version did not write, rejected
 * tasks and blobs in test_queue_store.c.  Their shared helpers are in
 * lmdbfx.h (the fixture) and queuefx.h.
 *
 * Everything here is real: every test gets a fresh directory under
 * /dev/shm with a real LMDB environment and doorbell in it, waits are
 * real futex waits, and other callers and workers are real threads and
 * real processes (fork).  A forked child never calls a cmocka assertion
 * (that would jump back into the test runner inside the child): it opens
 * its own handle, reports through its exit status or a pipe, and leaves
 * with _exit.  Every child is recorded in the test's fixture so that the
 * teardown can kill and reap it if the test failed half-way.
 *
 * Timing assertions use generous bounds: "blocks until" means at least
 * 40 ms for an event 50 ms away, and "promptly" means well under a
 * second for waits whose timeout is two seconds or more. */
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


/* Fails with the error text unless the call returned 0. */
#define NSLOTS DT__BELL_SLOTS /* the doorbell page's waiter slots */

#include "lmdbfx.h"
#include "queuefx.h" /* tests/queue/ */

/* -------------------------------------------------------------- open */

static void assert_mode(const char *path, mode_t want) {
  struct stat st;
  if (lstat(path, &st) != 0)
    fail_msg("%s: %s", path, strerror(errno));
  if ((st.st_mode & 07777) != want)
    fail_msg("%s has mode %04o, expected %04o", path,
             (unsigned)(st.st_mode & 07777), (unsigned)want);
}

static void assert_private_file(const char *dir, const char *name) {
  char path[512];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (lstat(path, &st) != 0)
    fail_msg("%s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    fail_msg("%s is not a regular file", path);
  if ((st.st_mode & 077) != 0)
    fail_msg("%s has mode %04o: open to group or others", path,
             (unsigned)(st.st_mode & 07777));
}

/* The directory and its missing parents are made 0700 whatever the
 * umask; the LMDB files and the doorbell live inside, closed to others. */
static void test_open_creates_dirs(void **state) {
  fx *f = *state;
  char a[160], b[160], qd[160];
  snprintf(a, sizeof a, "%s/a", f->root);
  snprintf(b, sizeof b, "%s/a/b", f->root);
  snprintf(qd, sizeof qd, "%s/a/b/q", f->root);
  snprintf(f->cfg->queue_path, sizeof f->cfg->queue_path, "%s", qd);
  mode_t old = umask(0);
  dt__error err = {0, 0, ""};
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  umask(old);
  if (rc != 0)
    fail_msg("open: %d %s", rc, err.msg);
  assert_mode(a, 0700);
  assert_mode(b, 0700);
  assert_mode(qd, 0700);
  assert_private_file(qd, "data.mdb");
  assert_private_file(qd, "lock.mdb");
  assert_private_file(qd, "bell");
  assert_string_equal(dt__queue_dir(f->q), qd);
  assert_int_equal(dt__queue_stale(f->q), 0);
  counts_are(f->q, 0, 0, 0);
}

/* Closing and opening again finds the same queue: tasks and the id
 * counter survive. */
static void test_open_reopen(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id1, id2;
  assert_ok(dt__queue_waiter(q, &slot));
  uint64_t first = dt__queue_next_id(q);
  assert_true(first == 0); /* a new queue hands out ids from 0 */
  assert_ok(submit_bytes(q, "hello", 5, slot, &id1));
  assert_int_equal(id1, first);
  assert_int_equal(dt__queue_next_id(q), first + 1);
  dt__queue_close(q);
  f->q = NULL;

  q = open_q(f);
  counts_are(q, 1, 0, 0);
  assert_int_equal(dt__queue_next_id(q), first + 1);
  assert_ok(submit_bytes(q, "again", 5, slot, &id2));
  assert_int_equal(id2, first + 1);
  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t id = 0;
  assert_ok(dt__queue_claim(q, &rec, &size, &id, SEC));
  assert_int_equal(id, id1);
  assert_int_equal(size, 5);
  assert_memory_equal(rec, "hello", 5);
  free(rec);
}

static void test_open_refuses_open_mode(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  assert_int_equal(mkdir(f->qpath, 0755), 0);
  assert_int_equal(chmod(f->qpath, 0755), 0);
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  assert_int_equal(rc, -EPERM);
  assert_null(f->q);
  assert_contains(err.msg, "chmod 700");
  assert_contains(err.msg, f->qpath);
  assert_contains(err.msg, "755");
  /* and the fix it names works */
  assert_int_equal(chmod(f->qpath, 0700), 0);
  open_q(f);
}

static void test_open_refuses_file(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  int fd = open(f->qpath, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  close(fd);
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  assert_int_equal(rc, -ENOTDIR);
  assert_null(f->q);
  assert_contains(err.msg, f->qpath);
  assert_contains(err.msg, "not a directory");
}

static void test_open_refuses_other_owner(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  if (geteuid() != 0)
    skip_because("needs root, to make a directory owned by uid 65534");
  assert_int_equal(mkdir(f->qpath, 0700), 0);
  assert_int_equal(chown(f->qpath, 65534, 65534), 0);
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  assert_int_equal(rc, -EPERM);
  assert_null(f->q);
  assert_contains(err.msg, "belongs to uid 65534");
  assert_contains(err.msg, f->qpath);
}

/* A queue directory of your own is still refused under a parent that
 * another user owns, or that others can write into without the sticky
 * bit: they could swap the queue directory. */
static void test_open_refuses_unsafe_parent(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  if (geteuid() != 0)
    skip_because("needs root, to give the parent directory away");
  /* f->root is the parent of f->qpath. */
  assert_int_equal(chmod(f->root, 0777), 0);
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  assert_int_equal(rc, -EPERM);
  assert_contains(err.msg, "not sticky");
  assert_int_equal(chmod(f->root, 01777), 0);
  rc = dt__queue_open(f->cfg, &f->q, &err);
  assert_int_equal(rc, 0);
  dt__queue_close(f->q);
  f->q = NULL;
  assert_int_equal(chmod(f->root, 0700), 0);
  assert_int_equal(chown(f->root, 65534, 65534), 0);
  rc = dt__queue_open(f->cfg, &f->q, &err);
  assert_int_equal(chown(f->root, 0, 0), 0);
  assert_int_equal(rc, -EPERM);
  assert_contains(err.msg, "belongs to another user");
}

/* A bell file of the wrong size is not taken for a doorbell. */
static void test_open_refuses_foreign_bell(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  char bell[256];
  assert_int_equal(mkdir(f->qpath, 0700), 0);
  snprintf(bell, sizeof bell, "%s/bell", f->qpath);
  int fd = open(bell, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "not a bell", 10), 10);
  close(fd);
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  assert_int_equal(rc, -EPROTO);
  assert_null(f->q);
  assert_contains(err.msg, "not a doorbell of this dtask version");
  assert_contains(err.msg, "rm -rf");
}

/* --------------------------------------------------------- round trip */

static void test_round_trip(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint8_t task[3000], back[4096];
  pattern(task, sizeof task, 7);
  uint32_t slot;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_true(slot < NSLOTS);

  enc_ctx e = {task, sizeof task, 0, 0, 0};
  uint64_t id = 0;
  uint64_t next = dt__queue_next_id(q);
  assert_ok(dt__queue_submit(q, sizeof task, enc_copy, &e, slot, &id));
  assert_int_equal(e.calls, 1);
  assert_int_equal(e.id_seen, id);
  assert_int_equal(id, next);
  counts_are(q, 1, 0, 0);

  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t cid = 0;
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  assert_int_equal(cid, id);
  assert_int_equal(size, sizeof task);
  assert_memory_equal(rec, task, sizeof task);
  counts_are(q, 0, 1, 0);

  /* the worker answers with different bytes of a different size */
  uint8_t result[1234];
  pattern(result, sizeof result, 8);
  assert_ok(dt__queue_complete(q, cid, result, sizeof result));
  free(rec);
  counts_are(q, 0, 0, 1);

  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &a, SEC));
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.got, sizeof result);
  assert_memory_equal(back, result, sizeof result);
  counts_are(q, 0, 0, 0);

  /* an empty task and an empty result go through too */
  e = (enc_ctx){task, 0, 0, 0, 0};
  assert_ok(dt__queue_submit(q, 0, enc_copy, &e, slot, &id));
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  assert_int_equal(cid, id);
  assert_int_equal(size, 0);
  assert_ok(dt__queue_complete(q, cid, rec, 0));
  free(rec);
  a = (app_ctx){back, sizeof back, 99, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &a, SEC));
  assert_int_equal(a.got, 0);
  counts_are(q, 0, 0, 0);
}

/* complete with next: the answer is stored and the oldest waiting task
 * claimed in the same step (FIFO, as claim); with nothing waiting only
 * the answer is stored (0); a task over 1 MiB is left to claim. */
static void test_complete_next(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  assert_ok(dt__queue_waiter(q, &slot));
  uint64_t a, b, c;
  assert_ok(submit_bytes(q, "A", 1, slot, &a));
  assert_ok(submit_bytes(q, "B", 1, slot, &b));
  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t cid = 0;
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  assert_int_equal(cid, a);
  free(rec);
  dt__claimed next = {NULL, 0, 0};
  assert_int_equal(dt__queue_complete_next(q, a, (const uint8_t *)"ra", 2,
                                           &next), 1);
  assert_int_equal(next.id, b);
  assert_int_equal(next.size, 1);
  assert_memory_equal(next.rec, "B", 1);
  free(next.rec);
  counts_are(q, 0, 1, 1); /* b claimed, a answered */
  uint8_t back[8];
  app_ctx ac = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, a, slot, apply_copy, &ac, SEC));
  assert_int_equal(ac.got, 2);
  assert_memory_equal(back, "ra", 2);
  /* Nothing waiting: the answer alone. */
  next = (dt__claimed){NULL, 0, 0};
  assert_int_equal(dt__queue_complete_next(q, b, (const uint8_t *)"rb", 2,
                                           &next), 0);
  assert_null(next.rec);
  counts_are(q, 0, 0, 1);
  ac = (app_ctx){back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, b, slot, apply_copy, &ac, SEC));
  /* A task over 1 MiB waits for claim. */
  size_t big = (1u << 20) + 1;
  uint8_t *data = calloc(1, big);
  assert_non_null(data);
  assert_ok(submit_bytes(q, "C", 1, slot, &c));
  uint64_t d;
  assert_ok(submit_bytes(q, data, big, slot, &d));
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  assert_int_equal(cid, c);
  free(rec);
  assert_int_equal(dt__queue_complete_next(q, c, (const uint8_t *)"rc", 2,
                                           &next), 0);
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  assert_int_equal(cid, d);
  assert_int_equal(size, big);
  free(rec);
  free(data);
  assert_ok(dt__queue_complete(q, d, (const uint8_t *)"rd", 2));
}

/* An encoder's error aborts the submit: nothing is queued. */
static void test_encode_error_aborts(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id;
  assert_ok(dt__queue_waiter(q, &slot));
  enc_ctx e = {(const uint8_t *)"x", 1, 0, 0, -EOVERFLOW};
  assert_int_equal(dt__queue_submit(q, 1, enc_copy, &e, slot, &id),
                   -EOVERFLOW);
  assert_int_equal(e.calls, 1);
  counts_are(q, 0, 0, 0);
  uint8_t *rec = NULL;
  size_t size;
  assert_int_equal(dt__queue_claim(q, &rec, &size, &id, 20 * MS), -ETIMEDOUT);
  assert_null(rec);
}

/* Two results waiting for one thread: each wait takes its own id. */
static void test_wait_takes_its_own_id(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id1, id2, c1, c2;
  uint8_t back[16];
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "one", 3, slot, &id1));
  assert_ok(submit_bytes(q, "two!", 4, slot, &id2));
  assert_ok(echo_one(q, SEC, &c1));
  assert_ok(echo_one(q, SEC, &c2));
  assert_int_equal(c1, id1);
  assert_int_equal(c2, id2);
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id2, slot, apply_copy, &a, SEC));
  assert_int_equal(a.got, 4);
  assert_memory_equal(back, "two!", 4);
  a = (app_ctx){back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id1, slot, apply_copy, &a, SEC));
  assert_int_equal(a.got, 3);
  assert_memory_equal(back, "one", 3);
  counts_are(q, 0, 0, 0);
}

static void test_fifo(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t ids[100];
  assert_ok(dt__queue_waiter(q, &slot));
  for (int i = 0; i < 100; i++) {
    uint8_t data[40];
    pattern(data, sizeof data, (uint32_t)i);
    memcpy(data, &i, sizeof i);
    assert_ok(submit_bytes(q, data, 8 + (size_t)i % 32, slot, &ids[i]));
    if (i > 0)
      assert_int_equal(ids[i], ids[i - 1] + 1);
  }
  counts_are(q, 100, 0, 0);
  for (int i = 0; i < 100; i++) {
    uint8_t *rec = NULL;
    size_t size = 0;
    uint64_t id = 0;
    uint8_t data[40];
    pattern(data, sizeof data, (uint32_t)i);
    memcpy(data, &i, sizeof i);
    assert_ok(dt__queue_claim(q, &rec, &size, &id, SEC));
    assert_int_equal(id, ids[i]);
    assert_int_equal(size, 8 + (size_t)i % 32);
    assert_memory_equal(rec, data, size);
    free(rec);
  }
  counts_are(q, 0, 100, 0);
  uint8_t *rec = NULL;
  size_t size;
  uint64_t id;
  assert_int_equal(dt__queue_claim(q, &rec, &size, &id, 10 * MS), -ETIMEDOUT);
}

/* --------------------------------------------------------------- wait */

/* wait blocks (futex) until another thread stores the result 50 ms
 * later, then returns it: not before, and not at its 5 s timeout. */
static void test_wait_blocks_until_result(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id, cid;
  uint8_t *rec;
  size_t size;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "ping", 4, slot, &id));
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  assert_int_equal(cid, id);
  free(rec);

  later l = {q, id, 50, (const uint8_t *)"pong", 4, -1};
  pthread_t t;
  uint8_t back[16];
  app_ctx a = {back, sizeof back, 0, 0, 0};
  uint64_t t0 = dt__now_ns();
  assert_int_equal(pthread_create(&t, NULL, complete_later, &l), 0);
  int rc = dt__queue_wait(q, id, slot, apply_copy, &a, 5 * SEC);
  uint64_t ms = elapsed_ms(t0);
  pthread_join(t, NULL);
  assert_int_equal(l.rc, 0);
  assert_int_equal(rc, 0);
  assert_int_equal(a.got, 4);
  assert_memory_equal(back, "pong", 4);
  if (ms < 40 || ms > 2000)
    fail_msg("wait returned after %llu ms; the result came after 50 ms",
             (unsigned long long)ms);
  counts_are(q, 0, 0, 0);
}

static void test_wait_times_out(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id;
  uint8_t back[16];
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "lost", 4, slot, &id));
  app_ctx a = {back, sizeof back, 0, 0, 0};
  uint64_t t0 = dt__now_ns();
  int rc = dt__queue_wait(q, id, slot, apply_copy, &a, 100 * MS);
  uint64_t ms = elapsed_ms(t0);
  assert_int_equal(rc, -ETIMEDOUT);
  assert_int_equal(a.calls, 0);
  if (ms < 90 || ms > 2000)
    fail_msg("a 100 ms wait returned after %llu ms", (unsigned long long)ms);
  counts_are(q, 1, 0, 0);
}

/* apply's -ENOSPC keeps the result: the next wait gets it, at once. */
static void test_apply_enospc_keeps_result(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id, cid;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "a long answer please", 20, slot, &id));
  assert_ok(echo_one(q, SEC, &cid));
  assert_int_equal(cid, id);

  uint8_t small[4], big[64];
  app_ctx a = {small, sizeof small, 0, 0, 0};
  assert_int_equal(dt__queue_wait(q, id, slot, apply_copy, &a, SEC), -ENOSPC);
  assert_int_equal(a.calls, 1);
  counts_are(q, 0, 0, 1);

  a = (app_ctx){big, sizeof big, 0, 0, 0};
  uint64_t t0 = dt__now_ns();
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &a, 5 * SEC));
  assert_true(elapsed_ms(t0) < 1000);
  assert_int_equal(a.got, 20);
  assert_memory_equal(big, "a long answer please", 20);
  counts_are(q, 0, 0, 0);

  /* any other negative return keeps it too */
  assert_ok(submit_bytes(q, "x", 1, slot, &id));
  assert_ok(echo_one(q, SEC, NULL));
  a = (app_ctx){big, sizeof big, 0, 0, -EIO};
  assert_int_equal(dt__queue_wait(q, id, slot, apply_copy, &a, SEC), -EIO);
  counts_are(q, 0, 0, 1);
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &a, SEC));
  counts_are(q, 0, 0, 0);
}

/* -------------------------------------------------------------- claim */

static int child_submit_later(fx *f, void *arg) {
  (void)arg;
  dt__queue *q = child_open(f);
  uint32_t slot;
  uint64_t id;
  if (dt__queue_waiter(q, &slot) != 0)
    return 10;
  sleep_ms(50);
  if (submit_bytes(q, "from the child", 14, slot, &id) != 0)
    return 11;
  dt__queue_close(q);
  return 0;
}

/* claim sleeps on the doorbell until another process submits. */
static void test_claim_blocks_until_task(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint64_t next = dt__queue_next_id(q);
  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t id = 0;
  uint64_t t0 = dt__now_ns();
  pid_t pid = spawn(f, child_submit_later, NULL);
  int rc = dt__queue_claim(q, &rec, &size, &id, 5 * SEC);
  uint64_t ms = elapsed_ms(t0);
  reap_ok(f, pid);
  assert_int_equal(rc, 0);
  assert_int_equal(id, next);
  assert_int_equal(size, 14);
  assert_memory_equal(rec, "from the child", 14);
  free(rec);
  if (ms < 40 || ms > 2500)
    fail_msg("claim returned after %llu ms; the task came after 50 ms",
             (unsigned long long)ms);
  counts_are(q, 0, 1, 0);
}

static void test_claim_times_out(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t id = 0;
  uint64_t t0 = dt__now_ns();
  int rc = dt__queue_claim(q, &rec, &size, &id, 100 * MS);
  uint64_t ms = elapsed_ms(t0);
  assert_int_equal(rc, -ETIMEDOUT);
  assert_null(rec);
  if (ms < 90 || ms > 2000)
    fail_msg("a 100 ms claim returned after %llu ms", (unsigned long long)ms);
}

typedef struct claimer {
  dt__queue *q;
  uint64_t timeout_ns;
  int rc;
  uint64_t ms;
  volatile int done;
} claimer;

static void *claim_thread(void *arg) {
  claimer *c = arg;
  uint8_t *rec = NULL;
  size_t size;
  uint64_t id;
  uint64_t t0 = dt__now_ns();
  c->rc = dt__queue_claim(c->q, &rec, &size, &id, c->timeout_ns);
  c->ms = elapsed_ms(t0);
  free(rec);
  __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void on_usr1(int sig) { (void)sig; }

/* A signal whose handler was installed without SA_RESTART interrupts an
 * idle claim: -EINTR (the runner's workers stop this way on SIGTERM).
 * The signal is sent every 20 ms until claim returns, so it does not
 * matter whether the first one found the thread in the futex. */
static void test_claim_eintr_on_signal(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART */
  assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);

  claimer c = {q, 5 * SEC, 1, 0, 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, claim_thread, &c), 0);
  uint64_t t0 = dt__now_ns();
  while (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST) && elapsed_ms(t0) < 4000) {
    sleep_ms(20);
    if (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST))
      pthread_kill(t, SIGUSR1);
  }
  pthread_join(t, NULL);
  sigaction(SIGUSR1, &old, NULL);
  assert_int_equal(c.rc, -EINTR);
  if (c.ms > 2000)
    fail_msg("claim took %llu ms to notice the signal",
             (unsigned long long)c.ms);
}

/* The header's contract: claim returns -EINTR "when woken by
 * dt__queue_kick", and kick "wakes every idle worker (shutdown)".  So an
 * idle claim with a 2 s timeout, kicked after 50 ms, must return -EINTR
 * well before its timeout (here: within 1 s). */
static void test_claim_returns_on_kick(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  claimer c1 = {q, 2 * SEC, 1, 0, 0};
  claimer c2 = {q, 2 * SEC, 1, 0, 0};
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, claim_thread, &c1), 0);
  assert_int_equal(pthread_create(&t2, NULL, claim_thread, &c2), 0);
  sleep_ms(50);
  dt__queue_kick(q);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  if (c1.rc != -EINTR || c2.rc != -EINTR || c1.ms > 1000 || c2.ms > 1000)
    fail_msg("after dt__queue_kick, idle claims returned %d after %llu ms "
             "and %d after %llu ms; expected -EINTR (%d) promptly",
             c1.rc, (unsigned long long)c1.ms, c2.rc,
             (unsigned long long)c2.ms, -EINTR);
}

/* ------------------------------------------------------------- cancel */

static void test_cancel(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t a, b, id;
  uint8_t *rec;
  size_t size;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "a", 1, slot, &a));
  assert_ok(submit_bytes(q, "b", 1, slot, &b));
  assert_ok(dt__queue_claim(q, &rec, &size, &id, SEC));
  assert_int_equal(id, a);
  free(rec);
  assert_int_equal(dt__queue_cancel(q, a), 0); /* claimed: stays */
  assert_int_equal(dt__queue_cancel(q, b), 1); /* unclaimed: removed */
  counts_are(q, 0, 1, 0);
  assert_int_equal(dt__queue_cancel(q, b), 0);
  assert_int_equal(dt__queue_cancel(q, 999999), 0);
  assert_int_equal(dt__queue_claim(q, &rec, &size, &id, 10 * MS), -ETIMEDOUT);
  /* the claimed one still completes */
  assert_ok(dt__queue_complete(q, a, (const uint8_t *)"A", 1));
  uint8_t back[4];
  app_ctx ac = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, a, slot, apply_copy, &ac, SEC));
  assert_int_equal(back[0], 'A');
  counts_are(q, 0, 0, 0);
}

/* ------------------------------------------------------- waiter slots */

typedef struct slotter {
  dt__queue *q;
  pthread_barrier_t *bar;
  uint32_t slot;
  int rc;
} slotter;

static void *slot_thread(void *arg) {
  slotter *s = arg;
  pthread_barrier_wait(s->bar);
  s->rc = dt__queue_waiter(s->q, &s->slot);
  pthread_barrier_wait(s->bar); /* both hold their slot here */
  return NULL;
}

static void test_waiter_slots_distinct(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, 2);
  slotter s1 = {q, &bar, 0, 1}, s2 = {q, &bar, 0, 1};
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, slot_thread, &s1), 0);
  assert_int_equal(pthread_create(&t2, NULL, slot_thread, &s2), 0);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  pthread_barrier_destroy(&bar);
  assert_ok(s1.rc);
  assert_ok(s2.rc);
  assert_true(s1.slot < NSLOTS);
  assert_true(s2.slot < NSLOTS);
  assert_int_not_equal(s1.slot, s2.slot);
  uint32_t mine;
  assert_ok(dt__queue_waiter(q, &mine));
  assert_int_not_equal(mine, s1.slot);
  assert_int_not_equal(mine, s2.slot);
}

/* Takes every slot, reports how many, holds them until told, exits. */
static int child_take_all_slots(fx *f, void *arg) {
  pipes *p = arg;
  close(p->up[0]);
  close(p->down[1]);
  dt__queue *q = child_open(f);
  uint32_t n = 0, slot;
  int rc;
  while ((rc = dt__queue_waiter(q, &slot)) == 0 && n <= NSLOTS)
    n++;
  if (rc != -EAGAIN)
    n = 100000u + (uint32_t)-rc;
  write_all(p->up[1], &n, sizeof n);
  char c;
  read_all(p->down[0], &c, 1);
  _exit(0);
}

/* A child takes all 4096 slots: while it lives the parent gets -EAGAIN;
 * once it is gone (and reaped) its slots are taken over, starting with
 * the one this thread's scan starts at (tid % 4096), and the slot works
 * for a round trip. */
static void test_waiter_slot_of_dead_process_reused(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  pipes p;
  assert_int_equal(pipe(p.up), 0);
  assert_int_equal(pipe(p.down), 0);
  pid_t pid = spawn(f, child_take_all_slots, &p);
  close(p.up[1]);
  close(p.down[0]);
  uint32_t n = 0;
  assert_int_equal(read_all(p.up[0], &n, sizeof n), 0);
  assert_int_equal(n, NSLOTS);
  uint32_t slot = 77777;
  assert_int_equal(dt__queue_waiter(q, &slot), -EAGAIN);
  write_all(p.down[1], "x", 1);
  reap_ok(f, pid);
  close(p.up[0]);
  close(p.down[1]);

  uint32_t start = (uint32_t)syscall(SYS_gettid) % NSLOTS;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_int_equal(slot, start);
  /* more dead slots are there for the taking, all distinct */
  static uint8_t seen[NSLOTS];
  memset(seen, 0, sizeof seen);
  seen[slot] = 1;
  for (int i = 0; i < 50; i++) {
    uint32_t s;
    assert_ok(dt__queue_waiter(q, &s));
    assert_true(s < NSLOTS);
    assert_int_equal(seen[s], 0);
    seen[s] = 1;
  }
  /* the reused slot's futex word still wakes its waiter */
  uint64_t id, cid;
  uint8_t *rec;
  size_t size;
  assert_ok(submit_bytes(q, "reuse", 5, slot, &id));
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  free(rec);
  later l = {q, cid, 30, (const uint8_t *)"done", 4, -1};
  pthread_t t;
  uint8_t back[8];
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_int_equal(pthread_create(&t, NULL, complete_later, &l), 0);
  uint64_t t0 = dt__now_ns();
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &a, 5 * SEC));
  pthread_join(t, NULL);
  assert_true(elapsed_ms(t0) < 2000);
  assert_memory_equal(back, "done", 4);
}

static void *slot_and_exit(void *arg) {
  slotter *s = arg;
  s->rc = dt__queue_waiter(s->q, &s->slot);
  return NULL;
}

/* A slot is "this thread's futex word", and the bell records the owning
 * thread's tid.  A process whose threads come and go (a thread per
 * request, each making an offloaded call) must not run out of slots: a
 * slot whose thread has exited has to be taken over like one whose
 * process has exited.  4097 threads, one after the other, each take a
 * slot and exit; the last one must still get one. */
static void test_waiter_slot_of_exited_thread_reused(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  int last_rc = 0, at = -1;
  for (int i = 0; i < (int)NSLOTS + 1; i++) {
    slotter s = {q, NULL, 0, 1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slot_and_exit, &s), 0);
    pthread_join(t, NULL);
    if (s.rc != 0) {
      last_rc = s.rc;
      at = i;
      break;
    }
  }
  if (last_rc != 0)
    fail_msg("thread %d of a process (all earlier threads have exited) got "
             "%d from dt__queue_waiter: slots of exited threads are never "
             "reused",
             at, last_rc);
}

/* ---------------------------------------------------------- timeouts */

/* timeout_ns is "at most" that long, 0 being forever: the largest value
 * is (practically) forever too, not "already expired". */
static void test_huge_timeout_waits(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id, cid;
  uint8_t *rec;
  size_t size;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "far", 3, slot, &id));
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  free(rec);
  later l = {q, cid, 50, (const uint8_t *)"away", 4, -1};
  pthread_t t;
  uint8_t back[8];
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_int_equal(pthread_create(&t, NULL, complete_later, &l), 0);
  int rc = dt__queue_wait(q, id, slot, apply_copy, &a, UINT64_MAX);
  int rc2 = rc;
  if (rc != 0) /* collect the result so that the thread can be joined */
    rc2 = dt__queue_wait(q, id, slot, apply_copy, &a, 5 * SEC);
  pthread_join(t, NULL);
  assert_int_equal(rc2, 0);

  claimer c = {q, UINT64_MAX, 1, 0, 0};
  pid_t pid = spawn(f, child_submit_later, NULL);
  claim_thread(&c);
  reap_ok(f, pid);
  if (rc != 0 || c.rc != 0)
    fail_msg("with timeout_ns = UINT64_MAX, dt__queue_wait returned %d and "
             "dt__queue_claim returned %d (after %llu ms); expected both to "
             "wait for what came 50 ms later and return 0",
             rc, c.rc, (unsigned long long)c.ms);
}

/* --------------------------------------------------------------- main */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_open_creates_dirs),
      T(test_open_reopen),
      T(test_open_refuses_open_mode),
      T(test_open_refuses_file),
      T(test_open_refuses_other_owner),
      T(test_open_refuses_foreign_bell),
      T(test_open_refuses_unsafe_parent),
      T(test_round_trip),
      T(test_complete_next),
      T(test_encode_error_aborts),
      T(test_wait_takes_its_own_id),
      T(test_fifo),
      T(test_wait_blocks_until_result),
      T(test_wait_times_out),
      T(test_apply_enospc_keeps_result),
      T(test_claim_blocks_until_task),
      T(test_claim_times_out),
      T(test_claim_eintr_on_signal),
      T(test_claim_returns_on_kick),
      T(test_cancel),
      T(test_waiter_slots_distinct),
      T(test_waiter_slot_of_dead_process_reused),
      T(test_waiter_slot_of_exited_thread_reused),
      T(test_huge_timeout_waits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
