/* test_redis_sweep.c: unit tests of the "redis" queue backend's leases
 * and sweeps (queue/redis_sweep.c and the scripts it runs), against a
 * real redis-server per test (redisfx.h): a lease of another host that
 * lapsed goes back to the stream and a worker of this host that died
 * gives its call back at once, up to the crash answer after MAX_TRIES;
 * fail_claim answers only for a dead holder; a sweep reads every page of
 * pending entries, drops what a dead caller left (tasks, answers, blobs,
 * calls entries of other hosts' callers gone for an hour) and counts no
 * lease taken back for one; cancel takes back a task whose worker is
 * gone; a dead worker's consumer is not deleted under a claim it still
 * had blocked on the server.
 *
 * Other workers and callers are real processes (fork); a child never
 * calls a cmocka assertion: it reports through its exit status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "common/log.h"
#include "config/config.h"
#include "queue/queue.h"
#include "queue/rconn.h"
#include "queue/wire.h"
#include "testutil.h"
#include "redisfx.h" /* tests/queue/ */

/* A claim of another host not renewed for the lease goes back to the
 * stream at the sweep, and is claimed and answered here. */
static void test_lapsed_lease_requeued(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t id = submit(f, slot, "again");
  char entry[64];
  raw_claim(f, "otherhost:1", entry, sizeof entry);
  /* Young: the sweep leaves it. */
  unsigned reclaimed = 99;
  assert_int_equal(dt__queue_sweep(f->q, &reclaimed), 0);
  assert_int_equal(reclaimed, 0);
  /* Idle for 6 s as far as the server knows. */
  freeReplyObject(raw(f, "XCLAIM dtask:{q}:tasks w otherhost:1 0 %s IDLE "
                         "6000 JUSTID", entry));
  reclaimed = 99;
  assert_int_equal(dt__queue_sweep(f->q, &reclaimed), 1);
  assert_int_equal(reclaimed, 1); /* the lapsed lease taken back */
  uint8_t *rec;
  size_t size;
  uint64_t cid;
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
  assert_int_equal(cid, id);
  free(rec);
  /* The old holder's answer is refused: it no longer holds the task. */
  assert_int_equal(dt__queue_complete(f->q, id, (const uint8_t *)"ok", 2), 0);
  got g;
  assert_int_equal(dt__queue_wait(f->q, id, slot, apply_got, &g, 1000 * MS),
                   0);
  assert_string_equal(g.text, "ok");
}

/* A worker of this host that dies holding a call: fail_claim refuses
 * while it runs, answers once it is dead, and the answer is the
 * runner's. */
static void test_fail_claim(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t id = submit(f, slot, "crash");
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t kid = fork();
  if (kid == 0) {
    uint64_t cid;
    if (child_claim(f, &cid) != 0)
      _exit(1);
    if (write(p[1], "c", 1) != 1)
      _exit(2);
    pause();
    _exit(0);
  }
  close(p[1]);
  char c;
  assert_int_equal(read(p[0], &c, 1), 1);
  close(p[0]);
  assert_int_equal(dt__queue_fail(f->q, id, kid, (const uint8_t *)"dead", 4),
                   -EPERM);
  kill(kid, SIGKILL);
  waitpid(kid, NULL, 0);
  assert_int_equal(dt__queue_fail(f->q, id, kid, (const uint8_t *)"dead", 4),
                   0);
  got g;
  assert_int_equal(dt__queue_wait(f->q, id, slot, apply_got, &g, 1000 * MS),
                   0);
  assert_string_equal(g.text, "dead");
  assert_int_equal(g.from, DT__FROM_RUNNER);
}

/* A worker killed with its call (SIGKILL, no answer): the sweep gives
 * the call back at once, and after MAX_TRIES losses answers it as a
 * crash from the runner. */
