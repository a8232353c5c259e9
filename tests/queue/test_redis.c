/* test_redis.c: unit tests of the queue interface (queue/queue.h) with
 * its "redis" backend (queue/redis*.c, rconn.c), against a real
 * redis-server that the setup starts on a unix socket in a private
 * directory (no persistence) and the teardown kills.
 *
 * Records are opaque bytes to a queue, so the tests queue plain strings.
 * Other workers and callers are real processes (fork); a child never
 * calls a cmocka assertion: it reports through its exit status.  The
 * server's own view (keys, pending entries) is read on a raw hiredis
 * connection of the test.  redis-server must be installed (tools/deps.sh
 * installs it); a test that cannot start it fails. */
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
#include "tripsutil.h" /* tests/queue/ */

#define MS 1000000ull

typedef struct fx {
  char root[64];
  char sock[100];
  pid_t server;
  dt__config *cfg;
  dt__queue *q;
  redisContext *raw;
} fx;

static void msleep(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs a command on the test's raw connection; returns the reply. */
static redisReply *raw(fx *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(f->raw, fmt, ap);
  va_end(ap);
  if (r == NULL)
    fail_msg("raw command %s failed: %s", fmt, f->raw->errstr);
  return r;
}

static long long raw_int(fx *f, const char *fmt, const char *arg) {
  redisReply *r = raw(f, fmt, arg);
  long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  freeReplyObject(r);
  return v;
}

static long long dbsize(fx *f) {
  redisReply *r = raw(f, "DBSIZE");
  long long v = r->integer;
  freeReplyObject(r);
  return v;
}

/* The server's proto-max-bulk-len for the next setup ("": its default,
 * 512 MiB); setup_parts sets "1mb", the least it takes. */
static const char *bulk_limit = "";

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  snprintf(f->root, sizeof f->root, "/tmp/dtask-redis-XXXXXX");
  assert_non_null(mkdtemp(f->root));
  snprintf(f->sock, sizeof f->sock, "%s/redis.sock", f->root);
  f->server = fork();
  assert_true(f->server >= 0);
  if (f->server == 0) {
    int dn = open("/dev/null", 0);
    dup2(dn, 1);
    dup2(dn, 2);
    if (bulk_limit[0] != '\0')
      execlp("redis-server", "redis-server", "--port", "0", "--unixsocket",
             f->sock, "--save", "", "--appendonly", "no", "--dir", f->root,
             "--proto-max-bulk-len", bulk_limit, (char *)NULL);
    else
      execlp("redis-server", "redis-server", "--port", "0", "--unixsocket",
             f->sock, "--save", "", "--appendonly", "no", "--dir", f->root,
             (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 200 && f->raw == NULL; i++) {
    redisContext *c = redisConnectUnix(f->sock);
    if (c != NULL && c->err == 0)
      f->raw = c;
    else {
      if (c != NULL)
        redisFree(c);
      msleep(10);
    }
  }
  if (f->raw == NULL)
    fail_msg("redis-server did not start on %s (is it installed? "
             "tools/deps.sh installs it)", f->sock);
  parse_ok("[runner]\nworkers = 1\n", &f->cfg);
  snprintf(f->cfg->backend, sizeof f->cfg->backend, "redis");
  snprintf(f->cfg->queue_path, sizeof f->cfg->queue_path, "%s/q", f->root);
  snprintf(f->cfg->redis.path, sizeof f->cfg->redis.path, "%s", f->sock);
  dt__error err = {0, 0, ""};
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  if (rc != 0)
    fail_msg("open: %d %s", rc, err.msg);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  dt__queue_close(f->q);
  dt__config_free(f->cfg);
  if (f->raw != NULL)
    redisFree(f->raw);
  kill(f->server, SIGKILL);
  waitpid(f->server, NULL, 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->root);
  if (system(cmd) != 0)
    return -1;
  free(f);
  return 0;
}

/* The encoder: writes ctx's string. */
static int enc_str(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
  (void)id;
  memcpy(buf, ctx, size);
  return 0;
}

typedef struct got {
  char text[64];
  int from;
} got;

/* The reader: keeps the answer's text and who stored it. */
static int apply_got(void *ctx, const uint8_t *rec, size_t size, int from) {
  got *g = ctx;
  snprintf(g->text, sizeof g->text, "%.*s", (int)size, (const char *)rec);
  g->from = from;
  return 0;
}

static uint64_t submit(fx *f, uint32_t slot, const char *s) {
  uint64_t id;
  int rc = dt__queue_submit(f->q, strlen(s), enc_str, (void *)s, slot, &id);
  if (rc != 0)
    fail_msg("submit: %d", rc);
  return id;
}

/* In a forked child (no cmocka there): opens its own handle of f's
 * queue and claims one task within 2 s.  Returns the claim's result, with
 * the call's id in *cid; the record is left to the child's exit. */
static int child_claim(fx *f, uint64_t *cid) {
  dt__queue *q;
  dt__error err;
  uint8_t *rec;
  size_t size;
  if (dt__queue_open(f->cfg, &q, &err) != 0)
    return -1;
  return dt__queue_claim(q, &rec, &size, cid, 2000 * MS);
}

/* Has consumer (another host's worker, as the server names it) claim the
 * oldest task on the test's raw connection; its stream entry id goes
 * into entry (cap bytes). */
static void raw_claim(fx *f, const char *consumer, char *entry, size_t cap) {
  redisReply *r = raw(f, "XREADGROUP GROUP w %s COUNT 1 STREAMS "
                         "dtask:{q}:tasks >", consumer);
  assert_int_equal(r->type, REDIS_REPLY_ARRAY);
  snprintf(entry, cap, "%s",
           r->element[0]->element[1]->element[0]->element[0]->str);
  freeReplyObject(r);
}

/* One call: submitted, claimed, completed, its answer read and deleted;
 * the server is left as it was (the stream, its group, the counter). */
static void test_round_trip(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  long long keys0 = dbsize(f);
  uint64_t n0 = dt__queue_next_id(f->q);
  uint64_t id = submit(f, slot, "hello");
  assert_int_equal(dt__queue_next_id(f->q), n0 + 1); /* activity seen */
  uint8_t *rec;
  size_t size;
  uint64_t cid;
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
  assert_int_equal(cid, id);
  assert_int_equal(size, 5);
  assert_memory_equal(rec, "hello", 5);
  free(rec);
  assert_int_equal(dt__queue_complete(f->q, id, (const uint8_t *)"world", 5),
                   0);
  got g = {"", -1};
  assert_int_equal(dt__queue_wait(f->q, id, slot, apply_got, &g, 1000 * MS),
                   0);
  assert_string_equal(g.text, "world");
  assert_int_equal(g.from, DT__FROM_WORKER);
  dt__queue_stats st;
  assert_int_equal(dt__queue_stat(f->q, &st), 0);
  assert_int_equal(st.tasks + st.claims + st.results + st.blobs, 0);
  assert_int_equal(dbsize(f), keys0 + 1); /* the id counter */
  dt__queue_waiter_release(f->q, slot);
}

/* A wait with nothing to read times out at its deadline, and a claim
 * with nothing queued too, on time. */
static void test_timeouts(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t id = submit(f, slot, "x");
  got g;
  uint64_t t0 = dt__now_ns();
  assert_int_equal(dt__queue_wait(f->q, id, slot, apply_got, &g, 300 * MS),
                   -ETIMEDOUT);
  uint64_t took = dt__now_ns() - t0;
  assert_true(took >= 250 * MS && took < 1500 * MS);
  assert_int_equal(dt__queue_cancel(f->q, id), 1);
  uint8_t *rec;
  size_t size;
  uint64_t cid;
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 200 * MS),
                   -ETIMEDOUT);
  /* A short claim ends on time: the server, which looks at a blocked
   * client's timeout only on its cron (100 ms apart), is woken. */
  for (int i = 0; i < 3; i++) {
    t0 = dt__now_ns();
    assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 30 * MS),
                     -ETIMEDOUT);
    took = dt__now_ns() - t0;
    if (took < 25 * MS || took >= 80 * MS)
      fail_msg("a claim of 30 ms took %.1f ms", (double)took / 1e6);
  }
}

/* Completing needs the claim: an answer for an entry another consumer
 * holds is not stored, and a claimed call cannot be cancelled. */
static void test_owner_checked(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t id = submit(f, slot, "mine");
  /* Another host's worker claims it. */
  char entry[64];
  raw_claim(f, "otherhost:1", entry, sizeof entry);
  assert_int_equal(dt__queue_cancel(f->q, id), 0);
  /* This process never claimed it: its complete goes to whoever holds
   * it only through the owner check, which fails for a fail_claim. */
  assert_int_equal(dt__queue_fail(f->q, id, 999999, (const uint8_t *)"x", 1),
                   -ENOENT);
  got g;
  assert_int_equal(dt__queue_wait(f->q, id, slot, apply_got, &g, 200 * MS),
                   -ETIMEDOUT);
}

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

/* Blobs: read back by a task of the same caller, refused for a task of
 * another caller, and for another size; dropped. */
static void test_blobs(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t bid;
  assert_int_equal(dt__queue_blob_put(f->q, "0123456789", 10, &bid), 0);
  uint64_t id = submit(f, slot, "t");
  char buf[10];
  assert_int_equal(dt__queue_blob_read(f->q, id, bid, buf, 10), 0);
  assert_memory_equal(buf, "0123456789", 10);
  assert_int_equal(dt__queue_blob_read(f->q, id, bid, buf, 9), -EPROTO);
  /* A task of another caller. */
  freeReplyObject(raw(f, "HSET dtask:{q}:calls 777777 otherhost:5 0-1"));
  assert_int_equal(dt__queue_blob_read(f->q, 777777, bid, buf, 10), -EACCES);
  assert_int_equal(dt__queue_blob_drop(f->q, bid), 0);
  assert_int_equal(dt__queue_blob_read(f->q, id, bid, buf, 10), -ENOENT);
}

