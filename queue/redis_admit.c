/* redis_admit.c: admission on the redis backend (queue/queue.h's
 * dt__admit; queue/redis.c lists the keys): what must hold before a
 * worker starts a task, across every worker of every host.
 *
 * A task with admission carries it in its stream entry (SUBMIT adds g
 * gate and n running, R rate, T interval in µs and B burst, only those
 * it has).  A worker claims it with XREADGROUP as any other, then runs
 * ADMIT on it before handing it to its caller: concurrency first, then
 * rate.  ADMIT either admits it (the call joins P run:GATE, recorded in
 * P held; the rate's theoretical arrival time in P tat moves on) or
 * parks it: the entry is acked and deleted, its fields kept in
 * P park:ID, P parked says where it waits, and P calls names the entry
 * "0-0".  A task the gate refuses waits on the list P wait:GATE (FIFO;
 * no rate token spent); one the rate refuses, or that would pass others
 * already waiting for that rate, waits on the list P rwait:RATE (FIFO),
 * keeping its gate's slot if it holds one; the sorted set P later holds
 * each rate with waiters, scored by when (µs, the server's clock) GCRA
 * lets its first waiter start.  So a refused task waits in Redis, never
 * in a worker.
 *
 * When a gated call ends (answered, failed by the supervisor, rejected,
 * its lease swept back to the stream, cancelled, or its caller gone:
 * the ANSWER, REQUEUE, CANCEL, CANCEL_HELD and FORGET scripts), it
 * leaves P run:GATE and the first waiter of P wait:GATE goes back into
 * the stream holding the freed slot (redis_admit.h's release and wake),
 * so that a task queued later never passes it.  A member whose call is
 * over without that (keys lost or edited) is pruned when the gate looks
 * full (live, prune): a gate is never shut for good.
 *
 * Before each blocking claim, a worker runs PROMOTE (in the same write
 * as its answer, when it sends its claim with it, if it knows a rate
 * waits or has not looked for a second): for each rate of
 * P later that is due, the first waiters that GCRA would admit now go
 * back into the stream (as many as its burst lets start at once; each
 * marked p with the time PROMOTE found it due, so that ADMIT lets it
 * pass the rate's other waiters and spends its token as of that time:
 * the steps from there to a worker do not push the rate's next start
 * later, and lose it no throughput), and the rate is given the time of
 * the next;
 * the reply says when the earliest rate is due, and the worker blocks
 * no longer than that, waking the server when its BLOCK runs out
 * (dt__rconn_get_by: a server checks blocked clients' timeouts only on
 * its cron, 100 ms apart by default).  The worker that parked a task on
 * a rate's list, or promoted one with more waiting, knows that time;
 * lest it go on to run a task with no other worker blocking until then,
 * it adds an empty entry to the stream (a tick: ADMIT's parker as its
 * claim returns, PROMOTE behind what it moved), which wakes a blocked
 * worker, or the next to claim, to look at P later itself (a claim
 * deletes any entry that is not a task).  GCRA is dt__gcra of
 * queue/queue.h, in µs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "queue/redis_admit.h"

/* KEYS tasks; ARGV entry id owner gate running rate interval_us burst
 * first (gate or rate '': none; first: the entry's p, the µs at which
 * PROMOTE put it back as its rate's first waiter, '' when it has none).  For the task entry of call id just claimed by owner:
 * {3, 0} admitted; {2, µs} parked on its rate's list, whose first
 * waiter may start in µs; {1, 0} parked on the gate's wait list; {0, 0}
 * not owner's any more, or dropped with its caller gone (and its parts,
 * and its slot), or its entry deleted under it (acked). */