static void test_killed_worker_requeued(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t id = submit(f, slot, "boom");
  for (int i = 0; i < 5; i++) {
    pid_t kid = fork();
    if (kid == 0) {
      uint64_t cid;
      if (child_claim(f, &cid) != 0 || cid != id)
        _exit(1);
      raise(SIGKILL);
    }
    int status;
    waitpid(kid, &status, 0);
    assert_true(WIFSIGNALED(status));
    unsigned reclaimed = 99;
    assert_int_equal(dt__queue_sweep(f->q, &reclaimed), 1);
    assert_int_equal(reclaimed, 1); /* requeued, or answered the 5th time */
  }
  got g;
  assert_int_equal(dt__queue_wait(f->q, id, slot, apply_got, &g, 1000 * MS),
                   0);
  assert_int_equal(g.from, DT__FROM_RUNNER);
  /* The dead workers' consumers are gone from the group too. */
  redisReply *r = raw(f, "XINFO CONSUMERS dtask:{q}:tasks w");
  assert_int_equal(r->type, REDIS_REPLY_ARRAY);
  assert_int_equal(r->elements, 0);
  freeReplyObject(r);
}

/* More claims than one page of XPENDING: every lapsed one is given back
 * (a sweep that read only the first page would leave the rest, or fail
 * to renew them). */
static void test_sweep_pages(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  enum { N = 300 };
  for (int i = 0; i < N; i++)
    (void)submit(f, slot, "p");
  redisReply *r = raw(f, "XREADGROUP GROUP w otherhost:1 COUNT %d STREAMS "
                         "dtask:{q}:tasks >", N);
  assert_int_equal(r->type, REDIS_REPLY_ARRAY);
  const redisReply *es = r->element[0]->element[1];
  assert_int_equal(es->elements, N);
  const char *argv[N + 8];
  int n = 0;
  argv[n++] = "XCLAIM";
  argv[n++] = "dtask:{q}:tasks";
  argv[n++] = "w";
  argv[n++] = "otherhost:1";
  argv[n++] = "0";
  for (int i = 0; i < N; i++)
    argv[n++] = es->element[i]->element[0]->str;
  argv[n++] = "IDLE";
  argv[n++] = "6000";
  argv[n++] = "JUSTID";
  redisReply *c = redisCommandArgv(f->raw, n, argv, NULL);
  assert_non_null(c);
  assert_int_equal(c->elements, N);
  freeReplyObject(c);
  freeReplyObject(r);
  unsigned reclaimed = 99;
  assert_int_equal(dt__queue_sweep(f->q, &reclaimed), N);
  assert_int_equal(reclaimed, N);
  assert_int_equal(raw_int(f, "XLEN %s", "dtask:{q}:tasks"), N);
  r = raw(f, "XPENDING dtask:{q}:tasks w");
  assert_int_equal(r->element[0]->integer, 0);
  freeReplyObject(r);
}

/* A caller that dies leaves nothing once a sweep has run: its task, its
 * answer and its blob are removed, and the server is back at its key
 * count. */
