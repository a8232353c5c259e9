/* test_lmdb_compact.c: the compact operation of the "lmdb" queue
 * backend (queue/lmdb_compact.c) on real LMDB files: a queue aged by a
 * burst of large calls is rewritten into a few pages with every record
 * kept (a queued task, an answer not yet read, a shared buffer, the
 * answers cache) and serves as before; a young queue is left as it is;
 * a queue another process has open is not touched; and processes that
 * open, use and close the queue while it is rewritten again and again
 * lose nothing and never fail to open it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/common.h"
#include "config/config.h"
#include "queue/lmdb_compact.h"
#include "queue/queue.h"
#include "testutil.h"

#define FX_DIR "/dev/shm/dtlz-XXXXXX"
#include "lmdbfx.h"
#include "queuefx.h"

#define BIG (16u * 1024u) /* one aging call's bytes: several pages */

/* The inode of the queue's data.mdb. */
static ino_t data_ino(dt__queue *q) {
  char path[PATH_MAX + 16];
  struct stat st;
  snprintf(path, sizeof path, "%s/data.mdb", dt__queue_dir(q));
  if (stat(path, &st) != 0)
    fail_msg("stat %s: %s", path, strerror(errno));
  return st.st_ino;
}

/* The bytes the queue's map uses, up to its last page written. */
static uint64_t used_bytes(dt__queue *q) {
  dt__queue_stats st;
  assert_ok(dt__queue_stat(q, &st));
  return st.used_bytes;
}

/* Ages q as a burst of callers does: n calls of BIG bytes queued at
 * once, then served and read, which leaves their pages on LMDB's free
 * list.  This process serves them itself, as echo_round_trips does, and
 * so answers any other process's task it claims meanwhile.  No cmocka:
 * returns 0 or a code. */
static int age(dt__queue *q, int n) {
  static uint8_t data[BIG], back[BIG];
  uint64_t ids[256];
  uint32_t slot;
  if (n > 256 || dt__queue_waiter(q, &slot) != 0)
    return 30;
  for (int i = 0; i < n; i++) {
    pattern(data, BIG, (uint32_t)i);
    if (submit_bytes(q, data, BIG, slot, &ids[i]) != 0)
      return 31;
  }
  uint64_t deadline = dt__now_ns() + 10 * SEC;
  for (int i = 0; i < n; i++) {
    app_ctx a = {back, sizeof back, 0, 0, 0};
    for (;;) {
      int rc = dt__queue_wait(q, ids[i], slot, apply_copy, &a, 2 * MS);
      if (rc == 0)
        break;
      if (rc != -ETIMEDOUT)
        return 32;
      rc = echo_one(q, 2 * MS, NULL);
      if ((rc != 0 && rc != -ETIMEDOUT) || dt__now_ns() > deadline)
        return 33;
    }
    pattern(data, BIG, (uint32_t)i);
    if (a.got != BIG || memcmp(back, data, BIG) != 0)
      return 34;
  }
  dt__queue_waiter_release(q, slot);
  return 0;
}

static dt__cache_key key_of(uint8_t seed) {
  dt__cache_key k;
  memset(&k, 0, sizeof k);
  memset(k.hash, seed, sizeof k.hash);
  k.entry = "f";
  k.ttl_ns = 0;
  k.max_bytes = 1u << 20;
  return k;
}

/* An aged queue is rewritten into a few pages; what it held is there
 * after, byte for byte, and it serves calls as before. */
