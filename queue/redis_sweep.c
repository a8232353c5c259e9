/* redis_sweep.c: the redis backend's sweep, run by every pool's
 * supervisor on each tick (queue/redis.c has the key layout): the leases
 * of this host's live workers renewed, lapsed claims given back to the
 * stream (or answered as a crash after MAX_TRIES), what dead callers of
 * this host left forgotten, other hosts' callers' entries that nothing
 * is left of removed, and gone consumers deleted from the group. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/log.h"
#include "queue/proc.h"
#include "queue/redis_admit.h"
#include "queue/redis_core.h"
#include "queue/redis_ops.h"
#include "queue/wire.h"

/* KEYS tasks calls reply parts; ARGV entry owner min_idle id max_tries
 * crash.  Gives a lapsed claim back to the stream with its tries raised
 * and its other fields as they were (a task in parts keeps them, one
 * with admission its fields), or answers it with crash after max_tries,
 * or drops it when its caller is gone (with its parts, as then); in
 * every case the call leaves the gate it held, whose slot goes to the
 * next waiter (redis_admit.h), and is admitted again when claimed
 * again.  0: not lapsed any more (renewed, answered, taken over). */
static const char REQUEUE[] =
    DT__RQ_GATE_LUA
    "local p = redis.call('XPENDING', KEYS[1], 'w', 'IDLE', ARGV[3],"
    " ARGV[1], ARGV[1], 1)\n"
    "if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end\n"
    "local f = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])\n"
    "redis.call('XACK', KEYS[1], 'w', ARGV[1])\n"
    "redis.call('XDEL', KEYS[1], ARGV[1])\n"
    "release(ARGV[4])\n"
    "if #f == 0 then redis.call('DEL', KEYS[4]) return 2 end\n"
    "local v = redis.call('HGET', KEYS[2], ARGV[4])\n"
    "if not v then redis.call('DEL', KEYS[4]) return 3 end\n"
    "local h = {}\n"
    "local fl = f[1][2]\n"
    "for i = 1, #fl, 2 do h[fl[i]] = fl[i + 1] end\n"
    "local t = (tonumber(h['t']) or 0) + 1\n"
    "if t >= tonumber(ARGV[5]) then\n"
    " redis.call('DEL', KEYS[4])\n"
    " redis.call('XADD', KEYS[3], '*', 'f', '1', 'r', ARGV[6])\n"
    " redis.call('EXPIRE', KEYS[3], " REPLY_TTL_S ") return 4 end\n"
    "local n = {'t', tostring(t)}\n"
    "for i = 1, #fl - 1, 2 do\n"
    " if fl[i] ~= 't' then n[#n + 1] = fl[i] n[#n + 1] = fl[i + 1] end end\n"
    "local e = redis.call('XADD', KEYS[1], '*', unpack(n))\n"
    "redis.call('HSET', KEYS[2], ARGV[4], h['c'] .. ' ' .. e)\n"
    "return 1\n";

/* KEYS tasks calls reply-or-blob parts replyparts; ARGV field value.
 * Removes what a dead caller left: its entry in calls (if unchanged),
 * its answer or blob, the parts of its task and answer, and its task
 * unless a worker holds it (the answer is then not stored), parked by
 * admission or not; a task removed leaves the gate it held, whose slot
 * goes to the next waiter (redis_admit.h). */
static const char FORGET[] =
    DT__RQ_GATE_LUA
    "if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end\n"
    "redis.call('HDEL', KEYS[2], ARGV[1])\n"
    "redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])\n"
    "local e = string.match(ARGV[2], ' (%S+)$')\n"
    "if e == '" DT__RQ_PARKED "' then unqueue(ARGV[1]) release(ARGV[1])\n"
    "elseif e then\n"
    " local p = redis.call('XPENDING', KEYS[1], 'w', e, e, 1)\n"
    " if #p == 0 then redis.call('XDEL', KEYS[1], e) release(ARGV[1]) end\n"
    "end\n"
    "return 1\n";

/* KEYS tasks calls reply parts replyparts; ARGV field value age_ms.
 * Removes the calls entry of a caller of another host whose task is gone
 * and whose answer is gone too (read, or expired), its task queued
 * age_ms ago or more, and any parts of either: nothing of the call is
 * left for anyone to want.  A task parked by admission is not gone: it
 * runs once admitted. */
