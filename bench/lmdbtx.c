/* lmdbtx.c: what LMDB's own transactions cost one dtask call, alone in
 * one process and between two processes that hand a futex token back and
 * forth on one CPU, as a caller and its worker do; and the same with
 * dtask's own records in them.
 *
 * Usage: lmdbtx DIR ROUNDS
 *        lmdbtx --ring DIR ROUNDS
 * DIR must exist and be empty (on a tmpfs, as dtask's queue is); the
 * environment is opened there with the queue's flags and three
 * databases.  The transactions of one call, as queue/lmdb.c makes them
 * while the worker is idle:
 *   the caller's submit   a write: drops its previous answer, puts the
 *                         task (a header of 8 bytes, then the record);
 *   the worker's claim    a write: takes the oldest task with a cursor,
 *                         copies it out, deletes it, puts it in claims
 *                         under a lease (12 bytes more);
 *   the worker's answer   a write: deletes the claim, puts the answer;
 *   the caller's read     a read, in a kept read-only transaction (reset
 *                         and renewed, as queue/lmdb_env.c keeps one):
 *                         finds the answer.
 * Alone, ROUNDS rounds of them in one process, with a record of 16 bytes
 * each way; prints "lmdb_p50 US", "lmdb_p99 US" and "lmdb_p999 US" of one
 * round.
 *
 * With --ring, the process forks a worker (both stay on the CPUs they
 * were given: run it under taskset -c CPU for one CPU), and each round
 * is one call's round trip: the caller's part, the token to the worker,
 * the worker's part, the token back, the rest of the caller's.  Five
 * variants, ROUNDS rounds each:
 *   ring0   the token alone, no LMDB (the futex handoff of
 *           bench/anchors.c, in this program);
 *   ring3   today's transactions above: three writes and a read;
 *   ring2   the fewest an LMDB queue with leases could make: the caller
 *           puts the task straight into claims under the worker's lease,
 *           the worker reads it (a read, copying it out) and answers (a
 *           write), the caller reads the answer: two writes, two reads;
 *   ring3w  ring3 carrying dtask's records of bn_add(int, int): the
 *           caller encodes the task (queue/wire_task.c) in place, the
 *           worker decodes it, calls the function through libffi and
 *           encodes the result (queue/wire_result.c), and the caller
 *           applies it and checks the sum; no stub, no queue layer;
 *   ring2w  ring2 with the same records.
 * Prints "ring0_p50 US" ... "ring2w_p999 US" of one round trip.
 *
 * Each run starts with an untimed tenth as many rounds.  Exits 1 when
 * LMDB, a record or a process fails, saying where. */
#include "bench.h"
#include <errno.h>
#include <ffi.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "config/sig.h"
#include "queue/lmdb_env.h" /* the queue's flags and keys, header only */
#include "queue/wire.h"
#include "shim/ffitype.h"

static MDB_env *env;
static MDB_dbi tasks, claims, results;
static MDB_txn *kept; /* the read-only transaction kept between reads */

/* The function of the records, its signature and libffi's view of it. */
static dt__sig sig;
static ffi_cif cif;
static ffi_type *fret, *fargs[DT__MAX_PARAMS];

static int add(int a, int b) { return a + b; }

#define TASK_HDR 8   /* a task's value: caller pid, waiter slot */
#define LEASE_HDR 12 /* a claim's value: the lease, then the task's */
#define PLAIN 16     /* a record's bytes when no wire record is made */
#define FP 0x6c6d646274780000ull /* the records' fingerprint */

