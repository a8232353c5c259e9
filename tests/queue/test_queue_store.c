/* test_queue_store.c: unit tests of the queue interface (queue/queue.h)
 * with its "lmdb" backend, the store under load and at its edges: 4
 * caller threads and 2 worker processes at once; a full map, and one
 * grown by another process; entries this version did not write; a task
 * answered with dt__queue_reject; blobs (stored once, read at their exact
 * size, bound to their caller, counted by stat); and the interface's
 * generic parts: an unknown backend, wait_since and drop.
 *
 * As in test_queue.c, everything is real: every test gets a fresh
 * directory under /dev/shm with a real LMDB environment and doorbell in
 * it, and other callers and workers are real threads and real processes
 * (fork).  A forked child never calls a cmocka assertion: it opens its
 * own handle, reports through its exit status or a pipe, and leaves with
 * _exit; the teardown kills and reaps any child a failed test left.  Raw
 * entries are written with LMDB directly, in a child (no process opens
 * the environment twice). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
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
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <lmdb.h>

#include <ffi.h>

#include "common/common.h"
#include "common/log.h"
#include "config/config.h"
#include "config/sig.h"
#include "queue/bell.h"
#include "queue/lmdb_rec.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "testutil.h"

#include "lmdbfx.h"
#include "queuefx.h" /* tests/queue/ */

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

/* ----------------------------------------------------------- records */

/* Writes malformed entries straight into the LMDB environment (in a child,
 * so that no process opens the environment twice). */
static int child_write_garbage(fx *f, void *arg) {
  (void)arg;
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi tasks, results;
  int rc = raw_env(f, &env);
  if (rc != 0)
    return rc;
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
  /* The claim names its caller (dtask status shows it): this process's
   * pid in decimal, cut to what the buffer holds. */
  char want[16], who[16] = "x", cut[3] = "xx";
  snprintf(want, sizeof want, "%d", (int)getpid());
  dt__queue_claim_caller(q, who, sizeof who);
  assert_string_equal(who, want);
  dt__queue_claim_caller(q, cut, sizeof cut);
  assert_int_equal(strlen(cut), strlen(want) < 2 ? strlen(want) : 2);
  assert_memory_equal(cut, want, strlen(cut));
  assert_ok(dt__queue_reject(q, id, (const uint8_t *)"late", 4));
  counts_are(q, 0, 0, 1);
  app_ctx b = {back, sizeof back, 0, 0, 0};
  assert_ok(dt__queue_wait(q, id, slot, apply_copy, &b, SEC));
  assert_memory_equal(back, "late", 4);
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

/* The bytes of data.mdb the filesystem has allocated. */
static uint64_t allocated(const fx *f) {
  char path[192];
  struct stat st;
  snprintf(path, sizeof path, "%s/data.mdb", f->qpath);
  assert_int_equal(stat(path, &st), 0);
  return (uint64_t)st.st_blocks * 512;
}

/* data.mdb's pages are allocated ahead of LMDB's writes, so that a full
 * filesystem is an error and not a SIGBUS (queue/lmdb_env.c), in steps
 * that start small: one call allocates a few hundred KiB, not a 4 MiB
 * chunk (fallocate walks every page it is given, and a program that
 * makes one call pays for each at its start); a writer of megabytes
 * stays at least 256 KiB ahead of the pages in use. */
static void test_room_allocated_ahead(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t tid, id;
  dt__queue_stats st;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "t", 1, slot, &tid));
  assert_ok(dt__queue_stat(q, &st));
  uint64_t a = allocated(f);
  assert_true(a >= st.used_bytes + 256 * 1024);
  assert_true(a <= st.used_bytes + 1 * MiB);

  size_t n = 1 * MiB;
  uint8_t *data = malloc(n);
  assert_non_null(data);
  pattern(data, n, 3);
  for (int i = 0; i < 12; i++) {
    assert_ok(dt__queue_blob_put(q, data, n, &id));
    assert_ok(dt__queue_stat(q, &st));
    a = allocated(f);
    assert_true(st.used_bytes > (uint64_t)(i + 1) * n);
    assert_true(a >= st.used_bytes + 256 * 1024);
    assert_true(a <= st.used_bytes + 256 * 1024 + n + 4 * MiB);
  }
  free(data);
}