static void test_dead_caller_swept(void **state) {
  fx *f = *state;
  long long keys0 = dbsize(f);
  pid_t kid = fork();
  if (kid == 0) {
    dt__queue *q;
    dt__error err;
    uint32_t s;
    uint64_t id, bid;
    if (dt__queue_open(f->cfg, &q, &err) != 0 ||
        dt__queue_waiter(q, &s) != 0 ||
        dt__queue_submit(q, 4, enc_str, "left", s, &id) != 0 ||
        dt__queue_submit(q, 4, enc_str, "done", s, &id) != 0 ||
        dt__queue_blob_put(q, "blob", 4, &bid) != 0)
      _exit(1);
    _exit(0);
  }
  int status;
  waitpid(kid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* One of the two is answered before the sweep. */
  uint8_t *rec;
  size_t size;
  uint64_t cid;
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
  free(rec);
  assert_int_equal(dt__queue_complete(f->q, cid, (const uint8_t *)"r", 1), 0);
  assert_true(dbsize(f) > keys0 + 1);
  /* The answer went out with this worker's next claim, which took the
   * other task: the sweep forgets the dead caller's entries and blob,
   * and leaves the task to the worker that holds it. */
  unsigned reclaimed = 99;
  assert_int_equal(dt__queue_sweep(f->q, &reclaimed), 3);
  assert_int_equal(reclaimed, 0); /* a dead caller's leftovers, no lease */
  assert_int_equal(raw_int(f, "XLEN %s", "dtask:{q}:tasks"), 1);
  uint64_t t0 = dt__now_ns();
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
  assert_true(dt__now_ns() - t0 < 100 * MS); /* it was there already */
  free(rec);
  assert_int_equal(dt__queue_complete(f->q, cid, (const uint8_t *)"r", 1), 0);
  /* Its answer is not stored: no one wants it. */
  assert_int_equal(dbsize(f), keys0 + 1); /* + the counter */
  assert_int_equal(raw_int(f, "XLEN %s", "dtask:{q}:tasks"), 0);
}

/* Another host's caller, gone with nothing of its call left (task and
 * answer gone) an hour and more after queueing it: its calls entry is
 * removed by any sweep; a younger one, or one whose answer waits, stays. */
static void test_orphans_of_other_hosts(void **state) {
  fx *f = *state;
  freeReplyObject(raw(f, "HSET dtask:{q}:calls 901 %s", "far:5 1-0"));
  freeReplyObject(raw(f, "HSET dtask:{q}:calls 902 %s", "far:5 1-0"));
  freeReplyObject(raw(f, "XADD dtask:{q}:r:902 * f 0 r x"));
  char young[64];
  snprintf(young, sizeof young, "far:5 %llu-0",
           (unsigned long long)(time(NULL) * 1000ull));
  freeReplyObject(raw(f, "HSET dtask:{q}:calls 903 %s", young));
  assert_int_equal(dt__queue_sweep(f->q, NULL), 1);
  assert_int_equal(raw_int(f, "HEXISTS dtask:{q}:calls %s", "901"), 0);
  assert_int_equal(raw_int(f, "HEXISTS dtask:{q}:calls %s", "902"), 1);
  assert_int_equal(raw_int(f, "HEXISTS dtask:{q}:calls %s", "903"), 1);
}

/* A caller of this host that is gone when its call's worker is killed:
 * the sweep drops the call, and that is no lease taken back for anyone
 * (reclaimed 0, as with LMDB). */
static void test_reclaimed_not_for_dead_caller(void **state) {
  fx *f = *state;
  pid_t caller = fork();
  if (caller == 0) {
    dt__queue *q;
    dt__error err;
    uint32_t s;
    uint64_t id;
    if (dt__queue_open(f->cfg, &q, &err) != 0 ||
        dt__queue_waiter(q, &s) != 0 ||
        dt__queue_submit(q, 4, enc_str, "lone", s, &id) != 0)
      _exit(1);
    _exit(0);
  }
  int status;
  waitpid(caller, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  pid_t kid = fork();
  if (kid == 0) {
    uint64_t cid;
    if (child_claim(f, &cid) != 0)
      _exit(1);
    raise(SIGKILL);
  }
  waitpid(kid, &status, 0);
  assert_true(WIFSIGNALED(status));
  unsigned reclaimed = 99;
  assert_true(dt__queue_sweep(f->q, &reclaimed) >= 1);
  assert_int_equal(reclaimed, 0);
}

/* Cancel takes back a task whose worker is gone (a killed process of
 * this host; another host's worker whose lease lapsed), as it does one
 * no worker claimed, and leaves one a live worker holds. */
static void test_cancel_held(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t id = submit(f, slot, "held");
  pid_t kid = fork();
  if (kid == 0) {
    uint64_t cid;
    if (child_claim(f, &cid) != 0)
      _exit(1);
    raise(SIGKILL);
  }
  waitpid(kid, NULL, 0);
  assert_int_equal(dt__queue_cancel(f->q, id), 1);
  assert_int_equal(raw_int(f, "XLEN %s", "dtask:{q}:tasks"), 0);
  /* Another host's worker: held while its lease is fresh, taken back
   * once it lapsed. */
  id = submit(f, slot, "far");
  char entry[64];
  raw_claim(f, "far:1", entry, sizeof entry);
  assert_int_equal(dt__queue_cancel(f->q, id), 0);
  freeReplyObject(raw(f, "XCLAIM dtask:{q}:tasks w far:1 0 %s IDLE 6000 "
                         "JUSTID", entry));
  assert_int_equal(dt__queue_cancel(f->q, id), 1);
}

/* A claim of a dead worker, blocked on the server (its own connection):
 * returns once a task came, *ok set when one did. */
typedef struct blocked {
  const char *sock, *consumer;
  int ok;
} blocked;

static void *blocked_claim(void *arg) {
  blocked *b = arg;
  redisContext *c = redisConnectUnix(b->sock);
  if (c != NULL && c->err == 0) {
    redisReply *r = redisCommand(c, "XREADGROUP GROUP w %s COUNT 1 BLOCK 0 "
                                    "STREAMS dtask:{q}:tasks >", b->consumer);
    b->ok = r != NULL && r->type == REDIS_REPLY_ARRAY;
    if (r != NULL)
      freeReplyObject(r);
  }
  if (c != NULL)
    redisFree(c);
  return NULL;
}

/* Submits a task 2 ms after it starts (its own waiter slot). */
typedef struct later {
  fx *f;
  uint32_t slot;
  int rc;
} later;

static void *submit_later(void *arg) {
  later *l = arg;
  msleep(2);
  uint64_t id;
  l->rc = dt__queue_submit(l->f->q, 1, enc_str, (void *)"x", l->slot, &id);
  return NULL;
}

/* A worker SIGKILLed with a claim still in its socket (sent ahead with
 * its last answer) can be handed a task after its death, between a
 * sweep's look at the consumers (it held nothing) and the delete of its
 * consumer, which would drop that task from the pending list: left in
 * the stream, delivered, held by nobody, never run.  Played here by a
 * claim blocked as a dead worker of this host (pid 4999999, above any
 * pid_max), listed after 1,000 other dead consumers that the sweep
 * deletes first, one command each; the task comes 2 ms into the sweep,
 * inside that window.  Three rounds: each task is still held after the
 * sweep, and the stream holds nothing that nobody holds. */
static void test_dead_consumer_claims_late(void **state) {
  fx *f = *state;
  enum { FILLERS = 1000 };
  char consumer[160];
  snprintf(consumer, sizeof consumer, "%s:4999999", dt__rhost_id());
  later l = {.f = f};
  assert_int_equal(dt__queue_waiter(f->q, &l.slot), 0);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < FILLERS; i++)
      redisAppendCommand(f->raw, "XGROUP CREATECONSUMER dtask:{q}:tasks w "
                                 "%s:%d", dt__rhost_id(), 4194400 + i);
    for (int i = 0; i < FILLERS; i++) {
      redisReply *r;
      assert_int_equal(redisGetReply(f->raw, (void **)&r), REDIS_OK);
      freeReplyObject(r);
    }
    blocked b = {f->sock, consumer, 0};
    pthread_t tb, tl;
    assert_int_equal(pthread_create(&tb, NULL, blocked_claim, &b), 0);
    for (int i = 0; i < 500; i++) { /* until the claim blocks */
      redisReply *r = raw(f, "INFO clients");
      bool in = strstr(r->str, "blocked_clients:1") != NULL;
      freeReplyObject(r);
      if (in)
        break;
      msleep(1);
    }
    assert_int_equal(pthread_create(&tl, NULL, submit_later, &l), 0);
    assert_true(dt__queue_sweep(f->q, NULL) >= 0);
    pthread_join(tl, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(l.rc, 0);
    assert_true(b.ok);
    long long len = raw_int(f, "XLEN %s", "dtask:{q}:tasks");
    redisReply *r = raw(f, "XPENDING dtask:{q}:tasks w - + 10");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    if ((long long)r->elements != len)
      fail_msg("round %d: %lld task(s) in the stream, %zu held: the dead "
               "worker's consumer was deleted with its claim", round, len,
               r->elements);
    for (size_t i = 0; i < r->elements; i++) { /* clean for the next round */
      const char *e = r->element[i]->element[0]->str;
      freeReplyObject(raw(f, "XACK dtask:{q}:tasks w %s", e));
      freeReplyObject(raw(f, "XDEL dtask:{q}:tasks %s", e));
    }
    freeReplyObject(r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_lapsed_lease_requeued, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fail_claim, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_consumer_claims_late, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_killed_worker_requeued, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_dead_caller_swept, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sweep_pages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_held, setup, teardown),
      cmocka_unit_test_setup_teardown(test_orphans_of_other_hosts, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_reclaimed_not_for_dead_caller, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