static const char ADMIT[] =
    DT__RQ_GATE_LUA
    "local e, id = ARGV[1], ARGV[2]\n"
    "local p = redis.call('XPENDING', KEYS[1], 'w', e, e, 1)\n"
    "if #p == 0 or p[1][2] ~= ARGV[3] then return {0, 0} end\n"
    "local v = redis.call('HGET', P .. 'calls', id)\n"
    "if not v then redis.call('XACK', KEYS[1], 'w', e)\n"
    " redis.call('XDEL', KEYS[1], e) redis.call('DEL', P .. 'k:' .. id)\n"
    " release(id) return {0, 0} end\n"
    "local function park(where)\n"
    " local x = redis.call('XRANGE', KEYS[1], e, e)\n"
    " redis.call('XACK', KEYS[1], 'w', e) redis.call('XDEL', KEYS[1], e)\n"
    " if #x == 0 then return false end\n"
    " local fl, k = x[1][2], {}\n"
    " for i = 1, #fl - 1, 2 do\n"
    "  if fl[i] ~= 'p' then k[#k + 1] = fl[i] k[#k + 1] = fl[i + 1] end end\n"
    " local pk = P .. 'park:' .. id\n"
    " redis.call('DEL', pk) redis.call('HSET', pk, unpack(k))\n"
    " redis.call('HSET', P .. 'parked', id, where)\n"
    " redis.call('HSET', P .. 'calls', id, string.match(v, '^(%S+)')"
    " .. ' " DT__RQ_PARKED "')\n"
    " return true\n"
    "end\n"
    "local g = ARGV[4]\n"
    "if g ~= '' and redis.call('HGET', P .. 'held', id) ~= g then\n"
    " local n = math.max(1, tonumber(ARGV[5]) or 1)\n"
    " local run, wait = P .. 'run:' .. g, P .. 'wait:' .. g\n"
    " wake(g)\n"
    " if redis.call('LLEN', wait) == 0 and redis.call('SCARD', run) >= n"
    " then prune(g) end\n"
    " if redis.call('LLEN', wait) > 0 or redis.call('SCARD', run) >= n then\n"
    "  if not park('w ' .. g) then return {0, 0} end\n"
    "  redis.call('RPUSH', wait, id) return {1, 0}\n"
    " end\n"
    " redis.call('SADD', run, id) redis.call('HSET', P .. 'held', id, g)\n"
    "end\n"
    "local R = ARGV[6]\n"
    "if R ~= '' then\n"
    " local T = math.max(1, tonumber(ARGV[7]) or 1)\n"
    " local tau = (math.max(1, tonumber(ARGV[8]) or 1) - 1) * T\n"
    " local tm = redis.call('TIME')\n"
    " local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"
    " local pv = tonumber(ARGV[9])\n"
    " local first = pv ~= nil\n"
    /* A task PROMOTE put back is decided at the time PROMOTE found it
     * due (p), not when a worker claimed it: the steps between do not
     * push the rate's next start later. */
    " local dn = now\n"
    " if first and pv <= now and now - pv < 1000000 then dn = pv end\n"
    " local t = tonumber(redis.call('HGET', P .. 'tat', R)) or 0\n"
    " if t > dn + tau + T then t = 0 end\n"
    " if t < dn then t = dn end\n"
    " local rw = P .. 'rwait:' .. R\n"
    " if t - dn > tau or (not first and redis.call('LLEN', rw) > 0) then\n"
    "  if not park('r ' .. R) then release(id) return {0, 0} end\n"
    "  local at = string.format('%.0f', math.max(t - tau, now))\n"
    "  if first then redis.call('LPUSH', rw, id)\n"
    "   redis.call('ZADD', P .. 'later', at, R)\n"
    "  else redis.call('RPUSH', rw, id)\n"
    "   redis.call('ZADD', P .. 'later', 'NX', at, R) end\n"
    "  return {2, math.max(0, tonumber(redis.call('ZSCORE', P .. 'later',"
    " R)) - now)}\n"
    " end\n"
    " redis.call('HSET', P .. 'tat', R, string.format('%.0f', t + T))\n"
    "end\n"
    "return {3, 0}\n";

/* KEYS tasks; ARGV max.  For up to max rates of P later that are due:
 * moves the first waiters of the rate's list that GCRA admits now into
 * the stream, marked first (a copy of the rate's time moves on for each,
 * so that no more go than its burst lets start; P tat does not: ADMIT
 * decides and spends), a waiter whose record or caller is gone dropped
 * (its slot released); then gives the rate the time its next waiter may
 * start, or takes it out of P later when none waits.  When it moved one
 * and a rate still waits, it adds a tick behind them, for a worker to
 * look at P later if the one that ran this goes on to run a task.
 * Returns the µs until the earliest rate of P later is due, or -1 when
 * there is none. */
static const char PROMOTE[] =
    DT__RQ_GATE_LUA
    "local tm = redis.call('TIME')\n"
    "local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"
    "local L, moved = P .. 'later', 0\n"
    "for _, R in ipairs(redis.call('ZRANGEBYSCORE', L, '-inf',"
    " string.format('%.0f', now), 'LIMIT', 0, ARGV[1])) do\n"
    " local rw, t = P .. 'rwait:' .. R, nil\n"
    " while true do\n"
    "  local w = redis.call('LINDEX', rw, 0)\n"
    "  if not w then redis.call('ZREM', L, R) break end\n"
    "  local r = redis.call('HMGET', P .. 'park:' .. w, 'T', 'B')\n"
    "  local T = math.max(1, tonumber(r[1]) or 1)\n"
    "  local tau = (math.max(1, tonumber(r[2]) or 1) - 1) * T\n"
    "  if not t then\n"
    "   t = tonumber(redis.call('HGET', P .. 'tat', R)) or 0\n"
    "   if t > now + tau + T then t = 0 end\n"
    "  end\n"
    "  if t < now then t = now end\n"
    "  if t - now > tau then\n"
    "   redis.call('ZADD', L, string.format('%.0f', t - tau), R) break end\n"
    "  redis.call('LPOP', rw)\n"
    "  t = t + T\n"
    "  if unpark(w, string.format('%.0f', now)) then moved = moved + 1\n"
    "  else release(w) end\n"
    " end\n"
    "end\n"
    "local nx = redis.call('ZRANGE', L, 0, 0, 'WITHSCORES')\n"
    "if #nx < 2 then return -1 end\n"
    "if moved > 0 then redis.call('XADD', KEYS[1], '*', 'x', '1') end\n"
    "return math.max(0, tonumber(nx[2]) - now)\n";

