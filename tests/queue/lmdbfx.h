/* lmdbfx.h: the fixture the LMDB queue's tests share (test_queue.c,
 * test_queue_sweep.c, test_queue_store.c, test_lmdb_limits.c; the first
 * three share more in queuefx.h): a fresh queue directory under
 * /dev/shm per test (FX_DIR, a mkdtemp template, set before including
 * this), its queue opened on demand and closed by the teardown,
 * children forked with spawn (their crashes end them, seen as a signal)
 * and reaped, or killed by the teardown if the test failed half-way,
 * and pipes between them.  A child never calls a cmocka assertion: it
 * reports through its exit status or a pipe and leaves with _exit. */
#ifndef DT_TESTS_LMDBFX_H
#define DT_TESTS_LMDBFX_H

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


#endif /* DT_TESTS_LMDBFX_H */
