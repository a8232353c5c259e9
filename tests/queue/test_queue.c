/* test_queue.c: unit tests of the queue interface (queue/queue.h) with
 * its "lmdb" backend (queue/lmdb.c, lmdb_env.c, bell.c, proc.c).
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


/* ---------------------------------------------------- encode / apply */

typedef struct enc_ctx {
  const uint8_t *data;
  size_t n;
  uint64_t id_seen;
  int calls;
  int fail; /* returned instead of encoding when non-zero */
} enc_ctx;

static int enc_copy(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
  enc_ctx *e = ctx;
  e->calls++;
  e->id_seen = id;
  if (e->fail != 0)
    return e->fail;
  if (size != e->n)
    return -EMSGSIZE;
  memcpy(buf, e->data, size);
  return 0;
}

typedef struct app_ctx {
  uint8_t *buf;
  size_t cap;
  size_t got;
  int calls;
  int first_rc; /* returned by the first call when non-zero */
} app_ctx;

/* Who stored the last result apply_copy saw (DT__FROM_*). */
static int last_from = -1;

static int apply_copy(void *ctx, const uint8_t *rec, size_t size, int from) {
  app_ctx *a = ctx;
  a->calls++;
  last_from = from;
  if (a->calls == 1 && a->first_rc != 0)
    return a->first_rc;
  if (size > a->cap)
    return -ENOSPC;
  memcpy(a->buf, rec, size);
  a->got = size;
  return 0;
}

/* Fills p with a pattern that depends on seed and position. */
static void pattern(uint8_t *p, size_t n, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    p[i] = (uint8_t)(x >> 16);
  }
}

/* Submits n bytes of data (no cmocka: usable in children). */
static int submit_bytes(dt__queue *q, const void *data, size_t n,
                        uint32_t slot, uint64_t *id) {
  enc_ctx e = {data, n, 0, 0, 0};
  int rc = dt__queue_submit(q, n, enc_copy, &e, slot, id);
  if (rc == 0 && (e.calls != 1 || e.id_seen != *id))
    return -EBADMSG;
  return rc;
}

/* Claims one task with a timeout and completes it with its own bytes (an
 * echo worker).  Returns 0, -ETIMEDOUT or an error. */
static int echo_one(dt__queue *q, uint64_t timeout_ns, uint64_t *idp) {
  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t id = 0;
  int rc = dt__queue_claim(q, &rec, &size, &id, timeout_ns);
  if (rc != 0)
    return rc;
  rc = dt__queue_complete(q, id, rec, size);
  free(rec);
  if (idp != NULL)
    *idp = id;
  return rc;
}

/* n round trips on q where this process is caller and, while it waits,
 * also an echo worker: whichever process claims a task answers it, so
 * two processes doing this at once never wait on each other forever.
 * Every result must equal its task.  No cmocka: returns 0 or a code. */
static int echo_round_trips(dt__queue *q, int n, uint32_t tag) {
  uint32_t slot;
  uint8_t data[128], back[128];
  if (dt__queue_waiter(q, &slot) != 0)
    return 20;
  for (int i = 0; i < n; i++) {
    size_t len = 16 + (size_t)(i * 7) % 100;
    uint64_t id;
    pattern(data, len, tag * 1000u + (uint32_t)i);
    memcpy(data, &tag, 4);
    memcpy(data + 4, &i, 4);
    if (submit_bytes(q, data, len, slot, &id) != 0)
      return 21;
    app_ctx a = {back, sizeof back, 0, 0, 0};
    uint64_t deadline = dt__now_ns() + 10 * SEC;
    for (;;) {
      int rc = dt__queue_wait(q, id, slot, apply_copy, &a, 2 * MS);
      if (rc == 0)
        break;
      if (rc != -ETIMEDOUT)
        return 22;
      rc = echo_one(q, 2 * MS, NULL);
      if (rc != 0 && rc != -ETIMEDOUT)
        return 23;
      if (dt__now_ns() > deadline)
        return 24;
    }
    if (a.got != len || memcmp(back, data, len) != 0)
      return 25;
  }
  return 0;
}

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