/* The server restarted without the call: the wait says so instead of
 * waiting forever, and cancel does not say it was removed unclaimed (a
 * worker may have run it: the caller must not run it again). */
static void test_call_lost_with_server(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t id = submit(f, slot, "gone");
  freeReplyObject(raw(f, "FLUSHALL"));
  got g;
  assert_int_equal(dt__queue_wait(f->q, id, slot, apply_got, &g, 5000 * MS),
                   -ECONNRESET);
  assert_int_equal(dt__queue_cancel(f->q, id), 0);
  /* The stream and group come back for the next claim. */
  id = submit(f, slot, "back");
  uint8_t *rec;
  size_t size;
  uint64_t cid;
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 2000 * MS), 0);
  assert_int_equal(cid, id);
  free(rec);
}

/* Heartbeats: no pool at first; a beat makes one recent (and its
 * workers counted); wait_runner wakes on a beat from another process;
 * a stopped pool is gone. */
static void test_pools(void **state) {
  fx *f = *state;
  assert_int_equal(dt__queue_runner_recent(f->q, 3000 * MS), 0);
  pid_t kid = fork();
  if (kid == 0) {
    dt__queue *q;
    dt__error err;
    msleep(300);
    if (dt__queue_open(f->cfg, &q, &err) != 0)
      _exit(1);
    dt__queue_set_workers(q, 3);
    dt__queue_heartbeat(q, getpid());
    pause(); /* a pool that lives until the test kills it */
    _exit(0);
  }
  uint64_t t0 = dt__now_ns();
  assert_int_equal(dt__queue_wait_runner(f->q, 3000 * MS, 3000 * MS), 0);
  uint64_t took = dt__now_ns() - t0;
  assert_true(took >= 250 * MS && took < 2000 * MS);
  assert_int_equal(dt__queue_workers(f->q), 3);
  dt__queue_heartbeat(f->q, 0); /* not this process's entry: no effect */
  msleep(250);
  assert_int_equal(dt__queue_runner_alive(f->q, 3000 * MS), 1);
  /* A pool of this host that is gone is known dead at once, though its
   * last beat is younger than the age asked for. */
  kill(kid, SIGKILL);
  waitpid(kid, NULL, 0);
  msleep(250); /* past the answer's cache */
  assert_int_equal(dt__queue_runner_alive(f->q, 3000 * MS), 0);
  assert_int_equal(dt__queue_workers(f->q), 0);
}

/* The fast path: a submit that says its thread waits next sends the read
 * of the answer with the task; wait_since takes that read's reply, leaves
 * the answer, and the next submit deletes it.  A read sent ahead and
 * never waited for costs nothing but time: the next command on the
 * connection drains it, and the answer is still there to read. */
static void test_submit_next(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t id, id2, cid;
  assert_int_equal(dt__queue_submit_drop(f->q, 3, enc_str, "one", slot,
                                         DT__NO_ID, DT__SUBMIT_NEXT, NULL, &id),
                   0);
  uint8_t *rec;
  size_t size;
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
  free(rec);
  assert_int_equal(dt__queue_complete(f->q, id, (const uint8_t *)"1", 1), 0);
  got g = {"", -1};
  assert_int_equal(
      dt__queue_wait_since(f->q, id, slot, 0, apply_got, &g, 1000 * MS), 0);
  assert_string_equal(g.text, "1");
  char key[64];
  snprintf(key, sizeof key, "dtask:{q}:r:%llu", (unsigned long long)id);
  assert_int_equal(raw_int(f, "EXISTS %s", key), 1); /* left */
  /* The next submit drops it; its read ahead is not waited for. */
  assert_int_equal(dt__queue_submit_drop(f->q, 3, enc_str, "two", slot, id,
                                         DT__SUBMIT_NEXT, NULL, &id2),
                   0);
  assert_int_equal(raw_int(f, "EXISTS %s", key), 0);
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
  free(rec);
  assert_int_equal(dt__queue_complete(f->q, id2, (const uint8_t *)"2", 1), 0);
  /* Another command on the slot's connection first (a plain submit):
   * the read ahead is drained; the answer is read again by the wait. */
  uint64_t id3 = submit(f, slot, "three");
  assert_int_equal(dt__queue_wait(f->q, id2, slot, apply_got, &g, 1000 * MS),
                   0);
  assert_string_equal(g.text, "2");
  /* The worker's answer to id2 went out with its next claim, which the
   * server answered with id3: a worker has it, cancel says so, and the
   * next claim returns it at once. */
  assert_int_equal(dt__queue_cancel(f->q, id3), 0);
  uint64_t t0 = dt__now_ns();
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
  assert_true(dt__now_ns() - t0 < 100 * MS);
  assert_int_equal(cid, id3);
  free(rec);
  assert_int_equal(dt__queue_complete(f->q, id3, (const uint8_t *)"3", 1), 0);
  assert_int_equal(dt__queue_wait(f->q, id3, slot, apply_got, &g, 1000 * MS),
                   0);
  assert_string_equal(g.text, "3");
}

/* A task the server handed to this worker on a link that then failed is
 * not lost: after the reconnect the worker's claim reads its own pending
 * entries first, and runs it.  (The test hands the task to the worker's
 * consumer name itself, as the server would have before the link broke.)
 */
static void test_claim_after_lost_link(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint8_t *rec;
  size_t size;
  uint64_t cid, id = submit(f, slot, "first");
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
  free(rec);
  assert_int_equal(dt__queue_complete(f->q, id, (const uint8_t *)"1", 1), 0);
  /* The claim sent with that answer is gone with the link... */
  freeReplyObject(raw(f, "CLIENT KILL TYPE normal SKIPME yes"));
  uint64_t id2 = submit(f, slot, "second");
  /* ...after the server handed this worker the next task. */
  char me[128];
  snprintf(me, sizeof me, "%s:%d", dt__rhost_id(), (int)getpid());
  char entry[64];
  raw_claim(f, me, entry, sizeof entry);
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 2000 * MS), 0);
  assert_int_equal(cid, id2);
  assert_memory_equal(rec, "second", 6);
  free(rec);
}

/* A server out of memory (maxmemory, noeviction) refuses a new call with
 * -ENOSPC, on either path, and takes the next one once it has room. */
static void test_server_full(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  freeReplyObject(raw(f, "CONFIG SET maxmemory-policy noeviction"));
  freeReplyObject(raw(f, "SET ballast %b", "x", (size_t)1));
  redisReply *r = raw(f, "INFO memory");
  const char *u = strstr(r->str, "used_memory:");
  assert_non_null(u);
  long long used = atoll(u + 12);
  freeReplyObject(r);
  char lim[32];
  snprintf(lim, sizeof lim, "%lld", used + 200000);
  freeReplyObject(raw(f, "CONFIG SET maxmemory %s", lim));
  size_t n = 400000;
  char *big = malloc(n);
  memset(big, 'b', n);
  uint64_t id;
  for (int i = 0; i < 2; i++) {
    int rc = dt__queue_submit_drop(f->q, n, enc_str, big, slot, DT__NO_ID,
                                   i ? DT__SUBMIT_NEXT : 0, NULL, &id);
    if (rc != -ENOSPC) {
      /* The first write over the limit may still pass: try once more. */
      rc = dt__queue_submit_drop(f->q, n, enc_str, big, slot, DT__NO_ID,
                                 i ? DT__SUBMIT_NEXT : 0, NULL, &id);
    }
    assert_int_equal(rc, -ENOSPC);
  }
  free(big);
  freeReplyObject(raw(f, "CONFIG SET maxmemory 0"));
  uint64_t t0 = dt__now_ns();
  id = submit(f, slot, "room");
  assert_true(dt__now_ns() - t0 < 500 * MS); /* no read left to drain */
  assert_int_equal(dt__queue_cancel(f->q, id), 1);
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

/* ------------------------------------------------ the callers' trips */

#define LAST_BUCKET (DT__HIST_BUCKETS - 1)
#define TRIPS_KEY "dtask:{q}:trips"
/* The fields planted and read below name bucket 2047, the last. */
_Static_assert(DT__HIST_BUCKETS == 2048, "bucket 2047 is not the last");

/* A field of the trips hash as the server holds it ("" when missing). */
static void raw_hget(fx *f, const char *field, char *out, size_t cap) {
  redisReply *r = raw(f, "HGET " TRIPS_KEY " %s", field);
  snprintf(out, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
  freeReplyObject(r);
}

/* Two callers' adds (one on the main connection, one on a thread's own)
 * are summed per symbol and listed exactly; symbols without a NUL are
 * not added, and ones that are not names are not listed; the callback's
 * nonzero answer stops the listing; reset empties it (the hash is
 * deleted) and counts start again. */
static void test_trips_round_trip(void **state) {
  fx *f = *state;
  dt__trips *d = calloc(4, sizeof *d), *want = calloc(2, sizeof *want);
  assert_non_null(d);
  assert_non_null(want);
  seen s = seen_new(8);
  assert_int_equal(list_into(f->q, &s), 0); /* nothing yet */
  assert_int_equal(s.calls, 0);

  trip_set(&d[0], "alpha", 3, 1);
  d[0].hist[0] = 1;
  d[0].hist[7] = 2;
  d[0].hist[LAST_BUCKET] = 5;
  trip_set(&d[1], "beta_2.x@V$", 10, 0);
  d[1].hist[100] = 10;
  trip_set(&d[2], "x", 1, 1);
  memset(d[2].symbol, 'x', sizeof d[2].symbol); /* no NUL */
  trip_set(&d[3], "bad/name", 4, 4);
  assert_int_equal(dt__queue_trips_add(f->q, UINT32_MAX, d, 4), 0);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 2);
  trip_equal(seen_find(&s, "alpha"), &d[0]);
  trip_equal(seen_find(&s, "beta_2.x@V$"), &d[1]);
  char v[64];
  raw_hget(f, "c:alpha", v, sizeof v);
  assert_string_equal(v, "3");
  raw_hget(f, "h:alpha:2047", v, sizeof v);
  assert_string_equal(v, "5");
  raw_hget(f, "r:beta_2.x@V$", v, sizeof v);
  assert_string_equal(v, "0");

  /* Another caller's increments, on its thread's connection. */
  memcpy(&want[0], &d[0], sizeof *want);
  memcpy(&want[1], &d[1], sizeof *want);
  memset(d, 0, 2 * sizeof *d);
  trip_set(&d[0], "beta_2.x@V$", 1, 3);
  d[0].hist[101] = 4;
  d[0].hist[100] = 1;
  trip_set(&d[1], "alpha", 2, 2);
  d[1].hist[7] = 1;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  assert_int_equal(dt__queue_trips_add(f->q, slot, d, 2), 0);
  want[0].calls = 5;
  want[0].retries = 3;
  want[0].hist[7] = 3;
  want[1].calls = 11;
  want[1].retries = 3;
  want[1].hist[100] = 11;
  want[1].hist[101] = 4;
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 2);
  trip_equal(seen_find(&s, "alpha"), &want[0]);
  trip_equal(seen_find(&s, "beta_2.x@V$"), &want[1]);

  s.stop_at = 1;
  assert_int_equal(list_into(f->q, &s), 7);
  assert_int_equal(s.calls, 1);
  s.stop_at = 0;

  assert_int_equal(dt__queue_trips_reset(f->q), 0);
  assert_int_equal(raw_int(f, "EXISTS %s", TRIPS_KEY), 0);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 0);
  assert_int_equal(dt__queue_trips_reset(f->q), 0); /* twice: still 0 */

  assert_int_equal(dt__queue_trips_add(f->q, UINT32_MAX, &d[1], 1), 0);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 1);
  trip_equal(seen_find(&s, "alpha"), &d[1]);
  dt__queue_waiter_release(f->q, slot);
  free(d);
  free(want);
  free(s.t);
}