static void test_aged_queue_compacts_and_keeps_records(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  assert_int_equal(age(q, 200), 0);
  uint64_t before = used_bytes(q);
  assert_true(before > 200 * (uint64_t)BIG); /* 200 calls' pages, free */

  /* What must survive: a queued task, an answer not yet read, a shared
   * buffer and a cached answer. */
  uint8_t task[300], res[200], blob[5000], ans[64], got[5000];
  pattern(task, sizeof task, 7);
  pattern(res, sizeof res, 8);
  pattern(blob, sizeof blob, 9);
  pattern(ans, sizeof ans, 10);
  uint32_t slot;
  uint64_t answered, queued, bid;
  assert_ok(dt__queue_waiter(q, &slot));
  assert_ok(submit_bytes(q, res, sizeof res, slot, &answered));
  assert_ok(echo_one(q, SEC, NULL)); /* its answer waits to be read */
  assert_ok(submit_bytes(q, task, sizeof task, slot, &queued));
  assert_ok(dt__queue_blob_put(q, blob, sizeof blob, &bid));
  dt__cache_key k = key_of(3);
  assert_ok(dt__queue_cache_put(q, &k, ans, sizeof ans));
  ino_t ino = data_ino(q);

  assert_int_equal(dt__queue_compact(q), 1);
  assert_true(data_ino(q) != ino); /* a new file in its place */
  uint64_t after = used_bytes(q);
  if (after * 8 > before)
    fail_msg("compacted: %llu bytes used, from %llu",
             (unsigned long long)after, (unsigned long long)before);
  counts_are(q, 1, 0, 1);

  app_ctx a = {got, sizeof got, 0, 0, 0};
  assert_ok(dt__queue_wait(q, answered, slot, apply_copy, &a, SEC));
  assert_int_equal(a.got, sizeof res);
  assert_memory_equal(got, res, sizeof res);
  uint8_t *rec = NULL, *cached = NULL;
  size_t size = 0, csize = 0;
  uint64_t id = 0;
  assert_ok(dt__queue_claim(q, &rec, &size, &id, SEC));
  assert_int_equal(id, queued);
  assert_int_equal(size, sizeof task);
  assert_memory_equal(rec, task, sizeof task);
  assert_ok(dt__queue_blob_read(q, id, bid, got, sizeof blob));
  assert_memory_equal(got, blob, sizeof blob);
  assert_ok(dt__queue_complete(q, id, rec, size));
  free(rec);
  assert_int_equal(dt__queue_cache_get(q, &k, &cached, &csize), 1);
  assert_int_equal(csize, sizeof ans);
  assert_memory_equal(cached, ans, sizeof ans);
  free(cached);

  /* It serves as before, from a new handle as from this one, and ids go
   * on from where they were (they live on the doorbell page). */
  assert_int_equal(echo_round_trips(q, 50, 1), 0);
  dt__queue *q2 = child_open(f);
  assert_int_equal(echo_round_trips(q2, 50, 2), 0);
  uint8_t x[8] = {0};
  uint64_t next;
  assert_ok(submit_bytes(q2, x, sizeof x, slot, &next));
  assert_true(next > queued);
  dt__queue_close(q2);
  dt__queue_waiter_release(q, slot);
  /* Once compact, there is nothing more to gain. */
  assert_int_equal(dt__queue_compact(q), 0);
}

/* A queue with few free pages is left as it is. */
static void test_young_queue_is_left_alone(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  assert_int_equal(echo_round_trips(q, 20, 3), 0);
  ino_t ino = data_ino(q);
  assert_int_equal(dt__queue_compact(q), 0);
  assert_true(data_ino(q) == ino);
  assert_int_equal(echo_round_trips(q, 5, 4), 0);
}

/* A child that keeps the queue open until told to close it. */
static int hold_open(fx *f, void *arg) {
  int *p = arg;
  dt__queue *q = child_open(f);
  char c = 1;
  write_all(p[1], &c, 1);
  if (read_all(p[2], &c, 1) != 0)
    return 1;
  dt__queue_close(q);
  return 0;
}

/* While another process has the queue open, it is not touched: -EBUSY,
 * the same file, and the handle still serves.  Once that process has
 * closed it, the rewrite happens. */
