/* test_lmdb_cache.c: the answers cache of the "lmdb" queue backend
 * (queue/lmdb_cache.c, the cache_get and cache_put operations of
 * queue/queue.h) on real LMDB files: round trips, ttl, LRU eviction by
 * bytes within an entry's budget, answers too large to keep, entries'
 * separate budgets, replacements, a cache kept across reopening, and
 * values damaged by hand.  Admission is test_lmdb_limits.c's. */
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

#define FX_DIR "/dev/shm/dtlc-XXXXXX"
#include "lmdbfx.h"
#include "gatefx.h"
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

/* A queue made by the version before the cache (four databases: tasks,
 * claims, results, blobs) opens as it is: its task is still there, and
 * the cache's databases are created at that open (the read-only open of
 * the databases finds them missing and the write one makes them). */
static void test_queue_of_previous_version(void **state) {
  fx *f = *state;
  assert_int_equal(mkdir(f->qpath, 0700), 0);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  assert_int_equal(mdb_env_create(&env), 0);
  assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
  assert_int_equal(mdb_env_set_mapsize(env, (size_t)f->cfg->map_size), 0);
  assert_int_equal(mdb_env_open(env, f->qpath, MDB_NOSYNC | MDB_WRITEMAP,
                                0600),
                   0);
  assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
  static const char *const old[] = {"tasks", "claims", "results", "blobs"};
  for (int i = 0; i < 4; i++)
    assert_int_equal(mdb_dbi_open(txn, old[i], MDB_CREATE, &dbi), 0);
  assert_int_equal(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  dt__queue *q = open_q(f);
  uint32_t slot;
  uint64_t id;
  assert_int_equal(dt__queue_waiter(q, &slot), 0);
  enc_ctx e = {(const uint8_t *)"old", 3, 0, 0, 0};
  assert_int_equal(dt__queue_submit(q, 3, enc_copy, &e, slot, &id), 0);
  const dt__cache_key k = ckey(77, "f", 0, 1 << 20);
  cput(q, &k, 77, 100);
  assert_int_equal(cget(q, &k, 77, 100), 1);
  dt__queue_close(f->q);
  f->q = NULL;
  q = open_q(f); /* now found by the read-only open */
  assert_int_equal(cget(q, &k, 77, 100), 1);
  uint8_t *rec;
  size_t size;
  uint64_t cid;
  assert_int_equal(dt__queue_claim(q, &rec, &size, &cid, 1000 * MS), 0);
  assert_int_equal(cid, id);
  assert_int_equal(size, 3);
  assert_memory_equal(rec, "old", 3);
  free(rec);
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
      T(test_cache_round_trip),
      T(test_cache_ttl),
      T(test_cache_lru),
      T(test_cache_too_large),
      T(test_cache_entries_separate),
      T(test_cache_replace_counts),
      T(test_cache_survives_reopen),
      T(test_queue_of_previous_version),
      T(test_cache_corrupt_value),
      T(test_cache_corrupt_answer_frees_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
