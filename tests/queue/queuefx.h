/* queuefx.h: what the LMDB queue interface's tests (test_queue.c,
 * test_queue_sweep.c, test_queue_store.c, test_lmdb_compact.c) share on
 * top of lmdbfx.h, their fixture: submit_bytes, an echo worker
 * (echo_one) and round trips where the caller is its own echo worker too
 * (echo_round_trips), an answer completed later by a thread
 * (complete_later), and a child that reports through a pipe (pipes,
 * spawn_report).  Include it after lmdbfx.h.  These are not in lmdbfx.h
 * because gatefx.h, which the admission tests include instead, has a
 * pipes and a spawn_report of its own. */
#ifndef DT_TESTS_QUEUEFX_H
#define DT_TESTS_QUEUEFX_H

/* Submits n bytes of data (no cmocka: usable in children). */
static inline int submit_bytes(dt__queue *q, const void *data, size_t n,
                               uint32_t slot, uint64_t *id) {
  enc_ctx e = {data, n, 0, 0, 0};
  int rc = dt__queue_submit(q, n, enc_copy, &e, slot, id);
  if (rc == 0 && (e.calls != 1 || e.id_seen != *id))
    return -EBADMSG;
  return rc;
}

/* Claims one task with a timeout and completes it with its own bytes (an
 * echo worker).  Returns 0, -ETIMEDOUT or an error. */
static inline int echo_one(dt__queue *q, uint64_t timeout_ns, uint64_t *idp) {
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
static inline int echo_round_trips(dt__queue *q, int n, uint32_t tag) {
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

/* ---------------------------------------------------- a later answer */

typedef struct later {
  dt__queue *q;
  uint64_t id;
  unsigned delay_ms;
  const uint8_t *data;
  size_t n;
  int rc;
} later;

static inline void *complete_later(void *arg) {
  later *l = arg;
  sleep_ms(l->delay_ms);
  l->rc = dt__queue_complete(l->q, l->id, l->data, l->n);
  return NULL;
}

/* ---------------------------------------------- children that report */

typedef struct pipes {
  int up[2];   /* child -> parent */
  int down[2]; /* parent -> child */
} pipes;

/* Runs fn in a child given an up pipe, reads the n bytes it reports
 * there, and reaps it (which must exit 0). */
static inline void spawn_report(fx *f, int (*fn)(fx *, void *), void *out,
                                size_t n) {
  pipes p;
  assert_int_equal(pipe(p.up), 0);
  pid_t pid = spawn(f, fn, &p);
  close(p.up[1]);
  assert_int_equal(read_all(p.up[0], out, n), 0);
  close(p.up[0]);
  reap_ok(f, pid);
}

#endif /* DT_TESTS_QUEUEFX_H */