/* fallocate as the queue code calls it (this executable's definition is
 * the one its objects bind to): counted, then made. */
static int g_fallocates;
int fallocate(int fd, int mode, off_t offset, off_t len) {
  __atomic_add_fetch(&g_fallocates, 1, __ATOMIC_RELAXED);
  return (int)syscall(SYS_fallocate, fd, mode, offset, len);
}

static int child_one_submit(fx *f, void *arg) {
  (void)arg;
  dt__queue *q = child_open(f);
  uint32_t slot;
  uint64_t tid;
  int before = g_fallocates;
  if (dt__queue_waiter(q, &slot) != 0 || submit_bytes(q, "c", 1, slot, &tid))
    return 10;
  return g_fallocates == before ? 0 : 11;
}

/* A process's first write on a queue that earlier processes allocated
 * ahead finds that out from the file (fstat, fstatfs) and makes no
 * fallocate: on a tmpfs (this fixture's /dev/shm) the allocated bytes
 * are the data pages alone.  The control: this process, which makes the
 * queue (its databases are its first write) and a call, makes one. */
static void test_room_seen_by_a_new_process(void **state) {
  fx *f = *state;
  struct statfs fs;
  assert_int_equal(statfs(f->root, &fs), 0);
  if (fs.f_type != TMPFS_MAGIC)
    fail_msg("%s is not a tmpfs: this test needs /dev/shm", f->root);
  int before = g_fallocates;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t tid;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "t", 1, slot, &tid));
  assert_int_equal(g_fallocates, before + 1);
  reap_ok(f, spawn(f, child_one_submit, NULL));
}

/* mdb_txn_begin as the queue code calls it (this executable's
 * definition is the one its objects bind to): write transactions are
 * counted, then LMDB's own begins them. */
static int g_write_begins, g_read_begins;
int mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags,
                  MDB_txn **txn) {
  static int (*real)(MDB_env *, MDB_txn *, unsigned int, MDB_txn **);
  if (real == NULL)
    *(void **)&real = dlsym(RTLD_NEXT, "mdb_txn_begin");
  __atomic_add_fetch(flags & MDB_RDONLY ? &g_read_begins : &g_write_begins, 1,
                     __ATOMIC_RELAXED);
  return real(env, parent, flags, txn);
}

/* A worker's answer that finds the queue empty lets its next claim sleep
 * without looking again, as long as no task came since (one write
 * transaction fewer per idle call); a task that comes after that answer
 * is claimed at once. */
static void test_claim_after_an_empty_answer(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t t1, t2, id;
  uint8_t *rec;
  size_t size;
  dt__claimed next = {NULL, 0, 0};
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, "a", 1, slot, &t1));
  assert_ok(dt__queue_claim(q, &rec, &size, &id, SEC));
  free(rec);
  assert_int_equal(id, t1);
  assert_int_equal(
      dt__queue_complete_next(q, t1, (const uint8_t *)"A", 1, &next), 0);
  /* One look, at the deadline (a claim always makes that one). */
  int before = g_write_begins;
  assert_int_equal(dt__queue_claim(q, &rec, &size, &id, SEC / 50),
                   -ETIMEDOUT);
  assert_int_equal(g_write_begins, before + 1);
  /* The control: a claim with nothing answered before it looks first,
   * then at the deadline. */
  before = g_write_begins;
  assert_int_equal(dt__queue_claim(q, &rec, &size, &id, SEC / 50),
                   -ETIMEDOUT);
  assert_int_equal(g_write_begins, before + 2);

  /* Answered empty again, then a task: the claim takes it at once. */
  assert_ok(submit_bytes(q, "b", 1, slot, &t2));
  assert_ok(dt__queue_claim(q, &rec, &size, &id, SEC));
  free(rec);
  assert_int_equal(
      dt__queue_complete_next(q, t2, (const uint8_t *)"B", 1, &next), 0);
  uint64_t t3;
  assert_ok(submit_bytes(q, "c", 1, slot, &t3));
  uint64_t t0 = dt__now_ns();
  assert_ok(dt__queue_claim(q, &rec, &size, &id, 10 * SEC));
  free(rec);
  assert_int_equal(id, t3);
  assert_true(dt__now_ns() - t0 < SEC);
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