#define CHECK(x)                                                       \
  do {                                                                 \
    int rc_ = (x);                                                     \
    if (rc_ != 0) {                                                    \
      fprintf(stderr, "lmdbtx: %s: %s\n", #x, mdb_strerror(rc_));      \
      exit(1);                                                         \
    }                                                                  \
  } while (0)

/* Says what failed and exits 1. */
static void die(const char *what, int rc) {
  fprintf(stderr, "lmdbtx: %s failed (%d)\n", what, rc);
  exit(1);
}

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

/* Closes what open_env opened. */
static void close_env(void) {
  mdb_txn_abort(kept);
  mdb_env_close(env);
}

/* The caller's submit of call id, whose arguments are args: drops the
 * answer of id - 1 and puts the task into dbi (tasks; claims, under a
 * lease, for ring2), its record encoded in place with wire, 16 bytes
 * otherwise. */
static void submit(uint64_t id, MDB_dbi dbi, bool wire, void **args) {
  uint8_t key[8], prev[8];
  size_t hdr = dbi == claims ? LEASE_HDR + TASK_HDR : TASK_HDR, n = PLAIN;
  dt__lmdb_key(key, id);
  dt__lmdb_key(prev, id - 1);
  if (wire && dt__wire_task_size(&sig, args, NULL, &n) != 0)
    die("dt__wire_task_size", -1);
  MDB_txn *t;
  MDB_val k = {8, key}, pk = {8, prev}, v = {hdr + n, NULL};
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  int rc = mdb_del(t, results, &pk, NULL);
  if (rc != 0 && rc != MDB_NOTFOUND)
    CHECK(rc);
  CHECK(mdb_put(t, dbi, &k, &v, MDB_RESERVE | MDB_NOOVERWRITE));
  memset(v.mv_data, 0, hdr);
  if (!wire)
    memset((uint8_t *)v.mv_data + hdr, 0, n);
  else if ((rc = dt__wire_task_encode(&sig, FP, 0, id, 0, args, NULL,
                                      (uint8_t *)v.mv_data + hdr, n)) != 0)
    die("dt__wire_task_encode", rc);
  CHECK(mdb_txn_commit(t));
}

/* A value copied out of LMDB (malloc'd), as the queue copies a task. */
typedef struct copy {
  uint8_t *p;
  size_t n;
} copy;

/* Copies n bytes at p into *c. */
static void copy_out(const void *p, size_t n, copy *c) {
  c->p = malloc(n);
  if (c->p == NULL)
    die("malloc", -ENOMEM);
  memcpy(c->p, p, n);
  c->n = n;
}

/* The worker's claim: the oldest task moves to claims, its value copied
 * into *c. */
static void claim(copy *c) {
  MDB_txn *t;
  MDB_cursor *cur;
  MDB_val ck, cv;
  uint8_t ckey[8];
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  CHECK(mdb_cursor_open(t, tasks, &cur));
  CHECK(mdb_cursor_get(cur, &ck, &cv, MDB_FIRST));
  copy_out(cv.mv_data, cv.mv_size, c);
  memcpy(ckey, ck.mv_data, 8);
  CHECK(mdb_cursor_del(cur, 0));
  mdb_cursor_close(cur);
  MDB_val clk = {8, ckey}, clv = {LEASE_HDR + c->n, NULL};
  CHECK(mdb_put(t, claims, &clk, &clv, MDB_RESERVE));
  memset(clv.mv_data, 0, LEASE_HDR);
  memcpy((uint8_t *)clv.mv_data + LEASE_HDR, c->p, c->n);
  CHECK(mdb_txn_commit(t));
}

/* The worker's read of the task given to it under id (ring2): its value
 * past the lease, copied into *c through the kept transaction. */
static void take(uint64_t id, copy *c) {
  uint8_t key[8];
  dt__lmdb_key(key, id);
  MDB_val k = {8, key}, v;
  CHECK(mdb_txn_renew(kept));
  CHECK(mdb_get(kept, claims, &k, &v));
  copy_out((const uint8_t *)v.mv_data + LEASE_HDR, v.mv_size - LEASE_HDR, c);
  mdb_txn_reset(kept);
}

/* The worker's part between reading the task (its value in task) and
 * answering: with wire, decodes the record, calls add through libffi and
 * encodes the result into *res; otherwise *res is 16 bytes.  Frees
 * task's copy. */
static void serve(copy *task, bool wire, copy *res) {
  if (!wire) {
    copy_out(task->p + TASK_HDR, PLAIN, res);
    free(task->p);
    return;
  }
  dt__frame f;
  dt__error e = {0, 0, ""};
  ffi_arg ret = 0;
  int rc = dt__wire_task_decode(&sig, task->p + TASK_HDR,
                                task->n - TASK_HDR, &f, &e);
  if (rc != 0) {
    fprintf(stderr, "lmdbtx: decode: %s\n", e.msg);
    exit(1);
  }
  errno = 0;
  ffi_call(&cif, FFI_FN(add), &ret, f.argv);
  rc = dt__wire_result_encode(&sig, &f, &ret, errno, &res->p, &res->n);
  if (rc != 0)
    die("dt__wire_result_encode", rc);
  dt__frame_free(&f);
  free(task->p);
}

/* The worker's answer to call id: its claim goes, res (freed here)
 * comes. */
static void answer(uint64_t id, copy *res) {
  uint8_t key[8];
  dt__lmdb_key(key, id);
  MDB_txn *t;
  MDB_val k = {8, key}, rv = {res->n, res->p};
  CHECK(mdb_txn_begin(env, NULL, 0, &t));
  CHECK(mdb_del(t, claims, &k, NULL));
  CHECK(mdb_put(t, results, &k, &rv, 0));
  CHECK(mdb_txn_commit(t));
  free(res->p);
}

/* The caller's read of call id's answer through the kept transaction;
 * with wire, the result is applied as the shim applies it, and must be
 * the sum of the arguments args. */
static void finish(uint64_t id, bool wire, void **args) {
  uint8_t key[8];
  dt__lmdb_key(key, id);
  MDB_val k = {8, key}, v;
  CHECK(mdb_txn_renew(kept));
  CHECK(mdb_get(kept, results, &k, &v));
  if (wire) {
    ffi_arg ret = 0;
    int err = 0;
    size_t need = 0;
    char cstr[8];
    dt__error e = {0, 0, ""};
    int rc = dt__wire_result_apply(&sig, args, id, v.mv_data, v.mv_size,
                                   &ret, &err, cstr, sizeof cstr, &need, &e);
    if (rc != 0 || (int)ret != *(int *)args[0] + *(int *)args[1]) {
      fprintf(stderr, "lmdbtx: a wrong answer to call %llu (%d): %s\n",
              (unsigned long long)id, rc, e.msg);
      exit(1);
    }
  }
  mdb_txn_reset(kept);
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
  copy task, res;
  open_env(dir);
  for (int i = 0; i < warm + rounds; i++) {
    uint64_t id = (uint64_t)i + 1;
    double a = bench_now();
    submit(id, tasks, false, NULL);
    claim(&task);
    serve(&task, false, &res);
    answer(id, &res);
    finish(id, false, NULL);
    if (i >= warm)
      t[i - warm] = bench_now() - a;
  }
  close_env();
}

/* A variant of the ring: its name, LMDB's part (0: none, 3: today's
 * transactions, 2: the fewest) and whether dtask's records travel. */
typedef struct variant {
  const char *name;
  int lmdb;
  bool wire;
} variant;

/* One variant of the ring: the worker is a child with its own
 * environment in dir; the token is *w, odd when the worker has a call.
 * Call ids are base + 1 on.  Times the last rounds of warm + rounds
 * round trips into t. */
static void ring(const variant *vr, const char *dir, uint32_t *w,
                 uint64_t base, int warm, int rounds, double *t) {
  uint32_t total = (uint32_t)(warm + rounds);
  *w = 0;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("lmdbtx: fork");
    exit(1);
  }
  if (pid == 0) {
    if (vr->lmdb != 0)
      open_env(dir);
    for (uint32_t i = 0; i < total; i++) {
      uint64_t id = base + i + 1;
      copy task, res;
      bench_fwait(w, 2 * i);
      if (vr->lmdb != 0) {
        if (vr->lmdb == 3)
          claim(&task);
        else
          take(id, &task);
        serve(&task, vr->wire, &res);
        answer(id, &res);
      }
      bench_fset(w, 2 * i + 2);
    }
    _exit(0);
  }
  if (vr->lmdb != 0)
    open_env(dir);
  for (uint32_t i = 0; i < total; i++) {
    uint64_t id = base + i + 1;
    int a = (int)i, b = 7;
    void *args[2] = {&a, &b};
    double start = bench_now();
    if (vr->lmdb != 0)
      submit(id, vr->lmdb == 2 ? claims : tasks, vr->wire, args);
    bench_fset(w, 2 * i + 1);
    bench_fwait(w, 2 * i + 1);
    if (vr->lmdb != 0)
      finish(id, vr->wire, args);
    if (i >= (uint32_t)warm)
      t[i - (uint32_t)warm] = bench_now() - start;
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
    fprintf(stderr, "lmdbtx: the worker of %s failed\n", vr->name);
    exit(1);
  }
  if (vr->lmdb != 0)
    close_env();
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
  dt__error e = {0, 0, ""};
  if (dt__sig_parse("int bn_add(int a, int b)", NULL, 0, &sig, &e) != 0)
    die("dt__sig_parse", -1);
  dt__sig_ffi(&sig, &fret, fargs);
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, (unsigned)sig.nparams, fret,
                   fargs) != FFI_OK)
    die("ffi_prep_cif", -1);
  uint32_t *w = mmap(NULL, sizeof *w, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (w == MAP_FAILED) {
    perror("lmdbtx: mmap");
    return 1;
  }
  /* The variants share the environment, each with ids past the last's:
   * the one answer a variant leaves behind is not in the next's way. */
  static const variant variants[] = {{"ring0", 0, false},
                                     {"ring3", 3, false},
                                     {"ring2", 2, false},
                                     {"ring3w", 3, true},
                                     {"ring2w", 2, true}};
  for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
    ring(&variants[v], dir, w, (uint64_t)v * (uint64_t)(warm + rounds),
         warm, rounds, t);
    report(variants[v].name, t, (size_t)rounds);
  }
  free(t);
  return 0;
}