typedef struct later {
  dt__queue *q;
  uint64_t id;
  unsigned delay_ms;
  const uint8_t *data;
  size_t n;
  int rc;
} later;

static void *complete_later(void *arg) {
  later *l = arg;
  sleep_ms(l->delay_ms);
  l->rc = dt__queue_complete(l->q, l->id, l->data, l->n);
  return NULL;
}

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

typedef struct pipes {
  int up[2];   /* child -> parent */
  int down[2]; /* parent -> child */
} pipes;

/* Runs fn in a child given an up pipe, reads the n bytes it reports
 * there, and reaps it (which must exit 0). */
static void spawn_report(fx *f, int (*fn)(fx *, void *), void *out, size_t n) {
  pipes p;
  assert_int_equal(pipe(p.up), 0);
  pid_t pid = spawn(f, fn, &p);
  close(p.up[1]);
  assert_int_equal(read_all(p.up[0], out, n), 0);
  close(p.up[0]);
  reap_ok(f, pid);
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

/* -------------------------------------------------------- concurrency */

#define CT_THREADS 4
#define CT_CALLS 2000
#define CT_TOTAL (CT_THREADS * CT_CALLS)
#define CT_WORKERS 2

typedef struct shared_marks {
  uint8_t claimed[CT_TOTAL + 16]; /* by the workers, per id - base */
  int dup_claims;
  int stray_claims;
} shared_marks;

typedef struct ct_worker_arg {
  shared_marks *m;
  uint64_t base;
} ct_worker_arg;

static int ct_worker(fx *f, void *arg) {
  ct_worker_arg *w = arg;
  dt__queue *q = child_open(f);
  for (;;) {
    uint8_t *rec = NULL;
    size_t size = 0;
    uint64_t id = 0;
    int rc = dt__queue_claim(q, &rec, &size, &id, 10 * SEC);
    if (rc == -EINTR)
      continue;
    if (rc != 0)
      return 10;
    bool stop = size == 4 && memcmp(rec, "STOP", 4) == 0;
    if (!stop) {
      if (id < w->base || id >= w->base + CT_TOTAL)
        __atomic_add_fetch(&w->m->stray_claims, 1, __ATOMIC_SEQ_CST);
      else if (__atomic_fetch_add(&w->m->claimed[id - w->base], 1,
                                  __ATOMIC_SEQ_CST) != 0)
        __atomic_add_fetch(&w->m->dup_claims, 1, __ATOMIC_SEQ_CST);
    }
    rc = dt__queue_complete(q, id, rec, size);
    free(rec);
    if (rc != 0)
      return 11;
    if (stop)
      break;
  }
  dt__queue_close(q);
  return 0;
}

typedef struct ct_caller {
  dt__queue *q;
  int index;
  uint64_t base;
  uint8_t *delivered; /* per id - base, shared by the callers */
  int errors;
  int first_error;
} ct_caller;

static void *ct_caller_thread(void *arg) {
  ct_caller *c = arg;
  uint32_t slot;
  uint8_t data[160], back[160];
  if (dt__queue_waiter(c->q, &slot) != 0) {
    c->errors++;
    c->first_error = 1;
    return NULL;
  }
  for (int i = 0; i < CT_CALLS; i++) {
    size_t len = 8 + (size_t)(i * 13 + c->index) % 150;
    uint64_t id = 0;
    pattern(data, len, (uint32_t)(c->index * CT_CALLS + i));
    memcpy(data, &c->index, 4);
    memcpy(data + 4, &i, 4);
    int rc = submit_bytes(c->q, data, len, slot, &id);
    if (rc != 0) {
      if (c->errors++ == 0)
        c->first_error = 2;
      continue;
    }
    app_ctx a = {back, sizeof back, 0, 0, 0};
    rc = dt__queue_wait(c->q, id, slot, apply_copy, &a, 20 * SEC);
    if (rc != 0) {
      if (c->errors++ == 0)
        c->first_error = 3;
      continue;
    }
    if (a.got != len || memcmp(back, data, len) != 0) {
      if (c->errors++ == 0)
        c->first_error = 4;
    }
    if (id < c->base || id >= c->base + CT_TOTAL) {
      if (c->errors++ == 0)
        c->first_error = 5;
    } else if (__atomic_fetch_add(&c->delivered[id - c->base], 1,
                                  __ATOMIC_SEQ_CST) != 0) {
      if (c->errors++ == 0)
        c->first_error = 6;
    }
  }
  return NULL;
}

/* 4 caller threads x 2000 calls, served by 2 worker processes: every id
 * is claimed once and delivered once, every answer is its own task. */
static void test_concurrency(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  shared_marks *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(m != MAP_FAILED);
  memset(m, 0, sizeof *m);
  uint64_t base = dt__queue_next_id(q);
  ct_worker_arg wa = {m, base};
  pid_t workers[CT_WORKERS];
  for (int i = 0; i < CT_WORKERS; i++)
    workers[i] = spawn(f, ct_worker, &wa);

  static uint8_t delivered[CT_TOTAL];
  memset(delivered, 0, sizeof delivered);
  ct_caller callers[CT_THREADS];
  pthread_t t[CT_THREADS];
  for (int i = 0; i < CT_THREADS; i++) {
    callers[i] = (ct_caller){q, i, base, delivered, 0, 0};
    assert_int_equal(pthread_create(&t[i], NULL, ct_caller_thread,
                                    &callers[i]),
                     0);
  }
  for (int i = 0; i < CT_THREADS; i++)
    pthread_join(t[i], NULL);

  /* one STOP per worker: each answers it and exits */
  uint32_t slot;
  assert_ok(dt__queue_waiter(q, &slot));
  uint64_t stops[CT_WORKERS];
  for (int i = 0; i < CT_WORKERS; i++)
    assert_ok(submit_bytes(q, "STOP", 4, slot, &stops[i]));
  for (int i = 0; i < CT_WORKERS; i++) {
    uint8_t back[8];
    app_ctx a = {back, sizeof back, 0, 0, 0};
    assert_ok(dt__queue_wait(q, stops[i], slot, apply_copy, &a, 20 * SEC));
  }
  int wst[CT_WORKERS];
  for (int i = 0; i < CT_WORKERS; i++)
    wst[i] = reap(f, workers[i]);

  for (int i = 0; i < CT_THREADS; i++)
    if (callers[i].errors != 0)
      fail_msg("caller %d: %d errors, the first of kind %d", i,
               callers[i].errors, callers[i].first_error);
  for (int i = 0; i < CT_WORKERS; i++)
    if (wst[i] != 0)
      fail_msg("worker %d exited with status %d", i, wst[i]);
  assert_int_equal(m->dup_claims, 0);
  assert_int_equal(m->stray_claims, 0);
  for (int i = 0; i < CT_TOTAL; i++) {
    if (delivered[i] != 1 || m->claimed[i] != 1)
      fail_msg("id %llu: delivered %d times, claimed %d times",
               (unsigned long long)(base + (uint64_t)i), delivered[i],
               m->claimed[i]);
  }
  assert_int_equal(dt__queue_next_id(q), base + CT_TOTAL + CT_WORKERS);
  counts_are(q, 0, 0, 0);
  munmap(m, sizeof *m);
}

/* ----------------------------------------------------------- map full */

static void test_map_full(void **state) {
  fx *f = *state;
  f->cfg->map_size = 1 * MiB;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id;
  assert_ok(dt__queue_waiter(q, &slot));

  size_t big = 2 * MiB;
  uint8_t *data = calloc(1, big);
  assert_non_null(data);
  enc_ctx e = {data, big, 0, 0, 0};
  int rc = dt__queue_submit(q, big, enc_copy, &e, slot, &id);
  free(data);
  assert_int_equal(rc, -E2BIG); /* larger than a quarter of the map */
  assert_int_equal(e.calls, 0); /* nothing was reserved to encode into */
  counts_are(q, 0, 0, 0);

  /* the queue still works */
  assert_int_equal(echo_round_trips(q, 20, 5), 0);
  counts_are(q, 0, 0, 0);

  /* fill it with 64 KiB tasks until it is full, then free two */
  static uint8_t chunk[64 * 1024];
  pattern(chunk, sizeof chunk, 11);
  uint64_t ids[64];
  int n = 0;
  for (;;) {
    assert_true(n < 64);
    rc = submit_bytes(q, chunk, sizeof chunk, slot, &ids[n]);
    if (rc == -ENOSPC)
      break;
    assert_ok(rc);
    n++;
  }
  assert_true(n >= 4);
  counts_are(q, (size_t)n, 0, 0);
  assert_int_equal(dt__queue_cancel(q, ids[0]), 1);
  assert_int_equal(dt__queue_cancel(q, ids[1]), 1);
  assert_int_equal(dt__queue_cancel(q, ids[2]), 1);
  assert_ok(submit_bytes(q, chunk, sizeof chunk, slot, &id));
  counts_are(q, (size_t)n - 2, 0, 0);
  uint8_t *rec;
  size_t size;
  uint64_t cid;
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  assert_int_equal(cid, ids[3]);
  assert_int_equal(size, sizeof chunk);
  assert_memory_equal(rec, chunk, sizeof chunk);
  free(rec);
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

/* ------------------------------------------------- timeouts, records */

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

/* Writes malformed entries straight into the LMDB environment (in a child,
 * so that no process opens the environment twice). */
static int child_write_garbage(fx *f, void *arg) {
  (void)arg;
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi tasks, results;
  if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 4) != 0 ||
      mdb_env_set_maxreaders(env, 1022) != 0 ||
      mdb_env_set_mapsize(env, (size_t)f->cfg->map_size) != 0)
    return 10;
  if (mdb_env_open(env, f->qpath,
                   MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP | MDB_NOTLS |
                       MDB_NORDAHEAD,
                   0600) != 0)
    return 11;
  if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
    return 12;
  if (mdb_dbi_open(txn, "tasks", 0, &tasks) != 0 ||
      mdb_dbi_open(txn, "results", 0, &results) != 0)
    return 13;
  uint8_t key[8] = {0, 0, 0, 0, 0, 0, 0x30, 0x39}; /* 12345 */
  MDB_val k1 = {2, "zz"}, v1 = {3, "val"};
  MDB_val k2 = {8, key}, v2 = {2, "ab"};
  MDB_val k3 = {8, key}, v3 = {2, "xy"};
  if (mdb_put(txn, tasks, &k1, &v1, 0) != 0 ||
      mdb_put(txn, tasks, &k2, &v2, 0) != 0 ||
      mdb_put(txn, results, &k3, &v3, 0) != 0)
    return 14;
  if (mdb_txn_commit(txn) != 0)
    return 15;
  mdb_env_close(env);
  return 0;
}