/* The trips hash is untrusted: fields planted by anyone who can write to
 * the server, not of the form trips_add writes, are left out (or their
 * counts read as 0), and the well-formed ones are still listed
 * exactly. */
static void test_trips_untrusted(void **state) {
  fx *f = *state;
  static const char *const good[][2] = {
      {"c:good", "7"}, {"r:good", "2"}, {"h:good:3", "4"},
      {"h:good:2047", "9"}, {"c:ok2", "1"}};
  static const char *const bad[][2] = {
      {"x:foo", "1"},          {"c:bad/name", "5"},
      {"h:foo:99999", "1"},    {"h:foo:-1", "1"},
      {"h:foo:", "1"},         {"h:foo", "1"},
      {"h::3", "1"},           {"c:", "1"},
      {"r", "1"},              {"", "1"},
      {"c:foo", "12abc"},      {"r:foo", "-5"},
      {"h:foo:2", " 3"},       {"h:foo:4", "1.5"},
      {"h:good:2048", "1"},    {"h:good:3x", "1"},
      {"h:good:0x1", "1"},     {"h:good:99999999999999999999", "1"},
      {"c:ok2:1", "1"},        {"r:ok2", ""},
      {"C:ok2", "1"},          {"c: ok2", "1"},
      {"h:ok2:1", "123456789012345678901"}};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    freeReplyObject(raw(f, "HSET " TRIPS_KEY " %s %s", good[i][0],
                        good[i][1]));
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    freeReplyObject(raw(f, "HSET " TRIPS_KEY " %b %s", bad[i][0],
                        strlen(bad[i][0]), bad[i][1]));
  /* Symbols of 127 bytes (the longest a name can be), 128 and 200. */
  char field[256];
  memset(field, 'M', sizeof field);
  memcpy(field, "c:", 2);
  freeReplyObject(raw(f, "HSET " TRIPS_KEY " %b %s", field, (size_t)130,
                      "8"));
  memset(field, 'L', sizeof field);
  memcpy(field, "c:", 2);
  freeReplyObject(raw(f, "HSET " TRIPS_KEY " %b %s", field, (size_t)129,
                      "6"));
  freeReplyObject(raw(f, "HSET " TRIPS_KEY " %b %s", field, (size_t)202,
                      "3"));
  memcpy(field + 202, ":1", 2);
  field[0] = 'h';
  freeReplyObject(raw(f, "HSET " TRIPS_KEY " %b %s", field, (size_t)204,
                      "3"));
  /* A NUL inside a symbol. */
  freeReplyObject(raw(f, "HSET " TRIPS_KEY " %b %s", "c:nul\0x", (size_t)7,
                      "4"));

  seen s = seen_new(DT__TRIPS_SYMBOLS);
  assert_int_equal(list_into(f->q, &s), 0);
  dt__trips *want = calloc(1, sizeof *want);
  assert_non_null(want);
  trip_set(want, "good", 7, 2);
  want->hist[3] = 4;
  want->hist[2047] = 9;
  trip_equal(seen_find(&s, "good"), want);
  memset(want, 0, sizeof *want);
  trip_set(want, "ok2", 1, 0);
  trip_equal(seen_find(&s, "ok2"), want);
  char longest[128];
  memset(longest, 'L', 127);
  longest[127] = '\0';
  memset(want, 0, sizeof *want);
  trip_set(want, longest, 6, 0);
  trip_equal(seen_find(&s, longest), want);
  /* foo, if listed (its fields c: and r: are of the form), counts 0. */
  const dt__trips *foo = seen_find(&s, "foo");
  if (foo != NULL) {
    memset(want, 0, sizeof *want);
    trip_set(want, "foo", 0, 0);
    trip_equal(foo, want);
  }
  assert_int_equal(s.calls, 3 + (foo != NULL));
  for (int i = 0; i < s.n; i++)
    if (strnlen(s.t[i].symbol, sizeof s.t[i].symbol) ==
            sizeof s.t[i].symbol ||
        (strcmp(s.t[i].symbol, "good") != 0 &&
         strcmp(s.t[i].symbol, "ok2") != 0 &&
         strcmp(s.t[i].symbol, "foo") != 0 &&
         strcmp(s.t[i].symbol, longest) != 0))
      fail_msg("listed \"%.128s\", which is not a planted name",
               s.t[i].symbol);

  /* The key of another type: an error, no crash. */
  freeReplyObject(raw(f, "DEL " TRIPS_KEY));
  freeReplyObject(raw(f, "SET " TRIPS_KEY " %s", "not a hash"));
  assert_true(list_into(f->q, &s) < 0);
  assert_int_equal(s.calls, 0);
  assert_int_equal(dt__queue_trips_reset(f->q), 0);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 0);
  free(want);
  free(s.t);
}

/* Regressions: a bucket must be written as a plain decimal (" 5", "+6",
 * "07" and "008" are not buckets 5 to 8), a count past 64 bits reads as
 * 0, an add over a field that holds no integer heals it instead of
 * failing after the fields before it were added (the caller would add
 * them again every second), and an add drops a name that is not a
 * symbol. */