/* Reads q's stats n times; returns 0, or the first error. */
static int stat_n(dt__queue *q, int n) {
  dt__queue_stats st;
  for (int i = 0; i < n; i++) {
    int rc = dt__queue_stat(q, &st);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static void *stat_thread(void *arg) {
  return (void *)(intptr_t)stat_n(arg, 2000);
}

/* Half of the reader table used once (LMDB's count only grows), then
 * left: exits 0. */
static int child_fill_readers(fx *f, void *arg) {
  (void)arg;
  dt__queue *q = child_open(f);
  MDB_env *env = dt__lm(q)->db.env;
  static MDB_txn *t[DT__LMDB_MAX_READERS / 2 + 2];
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &t[i]) != 0)
      return 10;
  return 0;
}

/* A new process on that queue: its reads are begun anew each time
 * (exit 0), none kept. */
static int child_reads_not_kept(fx *f, void *arg) {
  (void)arg;
  dt__queue *q = child_open(f);
  int before = g_read_begins;
  if (stat_n(q, 5) != 0)
    return 10;
  return g_read_begins == before + 5 ? 0 : 11;
}

/* A process's read-only transactions reuse one kept handle (renewed, in
 * the same reader slot), so a read takes neither LMDB's reader lock nor
 * a new slot; threads that read at once each get one, the kept handle
 * going to one of them.  A process that finds half the reader table
 * used keeps none, so that kept handles can never leave other processes
 * without a slot. */
static void test_read_transaction_kept(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  MDB_envinfo info;
  assert_ok(stat_n(q, 1));
  assert_int_equal(mdb_env_info(dt__lm(q)->db.env, &info), 0);
  unsigned slots = info.me_numreaders;
  int before = g_read_begins;
  assert_ok(stat_n(q, 100));
  assert_int_equal(g_read_begins, before);
  assert_int_equal(mdb_env_info(dt__lm(q)->db.env, &info), 0);
  assert_int_equal(info.me_numreaders, slots);

  pthread_t th[3];
  for (int i = 0; i < 3; i++)
    assert_int_equal(pthread_create(&th[i], NULL, stat_thread, q), 0);
  for (int i = 0; i < 3; i++) {
    void *rc;
    assert_int_equal(pthread_join(th[i], &rc), 0);
    assert_int_equal((int)(intptr_t)rc, 0);
  }
  before = g_read_begins;
  assert_ok(stat_n(q, 10));
  assert_int_equal(g_read_begins, before); /* still kept, still good */

  reap_ok(f, spawn(f, child_fill_readers, NULL));
  reap_ok(f, spawn(f, child_reads_not_kept, NULL));
}

/* --------------------------------------------------------------- main */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_concurrency),
      T(test_map_full),
      T(test_malformed_entries_dropped),
      T(test_map_grown_by_another_process),
      T(test_reject_answers_caller),
      T(test_open_unknown_backend),
      T(test_wait_since_and_drop),
      T(test_blobs_and_stat),
      T(test_room_allocated_ahead),
      T(test_room_seen_by_a_new_process),
      T(test_claim_after_an_empty_answer),
      T(test_blob_of_another_caller),
      T(test_read_transaction_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