/* Entries this version did not write are dropped, not looped on: a task
 * with a wrong key or a short value, a result shorter than its header. */
static void test_malformed_entries_dropped(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  pid_t pid = spawn(f, child_write_garbage, NULL);
  reap_ok(f, pid);
  counts_are(q, 2, 0, 1);
  uint8_t *rec = NULL;
  size_t size;
  uint64_t id;
  assert_int_equal(dt__queue_claim(q, &rec, &size, &id, 50 * MS), -ETIMEDOUT);
  assert_null(rec);
  counts_are(q, 0, 0, 1);
  uint32_t slot;
  uint8_t back[8];
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_waiter(q, &slot));
  assert_int_equal(dt__queue_wait(q, 12345, slot, apply_copy, &a, SEC),
                   -EPROTO);
  assert_int_equal(a.calls, 0);
  counts_are(q, 0, 0, 0);
  assert_int_equal(echo_round_trips(q, 3, 4), 0);
}

static int child_grow_map(fx *f, void *arg) {
  (void)arg;
  f->cfg->map_size = 64 * MiB; /* this process's copy only */
  dt__queue *q = child_open(f);
  uint32_t slot;
  uint64_t id;
  size_t n = 2 * MiB;
  uint8_t *data = malloc(n);
  if (data == NULL || dt__queue_waiter(q, &slot) != 0)
    return 10;
  pattern(data, n, 42);
  if (submit_bytes(q, data, n, slot, &id) != 0)
    return 11;
  dt__queue_close(q);
  return 0;
}

