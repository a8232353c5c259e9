/* lmdbtx.c: what LMDB's own transactions cost one dtask call, with no
 * marshalling: alone in one process, and between two processes that hand
 * a futex token back and forth on one CPU, as a caller and its worker do.
 *
 * Usage: lmdbtx DIR ROUNDS
 *        lmdbtx --ring DIR ROUNDS
 * DIR must exist and be empty (on a tmpfs, as dtask's queue is); the
 * environment is opened there with the queue's flags and three
 * databases.  The transactions of one call, as queue/lmdb.c makes them
 * while the worker is idle:
 *   the caller's submit   a write: drops its previous answer, puts the
 *                         task (24 bytes of record);
 *   the worker's claim    a write: takes the oldest task with a cursor,
 *                         deletes it, puts its copy in claims under a
 *                         lease;
 *   the worker's answer   a write: deletes the claim, puts the answer;
 *   the caller's read     a read, in a kept read-only transaction (reset
 *                         and renewed, as queue/lmdb_env.c keeps one):
 *                         finds the answer.
 * Alone, ROUNDS rounds of them in one process; prints "lmdb_p50 US",
 * "lmdb_p99 US" and "lmdb_p999 US" of one round.
 *
 * With --ring, the process forks a worker (both stay on the CPUs they
 * were given: run it under taskset -c CPU for one CPU), and each round
 * is one call's round trip: the caller's part, the token to the worker,
 * the worker's part, the token back, the rest of the caller's.  Three
 * variants, ROUNDS rounds each:
 *   ring0  the token alone, no LMDB (the futex handoff of bench/anchors.c
 *          in this program);
 *   ring3  today's transactions above: three writes and a read;
 *   ring2  the leanest an LMDB queue with leases could make: the caller
 *          puts the task straight into claims under the worker's lease,
 *          the worker reads it (a read) and answers (a write), the
 *          caller reads the answer: two writes and two reads.
 * Prints "ring0_p50 US" ... "ring2_p999 US" of one round trip.
 *
 * Each run starts with an untimed tenth as many rounds.  Exits 1 when
 * LMDB or a process fails, saying where. */
#include "bench.h"
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "queue/lmdb_env.h" /* the queue's flags and keys, header only */

static MDB_env *env;
static MDB_dbi tasks, claims, results;
static MDB_txn *kept; /* the read-only transaction kept between reads */

#define CHECK(x)                                                       \
  do {                                                                 \
    int rc_ = (x);                                                     \
    if (rc_ != 0) {                                                    \
      fprintf(stderr, "lmdbtx: %s: %s\n", #x, mdb_strerror(rc_));      \
      exit(1);                                                         \
    }                                                                  \
  } while (0)

/* Opens the environment in dir and its three databases, and begins the
 * kept read-only transaction (reset until its first read).  A process
 * opens its own after fork, as LMDB requires. */
static void open_env(const char *dir) {
  CHECK(mdb_env_create(&env));
  CHECK(mdb_env_set_maxdbs(env, 4));
  CHECK(mdb_env_set_mapsize(env, (size_t)64 << 20));
  CHECK(mdb_env_open(env, dir, DT__LMDB_FLAGS, 0600));
  MDB_txn *t;
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  CHECK(mdb_dbi_open(t, "tasks", MDB_CREATE, &tasks));
  CHECK(mdb_dbi_open(t, "claims", MDB_CREATE, &claims));
  CHECK(mdb_dbi_open(t, "results", MDB_CREATE, &results));
  CHECK(mdb_txn_commit(t));
  CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &kept));
  mdb_txn_reset(kept);
}

/* The caller's submit of call id: drops the answer of id - 1 and puts
 * the task into dbi (tasks; claims, under a lease, for ring2). */
static void submit(uint64_t id, MDB_dbi dbi) {
  uint8_t key[8], prev[8], rec[36] = {0};
  dt__lmdb_key(key, id);
  dt__lmdb_key(prev, id - 1);
  MDB_txn *t;
  MDB_val k = {8, key}, pk = {8, prev};
  MDB_val v = {dbi == claims ? 36 : 24, rec};
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  int rc = mdb_del(t, results, &pk, NULL);
  if (rc != 0 && rc != MDB_NOTFOUND)
    CHECK(rc);
  CHECK(mdb_put(t, dbi, &k, &v, MDB_NOOVERWRITE));
  CHECK(mdb_txn_commit(t));
}

/* The worker's claim: the oldest task moves to claims, copied into rec
 * (36 bytes). */
static void claim(uint8_t *rec) {
  MDB_txn *t;
  MDB_cursor *c;
  MDB_val ck, cv;
  uint8_t ckey[8];
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  CHECK(mdb_cursor_open(t, tasks, &c));
  CHECK(mdb_cursor_get(c, &ck, &cv, MDB_FIRST));
  memcpy(rec + 12, cv.mv_data, cv.mv_size < 24 ? cv.mv_size : 24);
  memcpy(ckey, ck.mv_data, 8);
  CHECK(mdb_cursor_del(c, 0));
  mdb_cursor_close(c);
  MDB_val clk = {8, ckey}, clv = {36, rec};
  CHECK(mdb_put(t, claims, &clk, &clv, 0));
  CHECK(mdb_txn_commit(t));
}

