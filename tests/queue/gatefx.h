/* gatefx.h: what the tests of the "lmdb" queue's admission share
 * (test_lmdb_limits.c, test_lmdb_rate.c), after lmdbfx.h: a child's
 * report up a pipe, tasks whose bytes are a pattern of their index,
 * dt__admit made in one call, submitting and claiming them with
 * assertions, and claimers in threads. */
#ifndef DT_TESTS_GATEFX_H
#define DT_TESTS_GATEFX_H

#include "common/fnv.h"

typedef struct pipes {
  int up[2]; /* child -> parent */
  const void *arg; /* the test's own argument for the child */
} pipes;

/* Runs fn in a child given an up pipe, reads the n bytes it reports
 * there, and reaps it (which must exit 0). */
static inline void spawn_report(fx *f, int (*fn)(fx *, void *), const void *arg,
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

/* A 64-bit FNV-1a of n bytes (children report records by it). */
static inline uint64_t fnv(const void *p, size_t n) {
  return dt__fnv(DT__FNV_OFFSET, p, n);
}

/* An admission: gate (NULL: none) with running places, rate (NULL: none)
 * of interval_ns and burst. */
static inline dt__admit admit(const char *gate, uint32_t running, const char *rate,
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
static inline int submit_adm(dt__queue *q, const void *data, size_t n, uint32_t slot,
                      const dt__admit *adm, uint64_t *id) {
  enc_ctx e = {data, n, 0, 0, 0};
  int rc = dt__queue_submit_admit(q, n, enc_copy, &e, slot, adm, id);
  if (rc == 0 && e.calls != 1)
    return -EBADMSG;
  return rc;
}

/* The test's tasks: task i's record is tsize(i) bytes of pattern(i). */
static inline size_t tsize(int i) { return 1 + (size_t)(i * 37) % 300; }

static inline void tdata(uint8_t *buf, int i) { pattern(buf, tsize(i), (uint32_t)i); }

/* Submits task i with adm; its id into *id. */
static inline void submit_task(dt__queue *q, uint32_t slot, const dt__admit *adm,
                        int i, uint64_t *id) {
  uint8_t buf[512];
  tdata(buf, i);
  assert_ok(submit_adm(q, buf, tsize(i), slot, adm, id));
}

/* Claims with timeout_ns and expects task i under id, its record
 * exactly as the encoder wrote it. */
static inline void claim_is(dt__queue *q, uint64_t timeout_ns, uint64_t id, int i) {
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
static inline void claim_none(dt__queue *q, uint64_t timeout_ns) {
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

static inline void complete(dt__queue *q, uint64_t id) {
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

static inline void *claim_thread(void *arg) {
  claimer *c = arg;
  c->rc = dt__queue_claim(c->q, &c->rec, &c->size, &c->id, c->timeout_ns);
  c->t_end = dt__now_ns();
  __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static inline int claimer_done(claimer *c) {
  return __atomic_load_n(&c->done, __ATOMIC_SEQ_CST);
}

/* Checks what a claimer thread got: task i under id, within limit_ms of
 * t_event. */
static inline void claimer_got(claimer *c, uint64_t id, int i, uint64_t t_event,
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

/* A worker in a child: claims once (5 s at most), reports up its pipe
 * [rc, id, fnv of the record, end time] and leaves holding the claim. */
static inline int child_claim_report(fx *f, void *arg) {
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

#endif /* DT_TESTS_GATEFX_H */
