/* test_lmdb_limits.c: unit tests of the "lmdb" queue backend's admission
 * (queue/lmdb_gate.c, claim_in and answer_in in queue/lmdb.c: a
 * concurrency gate and a GCRA rate per task, queue/queue.h's dt__admit),
 * of dt__gcra itself, and of its answers cache (queue/lmdb_cache.c:
 * cache_get and cache_put).
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

/* Fails with the error text unless the call returned 0. */
/* The task header's flag that an admission block follows (lmdb_rec.h). */
#define ADMIT_FLAG 0x80000000u

#define FX_DIR "/dev/shm/dtlm-XXXXXX"
#include "lmdbfx.h"
typedef struct pipes {
  int up[2]; /* child -> parent */
  const void *arg; /* the test's own argument for the child */
} pipes;

/* Runs fn in a child given an up pipe, reads the n bytes it reports
 * there, and reaps it (which must exit 0). */
static void spawn_report(fx *f, int (*fn)(fx *, void *), const void *arg,
                         void *out, size_t n) {
  pipes p;
  p.arg = arg;
  assert_int_equal(pipe(p.up), 0);
  pid_t pid = spawn(f, fn, &p);
  close(p.up[1]);
  int got = read_all(p.up[0], out, n);
  close(p.up[0]);
  reap_ok(f, pid);
  assert_int_equal(got, 0);
}

/* ---------------------------------------------------- encode / apply */

typedef struct enc_ctx {
  const uint8_t *data;
  size_t n;
  int calls;
} enc_ctx;

static int enc_copy(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
  enc_ctx *e = ctx;
  (void)id;
  e->calls++;
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
  int from;
} app_ctx;