/* The most rates of P later one PROMOTE looks at. */
#define PROMOTE_MAX "64"
/* A busy worker runs PROMOTE with its answers at least this often. */
#define PROMOTE_EVERY_NS 1000000000ull

/* Formats adm (queue.h's dt__admit) as SUBMIT's five admission
 * arguments into a (a->args point into adm and a; adm must outlive
 * them); interval_ns is rounded up to whole µs, at least 1.  Returns 1
 * when adm asks for something, 0 when not (NULL, or no gate and no
 * rate: SUBMIT then gets no admission argument), -EINVAL for a name
 * that dt__admit_name_ok refuses, a gate with running 0 or a rate with
 * burst 0. */
int dt__rq_admit_args(const dt__admit *adm, dt__rq_adm *a) {
  if (adm == NULL || (adm->gate[0] == '\0' && adm->rate[0] == '\0'))
    return 0;
  size_t gl = strnlen(adm->gate, sizeof adm->gate);
  size_t rl = strnlen(adm->rate, sizeof adm->rate);
  if ((gl != 0 && (!dt__admit_name_ok(adm->gate, gl) || adm->running == 0)) ||
      (rl != 0 && (!dt__admit_name_ok(adm->rate, rl) || adm->burst == 0)))
    return -EINVAL;
  uint64_t us = adm->interval_ns / 1000 + (adm->interval_ns % 1000 != 0);
  snprintf(a->running, sizeof a->running, "%u", gl != 0 ? adm->running : 0);
  snprintf(a->interval, sizeof a->interval, "%llu",
           (unsigned long long)(rl != 0 ? (us != 0 ? us : 1) : 0));
  snprintf(a->burst, sizeof a->burst, "%u", rl != 0 ? adm->burst : 0);
  a->args[0] = gl != 0 ? adm->gate : "";
  a->args[1] = a->running;
  a->args[2] = rl != 0 ? adm->rate : "";
  a->args[3] = a->interval;
  a->args[4] = a->burst;
  return 1;
}

/* Notes, from a reply of PROMOTE or ADMIT, that the earliest rate of
 * P later is due in us microseconds (us < 0: none) by this host's
 * clock in q->later_ns (0: none), which bounds this worker's blocking
 * claims; only (with replace false) when earlier than the time noted. */
static void note_later(dt__rq *q, long long us, bool replace) {
  uint64_t at = us < 0 ? 0 : dt__now_ns() + (uint64_t)us * 1000;
  if (replace || q->later_ns == 0 || (at != 0 && at < q->later_ns))
    q->later_ns = at;
}

/* Runs ADMIT on the task entry of call id, whose fields fv this worker
 * just claimed, on the locked main connection; a task without admission
 * fields costs nothing (no command).  *later is set when the task was
 * parked on a rate's list (q->later_ns then notes when its first waiter
 * may start).  Returns 1 when
 * the worker may run it; 0 when it may not (parked, or gone: claim
 * again); -EIO when the link failed (the task stays this worker's, read
 * again after the reconnect); -EPROTO when the server refused the script
 * (said at info; the task stays this worker's). */