/* Another process opened the queue with a larger map and filled it past
 * this process's map: this handle adopts the new size (MDB_MAP_RESIZED)
 * and reads the big task intact. */
static void test_map_grown_by_another_process(void **state) {
  fx *f = *state;
  f->cfg->map_size = 1 * MiB;
  dt__queue *q = open_q(f);
  pid_t pid = spawn(f, child_grow_map, NULL);
  reap_ok(f, pid);
  counts_are(q, 1, 0, 0);
  uint8_t *rec = NULL;
  size_t size;
  uint64_t id;
  assert_ok(dt__queue_claim(q, &rec, &size, &id, SEC));
  assert_int_equal(size, 2 * MiB);
  uint8_t *want = malloc(2 * MiB);
  assert_non_null(want);
  pattern(want, 2 * MiB, 42);
  int same = memcmp(rec, want, 2 * MiB) == 0;
  free(want);
  free(rec);
  assert_true(same);
  assert_ok(dt__queue_complete(q, id, (const uint8_t *)"ok", 2));
  counts_are(q, 0, 0, 1);
}

/* A task that cannot be served is answered with an error record through
 * dt__queue_reject, from the queue or from a claim: the caller's wait
 * gets the record and nothing is left behind. */
static void test_reject_answers_caller(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id, cid = 0;
  uint8_t back[64];
  assert_ok(dt__queue_waiter(q, &slot));

  assert_ok(submit_bytes(q, "task", 4, slot, &id));
  assert_ok(dt__queue_reject(q, id, (const uint8_t *)"nope", 4));
  counts_are(q, 0, 0, 1);
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &a, SEC));
  assert_int_equal(a.got, 4);
  assert_memory_equal(back, "nope", 4);
  counts_are(q, 0, 0, 0);

  /* The same once a worker holds the claim. */
  uint8_t *rec = NULL;
  size_t size = 0;
  assert_ok(submit_bytes(q, "task", 4, slot, &id));
  assert_ok(dt__queue_claim(q, &rec, &size, &cid, SEC));
  free(rec);
  assert_int_equal(cid, id);
  assert_ok(dt__queue_reject(q, id, (const uint8_t *)"late", 4));
  counts_are(q, 0, 0, 1);
  app_ctx b = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &b, SEC));
  assert_memory_equal(back, "late", 4);
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

