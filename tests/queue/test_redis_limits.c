/* test_redis_limits.c: unit tests of the "redis" queue backend's limits
 * (queue/redis_admit.c, redis_cache.c), against a real redis-server per
 * test (redisfx.h): admission (a task's gate and rate: how many run at
 * once, how often one starts), with worker processes that report what
 * they claim and when; a gate's worker or caller that dies; the answers
 * cache (round trip, ttl, LRU by bytes, the server's largest value); and
 * the cache's hits and misses counted in the callers' trips.
 *
 * Other workers and callers are real processes (fork); a child never
 * calls a cmocka assertion: it reports through its exit status or a
 * pipe. */
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

/* ------------------------------------------------ the callers' trips */

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_trips_hits, setup, teardown),
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