static const char ORPHAN[] =
    "if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end\n"
    "local e = string.match(ARGV[2], ' (%S+)$')\n"
    "if e == '" DT__RQ_PARKED "' then return 0 end\n"
    "local ms = e and tonumber(string.match(e, '^(%d+)-'))\n"
    "if not ms then return 0 end\n"
    "local t = redis.call('TIME')\n"
    "if t[1] * 1000 + math.floor(t[2] / 1000) - ms < tonumber(ARGV[3])"
    " then return 0 end\n"
    "if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end\n"
    "if #redis.call('XRANGE', KEYS[1], e, e) > 0 then return 0 end\n"
    "redis.call('HDEL', KEYS[2], ARGV[1])\n"
    "redis.call('DEL', KEYS[4], KEYS[5]) return 1\n";

/* KEYS tasks; ARGV consumer.  Deletes the consumer only if it holds
 * nothing now: a worker killed with a claim still in its socket (sent
 * ahead with its last answer) may be handed a task by the server after
 * its death, and deleting its consumer then would drop that task from
 * the pending list, left in the stream undelivered for good. */
static const char GONE[] =
    "if #redis.call('XPENDING', KEYS[1], 'w', '-', '+', 1, ARGV[1]) > 0"
    " then return 0 end\n"
    "redis.call('XGROUP', 'DELCONSUMER', KEYS[1], 'w', ARGV[1])\n"
    "return 1\n";

/* Splits "HOST:PID" (the last ':') into host (cap bytes) and *pid.
 * Returns 0, or -EINVAL. */
static int split_owner(const char *s, size_t n, char *host, size_t cap,
                       int *pid) {
  const char *colon = memrchr(s, ':', n);
  if (colon == NULL || (size_t)(colon - s) >= cap)
    return -EINVAL;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  *pid = atoi(colon + 1);
  return *pid > 0 ? 0 : -EINVAL;
}

/* Gives back a lapsed claim (entry of owner, idle at least min_idle ms):
 * reads its call id, caller and tries, and runs REQUEUE with a crash
 * answer ready for the last try.  Returns 0 when nothing changed, 1 when
 * the entry was dropped or its caller is a process of this host that is
 * gone, 2 when the lease was taken back for a caller that may wait
 * (requeued, or answered as a crash). */
static int requeue(dt__rq *q, const char *entry, const char *owner,
                   long long min_idle) {
  char kt[320], kc[320], kr[340], kk[340];
  dt__rq_key(q, kt, sizeof kt, "tasks");
  const char *argv[] = {"XRANGE", kt, entry, entry};
  redisReply *x = dt__rconn_argv(&q->main, 4, argv, NULL);
  if (x == NULL)
    return 0;
  uint64_t id = DT__NO_ID;
  unsigned tries = 0;
  bool caller_gone = false;
  if (x->type == REDIS_REPLY_ARRAY && x->elements == 1 &&
      x->element[0]->type == REDIS_REPLY_ARRAY &&
      x->element[0]->elements == 2) {
    const redisReply *fi = dt__rq_field(x->element[0]->element[1], "i");
    const redisReply *ft = dt__rq_field(x->element[0]->element[1], "t");
    const redisReply *fc = dt__rq_field(x->element[0]->element[1], "c");
    char host[96];
    int pid;
    if (fi != NULL)
      id = strtoull(fi->str, NULL, 10);
    if (ft != NULL)
      tries = (unsigned)strtoul(ft->str, NULL, 10);
    if (fc != NULL &&
        split_owner(fc->str, fc->len, host, sizeof host, &pid) == 0)
      caller_gone = strcmp(host, q->host) == 0 && !dt__proc_alive(pid);
  }
  dt__hi.freeReplyObject(x);
  char msg[200];
  if (min_idle == 0) /* a worker of this host that is gone */
    snprintf(msg, sizeof msg,
             "the workers running this call were killed %u times (SIGKILL, "
             "e.g. by the OOM killer); dtask gave up on it",
             tries + 1);
  else
    snprintf(msg, sizeof msg,
             "the workers running this call were lost %u times (the last "
             "one's host stopped renewing its lease: it died or is cut "
             "off); dtask gave up on it",
             tries + 1);
  uint8_t *res = NULL;
  size_t rsize = 0;
  if (dt__wire_result_error(id == DT__NO_ID ? 0 : id, DT__ST_CRASH, 9, msg,
                            &res, &rsize) != 0)
    return 0;
  char ids[24], idle[24], max[8];
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  snprintf(idle, sizeof idle, "%lld", min_idle);
  snprintf(max, sizeof max, "%u", MAX_TRIES);
  uint64_t kid = id == DT__NO_ID ? 0 : id;
  const char *keys[] = {kt, dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kr, sizeof kr, "r:", kid),
                        dt__rq_id_key(q, kk, sizeof kk, "k:", kid)};
  const char *args[] = {entry, owner, idle, ids, max, (const char *)res};
  size_t alen[] = {DT__RQ_STR, DT__RQ_STR, DT__RQ_STR,
                   DT__RQ_STR, DT__RQ_STR, rsize};
  redisReply *r = dt__rq_eval(&q->main, REQUEUE, 4, keys, 6, args, alen);
  free(res);
  long long how = r != NULL ? dt__rq_num(r, 0) : 0;
  if (r != NULL)
    dt__hi.freeReplyObject(r);
  if (how == 0)
    return 0;
  return (how == 1 || how == 4) && !caller_gone ? 2 : 1;
}