static void test_trips_regressions(void **state) {
  fx *f = *state;
  static const char *const planted[][2] = {
      {"c:s", "1"},    {"h:s: 5", "1"}, {"h:s:+6", "1"}, {"h:s:07", "1"},
      {"h:s:008", "1"}, {"h:s:8", "10"}, {"c:big", "99999999999999999999"},
      {"c:foo", "12abc"}};
  for (size_t i = 0; i < sizeof planted / sizeof *planted; i++)
    freeReplyObject(raw(f, "HSET " TRIPS_KEY " %s %s", planted[i][0],
                        planted[i][1]));
  seen s = seen_new(DT__TRIPS_SYMBOLS);
  dt__trips *want = calloc(1, sizeof *want);
  assert_non_null(want);
  assert_int_equal(list_into(f->q, &s), 0);
  trip_set(want, "s", 1, 0);
  want->hist[8] = 10;
  trip_equal(seen_find(&s, "s"), want);
  memset(want, 0, sizeof *want);
  trip_set(want, "big", 0, 0);
  trip_equal(seen_find(&s, "big"), want);

  dt__trips *d = calloc(3, sizeof *d);
  assert_non_null(d);
  trip_set(&d[0], "good", 1, 0);
  trip_set(&d[1], "foo", 1, 0);
  trip_set(&d[2], "a/b", 1, 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(dt__queue_trips_add(f->q, UINT32_MAX, d, 3), 0);
  redisReply *r = raw(f, "HGET " TRIPS_KEY " c:good");
  assert_int_equal(r->type, REDIS_REPLY_STRING);
  assert_string_equal(r->str, "3");
  freeReplyObject(r);
  r = raw(f, "HGET " TRIPS_KEY " c:foo");
  assert_int_equal(r->type, REDIS_REPLY_STRING);
  assert_string_equal(r->str, "3"); /* set to 1, then 2 and 3 added */
  freeReplyObject(r);
  assert_int_equal(raw_int(f, "HEXISTS " TRIPS_KEY " %s", "c:a/b"), 0);
  free(d);
  free(want);
  free(s.t);
}

/* Cache hits and misses: added per symbol by two callers (the main
 * connection and a thread's own), written only when not 0, summed and
 * listed beside the other counts; a field of another kind ("\0:SYMBOL")
 * is not read as one; reset forgets them with the rest. */
static void test_trips_hits(void **state) {
  fx *f = *state;
  dt__trips *d = trips_new(2);
  seen s = seen_new(8);
  trip_set(&d[0], "cached", 4, 0);
  d[0].hits = 3;
  d[0].misses = 1;
  trip_set(&d[1], "plain", 2, 1);
  assert_int_equal(dt__queue_trips_add(f->q, UINT32_MAX, d, 2), 0);
  char v[64];
  raw_hget(f, "H:cached", v, sizeof v);
  assert_string_equal(v, "3");
  raw_hget(f, "M:cached", v, sizeof v);
  assert_string_equal(v, "1");
  assert_int_equal(raw_int(f, "HEXISTS " TRIPS_KEY " %s", "H:plain"), 0);
  assert_int_equal(raw_int(f, "HEXISTS " TRIPS_KEY " %s", "M:plain"), 0);
  freeReplyObject(raw(f, "HSET " TRIPS_KEY " %b %s", "\0:plain", (size_t)7,
                      "9"));
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  d[0].calls = 5;
  d[0].hits = 4;
  d[0].misses = 0;
  assert_int_equal(dt__queue_trips_add(f->q, slot, d, 1), 0);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 2);
  const dt__trips *c = seen_find(&s, "cached"), *p = seen_find(&s, "plain");
  assert_non_null(c);
  assert_non_null(p);
  assert_int_equal(c->calls, 9);
  assert_int_equal(c->hits, 7);
  assert_int_equal(c->misses, 1);
  assert_int_equal(p->calls, 2);
  assert_int_equal(p->retries, 1);
  assert_int_equal(p->hits, 0);
  assert_int_equal(p->misses, 0);
  assert_int_equal(dt__queue_trips_reset(f->q), 0);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 0);
  assert_int_equal(raw_int(f, "EXISTS %s", TRIPS_KEY), 0);
  dt__queue_waiter_release(f->q, slot);
  free(d);
  free(s.t);
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

/* More symbols in the hash than a queue keeps: the listing gives
 * DT__TRIPS_SYMBOLS of them, each once with its own counts. */
static void test_trips_many_symbols(void **state) {
  fx *f = *state;
  enum { N = DT__TRIPS_SYMBOLS + 36 };
  for (int i = 0; i < N; i++) {
    char c[32], r[32], h[32];
    snprintf(c, sizeof c, "c:s%d", i);
    snprintf(r, sizeof r, "r:s%d", i);
    snprintf(h, sizeof h, "h:s%d:%d", i, i);
    freeReplyObject(raw(f, "HSET " TRIPS_KEY " %s %d %s %d %s %d", c, i + 1,
                        r, i, h, 2 * i + 1));
  }
  seen s = seen_new(N);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, DT__TRIPS_SYMBOLS);
  dt__trips *want = calloc(1, sizeof *want);
  assert_non_null(want);
  for (int i = 0; i < s.n; i++) {
    int k = -1;
    if (sscanf(s.t[i].symbol, "s%d", &k) != 1 || k < 0 || k >= N)
      fail_msg("listed \"%.128s\"", s.t[i].symbol);
    memset(want, 0, sizeof *want);
    trip_set(want, s.t[i].symbol, (uint64_t)k + 1, (uint64_t)k);
    want->hist[k] = 2 * (uint64_t)k + 1;
    trip_equal(seen_find(&s, want->symbol), want); /* once, exactly */
  }
  free(want);
  free(s.t);
}

/* Writes text into a file of the test's directory with mode; returns its
 * path (static buffer). */
static const char *pass_file(fx *f, const char *name, const char *text,
                             mode_t mode) {
  static char path[160];
  snprintf(path, sizeof path, "%s/%s", f->root, name);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
  assert_int_equal(chmod(path, mode), 0);
  return path;
}

/* AUTH: a server that requires a password refuses a wrong one at open
 * (a sentence naming password_file, never the password), takes the right
 * one from password_file, and an ACL user's from the url's user; a
 * password file others can read is refused before any connect. */
static void test_auth(void **state) {
  fx *f = *state;
  freeReplyObject(raw(f, "CONFIG SET requirepass %s", "s3cret-pw"));
  dt__error err = {0, 0, ""};
  dt__queue *q = NULL;
  snprintf(f->cfg->password_file, sizeof f->cfg->password_file, "%s",
           pass_file(f, "wrong", "not-it\n", 0600));
  assert_int_equal(dt__queue_open(f->cfg, &q, &err), -EACCES);
  assert_null(q);
  assert_contains(err.msg, "refused dtask's password");
  assert_contains(err.msg, "password_file");
  assert_null(strstr(err.msg, "not-it"));
  snprintf(f->cfg->password_file, sizeof f->cfg->password_file, "%s",
           pass_file(f, "open", "s3cret-pw\n", 0644));
  assert_int_equal(dt__queue_open(f->cfg, &q, &err), -EACCES);
  assert_contains(err.msg, "chmod 600");
  snprintf(f->cfg->password_file, sizeof f->cfg->password_file, "%s",
           pass_file(f, "right", "s3cret-pw\n", 0600));
  assert_int_equal(dt__queue_open(f->cfg, &q, &err), 0);
  uint32_t slot;
  uint64_t id, cid;
  assert_int_equal(dt__queue_waiter(q, &slot), 0);
  assert_int_equal(dt__queue_submit(q, 2, enc_str, "pw", slot, &id), 0);
  uint8_t *rec;
  size_t size;
  assert_int_equal(dt__queue_claim(q, &rec, &size, &cid, 1000 * MS), 0);
  assert_int_equal(cid, id);
  free(rec);
  dt__queue_close(q);
  /* An ACL user. */
  freeReplyObject(raw(f, "ACL SETUSER dtuser on >%s ~* &* +@all",
                      "user-pw"));
  snprintf(f->cfg->redis.user, sizeof f->cfg->redis.user, "dtuser");
  snprintf(f->cfg->password_file, sizeof f->cfg->password_file, "%s",
           pass_file(f, "user", "user-pw\n", 0600));
  assert_int_equal(dt__queue_open(f->cfg, &q, &err), 0);
  assert_int_equal(dt__queue_waiter(q, &slot), 0);
  assert_int_equal(dt__queue_submit(q, 2, enc_str, "ac", slot, &id), 0);
  assert_int_equal(dt__queue_cancel(q, id), 1); /* as dtuser */
  dt__queue_close(q);
  /* The same user with a wrong password. */
  snprintf(f->cfg->password_file, sizeof f->cfg->password_file, "%s",
           pass_file(f, "user2", "nope\n", 0600));
  assert_int_equal(dt__queue_open(f->cfg, &q, &err), -EACCES);
  freeReplyObject(raw(f, "CONFIG SET requirepass %s", ""));
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

/* A pool's kick unblocks a worker's claim at once (-EINTR), instead of
 * at the end of its BLOCK. */
static void test_kick(void **state) {
  fx *f = *state;
  pid_t kid = fork();
  if (kid == 0) {
    dt__queue *q;
    dt__error err;
    uint8_t *rec;
    size_t size;
    uint64_t cid;
    if (dt__queue_open(f->cfg, &q, &err) != 0)
      _exit(1);
    uint64_t t0 = dt__now_ns();
    int rc = dt__queue_claim(q, &rec, &size, &cid, 5000 * MS);
    _exit(rc == -EINTR && dt__now_ns() - t0 < 2000 * MS ? 0 : 2);
  }
  msleep(500); /* the child is blocked in its claim by then */
  dt__queue_kick(f->q);
  int status;
  waitpid(kid, &status, 0);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
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

/* setup with a server that takes at most 1 MiB in one value. */
static int setup_parts(void **state) {
  bulk_limit = "1mb";
  int rc = setup(state);
  bulk_limit = "";
  return rc;
}

/* n bytes that differ from one MiB to the next (a part out of place
 * shows), malloc'd. */
static uint8_t *pattern(size_t n, unsigned seed) {
  uint8_t *p = malloc(n);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(i * 31 + (i >> 20) * 7 + seed);
  return p;
}

/* The reader of big answers: keeps a copy. */
typedef struct big {
  uint8_t *data;
  size_t size;
} big;

static int apply_big(void *ctx, const uint8_t *rec, size_t size, int from) {
  (void)from;
  big *b = ctx;
  b->data = malloc(size);
  if (b->data == NULL)
    return -ENOMEM;
  memcpy(b->data, rec, size);
  b->size = size;
  return 0;
}

/* The encoder of big tasks: ctx is a big. */
static int enc_big(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
  (void)id;
  memcpy(buf, ((big *)ctx)->data, size);
  return 0;
}

/* A field of the only entry of stream key, or -1 (raw connection). */
static long long entry_field(fx *f, const char *key, const char *field) {
  redisReply *r = raw(f, "XRANGE %s - +", key);
  long long v = -1;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
    const redisReply *fv = r->element[0]->element[1];
    for (size_t i = 0; i + 1 < fv->elements; i += 2)
      if (strcmp(fv->element[i]->str, field) == 0)
        v = strtoll(fv->element[i + 1]->str, NULL, 10);
  }
  freeReplyObject(r);
  return v;
}

/* Larger than one value of a server that takes 1 MiB: a 3.5 MiB task
 * goes as 4 parts, a 2.5 MiB answer as 3, a 2.2 MiB blob as 3; each is
 * read back whole and exact, and nothing is left once the call is done
 * (the worker's own parts key renamed, the task's parts deleted with
 * it). */
static void test_parts(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  long long keys0 = dbsize(f);
  big task = {pattern(3584u << 10, 1), 3584u << 10};
  uint64_t id;
  assert_int_equal(dt__queue_submit(f->q, task.size, enc_big, &task, slot,
                                    &id), 0);
  assert_int_equal(entry_field(f, "dtask:{q}:tasks", "k"), 4);
  assert_int_equal(entry_field(f, "dtask:{q}:tasks", "z"),
                   (long long)task.size);
  char key[64];
  snprintf(key, sizeof key, "dtask:{q}:k:%llu", (unsigned long long)id);
  assert_int_equal(raw_int(f, "LLEN %s", key), 4);
  uint8_t *rec;
  size_t size;
  uint64_t cid;
  assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
  assert_int_equal(cid, id);
  assert_int_equal(size, task.size);
  assert_memory_equal(rec, task.data, task.size);
  free(rec);
  uint8_t *res = pattern(2560u << 10, 2);
  assert_int_equal(dt__queue_complete(f->q, id, res, 2560u << 10), 0);
  assert_int_equal(raw_int(f, "EXISTS %s", key), 0); /* the task's parts */
  char rkey[64];
  snprintf(rkey, sizeof rkey, "dtask:{q}:r:%llu", (unsigned long long)id);
  assert_int_equal(entry_field(f, rkey, "k"), 3);
  snprintf(key, sizeof key, "dtask:{q}:a:%llu", (unsigned long long)id);
  assert_int_equal(raw_int(f, "LLEN %s", key), 3);
  assert_true(raw_int(f, "TTL %s", key) > 0);
  big got_b = {NULL, 0};
  assert_int_equal(dt__queue_wait(f->q, id, slot, apply_big, &got_b,
                                  1000 * MS), 0);
  assert_int_equal(got_b.size, 2560u << 10);
  assert_memory_equal(got_b.data, res, got_b.size);
  free(got_b.data);
  free(res);
  assert_int_equal(raw_int(f, "EXISTS %s", key), 0); /* dropped with it */
  assert_int_equal(dbsize(f), keys0 + 1);            /* + P id */
  /* A blob in parts, read by a task of the same caller. */
  uint8_t *blob = pattern(2253u << 10, 3);
  uint64_t bid;
  assert_int_equal(dt__queue_blob_put(f->q, blob, 2253u << 10, &bid), 0);
  snprintf(key, sizeof key, "dtask:{q}:b:%llu", (unsigned long long)bid);
  assert_int_equal(raw_int(f, "LLEN %s", key), 3);
  uint64_t t = submit(f, slot, "t");
  uint8_t *back = malloc(2253u << 10);
  assert_non_null(back);
  assert_int_equal(dt__queue_blob_read(f->q, t, bid, back, 2253u << 10), 0);
  assert_memory_equal(back, blob, 2253u << 10);
  assert_int_equal(dt__queue_blob_read(f->q, t, bid, back, 2252u << 10),
                   -EPROTO);
  assert_int_equal(dt__queue_blob_drop(f->q, bid), 0);
  assert_int_equal(raw_int(f, "EXISTS %s", key), 0);
  free(back);
  free(blob);
  free(task.data);
}

/* A task in parts that asks for more than the worker's max_call_size,
 * and one whose parts are gone: each is answered with a refusal (the
 * caller gets an answer, nothing runs), and the stream is left empty. */
static void test_parts_refused(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  const char *cases[][2] = {{"1", "314572800"}, /* 300 MiB > 256 MiB */
                            {"2", "2000000"}};  /* no parts key */
  for (int i = 0; i < 2; i++) {
    uint64_t id = 900000 + (uint64_t)i;
    redisReply *r = raw(f, "XADD dtask:{q}:tasks * i %llu c %s t 0 r '' "
                           "k %s z %s", (unsigned long long)id,
                        "otherhost:9", cases[i][0], cases[i][1]);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(raw(f, "HSET dtask:{q}:calls %llu %s",
                        (unsigned long long)id, "otherhost:9 x"));
    freeReplyObject(r);
    uint8_t *rec;
    size_t size;
    uint64_t cid;
    assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 300 * MS),
                     -ETIMEDOUT);
    char rkey[64];
    snprintf(rkey, sizeof rkey, "dtask:{q}:r:%llu", (unsigned long long)id);
    assert_int_equal(raw_int(f, "XLEN %s", rkey), 1);
    assert_int_equal(raw_int(f, "XLEN %s", "dtask:{q}:tasks"), 0);
  }
}