static void test_queue_open_elsewhere_is_not_touched(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  assert_int_equal(age(q, 100), 0);
  int up[2], down[2];
  assert_int_equal(pipe(up), 0);
  assert_int_equal(pipe(down), 0);
  int p[3] = {up[0], up[1], down[0]};
  pid_t kid = spawn(f, hold_open, p);
  char c;
  assert_int_equal(read_all(up[0], &c, 1), 0);
  ino_t ino = data_ino(q);
  assert_int_equal(dt__queue_compact(q), -EBUSY);
  assert_true(data_ino(q) == ino);
  assert_int_equal(echo_round_trips(q, 10, 5), 0);
  write_all(down[1], &c, 1);
  reap_ok(f, kid);
  assert_int_equal(dt__queue_compact(q), 1);
  assert_true(data_ino(q) != ino);
  assert_int_equal(echo_round_trips(q, 10, 6), 0);
  close(up[0]);
  close(up[1]);
  close(down[0]);
  close(down[1]);
}

/* A child that, until *stop (shared) is set, opens the queue, makes
 * round trips on it (as caller and its own worker), checks them, closes
 * it and waits a little; exits with the number of opens (at most 99),
 * or 100 + a code on a failure. */
static int open_use_close(fx *f, void *arg) {
  uint32_t *stop = arg;
  uint32_t tag = (uint32_t)getpid();
  int opens = 0;
  while (!__atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
    dt__queue *q = NULL;
    dt__error err = {0, 0, ""};
    if (dt__queue_open(f->cfg, &q, &err) != 0) {
      fprintf(stderr, "child %u: %s\n", tag, err.msg);
      return 100;
    }
    int rc = echo_round_trips(q, 3, tag * 1000u + (uint32_t)opens);
    dt__queue_close(q);
    if (rc != 0)
      return 100 + rc;
    opens++;
    sleep_ms(3); /* closed a while: the other side may find itself alone */
  }
  return opens > 99 ? 99 : opens;
}

/* Two processes open, use and close the queue in a loop while this one
 * ages it and compacts it whenever it finds itself alone: every open
 * succeeds, every round trip gets its own answer, and some rewrites do
 * happen in between. */
static void test_openers_racing_rewrites_lose_nothing(void **state) {
  fx *f = *state;
  dt__queue *q = open_q(f);
  uint32_t *stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(stop != MAP_FAILED);
  *stop = 0;
  pid_t a = spawn(f, open_use_close, stop);
  pid_t b = spawn(f, open_use_close, stop);
  int done = 0, busy = 0, rounds = 0;
  /* At least a second and 3 rewrites; at most 20 s (a loaded machine). */
  uint64_t t0 = dt__now_ns();
  while (dt__now_ns() - t0 < 20 * SEC &&
         (done < 3 || dt__now_ns() - t0 < SEC)) {
    assert_int_equal(age(q, 40), 0);
    for (int tries = 0; tries < 100; tries++) {
      int rc = dt__queue_compact(q);
      if (rc != 1 && rc != 0 && rc != -EBUSY)
        fail_msg("compact: %d (%s)", rc, strerror(-rc));
      done += rc == 1;
      busy += rc == -EBUSY;
      if (rc != -EBUSY)
        break;
      sleep_ms(1); /* until both children are between two opens */
    }
    rounds++;
  }
  __atomic_store_n(stop, 1, __ATOMIC_SEQ_CST);
  int sa = reap(f, a), sb = reap(f, b);
  munmap(stop, 4096);
  if (sa >= 100 || sb >= 100 || sa == 0 || sb == 0)
    fail_msg("children: %d and %d (100 + code: a failure)", sa, sb);
  print_message("%d rounds: %d rewrites, %d tries found the queue open; "
                "the children opened it %d and %d times\n",
                rounds, done, busy, sa, sb);
  assert_true(done >= 3);
  assert_int_equal(echo_round_trips(q, 20, 13), 0);
  counts_are(q, 0, 0, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_aged_queue_compacts_and_keeps_records),
      T(test_young_queue_is_left_alone),
      T(test_queue_open_elsewhere_is_not_touched),
      T(test_openers_racing_rewrites_lose_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
