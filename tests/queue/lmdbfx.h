/* lmdbfx.h: the fixture the LMDB queue's tests share (test_queue.c,
 * test_queue_sweep.c, test_queue_store.c, test_lmdb_compact.c share more
 * in queuefx.h; test_lmdb_limits.c, test_lmdb_rate.c and
 * test_lmdb_cache.c in gatefx.h): a fresh queue directory under
 * /dev/shm per test (FX_DIR, a mkdtemp template, set before including
 * this), its queue opened on demand and closed by the teardown,
 * children forked with spawn (their crashes end them, seen as a signal)
 * and reaped, or killed by the teardown if the test failed half-way,
 * pipes between them, an encoder and a reader of records that count
 * their calls (enc_copy, apply_copy), and the environment opened with
 * LMDB itself.  A child never calls a cmocka assertion: it reports
 * through its exit status or a pipe and leaves with _exit. */
#ifndef DT_TESTS_LMDBFX_H
#define DT_TESTS_LMDBFX_H

#include <lmdb.h>

#include "queue/lmdb_env.h"

#ifndef FX_DIR
#define FX_DIR "/dev/shm/dtq-XXXXXX"
#endif

#define assert_ok(call)                                                      \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ != 0)                                                            \
      fail_msg("%s returned %d (%s)", #call, rc_,                            \
               rc_ < 0 ? strerror(-rc_) : "positive");                       \
  } while (0)

#define MS 1000000ull


/* ------------------------------------------------------------ fixture */

#define MAX_KIDS 8

typedef struct fx {
  char root[64];   /* the test's directory, removed by the teardown */
  char qpath[128]; /* root/q: the queue directory */
  dt__config *cfg;
  dt__queue *q; /* closed by the teardown */
  pid_t kids[MAX_KIDS];
} fx;

static inline int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  snprintf(f->root, sizeof f->root, "%s", FX_DIR);
  if (mkdtemp(f->root) == NULL) {
    fprintf(stderr, "mkdtemp %s: %s\n", f->root, strerror(errno));
    free(f);
    return -1;
  }
  snprintf(f->qpath, sizeof f->qpath, "%s/q", f->root);
  f->cfg = lmdb_test_config(f->qpath, 64 * MiB);
  if (f->cfg == NULL) {
    rm_tree(f->root);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static inline int teardown(void **state) {
  fx *f = *state;
  if (f == NULL)
    return 0;
  for (int i = 0; i < MAX_KIDS; i++) {
    if (f->kids[i] > 0) {
      kill(f->kids[i], SIGKILL);
      waitpid(f->kids[i], NULL, 0);
      f->kids[i] = 0;
    }
  }
  dt__queue_close(f->q);
  free(f->cfg);
  rm_tree(f->root);
  free(f);
  return 0;
}

/* Opens f->q on f->cfg (or fails the test with the message). */
static inline dt__queue *open_q(fx *f) {
  dt__error err = {0, 0, ""};
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  if (rc != 0)
    fail_msg("dt__queue_open(%s) = %d: %s", f->cfg->queue_path, rc, err.msg);
  assert_non_null(f->q);
  return f->q;
}

static inline uint64_t elapsed_ms(uint64_t t0) { return (dt__now_ns() - t0) / MS; }

static inline void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

static inline void counts_are(dt__queue *q, size_t t, size_t c, size_t r) {
  size_t tasks = 99, claims = 99, results = 99;
  assert_ok(dt__queue_counts(q, &tasks, &claims, &results));
  if (tasks != t || claims != c || results != r)
    fail_msg("counts: tasks %zu claims %zu results %zu, expected %zu %zu %zu",
             tasks, claims, results, t, c, r);
}

/* --------------------------------------------------------- processes */

/* Forks a child that runs fn(arg) and _exits with its return value. */
static inline pid_t spawn(fx *f, int (*fn)(fx *, void *), void *arg) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    fail_msg("fork: %s", strerror(errno));
  if (pid == 0) {
    /* cmocka's handlers would jump back into the test runner: a crash
     * here must end the child, seen as a signal by the parent. */
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
      signal(sigs[i], SIG_DFL);
    _exit(fn(f, arg));
  }
  for (int i = 0; i < MAX_KIDS; i++) {
    if (f->kids[i] == 0) {
      f->kids[i] = pid;
      return pid;
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  fail_msg("too many children");
  return -1;
}

/* Reaps pid; returns its exit status, or 128 + signal. */
static inline int reap(fx *f, pid_t pid) {
  int st = 0;
  pid_t r;
  while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
    ;
  for (int i = 0; i < MAX_KIDS; i++)
    if (f->kids[i] == pid)
      f->kids[i] = 0;
  if (r != pid)
    fail_msg("waitpid(%d): %s", (int)pid, strerror(errno));
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline void reap_ok(fx *f, pid_t pid) {
  int st = reap(f, pid);
  if (st != 0)
    fail_msg("child %d exited with status %d", (int)pid, st);
}

/* In a child: opens its own handle on the fixture's queue, or _exits. */
static inline dt__queue *child_open(fx *f) {
  dt__queue *q = NULL;
  dt__error err = {0, 0, ""};
  if (dt__queue_open(f->cfg, &q, &err) != 0) {
    fprintf(stderr, "child %d: %s\n", (int)getpid(), err.msg);
    _exit(90);
  }
  return q;
}

static inline void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    c += w;
    n -= (size_t)w;
  }
}

/* Reads exactly n bytes; returns 0, or -1 at EOF/error. */
static inline int read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    c += r;
    n -= (size_t)r;
  }
  return 0;
}

