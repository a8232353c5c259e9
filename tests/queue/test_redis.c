/* test_redis.c: unit tests of the queue interface (queue/queue.h) with
 * its "redis" backend (queue/redis*.c, rconn.c), against a real
 * redis-server per test (redisfx.h): the core operations: a call
 * submitted, claimed, answered and waited for, each on time; the
 * claim's owner; blobs, and tasks, answers and blobs in parts on a
 * server that takes 1 MiB in one value; a call the server lost; pools'
 * heartbeats; the answer's read sent ahead with a submit; a claim after
 * a lost link; a full server; AUTH; a pool's kick; scripts a server
 * lost; the callers' trips.  Leases and sweeps are tested in
 * test_redis_sweep.c, admission and the answers cache in
 * test_redis_limits.c.
 *
 * Records are opaque bytes to a queue, so the tests queue plain strings.
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
#include "tripsutil.h" /* tests/queue/ */

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

/* ------------------------------------------------ the callers' trips */

#define LAST_BUCKET (DT__HIST_BUCKETS - 1)
/* The fields planted and read below name bucket 2047, the last. */
_Static_assert(DT__HIST_BUCKETS == 2048, "bucket 2047 is not the last");

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_owner_checked, setup, teardown),
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
      cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kick, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trips_round_trip, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_trips_untrusted, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trips_many_symbols, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_trips_regressions, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_scripts_flushed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
