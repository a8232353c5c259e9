/* lmdbtx.c: what LMDB's own transactions cost one dtask call, with no
 * other process, no wake and no marshalling.
 *
 * Usage: lmdbtx DIR ROUNDS
 * Opens an environment in DIR (which must exist and be empty; on a tmpfs,
 * as dtask's queue is) with the queue's flags and three databases, and
 * makes ROUNDS times the transactions of one call as queue/lmdb.c makes
 * them while the worker is idle:
 *   the caller's submit   a write: drops its previous answer, puts the
 *                         task (24 bytes of record);
 *   the worker's claim    a write: takes the oldest task with a cursor,
 *                         deletes it, puts its copy in claims under a
 *                         lease;
 *   the worker's answer   a write: deletes the claim, puts the answer;
 *   the caller's read     a read: finds the answer.
 * After an untimed tenth as many rounds, prints the p50, p99 and p99.9
 * of one round in microseconds ("lmdb_p50 US", "lmdb_p99 US",
 * "lmdb_p999 US").  Exits 1 when
 * LMDB fails, saying where. */
#include "bench.h"
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/lmdb_env.h" /* the queue's flags and keys, header only */

static MDB_env *env;
static MDB_dbi tasks, claims, results;

#define CHECK(x)                                                       \
  do {                                                                 \
    int rc_ = (x);                                                     \
    if (rc_ != 0) {                                                    \
      fprintf(stderr, "lmdbtx: %s: %s\n", #x, mdb_strerror(rc_));      \
      exit(1);                                                         \
    }                                                                  \
  } while (0)

/* One call's transactions; id is the call's (its key as the queue's). */
static void round_of(uint64_t id) {
  uint8_t key[8], prev[8], rec[36] = {0};
  dt__lmdb_key(key, id);
  dt__lmdb_key(prev, id - 1);
  MDB_txn *t;
  MDB_val k = {8, key}, pk = {8, prev}, v = {24, rec}, got;
  /* submit */
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  int rc = mdb_del(t, results, &pk, NULL);
  if (rc != 0 && rc != MDB_NOTFOUND)
    CHECK(rc);
  CHECK(mdb_put(t, tasks, &k, &v, MDB_NOOVERWRITE));
  CHECK(mdb_txn_commit(t));
  /* claim */
  MDB_cursor *c;
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  CHECK(mdb_cursor_open(t, tasks, &c));
  MDB_val ck, cv;
  CHECK(mdb_cursor_get(c, &ck, &cv, MDB_FIRST));
  memcpy(rec + 12, cv.mv_data, cv.mv_size);
  uint8_t ckey[8];
  memcpy(ckey, ck.mv_data, 8);
  CHECK(mdb_cursor_del(c, 0));
  mdb_cursor_close(c);
  MDB_val clk = {8, ckey}, clv = {36, rec};
  CHECK(mdb_put(t, claims, &clk, &clv, 0));
  CHECK(mdb_txn_commit(t));
  /* answer */
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  CHECK(mdb_del(t, claims, &k, NULL));
  MDB_val rv = {16, rec};
  CHECK(mdb_put(t, results, &k, &rv, 0));
  CHECK(mdb_txn_commit(t));
  /* read */
  CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &t));
  CHECK(mdb_get(t, results, &k, &got));
  mdb_txn_abort(t);
}

int main(int argc, char **argv) {
  int rounds = argc == 3 ? atoi(argv[2]) : 0;
  if (rounds < 1) {
    fprintf(stderr, "usage: lmdbtx DIR ROUNDS\n");
    return 2;
  }
  CHECK(mdb_env_create(&env));
  CHECK(mdb_env_set_maxdbs(env, 4));
  CHECK(mdb_env_set_mapsize(env, (size_t)64 << 20));
  CHECK(mdb_env_open(env, argv[1], DT__LMDB_FLAGS, 0600));
  MDB_txn *t;
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  CHECK(mdb_dbi_open(t, "tasks", MDB_CREATE, &tasks));
  CHECK(mdb_dbi_open(t, "claims", MDB_CREATE, &claims));
  CHECK(mdb_dbi_open(t, "results", MDB_CREATE, &results));
  CHECK(mdb_txn_commit(t));

  int warm = rounds / 10 > 0 ? rounds / 10 : 1;
  double *d = malloc(sizeof *d * (size_t)rounds);
  if (d == NULL)
    return 1;
  uint64_t id = 1;
  for (int i = 0; i < warm; i++)
    round_of(id++);
  for (int i = 0; i < rounds; i++) {
    double a = bench_now();
    round_of(id++);
    d[i] = bench_now() - a;
  }
  qsort(d, (size_t)rounds, sizeof *d, bench_cmp);
  printf("lmdb_p50 %.2f\nlmdb_p99 %.2f\nlmdb_p999 %.2f\n",
         bench_quantile(d, (size_t)rounds, 0.5) / 1e3,
         bench_quantile(d, (size_t)rounds, 0.99) / 1e3,
         bench_quantile(d, (size_t)rounds, 0.999) / 1e3);
  mdb_env_close(env);
  free(d);
  return 0;
}