/* Fills p with a pattern that depends on seed and position. */
static inline void pattern(uint8_t *p, size_t n, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    p[i] = (uint8_t)(x >> 16);
  }
}

/* ---------------------------------------------------- encode / apply */

/* An encoder of tasks that copies data (n bytes) and counts its calls. */
typedef struct enc_ctx {
  const uint8_t *data;
  size_t n;
  uint64_t id_seen;
  int calls;
  int fail; /* returned instead of encoding when non-zero */
} enc_ctx;

static inline int enc_copy(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
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

/* A reader of answers that copies them into buf and counts its calls. */
typedef struct app_ctx {
  uint8_t *buf;
  size_t cap;
  size_t got;
  int calls;
  int first_rc; /* returned by the first call when non-zero */
} app_ctx;

/* Who stored the last result apply_copy saw (DT__FROM_*). */
static int last_from = -1;

static inline int apply_copy(void *ctx, const uint8_t *rec, size_t size,
                             int from) {
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

/* A raw_op and the pipe its child reports up. */
typedef struct raw_call {
  int up[2];
  const raw_op *op;
} raw_call;

/* In a child (no process may open the environment twice): opens the
 * queue's environment with LMDB itself, as queue/lmdb_env.c does (its
 * flags, databases and reader slots), into *env.  Returns 0, 10 when it
 * cannot be set up, 11 when it cannot be opened. */
static inline int raw_env(fx *f, MDB_env **env) {
  if (mdb_env_create(env) != 0 ||
      mdb_env_set_maxdbs(*env, DT__LMDB_MAX_DBS) != 0 ||
      mdb_env_set_maxreaders(*env, DT__LMDB_MAX_READERS) != 0 ||
      mdb_env_set_mapsize(*env, (size_t)f->cfg->map_size) != 0)
    return 10;
  if (mdb_env_open(*env, f->qpath, DT__LMDB_FLAGS, 0600) != 0)
    return 11;
  return 0;
}

/* Opens the queue's environment (raw_env) and puts or gets one entry; a
 * put reports "k", a get [vlen u64][value] (vlen UINT64_MAX when
 * absent). */
static inline int child_raw(fx *f, void *arg) {
  raw_call *p = arg;
  const raw_op *op = p->op;
  close(p->up[0]);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  int rc = raw_env(f, &env);
  if (rc != 0)
    return rc;
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
    rc = mdb_get(txn, dbi, &k, &v);
    uint64_t n = rc == 0 ? v.mv_size : UINT64_MAX;
    write_all(p->up[1], &n, 8);
    if (rc == 0)
      write_all(p->up[1], v.mv_data, v.mv_size);
    mdb_txn_abort(txn);
  }
  mdb_env_close(env);
  return 0;
}

/* Runs op in a child (child_raw) and reads n bytes of its report into
 * out (the first of them; the caller reads the rest from *fd, open, when
 * fd is not NULL); returns the child's pid, to reap. */
static inline pid_t raw_run(fx *f, raw_op *op, void *out, size_t n, int *fd) {
  raw_call p = {{-1, -1}, op};
  assert_int_equal(pipe(p.up), 0);
  pid_t pid = spawn(f, child_raw, &p);
  close(p.up[1]);
  int got = read_all(p.up[0], out, n);
  if (fd != NULL && got == 0)
    *fd = p.up[0];
  else
    close(p.up[0]);
  if (got != 0) {
    reap_ok(f, pid);
    fail_msg("the raw LMDB child reported nothing");
  }
  return pid;
}

/* Puts val (vlen bytes, at most 1024) under key in db, with LMDB
 * directly. */
static inline void raw_put(fx *f, const char *db, const void *key,
                           size_t klen, const void *val, size_t vlen) {
  raw_op *op = calloc(1, sizeof *op);
  assert_non_null(op);
  op->db = db;
  memcpy(op->key, key, klen);
  op->klen = klen;
  memcpy(op->val, val, vlen);
  op->vlen = vlen;
  op->put = 1;
  char ok;
  reap_ok(f, raw_run(f, op, &ok, 1, NULL));
  free(op);
}

/* Reads db's value under key into val (cap bytes); returns its size, or
 * -1 when absent. */
static inline long raw_get(fx *f, const char *db, const void *key,
                           size_t klen, void *val, size_t cap) {
  raw_op *op = calloc(1, sizeof *op);
  assert_non_null(op);
  op->db = db;
  memcpy(op->key, key, klen);
  op->klen = klen;
  uint64_t n = 0;
  int fd = -1;
  pid_t pid = raw_run(f, op, &n, 8, &fd);
  int got = 0;
  long r = -1;
  if (n != UINT64_MAX) {
    if (n > cap)
      fail_msg("raw value of %llu bytes, room for %zu",
               (unsigned long long)n, cap);
    got = read_all(fd, val, (size_t)n);
    r = (long)n;
  }
  close(fd);
  reap_ok(f, pid);
  free(op);
  assert_int_equal(got, 0);
  return r;
}

static inline void id_key(uint8_t *k, uint64_t id) {
  for (int i = 7; i >= 0; i--, id >>= 8)
    k[i] = (uint8_t)id;
}

static inline uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

#endif /* DT_TESTS_LMDBFX_H */