/* Whether pid is a child of this process that has died and is not yet
 * reaped: a supervisor's worker whose death its reap is about to answer
 * (fail_claim, with the crash as it saw it).  Its task is left to that
 * answer, not given back here: given back first, the crash would go
 * unreported and the call run again.  The zombie stays (WNOWAIT). */
static bool unreaped_child(int pid) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         si.si_pid == pid;
}

/* One entry of XPENDING's extended form, p: renews it when a live
 * worker of this host holds it, else gives it back when its holder is a
 * gone worker of this host or its lease lapsed.  Returns requeue's
 * answer (0: nothing changed; 2: a lease taken back for its caller). */
static int sweep_claim(dt__rq *q, const char *kt, const redisReply *p) {
  if (p->type != REDIS_REPLY_ARRAY || p->elements != 4 ||
      p->element[0]->type != REDIS_REPLY_STRING ||
      p->element[1]->type != REDIS_REPLY_STRING)
    return 0;
  const char *entry = p->element[0]->str, *owner = p->element[1]->str;
  long long idle = dt__rq_num(p->element[2], 0);
  char host[96];
  int pid;
  if (split_owner(owner, p->element[1]->len, host, sizeof host, &pid) != 0)
    return 0;
  if (strcmp(host, q->host) == 0 && dt__proc_alive(pid)) {
    const char *a[] = {"XCLAIM", kt, "w", owner, "0", entry, "JUSTID"};
    redisReply *c = dt__rconn_argv(&q->main, 7, a, NULL);
    if (c != NULL)
      dt__hi.freeReplyObject(c);
    return 0;
  }
  if (strcmp(host, q->host) == 0)
    return unreaped_child(pid) ? 0 : requeue(q, entry, owner, 0);
  return idle >= LEASE_MS ? requeue(q, entry, owner, LEASE_MS) : 0;
}

/* Renews the leases of this host's live workers and gives back the
 * lapsed ones (workers of this host that are gone; any host's claim not
 * renewed for LEASE_MS), every pending entry, a page of PENDING_PAGE at
 * a time.  Returns the number given back or dropped; adds to *reclaimed
 * those taken back for a caller that may wait. */
static int sweep_claims(dt__rq *q, unsigned *reclaimed) {
  char kt[320], from[64] = "-";
  dt__rq_key(q, kt, sizeof kt, "tasks");
  int count = 0;
  for (;;) {
    const char *argv[] = {"XPENDING", kt, "w", from, "+", PENDING_PAGE};
    redisReply *r = dt__rconn_argv(&q->main, 6, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      if (r != NULL)
        dt__hi.freeReplyObject(r);
      return count;
    }
    for (size_t i = 0; i < r->elements; i++) {
      int how = sweep_claim(q, kt, r->element[i]);
      count += how != 0;
      *reclaimed += how == 2;
    }
    const redisReply *last = r->element[r->elements - 1];
    bool more = r->elements == (size_t)atoi(PENDING_PAGE) &&
                last->type == REDIS_REPLY_ARRAY && last->elements == 4 &&
                last->element[0]->type == REDIS_REPLY_STRING &&
                last->element[0]->len < sizeof from - 2;
    if (more) /* after the last one seen: "(" makes the bound exclusive */
      snprintf(from, sizeof from, "(%s", last->element[0]->str);
    dt__hi.freeReplyObject(r);
    if (!more)
      return count;
  }
}

/* Deletes the group's consumers that hold nothing and will not come
 * back: gone workers of this host, and other hosts' consumers idle for
 * CONSUMER_IDLE_MS (a worker's every claim makes it active again).
 * XINFO's pending count is only a hint: the GONE script checks again
 * in the same step as the delete. */