/* ------------------------------------------- the interface, generic */

/* A backend that is not in queue.c's table is refused with a sentence,
 * before anything is created. */
static void test_open_unknown_backend(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  snprintf(f->cfg->backend, sizeof f->cfg->backend, "amqp");
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  assert_int_equal(rc, -ENOTSUP);
  assert_null(f->q);
  assert_contains(err.msg, "queue backend \"amqp\" is not built");
  assert_contains(err.msg, "\"lmdb\", \"redis\"");
  struct stat st;
  assert_int_equal(lstat(f->qpath, &st), -1);
  dt__queue_close(NULL); /* allowed */
}

/* The fast path: the slot's count read before submit, wait_since reads
 * the result and leaves it; the next submit_drop deletes it in its own
 * step, and dt__queue_drop deletes the last one (twice is fine). */
static void test_wait_since_and_drop(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id1, id2, cid;
  uint8_t back[16];
  assert_ok(dt__queue_waiter(q, &slot));
  uint32_t seen = dt__queue_slot_seq(q, slot);
  assert_ok(submit_bytes(q, "one", 3, slot, &id1));
  assert_ok(echo_one(q, SEC, &cid));
  assert_int_equal(cid, id1);
  assert_true(dt__queue_slot_seq(q, slot) != seen); /* the answer rang */
  app_ctx a = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait_since(q, id1, slot, seen, apply_copy, &a, SEC));
  assert_int_equal(a.got, 3);
  assert_memory_equal(back, "one", 3);
  counts_are(q, 0, 0, 1); /* left in place */

  enc_ctx e = {(const uint8_t *)"two", 3, 0, 0, 0};
  seen = dt__queue_slot_seq(q, slot);
  assert_ok(dt__queue_submit_drop(q, 3, enc_copy, &e, slot, id1, 0, NULL,
                                  &id2));
  counts_are(q, 1, 0, 0); /* the first result went with the new task */
  assert_ok(echo_one(q, SEC, &cid));
  app_ctx b = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait_since(q, id2, slot, seen, apply_copy, &b, SEC));
  assert_memory_equal(back, "two", 3);
  counts_are(q, 0, 0, 1);
  assert_ok(dt__queue_drop(q, id2));
  counts_are(q, 0, 0, 0);
  assert_ok(dt__queue_drop(q, id2)); /* not there: still 0 */
}