/* Scripts go by their SHA-1 once a connection sent them in full; a
 * server that lost them (SCRIPT FLUSH) answers NOSCRIPT, and each path
 * sends them in full again: a submit whose answer is read ahead, a
 * claim, an answer sent with the next claim (stored at once, the link
 * dropped as if it had failed), a cancel, a stat; and by SHA-1 again
 * after. */
static void test_scripts_flushed(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint8_t *rec;
  size_t size;
  uint64_t id = DT__NO_ID, cid;
  got g = {"", -1};
  for (int round = 0; round < 3; round++) {
    uint64_t prev = id;
    if (round > 0)
      freeReplyObject(raw(f, "SCRIPT FLUSH"));
    assert_int_equal(dt__queue_submit_drop(f->q, 3, enc_str, "one", slot,
                                           prev, DT__SUBMIT_NEXT, NULL, &id),
                     0);
    assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
    assert_int_equal(cid, id);
    free(rec);
    if (round > 0)
      freeReplyObject(raw(f, "SCRIPT FLUSH"));
    uint64_t t0 = dt__now_ns();
    assert_int_equal(dt__queue_complete(f->q, id, (const uint8_t *)"1", 1),
                     0);
    assert_true(dt__now_ns() - t0 < 300 * MS);
    assert_int_equal(
        dt__queue_wait_since(f->q, id, slot, 0, apply_got, &g, 3000 * MS),
        0);
    assert_string_equal(g.text, "1");
    if (round > 0)
      freeReplyObject(raw(f, "SCRIPT FLUSH"));
    /* The claim sent with that answer takes the first; the second is
     * cancelled. */
    uint64_t o1 = submit(f, slot, "o1"), o2 = submit(f, slot, "o2");
    assert_int_equal(dt__queue_claim(f->q, &rec, &size, &cid, 1000 * MS), 0);
    assert_int_equal(cid, o1);
    free(rec);
    assert_int_equal(dt__queue_cancel(f->q, o2), 1);
    dt__queue_stats st;
    assert_int_equal(dt__queue_stat(f->q, &st), 0);
    assert_int_equal(st.tasks, 0);
    assert_int_equal(st.claims, 1);
    assert_int_equal(dt__queue_complete(f->q, o1, (const uint8_t *)"2", 1),
                     0);
    assert_int_equal(dt__queue_wait(f->q, o1, slot, apply_got, &g,
                                    3000 * MS), 0);
    assert_string_equal(g.text, "2");
  }
  redisReply *r = raw(f, "INFO commandstats");
  assert_non_null(strstr(r->str, "cmdstat_evalsha:"));
  freeReplyObject(r);
}

/* -------------------------------------------------------- admission */

/* What a worker process reports to the test: a task it claimed and when
 * (dt__now_ns, one clock for every process of the machine). */
typedef struct report {
  uint64_t id, at;
} report;

/* A worker process of the tests below: cmd takes the test's orders, rep
 * gives its reports. */
typedef struct wkr {
  pid_t pid;
  int cmd, rep;
} wkr;

/* Reads one order from fd, waiting for it: the byte, or 0 at its end. */
static char order(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  char ch = 0;
  while (poll(&p, 1, -1) < 0 && errno == EINTR)
    ;
  return read(fd, &ch, 1) == 1 ? ch : 0;
}

/* Starts a worker process (no cmocka there): its own handle of f's
 * queue, claiming with 100 ms timeouts.  Each task it gets is reported
 * (id, time); then, with autodone, it answers "ok" at once, else it
 * waits for an order: 'c' answers "ok", 'k' kills itself holding the
 * task (SIGKILL), anything else (or the test gone) exits.  Between
 * claims, an order 'q' makes it exit. */
static wkr worker_start(fx *f, bool autodone) {
  int c[2], r[2];
  assert_int_equal(pipe(c), 0);
  assert_int_equal(pipe(r), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(c[1]);
    close(r[0]);
    dt__queue *q;
    dt__error err;
    if (dt__queue_open(f->cfg, &q, &err) != 0)
      _exit(1);
    for (;;) {
      struct pollfd p = {c[0], POLLIN, 0};
      if (poll(&p, 1, 0) == 1 && order(c[0]) != 'c')
        _exit(0);
      uint8_t *rec;
      size_t size;
      uint64_t id;
      int rc = dt__queue_claim(q, &rec, &size, &id, 100 * MS);
      if (rc == -ETIMEDOUT || rc == -EINTR)
        continue;
      if (rc != 0)
        _exit(2);
      free(rec);
      report g = {id, dt__now_ns()};
      if (write(r[1], &g, sizeof g) != (ssize_t)sizeof g)
        _exit(3);
      char ch = autodone ? 'c' : order(c[0]);
      if (ch == 'k')
        raise(SIGKILL);
      if (ch != 'c' ||
          dt__queue_complete(q, id, (const uint8_t *)"ok", 2) != 0)
        _exit(ch == 'c' ? 4 : 0);
    }
  }
  close(c[0]);
  close(r[1]);
  return (wkr){pid, c[1], r[0]};
}