static void sweep_consumers(dt__rq *q) {
  char kt[320];
  dt__rq_key(q, kt, sizeof kt, "tasks");
  const char *argv[] = {"XINFO", "CONSUMERS", kt, "w"};
  redisReply *r = dt__rconn_argv(&q->main, 4, argv, NULL);
  for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
                     i < r->elements;
       i++) {
    const redisReply *name = dt__rq_info(r->element[i], "name");
    long long pending = dt__rq_num(dt__rq_info(r->element[i], "pending"), 1);
    long long idle = dt__rq_num(dt__rq_info(r->element[i], "idle"), 0);
    char host[96];
    int pid;
    if (name == NULL || name->type != REDIS_REPLY_STRING || pending != 0 ||
        split_owner(name->str, name->len, host, sizeof host, &pid) != 0)
      continue;
    bool mine = strcmp(host, q->host) == 0;
    if ((mine && !dt__proc_alive(pid)) ||
        (!mine && idle >= CONSUMER_IDLE_MS)) {
      const char *keys[] = {kt};
      const char *args[] = {name->str};
      redisReply *x = dt__rq_eval(&q->main, GONE, 1, keys, 1, args, NULL);
      if (x != NULL)
        dt__hi.freeReplyObject(x);
    }
  }
  if (r != NULL)
    dt__hi.freeReplyObject(r);
}

/* Forgets what dead callers of this host left in calls (their tasks not
 * yet claimed, answers and blobs), and the entries of other hosts'
 * callers that nothing is left of (ORPHAN: the caller's own host may run
 * no pool to sweep them), SWEEP_BATCH fields per sweep, the HSCAN cursor
 * kept across sweeps.  Returns the number forgotten. */
static int sweep_callers(dt__rq *q) {
  char kt[320], kc[320];
  dt__rq_key(q, kt, sizeof kt, "tasks");
  dt__rq_key(q, kc, sizeof kc, "calls");
  const char *argv[] = {"HSCAN", kc, q->sweep_cursor, "COUNT", SWEEP_BATCH};
  redisReply *r = dt__rconn_argv(&q->main, 5, argv, NULL);
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_STRING ||
      r->element[1]->type != REDIS_REPLY_ARRAY) {
    if (r != NULL)
      dt__hi.freeReplyObject(r);
    return 0;
  }
  snprintf(q->sweep_cursor, sizeof q->sweep_cursor, "%s",
           r->element[0]->str);
  const redisReply *fv = r->element[1];
  int count = 0;
  for (size_t i = 0; i + 1 < fv->elements; i += 2) {
    const redisReply *f = fv->element[i], *v = fv->element[i + 1];
    if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
      continue;
    const char *sp = memchr(v->str, ' ', v->len);
    size_t n = sp != NULL ? (size_t)(sp - v->str) : v->len;
    char host[96];
    int pid;
    if (split_owner(v->str, n, host, sizeof host, &pid) != 0)
      continue;
    bool blob = f->str[0] == 'b';
    bool mine = strcmp(host, q->host) == 0;
    if ((mine && dt__proc_alive(pid)) || (!mine && blob))
      continue;
    char kx[340], kk[340], ka[340], age[24];
    uint64_t xid = strtoull(f->str + blob, NULL, 10);
    dt__rq_id_key(q, kx, sizeof kx, blob ? "b:" : "r:", xid);
    snprintf(age, sizeof age, "%lld", ORPHAN_AGE_MS);
    const char *keys[] = {kt, kc, kx, dt__rq_id_key(q, kk, sizeof kk, "k:",
                                                    xid),
                          dt__rq_id_key(q, ka, sizeof ka, "a:", xid)};
    const char *args[] = {f->str, v->str, age};
    redisReply *x = dt__rq_eval(&q->main, mine ? FORGET : ORPHAN, 5, keys,
                                mine ? 2 : 3, args, NULL);
    count += x != NULL && dt__rq_num(x, 0) == 1;
    if (x != NULL)
      dt__hi.freeReplyObject(x);
  }
  dt__hi.freeReplyObject(r);
  return count;
}

/* The sweep operation (a supervisor's tick): sweep_claims, then
 * sweep_callers.  Returns the number of entries given back or removed,
 * or a negative errno when the server cannot be reached; *reclaimed (if
 * not NULL) gets the number of leases given back. */
int dt__rd_sweep(dt__queue *base, unsigned *reclaimed) {
  dt__rq *q = dt__rd(base);
  unsigned back = 0;
  if (reclaimed != NULL)
    *reclaimed = 0;
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  int count = sweep_claims(q, &back);
  if (reclaimed != NULL)
    *reclaimed = back;
  count += sweep_callers(q);
  sweep_consumers(q);
  dt__rq_unlock(q);
  return count;
}