/* Blobs: stored once, read back only at their exact size, dropped (also
 * when already gone), counted by dt__queue_stat, refused past a quarter
 * of the map; the map's high-water mark covers what was stored. */
static void test_blobs_and_stat(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  dt__queue_stats st;
  assert_ok(dt__queue_stat(q, &st));
  assert_int_equal(st.tasks + st.claims + st.results + st.blobs, 0);
  uint64_t used0 = st.used_bytes;
  assert_true(used0 > 0);

  size_t n = 1 * MiB;
  uint8_t *data = malloc(n), *back = malloc(n);
  assert_non_null(data);
  assert_non_null(back);
  pattern(data, n, 7);
  uint64_t id1, id2;
  assert_ok(dt__queue_blob_put(q, data, n, &id1));
  assert_ok(dt__queue_blob_put(q, "x", 1, &id2));
  assert_true(id2 > id1);
  assert_ok(dt__queue_stat(q, &st));
  assert_int_equal(st.blobs, 2);
  assert_int_equal(st.tasks + st.claims + st.results, 0);
  assert_true(st.used_bytes >= used0 + n);
  size_t t = 9, c = 9, r = 9;
  assert_ok(dt__queue_counts(q, &t, &c, &r)); /* blobs are not entries */
  assert_int_equal(t + c + r, 0);

  /* A blob is read for a claimed task of the same caller. */
  uint32_t slot;
  uint64_t tid, cid;
  uint8_t *rec;
  size_t rsize;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "t", 1, slot, &tid));
  assert_int_equal(dt__queue_blob_read(q, tid, id1, back, n), -ENOENT);
  assert_ok(dt__queue_claim(q, &rec, &rsize, &cid, SEC));
  free(rec);
  assert_ok(dt__queue_blob_read(q, cid, id1, back, n));
  assert_memory_equal(back, data, n);
  assert_int_equal(dt__queue_blob_read(q, cid, id1, back, n - 1), -EPROTO);
  assert_int_equal(dt__queue_blob_read(q, cid, 999999, back, 1), -ENOENT);
  assert_ok(dt__queue_blob_drop(q, id1));
  assert_ok(dt__queue_blob_drop(q, id1));
  assert_int_equal(dt__queue_blob_read(q, cid, id1, back, n), -ENOENT);
  assert_ok(dt__queue_complete(q, cid, (const uint8_t *)"r", 1));
  app_ctx a = {back, n, 0, 0, 0};
  assert_ok(dt__queue_wait(q, tid, slot, apply_copy, &a, SEC));
  assert_int_equal(last_from, DT__FROM_WORKER);
  assert_ok(dt__queue_stat(q, &st));
  assert_int_equal(st.blobs, 1);

  uint64_t id3;
  assert_int_equal(
      dt__queue_blob_put(q, data, (size_t)(f->cfg->map_size / 4) + 1, &id3),
      -E2BIG);
  free(data);
  free(back);
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