static int apply_copy(void *ctx, const uint8_t *rec, size_t size, int from) {
  app_ctx *a = ctx;
  a->calls++;
  a->from = from;
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

/* A 64-bit FNV-1a of n bytes (children report records by it). */
static uint64_t fnv(const void *p, size_t n) {
  const uint8_t *b = p;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* An admission: gate (NULL: none) with running places, rate (NULL: none)
 * of interval_ns and burst. */
static dt__admit admit(const char *gate, uint32_t running, const char *rate,
                       uint64_t interval_ns, uint32_t burst) {
  dt__admit a;
  memset(&a, 0, sizeof a);
  if (gate != NULL) {
    snprintf(a.gate, sizeof a.gate, "%s", gate);
    a.running = running;
  }
  if (rate != NULL) {
    snprintf(a.rate, sizeof a.rate, "%s", rate);
    a.interval_ns = interval_ns;
    a.burst = burst;
  }
  return a;
}

/* Submits n bytes of data with admission adm (NULL: none); no cmocka:
 * usable in children.  The encoder must be called once with n bytes. */
static int submit_adm(dt__queue *q, const void *data, size_t n, uint32_t slot,
                      const dt__admit *adm, uint64_t *id) {
  enc_ctx e = {data, n, 0};
  int rc = dt__queue_submit_admit(q, n, enc_copy, &e, slot, adm, id);
  if (rc == 0 && e.calls != 1)
    return -EBADMSG;
  return rc;
}

/* The test's tasks: task i's record is tsize(i) bytes of pattern(i). */
static size_t tsize(int i) { return 1 + (size_t)(i * 37) % 300; }

static void tdata(uint8_t *buf, int i) { pattern(buf, tsize(i), (uint32_t)i); }

/* Submits task i with adm; its id into *id. */
static void submit_task(dt__queue *q, uint32_t slot, const dt__admit *adm,
                        int i, uint64_t *id) {
  uint8_t buf[512];
  tdata(buf, i);
  assert_ok(submit_adm(q, buf, tsize(i), slot, adm, id));
}

/* Claims with timeout_ns and expects task i under id, its record
 * exactly as the encoder wrote it. */
static void claim_is(dt__queue *q, uint64_t timeout_ns, uint64_t id, int i) {
  uint8_t *rec = NULL, want[512];
  size_t size = 0;
  uint64_t cid = 0;
  int rc = dt__queue_claim(q, &rec, &size, &cid, timeout_ns);
  if (rc != 0)
    fail_msg("claim returned %d (%s), expected task %d (id %llu)", rc,
             strerror(-rc), i, (unsigned long long)id);
  if (cid != id)
    fail_msg("claimed id %llu, expected task %d (id %llu)",
             (unsigned long long)cid, i, (unsigned long long)id);
  tdata(want, i);
  if (size != tsize(i))
    fail_msg("task %d: claimed %zu bytes, the encoder wrote %zu", i, size,
             tsize(i));
  assert_memory_equal(rec, want, size);
  free(rec);
}

/* Expects a claim of timeout_ns to time out. */
static void claim_none(dt__queue *q, uint64_t timeout_ns) {
  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t cid = 0;
  int rc = dt__queue_claim(q, &rec, &size, &cid, timeout_ns);
  if (rc != -ETIMEDOUT)
    fail_msg("claim returned %d (id %llu), expected -ETIMEDOUT", rc,
             (unsigned long long)cid);
  assert_null(rec);
  free(rec);
}

static void complete(dt__queue *q, uint64_t id) {
  assert_ok(dt__queue_complete(q, id, (const uint8_t *)"done", 4));
}

/* A claim in a thread: what it got, and when it returned. */
typedef struct claimer {
  dt__queue *q;
  uint64_t timeout_ns;
  int rc;
  uint64_t id;
  uint8_t *rec;
  size_t size;
  uint64_t t_end; /* dt__now_ns when claim returned */
  volatile int done;
} claimer;

static void *claim_thread(void *arg) {
  claimer *c = arg;
  c->rc = dt__queue_claim(c->q, &c->rec, &c->size, &c->id, c->timeout_ns);
  c->t_end = dt__now_ns();
  __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static int claimer_done(claimer *c) {
  return __atomic_load_n(&c->done, __ATOMIC_SEQ_CST);
}

/* Checks what a claimer thread got: task i under id, within limit_ms of
 * t_event. */
static void claimer_got(claimer *c, uint64_t id, int i, uint64_t t_event,
                        uint64_t limit_ms, const char *event) {
  uint8_t want[512];
  if (c->rc != 0)
    fail_msg("the blocked claim returned %d (%s) after %s", c->rc,
             strerror(-c->rc), event);
  uint64_t ms = c->t_end > t_event ? (c->t_end - t_event) / MS : 0;
  if (ms > limit_ms)
    fail_msg("the blocked claim returned %llu ms after %s; expected within "
             "%llu ms (woken, not looking again by itself)",
             (unsigned long long)ms, event, (unsigned long long)limit_ms);
  assert_int_equal(c->id, id);
  tdata(want, i);
  assert_int_equal(c->size, tsize(i));
  assert_memory_equal(c->rec, want, c->size);
  free(c->rec);
  c->rec = NULL;
}

/* ----------------------------------------------------- raw LMDB access */

/* What a child does on the environment directly. */
typedef struct raw_op {
  const char *db;
  uint8_t key[64];
  size_t klen;
  uint8_t val[1024];
  size_t vlen; /* put: the value; get: filled */
  int put;     /* 1: put val; 0: get into val (reported up the pipe) */
} raw_op;

/* Opens the queue's environment with LMDB itself (as queue/lmdb_env.c
 * does) and puts or gets one entry; a get reports [vlen u64][value]
 * (vlen UINT64_MAX when absent). */
static int child_raw(fx *f, void *arg) {
  pipes *p = arg;
  const raw_op *op = p->arg;
  close(p->up[0]);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 16) != 0 ||
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
  if (mdb_dbi_open(txn, op->db, 0, &dbi) != 0)
    return 13;
  MDB_val k = {op->klen, (void *)op->key}, v = {op->vlen, (void *)op->val};
  if (op->put) {
    if (mdb_put(txn, dbi, &k, &v, 0) != 0)
      return 14;
    if (mdb_txn_commit(txn) != 0)
      return 15;
    write_all(p->up[1], "k", 1);
  } else {
    int rc = mdb_get(txn, dbi, &k, &v);
    uint64_t n = rc == 0 ? v.mv_size : UINT64_MAX;
    write_all(p->up[1], &n, 8);
    if (rc == 0)
      write_all(p->up[1], v.mv_data, v.mv_size);
    mdb_txn_abort(txn);
  }
  mdb_env_close(env);
  return 0;
}

static void raw_put(fx *f, const char *db, const void *key, size_t klen,
                    const void *val, size_t vlen) {
  raw_op *op = calloc(1, sizeof *op);
  assert_non_null(op);
  op->db = db;
  memcpy(op->key, key, klen);
  op->klen = klen;
  memcpy(op->val, val, vlen);
  op->vlen = vlen;
  op->put = 1;
  char ok;
  spawn_report(f, child_raw, op, &ok, 1);
  free(op);
}

/* Reads db's value under key into val (cap bytes); returns its size, or
 * -1 when absent. */
static long raw_get(fx *f, const char *db, const void *key, size_t klen,
                    void *val, size_t cap) {
  raw_op *op = calloc(1, sizeof *op);
  assert_non_null(op);
  op->db = db;
  memcpy(op->key, key, klen);
  op->klen = klen;
  pipes p;
  p.arg = op;
  assert_int_equal(pipe(p.up), 0);
  pid_t pid = spawn(f, child_raw, &p);
  close(p.up[1]);
  uint64_t n = 0;
  int got = read_all(p.up[0], &n, 8);
  long r = -1;
  if (got == 0 && n != UINT64_MAX) {
    if (n > cap)
      fail_msg("raw value of %llu bytes, room for %zu",
               (unsigned long long)n, cap);
    got = read_all(p.up[0], val, (size_t)n);
    r = (long)n;
  }
  close(p.up[0]);
  reap_ok(f, pid);
  free(op);
  assert_int_equal(got, 0);
  return r;
}

static void id_key(uint8_t *k, uint64_t id) {
  for (int i = 7; i >= 0; i--, id >>= 8)
    k[i] = (uint8_t)id;
}

static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

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
  app_ctx ac = {back, sizeof back, 0, 0, -1};
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

/* The same for a worker in another process. */
static int child_claim_report(fx *f, void *arg) {
  pipes *p = arg;
  close(p->up[0]);
  dt__queue *q = child_open(f);
  uint8_t *rec = NULL;
  size_t size = 0;
  uint64_t r[4] = {0, 0, 0, 0}; /* rc, id, fnv of the record, end time */
  int rc = dt__queue_claim(q, &rec, &size, &r[1], 5 * SEC);
  r[3] = dt__now_ns();
  r[0] = (uint64_t)(int64_t)rc;
  r[2] = rc == 0 ? fnv(rec, size) : 0;
  write_all(p->up[1], r, sizeof r);
  _exit(0); /* the claim stays held by a worker that is gone */
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
  app_ctx ac = {back, sizeof back, 0, 0, -1};
  assert_ok(dt__queue_wait(q, t1, slot, apply_copy, &ac, SEC));
  assert_int_equal(ac.got, 5);
  assert_int_equal(ac.from, DT__FROM_RUNNER);
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
  app_ctx ac = {back, sizeof back, 0, 0, -1};
  assert_ok(dt__queue_wait(q, t1, slot, apply_copy, &ac, SEC));
  assert_int_equal(ac.from, DT__FROM_WORKER);
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
  app_ctx ac = {back, sizeof back, 0, 0, -1};
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

/* ============================================================= cache */

static dt__cache_key ckey(uint32_t seed, const char *entry, uint64_t ttl,
                          uint64_t max) {
  dt__cache_key k;
  memset(&k, 0, sizeof k);
  pattern(k.hash, sizeof k.hash, seed);
  k.entry = entry;
  k.ttl_ns = ttl;
  k.max_bytes = max;
  return k;
}

/* Puts an answer of n bytes of pattern(seed) under k. */
static void cput(dt__queue *q, const dt__cache_key *k, uint32_t seed,
                 size_t n) {
  uint8_t buf[4096];
  assert_true(n <= sizeof buf);
  pattern(buf, n, seed);
  assert_ok(dt__queue_cache_put(q, k, buf, n));
}

/* 1 when k holds the answer of n bytes of pattern(seed), 0 on a miss
 * (anything else fails). */
static int cget(dt__queue *q, const dt__cache_key *k, uint32_t seed,
                size_t n) {
  uint8_t *rec = (uint8_t *)1, want[4096];
  size_t size = 12345;
  int rc = dt__queue_cache_get(q, k, &rec, &size);
  if (rc == 0) {
    assert_null(rec);
    return 0;
  }
  if (rc != 1)
    fail_msg("cache_get returned %d (%s)", rc, rc < 0 ? strerror(-rc) : "");
  assert_non_null(rec);
  pattern(want, n, seed);
  if (size != n)
    fail_msg("cache_get gave %zu bytes, expected %zu", size, n);
  assert_memory_equal(rec, want, n);
  free(rec);
  return 1;
}

/* The bytes an answer of n bytes takes in entry's budget. */
static uint64_t cost(const char *entry, size_t n) {
  return 10 + strlen(entry) + n;
}

static void test_cache_round_trip(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  dt__cache_key k = ckey(1, "f", 0, MiB);
  assert_int_equal(cget(q, &k, 0, 0), 0); /* empty */
  cput(q, &k, 77, 1000);
  /* A malloc'd copy, byte for byte: the caller may keep and free it. */
  uint8_t *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  assert_int_equal(dt__queue_cache_get(q, &k, &a, &na), 1);
  assert_int_equal(dt__queue_cache_get(q, &k, &b, &nb), 1);
  assert_true(a != b);
  assert_int_equal(na, 1000);
  assert_int_equal(nb, 1000);
  assert_memory_equal(a, b, 1000);
  a[0] ^= 0xff;
  free(a);
  assert_int_equal(cget(q, &k, 77, 1000), 1);
  free(b);
  /* Another hash: a miss.  The same hash for another entry: a miss too,
   * and it is left for its own entry. */
  dt__cache_key other = ckey(2, "f", 0, MiB);
  assert_int_equal(cget(q, &other, 0, 0), 0);
  dt__cache_key g = ckey(1, "g", 0, MiB);
  assert_int_equal(cget(q, &g, 77, 1000), 0);
  assert_int_equal(cget(q, &k, 77, 1000), 1);
  /* An empty answer is an answer. */
  dt__cache_key e = ckey(3, "f", 0, MiB);
  cput(q, &e, 0, 0);
  uint8_t *r = NULL;
  size_t n = 99;
  assert_int_equal(dt__queue_cache_get(q, &e, &r, &n), 1);
  assert_int_equal(n, 0);
  assert_non_null(r);
  free(r);
  /* A replacement under the same hash is what a get gives. */
  cput(q, &k, 78, 10);
  assert_int_equal(cget(q, &k, 78, 10), 1);
}

/* An answer older than ttl is not given, and is deleted (a get without
 * ttl then misses too); a younger one is. */
static void test_cache_ttl(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  dt__cache_key k = ckey(1, "f", 100 * MS, MiB);
  dt__cache_key forever = ckey(1, "f", 0, MiB);
  cput(q, &k, 5, 64);
  assert_int_equal(cget(q, &k, 5, 64), 1);
  sleep_ms(150);
  assert_int_equal(cget(q, &k, 5, 64), 0);
  assert_int_equal(cget(q, &forever, 5, 64), 0);
  /* Its bytes left the budget: three of 1/3 the budget fit after. */
  const uint64_t max = 3 * cost("f", 100) + 5;
  dt__cache_key big = ckey(9, "f", 100 * MS, max);
  cput(q, &big, 1, 100);
  sleep_ms(150);
  assert_int_equal(cget(q, &big, 1, 100), 0);
  dt__cache_key ks[3];
  for (int i = 0; i < 3; i++) {
    ks[i] = ckey(20 + (uint32_t)i, "f", 0, max);
    cput(q, &ks[i], (uint32_t)i, 100);
  }
  for (int i = 0; i < 3; i++)
    assert_int_equal(cget(q, &ks[i], (uint32_t)i, 100), 1);
}

/* Least recently used first out, by bytes: three fit, a get refreshes
 * the first, and a fourth put evicts the second. */
static void test_cache_lru(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  const uint64_t max = 3 * cost("lru", 200) + 50;
  dt__cache_key k[4];
  for (int i = 0; i < 4; i++)
    k[i] = ckey(100 + (uint32_t)i, "lru", 0, max);
  for (int i = 0; i < 3; i++)
    cput(q, &k[i], (uint32_t)i, 200);
  assert_int_equal(cget(q, &k[0], 0, 200), 1); /* refreshes #0 */
  cput(q, &k[3], 3, 200);
  assert_int_equal(cget(q, &k[1], 1, 200), 0);
  assert_int_equal(cget(q, &k[0], 0, 200), 1);
  assert_int_equal(cget(q, &k[2], 2, 200), 1);
  assert_int_equal(cget(q, &k[3], 3, 200), 1);
  /* Order now 0, 2, 3: one more evicts #0, then #2. */
  dt__cache_key k4 = ckey(104, "lru", 0, max);
  cput(q, &k4, 4, 200);
  assert_int_equal(cget(q, &k[0], 0, 200), 0);
  assert_int_equal(cget(q, &k[2], 2, 200), 1);
  assert_int_equal(cget(q, &k[3], 3, 200), 1);
  assert_int_equal(cget(q, &k4, 4, 200), 1);
  /* A large answer evicts as many as it needs. */
  dt__cache_key huge = ckey(200, "lru", 0, max);
  cput(q, &huge, 9, (size_t)(max - cost("lru", 0)));
  assert_int_equal(cget(q, &k[2], 2, 200), 0);
  assert_int_equal(cget(q, &k[3], 3, 200), 0);
  assert_int_equal(cget(q, &k4, 4, 200), 0);
  assert_int_equal(cget(q, &huge, 9, (size_t)(max - cost("lru", 0))), 1);
}

/* An answer larger than max_bytes is not stored (0 all the same), and
 * evicts nothing. */
static void test_cache_too_large(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  const uint64_t max = 2000;
  dt__cache_key small = ckey(1, "f", 0, max);
  cput(q, &small, 1, 100);
  dt__cache_key big = ckey(2, "f", 0, max);
  uint8_t buf[4096];
  pattern(buf, sizeof buf, 2);
  assert_int_equal(dt__queue_cache_put(q, &big, buf, 2000), 0);
  assert_int_equal(cget(q, &big, 2, 2000), 0);
  assert_int_equal(cget(q, &small, 1, 100), 1);
  /* Exactly max_bytes with its header: stored. */
  size_t fit = (size_t)(max - cost("f", 0));
  assert_ok(dt__queue_cache_put(q, &big, buf, fit));
  uint8_t *r;
  size_t n;
  assert_int_equal(dt__queue_cache_get(q, &big, &r, &n), 1);
  assert_int_equal(n, fit);
  assert_memory_equal(r, buf, fit);
  free(r);
}

/* Two entries have separate budgets. */
static void test_cache_entries_separate(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  const uint64_t max = 3 * cost("e1", 300) + 10;
  dt__cache_key a[3], b[3];
  for (int i = 0; i < 3; i++) {
    a[i] = ckey(10 + (uint32_t)i, "e1", 0, max);
    b[i] = ckey(20 + (uint32_t)i, "e2", 0, max);
    cput(q, &a[i], (uint32_t)i, 300);
    cput(q, &b[i], 10 + (uint32_t)i, 300);
  }
  for (int i = 0; i < 3; i++) {
    assert_int_equal(cget(q, &a[i], (uint32_t)i, 300), 1);
    assert_int_equal(cget(q, &b[i], 10 + (uint32_t)i, 300), 1);
  }
  /* A fourth in e2 evicts from e2 only. */
  dt__cache_key b3 = ckey(23, "e2", 0, max);
  cput(q, &b3, 13, 300);
  assert_int_equal(cget(q, &b[0], 10, 300), 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(cget(q, &a[i], (uint32_t)i, 300), 1);
}

/* Replacing an answer under one hash many times keeps the count right:
 * three others still fit beside the last one, and then the replaced one
 * is the least recently used. */
static void test_cache_replace_counts(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  const uint64_t max = 4 * cost("f", 200) + 10;
  dt__cache_key h = ckey(1, "f", 0, max);
  for (int i = 0; i < 50; i++)
    cput(q, &h, (uint32_t)i, 100 + (size_t)(i * 7) % 101);
  cput(q, &h, 1000, 200);
  dt__cache_key k[3];
  for (int i = 0; i < 3; i++) {
    k[i] = ckey(10 + (uint32_t)i, "f", 0, max);
    cput(q, &k[i], (uint32_t)i, 200);
  }
  assert_int_equal(cget(q, &h, 1000, 200), 1);
  for (int i = 0; i < 3; i++)
    assert_int_equal(cget(q, &k[i], (uint32_t)i, 200), 1);
  /* Moving an answer to another entry takes its bytes with it. */
  dt__cache_key moved = ckey(1, "g", 0, max);
  cput(q, &moved, 2000, 200);
  assert_int_equal(cget(q, &h, 1000, 200), 0);
  dt__cache_key k3 = ckey(13, "f", 0, max);
  cput(q, &k3, 3, 200);
  for (int i = 0; i < 3; i++)
    assert_int_equal(cget(q, &k[i], (uint32_t)i, 200), 1);
  assert_int_equal(cget(q, &k3, 3, 200), 1);
  assert_int_equal(cget(q, &moved, 2000, 200), 1);
}

/* The cache is kept with the queue: closed and opened again, it is all
 * there, and its use order too. */
static void test_cache_survives_reopen(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  const uint64_t max = 3 * cost("f", 100) + 10;
  dt__cache_key k[4];
  for (int i = 0; i < 4; i++)
    k[i] = ckey(30 + (uint32_t)i, "f", 0, max);
  for (int i = 0; i < 3; i++)
    cput(q, &k[i], (uint32_t)i, 100);
  assert_int_equal(cget(q, &k[0], 0, 100), 1);
  dt__queue_close(f->q);
  f->q = NULL;
  q = open_q(f);
  for (int i = 0; i < 3; i++)
    assert_int_equal(cget(q, &k[i], (uint32_t)i, 100), 1);
  /* Order 0, 1, 2 after those gets: the fourth evicts #0. */
  cput(q, &k[3], 3, 100);
  assert_int_equal(cget(q, &k[0], 0, 100), 0);
  assert_int_equal(cget(q, &k[1], 1, 100), 1);
}

/* A cache value that is not one of this layout (written by hand) is
 * treated as absent and deleted, not read past its end; a put under its
 * hash then works. */
static void test_cache_corrupt_value(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  dt__cache_key k = ckey(1, "f", 0, MiB);
  raw_put(f, "cache", k.hash, sizeof k.hash, "bad", 3);
  assert_int_equal(cget(q, &k, 0, 0), 0);
  uint8_t v[1024];
  assert_int_equal(raw_get(f, "cache", k.hash, sizeof k.hash, v, sizeof v),
                   -1);
  /* An entry length past the value's end, and one of 0. */
  uint8_t bad[20] = {0};
  uint16_t elen = 200;
  memcpy(bad + 8, &elen, 2);
  raw_put(f, "cache", k.hash, sizeof k.hash, bad, sizeof bad);
  assert_int_equal(cget(q, &k, 0, 0), 0);
  elen = 0;
  memcpy(bad + 8, &elen, 2);
  raw_put(f, "cache", k.hash, sizeof k.hash, bad, sizeof bad);
  assert_int_equal(cget(q, &k, 0, 0), 0);
  /* A put replaces a bad value too. */
  raw_put(f, "cache", k.hash, sizeof k.hash, "bad", 3);
  cput(q, &k, 4, 40);
  assert_int_equal(cget(q, &k, 4, 40), 1);
}

/* A real answer spoilt by hand: absent, and its bytes leave the entry's
 * budget with it (three answers of a third of the budget still fit). */
static void test_cache_corrupt_answer_frees_budget(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  const uint64_t max = 3 * cost("f", 300) + 10;
  dt__cache_key spoilt = ckey(1, "f", 0, max);
  cput(q, &spoilt, 1, 300);
  raw_put(f, "cache", spoilt.hash, sizeof spoilt.hash, "bad", 3);
  assert_int_equal(cget(q, &spoilt, 1, 300), 0);
  dt__cache_key k[3];
  for (int i = 0; i < 3; i++) {
    k[i] = ckey(10 + (uint32_t)i, "f", 0, max);
    cput(q, &k[i], (uint32_t)i, 300);
  }
  for (int i = 0; i < 3; i++)
    if (cget(q, &k[i], (uint32_t)i, 300) != 1)
      fail_msg("answer %d of 3 (each a third of max_bytes) was evicted: the "
               "spoilt answer's bytes still count against the entry", i);
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
      T(test_rate_one_per_interval),
      T(test_rate_burst),
      T(test_rate_across_processes),
      T(test_gate_refusal_spends_no_rate),
      T(test_gated_cancel_and_stats),
      T(test_gate_looks_again_within_a_second),
      T(test_slot_out_of_range),
      T(test_crafted_long_names),
      T(test_gcra_burst_one),
      T(test_gcra_burst),
      T(test_gcra_boundaries),
      T(test_gcra_large_values),
      T(test_cache_round_trip),
      T(test_cache_ttl),
      T(test_cache_lru),
      T(test_cache_too_large),
      T(test_cache_entries_separate),
      T(test_cache_replace_counts),
      T(test_cache_survives_reopen),
      T(test_cache_corrupt_value),
      T(test_cache_corrupt_answer_frees_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