int dt__rq_admit(dt__rq *q, const redisReply *fv, const char *entry,
                 uint64_t id, bool *later) {
  const redisReply *g = dt__rq_field(fv, "g"), *n = dt__rq_field(fv, "n");
  const redisReply *r = dt__rq_field(fv, "R"), *t = dt__rq_field(fv, "T");
  const redisReply *b = dt__rq_field(fv, "B"), *p = dt__rq_field(fv, "p");
  if (g == NULL && r == NULL)
    return 1;
  char kt[320], ids[24];
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks")};
  const redisReply *f[] = {g, n, r, t, b, p};
  const char *args[9] = {entry, ids, q->me};
  size_t alen[9] = {DT__RQ_STR, DT__RQ_STR, DT__RQ_STR};
  for (int i = 0; i < 6; i++) {
    args[3 + i] = f[i] != NULL ? f[i]->str : "";
    alen[3 + i] = f[i] != NULL ? f[i]->len : 0;
  }
  redisReply *x = dt__rq_eval(&q->main, ADMIT, 1, keys, 9, args, alen);
  if (x == NULL)
    return q->main.c == NULL ? -EIO : -EPROTO;
  long long code = -1, us = 0;
  if (x->type == REDIS_REPLY_ARRAY && x->elements == 2) {
    code = dt__rq_num(x->element[0], -1);
    us = dt__rq_num(x->element[1], 0);
  }
  dt__hi.freeReplyObject(x);
  if (code == 2) {
    *later = true;
    note_later(q, us, false);
  }
  return code == 3 ? 1 : code >= 0 ? 0 : -EPROTO;
}

/* Reads PROMOTE's reply r (freed here; NULL: none) into q->later_ns. */
static void promoted(dt__rq *q, redisReply *r) {
  if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
    note_later(q, r->integer, true);
    q->promoted_at = dt__now_ns();
  }
  if (r != NULL)
    dt__hi.freeReplyObject(r);
}

/* Runs PROMOTE on the locked main connection (before a blocking claim)
 * and notes when the earliest rate of P later is due.  Returns 0 or
 * -EIO. */
int dt__rq_promote(dt__rq *q) {
  char kt[320];
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks")};
  const char *args[] = {PROMOTE_MAX};
  redisReply *r = dt__rq_eval(&q->main, PROMOTE, 1, keys, 1, args, NULL);
  promoted(q, r);
  return r != NULL ? 0 : -EIO;
}

/* Whether a worker sends PROMOTE with its answer: when it knows a rate
 * waits, or has not looked for PROMOTE_EVERY_NS (a worker kept busy by
 * claims sent with its answers never blocks, and would not look
 * otherwise; a worker that parks a task, or promotes one with more
 * waiting, leaves a tick that makes another look). */
bool dt__rq_promote_due(const dt__rq *q) {
  return q->later_ns != 0 ||
         dt__now_ns() - q->promoted_at >= PROMOTE_EVERY_NS;
}

/* Queues PROMOTE on the locked main connection without reading its
 * reply (dt__rq_promote_read reads it, in order).  0 or -ENOMEM. */
int dt__rq_promote_append(dt__rq *q) {
  char kt[320];
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks")};
  const char *args[] = {PROMOTE_MAX};
  return dt__rq_eval_append(&q->main, PROMOTE, 1, keys, 1, args, NULL);
}

/* Reads the reply of the PROMOTE queued by dt__rq_promote_append (the
 * next one owed on the main connection) into q->later_ns; a failed link
 * leaves it as it was. */
void dt__rq_promote_read(dt__rq *q) {
  promoted(q, dt__rq_checked(&q->main, dt__rconn_get(&q->main)));
}

/* The BLOCK (ms, at least 1) of a claim that would block ms: no longer
 * than until DT__RQ_NEAR_NS before the earliest rate of P later this
 * worker knows of is due.  A BLOCK ends on the server's millisecond, and
 * a moment later still when the server must be woken for it
 * (dt__rconn_get_by): the worker waits out the rest itself, to the
 * microsecond (redis_pool.c's claim), so that the rate's next start is
 * not late, which GCRA would count against every start after it. */
long long dt__rq_block_ms(const dt__rq *q, long long ms) {
  if (q->later_ns == 0)
    return ms;
  uint64_t now = dt__now_ns();
  if (now + DT__RQ_NEAR_NS >= q->later_ns)
    return 1;
  uint64_t left = (q->later_ns - now - DT__RQ_NEAR_NS) / 1000000;
  if (left == 0)
    left = 1;
  return left < (uint64_t)ms ? (long long)left : ms;
}

/* Called by a claim that parked a task on a rate's list, as it returns
 * (to run a task, or without one): while a rate of P later waits as far
 * as this worker knows, adds a tick (an entry with no task: field x) to
 * the stream, which wakes a blocked worker, or the next that claims, to
 * look at P later in its place. */
void dt__rq_tick(dt__rq *q) {
  if (dt__rq_lock(q) != 0)
    return;
  if (q->later_ns != 0) {
    char kt[320];
    const char *argv[] = {"XADD", dt__rq_key(q, kt, sizeof kt, "tasks"), "*",
                          "x", "1"};
    redisReply *r = dt__rconn_argv(&q->main, 5, argv, NULL);
    if (r != NULL)
      dt__hi.freeReplyObject(r);
  }
  dt__rq_unlock(q);
}