static int child_blob_and_wait(fx *f, void *arg) {
  int *fd = arg;
  dt__queue *q = child_open(f);
  uint64_t id;
  if (dt__queue_blob_put(q, "hers", 4, &id) != 0)
    return 10;
  if (write(fd[1], &id, sizeof id) != (ssize_t)sizeof id)
    return 11;
  char c;
  if (read(fd[2], &c, 1) != 1) /* until the parent is done */
    return 12;
  return 0;
}

/* Blobs are bound to their caller: a task reads its own caller's shared
 * buffers, and another caller's is -EACCES, although its id and size are
 * right (ids are sequential: easy to guess). */
static void test_blob_of_another_caller(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  int up[2], down[2];
  assert_ok(pipe(up));
  assert_ok(pipe(down));
  int fds[3] = {up[0], up[1], down[0]};
  pid_t pid = spawn(f, child_blob_and_wait, fds);
  uint64_t hers = 0, mine, tid, cid;
  assert_int_equal(read(up[0], &hers, sizeof hers), (ssize_t)sizeof hers);
  assert_ok(dt__queue_blob_put(q, "mine", 4, &mine));
  uint32_t slot;
  uint8_t *rec;
  size_t rsize;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "t", 1, slot, &tid));
  assert_ok(dt__queue_claim(q, &rec, &rsize, &cid, SEC));
  free(rec);
  char back[4];
  assert_ok(dt__queue_blob_read(q, cid, mine, back, 4));
  assert_memory_equal(back, "mine", 4);
  assert_int_equal(dt__queue_blob_read(q, cid, hers, back, 4), -EACCES);
  assert_int_equal(write(down[1], "x", 1), 1);
  reap_ok(f, pid);
  close(up[0]);
  close(up[1]);
  close(down[0]);
  close(down[1]);
  assert_ok(dt__queue_complete(q, cid, (const uint8_t *)"r", 1));
  app_ctx a = {(uint8_t *)back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, tid, slot, apply_copy, &a, SEC));
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
      T(test_heartbeat_alive),
      T(test_wait_runner),
      T(test_wait_runner_same_pid_beats_again),
      T(test_sweep_dead_caller_tasks),
      T(test_sweep_dead_caller_results),
      T(test_fail_only_for_the_holder),
      T(test_requeue_limit),
      T(test_sweep_dead_worker_requeues),
      T(test_stale_after_fork),
      T(test_concurrency),
      T(test_map_full),
      T(test_writer_killed_in_txn),
      T(test_huge_timeout_waits),
      T(test_malformed_entries_dropped),
      T(test_map_grown_by_another_process),
      T(test_reject_answers_caller),
      T(test_cancel_claim_of_dead_worker),
      T(test_sweep_drops_claim_of_dead_caller),
      T(test_open_unknown_backend),
      T(test_wait_since_and_drop),
      T(test_blobs_and_stat),
      T(test_sweep_dead_caller_blobs),
      T(test_blob_of_another_caller),
      T(test_runner_recent_and_workers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