/* Gives worker w the order ch. */
static void worker_order(const wkr *w, char ch) {
  assert_int_equal(write(w->cmd, &ch, 1), 1);
}

/* Waits (up to 2 s) until the server has closed the connections of
 * process pid, which is dead: a claim it left blocked there could be
 * handed the next task (the sweep's to give back; the tests below
 * would see it missing). */
static void worker_gone(fx *f, pid_t pid) {
  char name[160];
  snprintf(name, sizeof name, "name=dtask:%s:%d ", dt__rhost_id(), (int)pid);
  for (int i = 0; i < 200; i++) {
    redisReply *r = raw(f, "CLIENT LIST");
    bool in = r->type == REDIS_REPLY_STRING && strstr(r->str, name) != NULL;
    freeReplyObject(r);
    if (!in)
      return;
    msleep(10);
  }
  fail_msg("the server still serves dead worker %d", (int)pid);
}

/* Kills worker w, reaps it and waits until the server has let it go. */
static void worker_stop(fx *f, wkr *w) {
  kill(w->pid, SIGKILL);
  waitpid(w->pid, NULL, 0);
  close(w->cmd);
  close(w->rep);
  worker_gone(f, w->pid);
}

/* A field of parked task id's hash into out ("" when missing). */
static void park_field(fx *f, uint64_t id, const char *field, char *out,
                       size_t cap) {
  redisReply *r = raw(f, "HGET dtask:{q}:park:%llu %s",
                      (unsigned long long)id, field);
  snprintf(out, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
  freeReplyObject(r);
}

/* The next report of any of the n workers w within ms: the worker's
 * index with *g, or -1 when none came. */
static int next_report(const wkr *w, int n, int ms, report *g) {
  struct pollfd p[8];
  for (int i = 0; i < n; i++)
    p[i] = (struct pollfd){w[i].rep, POLLIN, 0};
  uint64_t end = dt__now_ns() + (uint64_t)ms * MS;
  for (;;) {
    uint64_t now = dt__now_ns();
    int left = now >= end ? 0 : (int)((end - now) / MS);
    int k = poll(p, (nfds_t)n, left);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return -1;
    for (int i = 0; i < n; i++)
      if (p[i].revents & POLLIN) {
        assert_int_equal(read(w[i].rep, g, sizeof *g), sizeof *g);
        return i;
      }
    return -1; /* a worker died: its pipe hung up */
  }
}

/* Submits text with admission adm; returns its id. */
static uint64_t submit_adm(fx *f, uint32_t slot, const char *text,
                           const dt__admit *adm) {
  uint64_t id;
  int rc = dt__queue_submit_admit(f->q, strlen(text), enc_str, (void *)text,
                                  slot, adm, &id);
  if (rc != 0)
    fail_msg("submit_admit: %d", rc);
  return id;
}

/* An admission of a gate alone (rate NULL) or a rate alone. */
static dt__admit gate_of(const char *gate, uint32_t running) {
  dt__admit a;
  memset(&a, 0, sizeof a);
  snprintf(a.gate, sizeof a.gate, "%s", gate);
  a.running = running;
  return a;
}

static dt__admit rate_of(const char *rate, uint64_t interval_ns,
                         uint32_t burst) {
  dt__admit a;
  memset(&a, 0, sizeof a);
  snprintf(a.rate, sizeof a.rate, "%s", rate);
  a.interval_ns = interval_ns;
  a.burst = burst;
  return a;
}

/* Waits (up to 2 s) until key's LLEN is n; fails otherwise. */
static void until_llen(fx *f, const char *key, long long n) {
  for (int i = 0; i < 200 && raw_int(f, "LLEN %s", key) != n; i++)
    msleep(10);
  assert_int_equal(raw_int(f, "LLEN %s", key), n);
}

/* Waits for the answer of id and checks it is text. */
static void answered(fx *f, uint32_t slot, uint64_t id, const char *text) {
  got g = {"", -1};
  assert_int_equal(dt__queue_wait(f->q, id, slot, apply_got, &g, 2000 * MS),
                   0);
  assert_string_equal(g.text, text);
}

/* A gate of 2 and three workers: of six gated tasks, queued one by one
 * (each admitted or parked before the next comes: two tasks claimed at
 * once by two workers are admitted in either order), exactly the first
 * two start while none completes; the others wait parked with their
 * fields (counted as tasks by stat), not in the third worker, which
 * takes an ungated task queued after them at once; a parked task is
 * cancelled (1) and never runs; each completion lets the next gated
 * task start, in the order they were queued; nothing of the gate is
 * left after. */
static void test_gate(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  dt__admit a = gate_of("g", 2);
  wkr w[3];
  for (int i = 0; i < 3; i++)
    w[i] = worker_start(f, false);
  report g;
  uint64_t ids[6];
  int holder[6] = {-1, -1, -1, -1, -1, -1};
  for (int i = 0; i < 6; i++) {
    ids[i] = submit_adm(f, slot, "gated", &a);
    if (i >= 2) {
      until_llen(f, "dtask:{q}:wait:g", i - 1);
      continue;
    }
    holder[i] = next_report(w, 3, 2000, &g);
    assert_true(holder[i] >= 0);
    assert_int_equal(g.id, ids[i]);
  }
  assert_true(holder[0] != holder[1]);
  assert_int_equal(next_report(w, 3, 700, &g), -1); /* none completes */
  char v[16];
  park_field(f, ids[2], "g", v, sizeof v);
  assert_string_equal(v, "g");
  park_field(f, ids[2], "n", v, sizeof v);
  assert_string_equal(v, "2");
  park_field(f, ids[2], "R", v, sizeof v);
  assert_string_equal(v, "");
  park_field(f, ids[2], "r", v, sizeof v);
  assert_string_equal(v, "gated");
  assert_int_equal(raw_int(f, "SCARD %s", "dtask:{q}:run:g"), 2);
  dt__queue_stats st;
  assert_int_equal(dt__queue_stat(f->q, &st), 0);
  assert_int_equal(st.tasks, 4);
  assert_int_equal(st.claims, 2);
  assert_int_equal(st.results, 0);
  /* An ungated task behind the refused ones: the idle worker takes it. */
  uint64_t t0 = dt__now_ns();
  uint64_t plain = submit(f, slot, "plain");
  int k = next_report(w, 3, 2000, &g);
  assert_true(k >= 0 && k != holder[0] && k != holder[1]);
  assert_int_equal(g.id, plain);
  assert_true(g.at - t0 < 300 * MS);
  worker_order(&w[k], 'c');
  answered(f, slot, plain, "ok");
  /* A parked task cancelled: removed, never run. */
  assert_int_equal(dt__queue_cancel(f->q, ids[5]), 1);
  assert_int_equal(dt__queue_stat(f->q, &st), 0);
  assert_int_equal(st.tasks, 3);
  assert_int_equal(raw_int(f, "LLEN %s", "dtask:{q}:wait:g"), 3);
  /* Each completion starts the next, in order. */
  for (int i = 2; i < 5; i++) {
    worker_order(&w[holder[i - 2]], 'c');
    answered(f, slot, ids[i - 2], "ok");
    k = next_report(w, 3, 2000, &g);
    assert_true(k >= 0);
    if (g.id != ids[i])
      fail_msg("task %d started after task %d: not in order",
               (int)(g.id - ids[0]), i - 1);
    holder[i] = k;
    assert_int_equal(raw_int(f, "SCARD %s", "dtask:{q}:run:g"), 2);
  }
  for (int i = 3; i < 5; i++) {
    worker_order(&w[holder[i]], 'c');
    answered(f, slot, ids[i], "ok");
  }
  assert_int_equal(next_report(w, 3, 500, &g), -1); /* ids[5] never */
  for (int i = 0; i < 3; i++)
    worker_stop(f, &w[i]);
  assert_int_equal(raw_int(f, "SCARD %s", "dtask:{q}:run:g"), 0);
  assert_int_equal(raw_int(f, "EXISTS %s", "dtask:{q}:wait:g"), 0);
  assert_int_equal(raw_int(f, "HLEN %s", "dtask:{q}:parked"), 0);
  assert_int_equal(raw_int(f, "HLEN %s", "dtask:{q}:held"), 0);
  char key[64];
  snprintf(key, sizeof key, "dtask:{q}:park:%llu",
           (unsigned long long)ids[5]);
  assert_int_equal(raw_int(f, "EXISTS %s", key), 0);
}

/* A gate of 1 is not shut for good by a call that ends without an
 * answer: a worker killed holding it keeps it shut only until the sweep
 * gives its lease back, which starts the waiting task (the lapsed one is
 * admitted again after it); the supervisor's answer for a dead worker
 * (fail_claim) opens it too; and a member left by nothing (its call
 * unknown) is pruned when the gate looks full. */
static void test_gate_dead_worker(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  dt__admit a = gate_of("d", 1);
  wkr w[2] = {worker_start(f, false)};
  uint64_t first = submit_adm(f, slot, "first", &a);
  report g;
  assert_int_equal(next_report(w, 1, 2000, &g), 0);
  assert_int_equal(g.id, first);
  w[1] = worker_start(f, false);
  uint64_t second = submit_adm(f, slot, "second", &a);
  until_llen(f, "dtask:{q}:wait:d", 1);
  worker_order(&w[0], 'k');
  waitpid(w[0].pid, NULL, 0);
  worker_gone(f, w[0].pid);
  assert_int_equal(next_report(&w[1], 1, 300, &g), -1); /* still shut */
  unsigned reclaimed = 0;
  assert_true(dt__queue_sweep(f->q, &reclaimed) >= 1);
  assert_int_equal(reclaimed, 1);
  assert_int_equal(next_report(&w[1], 1, 2000, &g), 0);
  assert_int_equal(g.id, second);
  worker_order(&w[1], 'c');
  answered(f, slot, second, "ok");
  assert_int_equal(next_report(&w[1], 1, 2000, &g), 0);
  assert_int_equal(g.id, first); /* the lapsed one, admitted again */
  worker_order(&w[1], 'c');
  answered(f, slot, first, "ok");
  close(w[0].cmd);
  close(w[0].rep);
  /* fail_claim: the supervisor answers for its dead worker. */
  w[0] = worker_start(f, false);
  uint64_t third = submit_adm(f, slot, "third", &a);
  int k = next_report(w, 2, 2000, &g);
  assert_true(k >= 0);
  assert_int_equal(g.id, third);
  uint64_t fourth = submit_adm(f, slot, "fourth", &a);
  until_llen(f, "dtask:{q}:wait:d", 1);
  worker_order(&w[k], 'k');
  waitpid(w[k].pid, NULL, 0);
  worker_gone(f, w[k].pid);
  assert_int_equal(dt__queue_fail(f->q, third, w[k].pid,
                                  (const uint8_t *)"dead", 4), 0);
  answered(f, slot, third, "dead");
  int other = 1 - k;
  assert_int_equal(next_report(&w[other], 1, 2000, &g), 0);
  assert_int_equal(g.id, fourth);
  worker_order(&w[other], 'c');
  answered(f, slot, fourth, "ok");
  /* A member nothing will take out: pruned. */
  freeReplyObject(raw(f, "SADD dtask:{q}:run:d %s", "424242"));
  freeReplyObject(raw(f, "HSET dtask:{q}:held 424242 %s", "d"));
  uint64_t fifth = submit_adm(f, slot, "fifth", &a);
  assert_int_equal(next_report(&w[other], 1, 2000, &g), 0);
  assert_int_equal(g.id, fifth);
  assert_int_equal(raw_int(f, "SISMEMBER dtask:{q}:run:d %s", "424242"), 0);
  worker_order(&w[other], 'c');
  answered(f, slot, fifth, "ok");
  worker_stop(f, &w[other]);
  close(w[k].cmd);
  close(w[k].rep);
  assert_int_equal(raw_int(f, "SCARD %s", "dtask:{q}:run:d"), 0);
  assert_int_equal(raw_int(f, "HLEN %s", "dtask:{q}:held"), 0);
}

/* A caller that dies with a task parked: the sweep removes it with the
 * rest of what the caller left, and it never runs. */
static void test_gate_dead_caller(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  dt__admit a = gate_of("c", 1);
  wkr w[2] = {worker_start(f, false)};
  uint64_t mine = submit_adm(f, slot, "mine", &a);
  report g;
  assert_int_equal(next_report(w, 1, 2000, &g), 0);
  assert_int_equal(g.id, mine);
  w[1] = worker_start(f, false); /* it parks the dead caller's task */
  pid_t kid = fork();
  if (kid == 0) {
    dt__queue *q;
    dt__error err;
    uint32_t s;
    uint64_t id;
    if (dt__queue_open(f->cfg, &q, &err) != 0 ||
        dt__queue_waiter(q, &s) != 0 ||
        dt__queue_submit_admit(q, 4, enc_str, "left", s, &a, &id) != 0)
      _exit(1);
    _exit(0);
  }
  int status;
  waitpid(kid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  until_llen(f, "dtask:{q}:wait:c", 1);
  assert_int_equal(raw_int(f, "HLEN %s", "dtask:{q}:parked"), 1);
  assert_true(dt__queue_sweep(f->q, NULL) >= 1);
  assert_int_equal(raw_int(f, "HLEN %s", "dtask:{q}:parked"), 0);
  assert_int_equal(raw_int(f, "EXISTS %s", "dtask:{q}:wait:c"), 0);
  worker_order(&w[0], 'c');
  answered(f, slot, mine, "ok");
  assert_int_equal(next_report(w, 2, 500, &g), -1);
  for (int i = 0; i < 2; i++)
    worker_stop(f, &w[i]);
  assert_int_equal(raw_int(f, "HLEN %s", "dtask:{q}:calls"), 0);
}

/* Runs n tasks of adm, queued at once, through nw workers that answer
 * at once; fills at[] with the times they started, in that order.  With
 * one worker, they must start in the order they were queued (several
 * workers claim tasks side by side, and which of two tasks claimed at
 * once is admitted first is not said). */
static void rate_run(fx *f, uint32_t slot, const dt__admit *adm, int n,
                     int nw, uint64_t *at) {
  uint64_t ids[8];
  for (int i = 0; i < n; i++)
    ids[i] = submit_adm(f, slot, "rated", adm);
  wkr w[2];
  for (int i = 0; i < nw; i++)
    w[i] = worker_start(f, true);
  for (int i = 0; i < n; i++) {
    report g;
    assert_true(next_report(w, nw, 3000, &g) >= 0);
    int j = 0;
    while (j < n && ids[j] != g.id)
      j++;
    assert_true(j < n);
    if (nw == 1 && j != i)
      fail_msg("task %d started as number %d: not in order", j, i);
    at[i] = g.at;
  }
  for (int i = 0; i < n; i++)
    answered(f, slot, ids[i], "ok");
  for (int i = 0; i < nw; i++)
    worker_stop(f, &w[i]);
}

/* A rate of one per 100 ms, two workers: five tasks start 100 ms apart
 * or more (5 ms are allowed for the time from the server's decision to
 * a worker's report of it, which differs from task to task) and on time
 * (the last within 400 ms + 400 ms); with a burst of 3 (one worker:
 * in order too), the first three start at once, the 4th and 5th an
 * interval and two after the first; nothing is left parked. */
static void test_rate(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  uint64_t at[5];
  dt__admit a = rate_of("r", 100 * MS, 1);
  rate_run(f, slot, &a, 5, 2, at);
  for (int i = 1; i < 5; i++)
    if (at[i] - at[i - 1] < 95 * MS)
      fail_msg("tasks %d and %d started %.1f ms apart", i - 1, i,
               (double)(at[i] - at[i - 1]) / 1e6);
  assert_true(at[4] - at[0] < 800 * MS);
  dt__admit b = rate_of("r3", 100 * MS, 3);
  rate_run(f, slot, &b, 5, 1, at);
  assert_true(at[2] - at[0] < 50 * MS);
  assert_true(at[3] - at[0] >= 95 * MS); /* then one per interval since */
  assert_true(at[4] - at[0] >= 195 * MS); /* the first (a late 4th lets */
  assert_true(at[4] - at[0] < 600 * MS);  /* the 5th follow sooner) */
  assert_int_equal(raw_int(f, "EXISTS %s", "dtask:{q}:later"), 0);
  assert_int_equal(raw_int(f, "HLEN %s", "dtask:{q}:parked"), 0);
}

/* A gate and a rate on the same tasks (gate 1, one per 100 ms): they
 * run one at a time, in order, 100 ms apart at least; a task parked by
 * the rate is cancelled; an admission that is not one is refused. */
static void test_gate_and_rate(void **state) {
  fx *f = *state;
  uint32_t slot;
  assert_int_equal(dt__queue_waiter(f->q, &slot), 0);
  dt__admit a = gate_of("gr", 1);
  snprintf(a.rate, sizeof a.rate, "gr");
  a.interval_ns = 100 * MS;
  a.burst = 1;
  uint64_t at[4];
  rate_run(f, slot, &a, 4, 1, at);
  for (int i = 1; i < 4; i++)
    assert_true(at[i] - at[i - 1] >= 95 * MS);
  /* Parked by the rate (the interval not over), then cancelled. */
  dt__admit r = rate_of("slow", 5000 * MS, 1);
  uint64_t one = submit_adm(f, slot, "one", &r);
  uint64_t two = submit_adm(f, slot, "two", &r);
  wkr w = worker_start(f, true);
  report g;
  assert_int_equal(next_report(&w, 1, 2000, &g), 0);
  assert_int_equal(g.id, one);
  until_llen(f, "dtask:{q}:rwait:slow", 1);
  assert_int_equal(raw_int(f, "ZCARD %s", "dtask:{q}:later"), 1);
  dt__queue_stats st;
  assert_int_equal(dt__queue_stat(f->q, &st), 0);
  assert_int_equal(st.tasks, 1);
  assert_int_equal(dt__queue_cancel(f->q, two), 1);
  assert_int_equal(raw_int(f, "EXISTS %s", "dtask:{q}:later"), 0);
  assert_int_equal(raw_int(f, "EXISTS %s", "dtask:{q}:rwait:slow"), 0);
  answered(f, slot, one, "ok");
  assert_int_equal(next_report(&w, 1, 300, &g), -1);
  worker_stop(f, &w);
  dt__admit bad = gate_of("a b", 1);
  uint64_t id;
  assert_int_equal(dt__queue_submit_admit(f->q, 1, enc_str, "x", slot, &bad,
                                          &id), -EINVAL);
  bad = gate_of("g", 0);
  assert_int_equal(dt__queue_submit_admit(f->q, 1, enc_str, "x", slot, &bad,
                                          &id), -EINVAL);
  bad = rate_of("r", MS, 0);
  assert_int_equal(dt__queue_submit_admit(f->q, 1, enc_str, "x", slot, &bad,
                                          &id), -EINVAL);
}

/* ------------------------------------------------ the answers cache */

/* A cache key: a hash of 32 bytes all seed, entry, ttl and budget. */
static dt__cache_key ckey(uint8_t seed, const char *entry, uint64_t ttl_ns,
                          uint64_t max_bytes) {
  dt__cache_key k = {.entry = entry, .ttl_ns = ttl_ns,
                     .max_bytes = max_bytes};
  memset(k.hash, seed, sizeof k.hash);
  return k;
}

/* Whether the answer of k is in the cache: cache_get's answer; a hit's
 * record must be size bytes of pattern(size, seed). */
static int cached(fx *f, const dt__cache_key *k, size_t size, unsigned seed) {
  uint8_t *rec = NULL;
  size_t n = 0;
  int rc = dt__queue_cache_get(f->q, k, &rec, &n);
  if (rc == 1) {
    uint8_t *want = pattern(size, seed);
    assert_int_equal(n, size);
    assert_memory_equal(rec, want, size);
    free(want);
    free(rec);
  }
  return rc;
}

/* Stores pattern(size, seed) under k; returns cache_put's answer. */
static int cache(fx *f, const dt__cache_key *k, size_t size, unsigned seed) {
  uint8_t *rec = pattern(size, seed);
  int rc = dt__queue_cache_put(f->q, k, rec, size);
  free(rec);
  return rc;
}

/* The bytes the server counts for entry's answers (-1: none). */
static long long cache_bytes(fx *f, const char *entry) {
  redisReply *r = raw(f, "HGET dtask:{q}:cb %s", entry);
  long long v = r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;
  freeReplyObject(r);
  return v;
}

/* A put and a get give back the same bytes (NULs and all, and an empty
 * answer); another hash misses; a put under the same hash replaces the
 * answer and its bytes are counted once; the stored value is the time
 * then the record; an entry that is not a symbol is refused. */
static void test_cache_round_trip(void **state) {
  fx *f = *state;
  dt__cache_key k = ckey(0xab, "sym_1", 0, 1 << 20);
  dt__cache_key other = ckey(0xac, "sym_1", 0, 1 << 20);
  assert_int_equal(cached(f, &k, 0, 0), 0);
  assert_int_equal(cache(f, &k, 5000, 7), 0);
  assert_int_equal(cached(f, &k, 5000, 7), 1);
  assert_int_equal(cached(f, &k, 5000, 7), 1); /* still there */
  assert_int_equal(cached(f, &other, 0, 0), 0);
  assert_int_equal(cache_bytes(f, "sym_1"), 5000);
  char key[128] = "dtask:{q}:c:";
  for (int i = 0; i < DT__CACHE_HASH; i++)
    strcat(key, "ab");
  assert_int_equal(raw_int(f, "STRLEN %s", key), 5008);
  redisReply *r = raw(f, "TIME");
  uint64_t now = strtoull(r->element[0]->str, NULL, 10) * 1000000 +
                 strtoull(r->element[1]->str, NULL, 10);
  freeReplyObject(r);
  r = raw(f, "GETRANGE %s 0 7", key);
  uint64_t at = 0;
  for (int i = 0; i < 8; i++)
    at = at << 8 | (uint8_t)r->str[i];
  freeReplyObject(r);
  assert_true(at <= now && now - at < 5000000); /* µs, the server's */
  assert_int_equal(cache(f, &k, 1200, 9), 0);
  assert_int_equal(cached(f, &k, 1200, 9), 1);
  assert_int_equal(cache_bytes(f, "sym_1"), 1200);
  assert_int_equal(cache(f, &other, 0, 0), 0);
  assert_int_equal(cached(f, &other, 0, 0), 1);
  assert_int_equal(raw_int(f, "ZCARD %s", "dtask:{q}:cl:sym_1"), 2);
  dt__cache_key bad = ckey(1, "no/symbol", 0, 100);
  assert_int_equal(cache(f, &bad, 10, 1), -EINVAL);
  assert_int_equal(cached(f, &bad, 10, 1), -EINVAL);
}

/* An answer older than the ttl is not given, and is deleted with its
 * bytes uncounted; a younger one is. */
static void test_cache_ttl(void **state) {
  fx *f = *state;
  dt__cache_key k = ckey(3, "ttl", 200 * MS, 1000);
  dt__cache_key k2 = ckey(4, "ttl", 200 * MS, 1000);
  assert_int_equal(cache(f, &k, 100, 1), 0);
  msleep(120);
  assert_int_equal(cache(f, &k2, 50, 2), 0);
  assert_int_equal(cached(f, &k, 100, 1), 1);
  msleep(130); /* k is 250 ms old, k2 130 ms */
  assert_int_equal(cached(f, &k, 100, 1), 0);
  assert_int_equal(cached(f, &k2, 50, 2), 1);
  assert_int_equal(cache_bytes(f, "ttl"), 50);
  assert_int_equal(raw_int(f, "ZCARD %s", "dtask:{q}:cl:ttl"), 1);
  dt__cache_key forever = ckey(4, "ttl", 0, 1000);
  msleep(100);
  assert_int_equal(cached(f, &forever, 50, 2), 1); /* no ttl: any age */
}

/* The entry's budget, by bytes, least recently used first out: three
 * answers fit; a get makes the first the most recently used, so a fourth
 * evicts the second; an answer larger than the budget is not stored and
 * evicts nothing; another entry has a budget of its own. */
static void test_cache_lru(void **state) {
  fx *f = *state;
  dt__cache_key a = ckey(10, "lru", 0, 300), b = ckey(11, "lru", 0, 300),
                c = ckey(12, "lru", 0, 300), d = ckey(13, "lru", 0, 300);
  assert_int_equal(cache(f, &a, 100, 1), 0);
  assert_int_equal(cache(f, &b, 100, 2), 0);
  assert_int_equal(cache(f, &c, 100, 3), 0);
  assert_int_equal(cache_bytes(f, "lru"), 300);
  assert_int_equal(cached(f, &a, 100, 1), 1);
  assert_int_equal(cache(f, &d, 100, 4), 0);
  assert_int_equal(cached(f, &b, 100, 2), 0);
  assert_int_equal(cached(f, &a, 100, 1), 1);
  assert_int_equal(cached(f, &c, 100, 3), 1);
  assert_int_equal(cached(f, &d, 100, 4), 1);
  assert_int_equal(cache_bytes(f, "lru"), 300);
  /* Over the budget: not stored, nothing evicted. */
  dt__cache_key e = ckey(14, "lru", 0, 300);
  assert_int_equal(cache(f, &e, 301, 5), 0);
  assert_int_equal(cached(f, &e, 301, 5), 0);
  assert_int_equal(cache_bytes(f, "lru"), 300);
  assert_int_equal(cached(f, &a, 100, 1), 1);
  /* Another entry: its own budget; the first one's answers stay. */
  dt__cache_key o = ckey(15, "lru2", 0, 150), o2 = ckey(16, "lru2", 0, 150);
  assert_int_equal(cache(f, &o, 150, 6), 0);
  assert_int_equal(cache(f, &o2, 100, 7), 0); /* evicts o, its own */
  assert_int_equal(cached(f, &o, 150, 6), 0);
  assert_int_equal(cached(f, &o2, 100, 7), 1);
  assert_int_equal(cache_bytes(f, "lru2"), 100);
  assert_int_equal(cache_bytes(f, "lru"), 300);
  for (unsigned i = 0; i < 3; i++) {
    dt__cache_key x = i == 0 ? a : i == 1 ? c : d;
    assert_int_equal(cached(f, &x, 100, i == 0 ? 1 : i + 2), 1);
  }
  /* A smaller answer under a known hash frees room: a, c, d and a 0
   * byte answer still fit after a shrinks. */
  assert_int_equal(cache(f, &a, 40, 8), 0);
  assert_int_equal(cache_bytes(f, "lru"), 240);
  assert_int_equal(cache(f, &e, 60, 9), 0);
  assert_int_equal(cache_bytes(f, "lru"), 300);
  assert_int_equal(cached(f, &c, 100, 3), 1);
  assert_int_equal(cached(f, &d, 100, 4), 1);
}

/* On a server that takes 1 MiB in one value: an answer that does not fit
 * in one (with its 8-byte time) is not stored, though the budget would
 * take it; one that fits is. */
static void test_cache_value_limit(void **state) {
  fx *f = *state;
  dt__cache_key k = ckey(20, "big", 0, 4u << 20);
  assert_int_equal(cache(f, &k, 1u << 20, 1), 0);
  assert_int_equal(cached(f, &k, 1u << 20, 1), 0);
  assert_int_equal(cache_bytes(f, "big"), -1); /* no command was sent */
  assert_int_equal(cache(f, &k, (1u << 20) - 8, 2), 0);
  assert_int_equal(cached(f, &k, (1u << 20) - 8, 2), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_owner_checked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lapsed_lease_requeued, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fail_claim, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_consumer_claims_late, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_killed_worker_requeued, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_dead_caller_swept, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_blobs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_parts, setup_parts, teardown),
      cmocka_unit_test_setup_teardown(test_parts_refused, setup_parts,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_call_lost_with_server, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_pools, setup, teardown),
      cmocka_unit_test_setup_teardown(test_submit_next, setup, teardown),
      cmocka_unit_test_setup_teardown(test_claim_after_lost_link, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_server_full, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_pages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_held, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kick, setup, teardown),
      cmocka_unit_test_setup_teardown(test_orphans_of_other_hosts, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_trips_round_trip, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_trips_untrusted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trips_many_symbols, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_trips_regressions, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_trips_hits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_scripts_flushed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gate_dead_worker, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gate_dead_caller, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gate_and_rate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cache_round_trip, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cache_ttl, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cache_lru, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cache_value_limit, setup_parts,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_reclaimed_not_for_dead_caller, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