/* A read of call id's entry in dbi through the kept transaction, copied
 * into rec (up to 36 bytes). */
static void look(uint64_t id, MDB_dbi dbi, uint8_t *rec) {
  uint8_t key[8];
  dt__lmdb_key(key, id);
  MDB_val k = {8, key}, v;
  CHECK(mdb_txn_renew(kept));
  CHECK(mdb_get(kept, dbi, &k, &v));
  memcpy(rec, v.mv_data, v.mv_size < 36 ? v.mv_size : 36);
  mdb_txn_reset(kept);
}

/* The worker's answer to call id: its claim goes, the answer (16 bytes
 * of rec) comes. */
static void answer(uint64_t id, const uint8_t *rec) {
  uint8_t key[8];
  dt__lmdb_key(key, id);
  MDB_txn *t;
  MDB_val k = {8, key}, rv = {16, (void *)rec};
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  CHECK(mdb_del(t, claims, &k, NULL));
  CHECK(mdb_put(t, results, &k, &rv, 0));
  CHECK(mdb_txn_commit(t));
}

/* Prints the percentiles of the n timings (ns) in t, sorted here, in
 * microseconds under name. */
static void report(const char *name, double *t, size_t n) {
  qsort(t, n, sizeof *t, bench_cmp);
  printf("%s_p50 %.2f\n%s_p99 %.2f\n%s_p999 %.2f\n", name,
         bench_quantile(t, n, 0.5) / 1e3, name,
         bench_quantile(t, n, 0.99) / 1e3, name,
         bench_quantile(t, n, 0.999) / 1e3);
}

/* One process: warm + rounds rounds of all four, the last timed into t. */
static void alone(const char *dir, int warm, int rounds, double *t) {
  uint8_t rec[36];
  open_env(dir);
  for (int i = 0; i < warm + rounds; i++) {
    uint64_t id = (uint64_t)i + 1;
    double a = bench_now();
    submit(id, tasks);
    claim(rec);
    answer(id, rec);
    look(id, results, rec);
    if (i >= warm)
      t[i - warm] = bench_now() - a;
  }
  mdb_txn_abort(kept);
  mdb_env_close(env);
}

/* One variant of the ring (0, 3 or 2 as the header says): the worker is
 * a child with its own environment in dir; the token is *w, odd when
 * the worker has a call.  Call ids are base + 1 on.  Times the last
 * rounds of warm + rounds round trips into t. */
static void ring(int variant, const char *dir, uint32_t *w, uint64_t base,
                 int warm, int rounds, double *t) {
  uint32_t total = (uint32_t)(warm + rounds);
  uint8_t rec[36] = {0};
  *w = 0;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("lmdbtx: fork");
    exit(1);
  }
  if (pid == 0) {
    if (variant != 0)
      open_env(dir);
    for (uint32_t i = 0; i < total; i++) {
      uint64_t id = base + i + 1;
      bench_fwait(w, 2 * i);
      if (variant == 3)
        claim(rec);
      else if (variant == 2)
        look(id, claims, rec);
      if (variant != 0)
        answer(id, rec);
      bench_fset(w, 2 * i + 2);
    }
    _exit(0);
  }
  if (variant != 0)
    open_env(dir);
  for (uint32_t i = 0; i < total; i++) {
    uint64_t id = base + i + 1;
    double a = bench_now();
    if (variant != 0)
      submit(id, variant == 2 ? claims : tasks);
    bench_fset(w, 2 * i + 1);
    bench_fwait(w, 2 * i + 1);
    if (variant != 0)
      look(id, results, rec);
    if (i >= (uint32_t)warm)
      t[i - (uint32_t)warm] = bench_now() - a;
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
    fprintf(stderr, "lmdbtx: the worker of ring%d failed\n", variant);
    exit(1);
  }
  if (variant != 0) {
    mdb_txn_abort(kept);
    mdb_env_close(env);
  }
}

int main(int argc, char **argv) {
  int on_ring = argc == 4 && strcmp(argv[1], "--ring") == 0;
  int rounds = argc == 3 || on_ring ? atoi(argv[argc - 1]) : 0;
  if (rounds < 1) {
    fprintf(stderr, "usage: lmdbtx [--ring] DIR ROUNDS\n");
    return 2;
  }
  const char *dir = argv[argc - 2];
  int warm = rounds / 10 > 0 ? rounds / 10 : 1;
  double *t = malloc(sizeof *t * (size_t)rounds);
  if (t == NULL)
    return 1;
  if (!on_ring) {
    alone(dir, warm, rounds, t);
    report("lmdb", t, (size_t)rounds);
    free(t);
    return 0;
  }
  uint32_t *w = mmap(NULL, sizeof *w, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (w == MAP_FAILED) {
    perror("lmdbtx: mmap");
    return 1;
  }
  /* ring2 follows ring3 in the same environment, with ids past ring3's:
   * the one answer ring3 leaves behind is not in its way. */
  static const int variants[] = {0, 3, 2};
  for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
    char name[8];
    ring(variants[v], dir, w, (uint64_t)v * (uint64_t)(warm + rounds), warm,
         rounds, t);
    snprintf(name, sizeof name, "ring%d", variants[v]);
    report(name, t, (size_t)rounds);
  }
  free(t);
  return 0;
}
