/* redis_pool.c: the redis backend's worker and pool side (queue/redis.c
 * has the key layout): claiming a task, answering it once (only while
 * holding it), the supervisor's crash answers, heartbeats and whether a
 * pool serves, the sweep (leases renewed, lapsed claims given back, what
 * dead callers left forgotten), counts, and the shared buffers of
 * fan-out calls. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "queue/proc.h"
#include "queue/redis_core.h"
#include "queue/redis_ops.h"
#include "queue/wire.h"

/* KEYS tasks calls reply; ARGV id entry owner record from.  Stores the
 * answer only if owner ('' : anyone) holds the entry and the caller
 * still wants it; acks and deletes the task.  1: done, 0: not the
 * owner (nothing changed). */
static const char ANSWER[] =
    "if ARGV[3] ~= '' then\n"
    " local p = redis.call('XPENDING', KEYS[1], 'w', ARGV[2], ARGV[2], 1)\n"
    " if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end\n"
    "end\n"
    "redis.call('XACK', KEYS[1], 'w', ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then\n"
    " redis.call('XADD', KEYS[3], '*', 'f', ARGV[5], 'r', ARGV[4])\n"
    " redis.call('EXPIRE', KEYS[3], " REPLY_TTL_S ")\n"
    "end\n"
    "return 1\n";

/* KEYS tasks calls reply; ARGV entry owner min_idle id max_tries crash.
 * Gives a lapsed claim back to the stream with its tries raised, or
 * answers it with crash after max_tries, or drops it when its caller is
 * gone.  0: not lapsed any more (renewed, answered, taken over). */
static const char REQUEUE[] =
    "local p = redis.call('XPENDING', KEYS[1], 'w', 'IDLE', ARGV[3],"
    " ARGV[1], ARGV[1], 1)\n"
    "if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end\n"
    "local f = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])\n"
    "redis.call('XACK', KEYS[1], 'w', ARGV[1])\n"
    "redis.call('XDEL', KEYS[1], ARGV[1])\n"
    "if #f == 0 then return 2 end\n"
    "local v = redis.call('HGET', KEYS[2], ARGV[4])\n"
    "if not v then return 3 end\n"
    "local h = {}\n"
    "local fl = f[1][2]\n"
    "for i = 1, #fl, 2 do h[fl[i]] = fl[i + 1] end\n"
    "local t = (tonumber(h['t']) or 0) + 1\n"
    "if t >= tonumber(ARGV[5]) then\n"
    " redis.call('XADD', KEYS[3], '*', 'f', '1', 'r', ARGV[6])\n"
    " redis.call('EXPIRE', KEYS[3], " REPLY_TTL_S ") return 4 end\n"
    "local e = redis.call('XADD', KEYS[1], '*', 'i', h['i'], 'c', h['c'],"
    " 't', tostring(t), 'r', h['r'])\n"
    "redis.call('HSET', KEYS[2], ARGV[4], h['c'] .. ' ' .. e)\n"
    "return 1\n";

/* KEYS tasks calls reply-or-blob; ARGV field value.  Removes what a dead
 * caller left: its entry in calls (if unchanged), its answer or blob,
 * and its task unless a worker holds it (the answer is then not
 * stored). */
static const char FORGET[] =
    "if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end\n"
    "redis.call('HDEL', KEYS[2], ARGV[1])\n"
    "redis.call('DEL', KEYS[3])\n"
    "local e = string.match(ARGV[2], ' (%S+)$')\n"
    "if e then\n"
    " local p = redis.call('XPENDING', KEYS[1], 'w', e, e, 1)\n"
    " if #p == 0 then redis.call('XDEL', KEYS[1], e) end\n"
    "end\n"
    "return 1\n";

/* KEYS tasks calls reply; ARGV field value age_ms.  Removes the calls
 * entry of a caller of another host whose task is gone and whose answer
 * is gone too (read, or expired), its task queued age_ms ago or more:
 * nothing of the call is left for anyone to want. */
static const char ORPHAN[] =
    "if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end\n"
    "local e = string.match(ARGV[2], ' (%S+)$')\n"
    "local ms = e and tonumber(string.match(e, '^(%d+)-'))\n"
    "if not ms then return 0 end\n"
    "local t = redis.call('TIME')\n"
    "if t[1] * 1000 + math.floor(t[2] / 1000) - ms < tonumber(ARGV[3])"
    " then return 0 end\n"
    "if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end\n"
    "if #redis.call('XRANGE', KEYS[1], e, e) > 0 then return 0 end\n"
    "redis.call('HDEL', KEYS[2], ARGV[1]) return 1\n";

/* KEYS pools beat; ARGV me workers (0: stopped) max_age_ms. */
static const char BEAT[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "if ARGV[2] == '0' then redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "else redis.call('HSET', KEYS[1], ARGV[1], now .. ' ' .. ARGV[2])\n"
    " redis.call('XADD', KEYS[2], 'MAXLEN', '8', '*', 'p', ARGV[1]) end\n"
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "for i = 1, #h, 2 do\n"
    " local ms = tonumber(string.match(h[i + 1], '^(%d+)'))\n"
    " if ms and now - ms > tonumber(ARGV[3]) then"
    " redis.call('HDEL', KEYS[1], h[i]) end\n"
    "end\n"
    "return 1\n";

/* KEYS pools; ARGV max_age_ms.  {live pools, their workers}. */
static const char RECENT[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "local n, w = 0, 0\n"
    "for i = 1, #h, 2 do\n"
    " local ms, k = string.match(h[i + 1], '^(%d+) (%d+)')\n"
    " if ms and now - tonumber(ms) <= tonumber(ARGV[1]) then\n"
    "  n = n + 1 w = w + tonumber(k) end\n"
    "end\n"
    "return {n, w}\n";

/* KEYS tasks calls; {entries, pending, calls, blobs}. */
static const char STAT[] =
    "local x = redis.call('XLEN', KEYS[1])\n"
    "local ok, s = pcall(redis.call, 'XPENDING', KEYS[1], 'w')\n"
    "local p = 0\n"
    "if ok then p = s[1] end\n"
    "local c, b = 0, 0\n"
    "for _, k in ipairs(redis.call('HKEYS', KEYS[2])) do\n"
    " if string.sub(k, 1, 1) == 'b' then b = b + 1 else c = c + 1 end\n"
    "end\n"
    "return {x, p, c, b}\n";

/* KEYS calls blob; ARGV task bid.  {task's entry or false, blob's
 * caller or false, bytes or false}. */
static const char BLOBREAD[] =
    "return {redis.call('HGET', KEYS[1], ARGV[1]),"
    " redis.call('HGET', KEYS[1], 'b' .. ARGV[2]),"
    " redis.call('GET', KEYS[2])}\n";

/* KEYS calls blob; ARGV bid caller bytes. */
static const char BLOBPUT[] =
    "redis.call('SET', KEYS[2], ARGV[3])"
    " redis.call('HSET', KEYS[1], 'b' .. ARGV[1], ARGV[2]) return 1\n";

/* ------------------------------------------------------------- worker */

/* The value of field name in a stream entry's field list fv, or NULL. */
static const redisReply *field(const redisReply *fv, const char *name) {
  if (fv == NULL || fv->type != REDIS_REPLY_ARRAY)
    return NULL;
  for (size_t i = 0; i + 1 < fv->elements; i += 2)
    if (fv->element[i]->type == REDIS_REPLY_STRING &&
        fv->element[i + 1]->type == REDIS_REPLY_STRING &&
        strcmp(fv->element[i]->str, name) == 0)
      return fv->element[i + 1];
  return NULL;
}

/* Sleeps out the main connection's backoff (at most until deadline) when
 * the server cannot be reached; the lock is not held. */
static int unreachable(dt__rq *q, uint64_t deadline) {
  (void)dt__rconn_wait_retry(&q->main, deadline);
  return -ETIMEDOUT;
}

/* The claim operation: XREADGROUP for this worker (consumer HOST:PID),
 * blocking at most timeout_ns (0: BLOCK_MS at a time, forever), which
 * makes the task pending for this worker in the same step.  Keeps its
 * entry and caller for complete, reject and blob_read.  Returns 0 with
 * *rec (malloc'd, the caller frees it), *size and *id; -ETIMEDOUT when
 * none came (also while the server cannot be reached, after the
 * reconnect backoff); -ENOMEM. */
int dt__rd_claim(dt__queue *base, uint8_t **rec, size_t *size, uint64_t *id,
                 uint64_t timeout_ns) {
  dt__rq *q = dt__rd(base);
  uint64_t deadline = timeout_ns ? dt__now_ns() + timeout_ns : 0;
  for (;;) {
    if (dt__rq_lock(q) != 0) {
      if (unreachable(q, deadline) == -ETIMEDOUT && deadline != 0)
        return -ETIMEDOUT;
      continue;
    }
    long long ms = BLOCK_MS;
    if (deadline) {
      uint64_t now = dt__now_ns();
      ms = now >= deadline ? 1 : (long long)((deadline - now) / 1000000) + 1;
    }
    char kt[320], mss[24];
    snprintf(mss, sizeof mss, "%lld", ms);
    const char *argv[] = {"XREADGROUP", "GROUP", "w", q->me, "COUNT", "1",
                          "BLOCK", mss, "STREAMS",
                          dt__rq_key(q, kt, sizeof kt, "tasks"), ">"};
    redisReply *r = dt__rconn_argv(&q->main, 11, argv, NULL);
    if (r != NULL && r->type == REDIS_REPLY_ERROR &&
        strncmp(r->str, "NOGROUP", 7) == 0)
      (void)dt__rq_ensure_group(q, &q->main); /* the server lost it */
    const redisReply *e = NULL;
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2 &&
        r->element[0]->element[1]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->element[1]->elements == 1)
      e = r->element[0]->element[1]->element[0];
    if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements != 2) {
      dt__rq_unlock(q);
      if (r != NULL)
        freeReplyObject(r);
      if (deadline == 0 || dt__now_ns() < deadline)
        continue;
      return -ETIMEDOUT;
    }
    const redisReply *fi = field(e->element[1], "i");
    const redisReply *fc = field(e->element[1], "c");
    const redisReply *fr = field(e->element[1], "r");
    int rc = 0;
    if (fi == NULL || fc == NULL || fr == NULL ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[0]->len >= sizeof q->claim_entry ||
        fc->len >= sizeof q->claim_caller) {
      /* Not a task of dtask's: ack and delete it, look again. */
      const char *a[] = {"XACK", kt, "w", e->element[0]->str};
      redisReply *x = dt__rconn_argv(&q->main, 4, a, NULL);
      if (x != NULL)
        freeReplyObject(x);
      rc = -EAGAIN;
    } else if ((*rec = malloc(fr->len ? fr->len : 1)) == NULL) {
      rc = -ENOMEM;
    } else {
      memcpy(*rec, fr->str, fr->len);
      *size = fr->len;
      *id = strtoull(fi->str, NULL, 10);
      q->claim_id = *id;
      snprintf(q->claim_entry, sizeof q->claim_entry, "%s",
               e->element[0]->str);
      snprintf(q->claim_caller, sizeof q->claim_caller, "%s", fc->str);
    }
    dt__rq_unlock(q);
    freeReplyObject(r);
    if (rc != -EAGAIN)
      return rc;
  }
}

/* The entry of call id in calls (its "CALLER ENTRY" value's second
 * word) into entry, on the locked main connection.  Returns 0, -ENOENT
 * or -EIO. */
static int entry_of(dt__rq *q, uint64_t id, char *entry, size_t cap) {
  char kc[320], ids[24];
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  const char *argv[] = {"HGET", dt__rq_key(q, kc, sizeof kc, "calls"), ids};
  redisReply *r = dt__rconn_argv(&q->main, 3, argv, NULL);
  if (r == NULL)
    return -EIO;
  int rc = -ENOENT;
  const char *sp = r->type == REDIS_REPLY_STRING ? strrchr(r->str, ' ')
                                                 : NULL;
  if (sp != NULL && strlen(sp + 1) < cap) {
    snprintf(entry, cap, "%s", sp + 1);
    rc = 0;
  }
  freeReplyObject(r);
  return rc;
}

/* Stores rec as the answer of call id whose task is entry, only if owner
 * ("" : anyone) holds it (the ANSWER script), trying again across a
 * failed link for up to IO_TIMEOUT_NS.  Returns 1 (stored, or the caller
 * is gone), 0 (owner does not hold it), or a negative errno. */
static int answer(dt__rq *q, uint64_t id, const char *entry,
                  const char *owner, const uint8_t *rec, size_t size,
                  int from) {
  uint64_t deadline = dt__now_ns() + IO_TIMEOUT_NS;
  char kt[320], kc[320], kr[340], ids[24];
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks"),
                        dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kr, sizeof kr, "r:", id)};
  const char *args[] = {ids, entry, owner, (const char *)rec,
                        from == DT__FROM_RUNNER ? "1" : "0"};
  size_t alen[] = {DT__RQ_STR, DT__RQ_STR, DT__RQ_STR, size,
                   DT__RQ_STR};
  for (;;) {
    int rc = dt__rconn_ready(&q->main, IO_TIMEOUT_NS);
    if (rc == 0) {
      redisReply *r = dt__rq_eval(&q->main, ANSWER, 3, keys, 5, args, alen);
      if (r != NULL) {
        rc = (int)dt__rq_num(r, -EIO);
        freeReplyObject(r);
        return rc;
      }
      if (q->main.c != NULL)
        return -EIO; /* the server refused the script */
    }
    if (dt__now_ns() >= deadline)
      return -EIO;
    (void)dt__rconn_wait_retry(&q->main, deadline);
  }
}

/* Answers the task this worker claimed (or, for another id, whoever
 * holds it) with rec, from a worker.  Returns 0 (also when the lease was
 * taken over: the answer is dropped, said at warn), or a negative
 * errno. */
static int answer_claimed(dt__rq *q, uint64_t id, const uint8_t *rec,
                          size_t size) {
  char entry[48];
  const char *owner = "";
  pthread_mutex_lock(&q->mu);
  int rc = 0;
  if (q->claim_id == id) {
    snprintf(entry, sizeof entry, "%s", q->claim_entry);
    owner = q->me;
  } else if ((rc = dt__rconn_ready(&q->main, IO_TIMEOUT_NS)) == 0) {
    rc = entry_of(q, id, entry, sizeof entry);
  }
  if (rc == 0)
    rc = answer(q, id, entry, owner, rec, size, DT__FROM_WORKER);
  if (q->claim_id == id)
    q->claim_id = DT__NO_ID;
  pthread_mutex_unlock(&q->mu);
  if (rc == 0) {
    dt__log(DT__LOG_WARN,
            "call %llu: this worker's lease was taken over (it was not "
            "renewed for %llds); its answer is dropped",
            (unsigned long long)id, LEASE_MS / 1000);
    return 0;
  }
  return rc == 1 ? 0 : rc;
}

/* The complete operation: answer_claimed. */
int dt__rd_complete(dt__queue *q, uint64_t id, const uint8_t *rec,
                    size_t size) {
  return answer_claimed(dt__rd(q), id, rec, size);
}

/* The reject operation: answer_claimed (a worker rejects what it
 * claimed). */
int dt__rd_reject(dt__queue *q, uint64_t id, const uint8_t *rec,
                  size_t size) {
  return answer_claimed(dt__rd(q), id, rec, size);
}

/* The fail_claim operation: the supervisor's answer for the call id of
 * its worker (a process of this host), stored only if that worker still
 * holds the task.  Returns 0; -EPERM while the worker runs; -ENOENT when
 * it holds no such task; -EIO. */
int dt__rd_fail_claim(dt__queue *base, uint64_t id, int worker,
                      const uint8_t *rec, size_t size) {
  dt__rq *q = dt__rd(base);
  if (dt__proc_alive(worker))
    return -EPERM;
  char owner[96], entry[48];
  snprintf(owner, sizeof owner, "%s:%d", q->host, worker);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  rc = entry_of(q, id, entry, sizeof entry);
  if (rc == 0)
    rc = answer(q, id, entry, owner, rec, size, DT__FROM_RUNNER);
  dt__rq_unlock(q);
  return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

/* The kick operation: nothing to do; a worker's claim blocks at most
 * its timeout (the runner's tick) and the worker then sees its stop. */
void dt__rd_kick(dt__queue *q) { (void)q; }

/* ---------------------------------------------------------- the pool */

/* The heartbeat operation: the BEAT script (this process's entry in
 * pools, with its worker count; removed for pid 0), which also forgets
 * pools silent for a minute. */
void dt__rd_heartbeat(dt__queue *base, int pid) {
  dt__rq *q = dt__rd(base);
  if (dt__rq_lock(q) != 0)
    return;
  char kp[320], kb[320], w[16];
  snprintf(w, sizeof w, "%d", pid == 0 ? 0 : q->nworkers > 0 ? q->nworkers : 1);
  const char *keys[] = {dt__rq_key(q, kp, sizeof kp, "pools"),
                        dt__rq_key(q, kb, sizeof kb, "beat")};
  const char *args[] = {q->me, w, "60000"};
  redisReply *r = dt__rq_eval(&q->main, BEAT, 2, keys, 3, args, NULL);
  dt__rq_unlock(q);
  if (r != NULL)
    freeReplyObject(r);
}

/* Asks the server whether a pool beat within max_age_ns (the RECENT
 * script) and caches the answer with its worker count.  Returns 1, 0, or
 * -EIO (the cache unchanged). */
static int ask_recent(dt__rq *q, uint64_t max_age_ns) {
  if (dt__rq_lock(q) != 0)
    return -EIO;
  char kp[320], ms[24];
  snprintf(ms, sizeof ms, "%llu", (unsigned long long)(max_age_ns / 1000000));
  const char *keys[] = {dt__rq_key(q, kp, sizeof kp, "pools")};
  const char *args[] = {ms};
  redisReply *r = dt__rq_eval(&q->main, RECENT, 1, keys, 1, args, NULL);
  dt__rq_unlock(q);
  if (r == NULL)
    return -EIO;
  int n = 0, w = 0;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
    n = (int)dt__rq_num(r->element[0], 0);
    w = (int)dt__rq_num(r->element[1], 0);
  }
  freeReplyObject(r);
  __atomic_store_n(&q->seen_recent, n > 0, __ATOMIC_RELAXED);
  __atomic_store_n(&q->seen_workers, w, __ATOMIC_RELAXED);
  __atomic_store_n(&q->seen_at, dt__now_ns(), __ATOMIC_RELEASE);
  return n > 0;
}

/* The runner_recent operation: whether some pool, on any host, beat
 * within max_age_ns, by the server's clock; asked at most every
 * RECENT_CACHE_NS, the cached answer otherwise (0 when the server cannot
 * be reached). */
int dt__rd_runner_recent(dt__queue *base, uint64_t max_age_ns) {
  dt__rq *q = dt__rd(base);
  uint64_t at = __atomic_load_n(&q->seen_at, __ATOMIC_ACQUIRE);
  if (at != 0 && dt__now_ns() - at < RECENT_CACHE_NS)
    return __atomic_load_n(&q->seen_recent, __ATOMIC_RELAXED);
  return ask_recent(q, max_age_ns) == 1;
}

/* The runner_alive operation: runner_recent (a pool on another host
 * cannot be looked up by pid; a dead one stops beating). */
int dt__rd_runner_alive(dt__queue *q, uint64_t max_age_ns) {
  return dt__rd_runner_recent(q, max_age_ns);
}

/* The wait_runner operation: until a pool beats, blocking on the beat
 * stream on a connection of its own (the main one stays free), at most
 * timeout_ns.  Returns 0 or -ETIMEDOUT. */
int dt__rd_wait_runner(dt__queue *base, uint64_t max_age_ns,
                       uint64_t timeout_ns) {
  dt__rq *q = dt__rd(base);
  uint64_t deadline = dt__now_ns() + timeout_ns;
  dt__rconn c = {.srv = &q->srv};
  int rc = -ETIMEDOUT;
  char kb[320];
  dt__rq_key(q, kb, sizeof kb, "beat");
  while (rc != 0) {
    if (ask_recent(q, max_age_ns) == 1) {
      rc = 0;
      break;
    }
    uint64_t now = dt__now_ns();
    if (now >= deadline)
      break;
    if (dt__rconn_ready(&c, IO_TIMEOUT_NS) != 0) {
      (void)dt__rconn_wait_retry(&c, deadline);
      continue;
    }
    uint64_t left = (deadline - now) / 1000000 + 1;
    char ms[24];
    snprintf(ms, sizeof ms, "%llu",
             (unsigned long long)(left < BLOCK_MS ? left : BLOCK_MS));
    const char *argv[] = {"XREAD", "BLOCK", ms, "STREAMS", kb, "$"};
    redisReply *r = dt__rconn_argv(&c, 6, argv, NULL);
    if (r != NULL)
      freeReplyObject(r);
  }
  dt__rconn_close(&c);
  return rc;
}

/* The set_workers operation: the count the next beats publish. */
void dt__rd_set_workers(dt__queue *q, int n) { dt__rd(q)->nworkers = n; }

/* The workers operation: the workers of every pool that beats now (0
 * when none does). */
int dt__rd_workers(dt__queue *base) {
  dt__rq *q = dt__rd(base);
  (void)dt__rd_runner_recent(base, (uint64_t)POOL_AGE_MS * 1000000);
  return __atomic_load_n(&q->seen_workers, __ATOMIC_RELAXED);
}

/* The next_id operation: the id the counter hands out next (0 when the
 * server cannot be reached). */
uint64_t dt__rd_next_id(dt__queue *base) {
  dt__rq *q = dt__rd(base);
  if (dt__rq_lock(q) != 0)
    return 0;
  char k[320];
  const char *argv[] = {"GET", dt__rq_key(q, k, sizeof k, "id")};
  redisReply *r = dt__rconn_argv(&q->main, 2, argv, NULL);
  dt__rq_unlock(q);
  long long v = dt__rq_num(r, 0);
  if (r != NULL)
    freeReplyObject(r);
  return (uint64_t)v + 1;
}

/* ---------------------------------------------------------- the sweep */

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
 * reads its call id and tries, and runs REQUEUE with a crash answer
 * ready for the last try.  Returns 1 when something changed, else 0. */
static int requeue(dt__rq *q, const char *entry, const char *owner,
                   long long min_idle) {
  char kt[320], kc[320], kr[340];
  dt__rq_key(q, kt, sizeof kt, "tasks");
  const char *argv[] = {"XRANGE", kt, entry, entry};
  redisReply *x = dt__rconn_argv(&q->main, 4, argv, NULL);
  if (x == NULL)
    return 0;
  uint64_t id = DT__NO_ID;
  unsigned tries = 0;
  if (x->type == REDIS_REPLY_ARRAY && x->elements == 1 &&
      x->element[0]->type == REDIS_REPLY_ARRAY &&
      x->element[0]->elements == 2) {
    const redisReply *fi = field(x->element[0]->element[1], "i");
    const redisReply *ft = field(x->element[0]->element[1], "t");
    if (fi != NULL)
      id = strtoull(fi->str, NULL, 10);
    if (ft != NULL)
      tries = (unsigned)strtoul(ft->str, NULL, 10);
  }
  freeReplyObject(x);
  char msg[200];
  snprintf(msg, sizeof msg,
           "the workers running this call were lost %u times (killed, or "
           "their host stopped renewing its lease); dtask gave up on it",
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
  const char *keys[] = {kt, dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kr, sizeof kr, "r:",
                                      id == DT__NO_ID ? 0 : id)};
  const char *args[] = {entry, owner, idle, ids, max, (const char *)res};
  size_t alen[] = {DT__RQ_STR, DT__RQ_STR, DT__RQ_STR,
                   DT__RQ_STR, DT__RQ_STR, rsize};
  redisReply *r = dt__rq_eval(&q->main, REQUEUE, 3, keys, 6, args, alen);
  free(res);
  int changed = r != NULL && dt__rq_num(r, 0) != 0;
  if (r != NULL)
    freeReplyObject(r);
  return changed;
}

/* One entry of XPENDING's extended form, p: renews it when a live
 * worker of this host holds it, else gives it back when its holder is a
 * gone worker of this host or its lease lapsed.  Returns 1 when given
 * back. */
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
      freeReplyObject(c);
    return 0;
  }
  if (strcmp(host, q->host) == 0)
    return requeue(q, entry, owner, 0);
  return idle >= LEASE_MS ? requeue(q, entry, owner, LEASE_MS) : 0;
}

/* Renews the leases of this host's live workers and gives back the
 * lapsed ones (workers of this host that are gone; any host's claim not
 * renewed for LEASE_MS), every pending entry, a page of PENDING_PAGE at
 * a time.  Returns the number given back. */
static int sweep_claims(dt__rq *q) {
  char kt[320], from[64] = "-";
  dt__rq_key(q, kt, sizeof kt, "tasks");
  int count = 0;
  for (;;) {
    const char *argv[] = {"XPENDING", kt, "w", from, "+", PENDING_PAGE};
    redisReply *r = dt__rconn_argv(&q->main, 6, argv, NULL);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      if (r != NULL)
        freeReplyObject(r);
      return count;
    }
    for (size_t i = 0; i < r->elements; i++)
      count += sweep_claim(q, kt, r->element[i]);
    const redisReply *last = r->element[r->elements - 1];
    bool more = r->elements == (size_t)atoi(PENDING_PAGE) &&
                last->type == REDIS_REPLY_ARRAY && last->elements == 4 &&
                last->element[0]->type == REDIS_REPLY_STRING &&
                last->element[0]->len < sizeof from - 2;
    if (more) /* after the last one seen: "(" makes the bound exclusive */
      snprintf(from, sizeof from, "(%s", last->element[0]->str);
    freeReplyObject(r);
    if (!more)
      return count;
  }
}

/* The value of field name in an XINFO reply's flat list of pairs, or
 * NULL. */
static const redisReply *info_field(const redisReply *m, const char *name) {
  for (size_t i = 0; m->type == REDIS_REPLY_ARRAY && i + 1 < m->elements;
       i += 2)
    if (m->element[i]->type == REDIS_REPLY_STRING &&
        strcmp(m->element[i]->str, name) == 0)
      return m->element[i + 1];
  return NULL;
}

/* Deletes the group's consumers that hold nothing and will not come
 * back: gone workers of this host, and other hosts' consumers idle for
 * CONSUMER_IDLE_MS (a worker's every claim makes it active again). */
static void sweep_consumers(dt__rq *q) {
  char kt[320];
  dt__rq_key(q, kt, sizeof kt, "tasks");
  const char *argv[] = {"XINFO", "CONSUMERS", kt, "w"};
  redisReply *r = dt__rconn_argv(&q->main, 4, argv, NULL);
  for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
                     i < r->elements;
       i++) {
    const redisReply *name = info_field(r->element[i], "name");
    long long pending = dt__rq_num(info_field(r->element[i], "pending"), 1);
    long long idle = dt__rq_num(info_field(r->element[i], "idle"), 0);
    char host[96];
    int pid;
    if (name == NULL || name->type != REDIS_REPLY_STRING || pending != 0 ||
        split_owner(name->str, name->len, host, sizeof host, &pid) != 0)
      continue;
    bool mine = strcmp(host, q->host) == 0;
    if ((mine && !dt__proc_alive(pid)) ||
        (!mine && idle >= CONSUMER_IDLE_MS)) {
      const char *d[] = {"XGROUP", "DELCONSUMER", kt, "w", name->str};
      redisReply *x = dt__rconn_argv(&q->main, 5, d, NULL);
      if (x != NULL)
        freeReplyObject(x);
    }
  }
  if (r != NULL)
    freeReplyObject(r);
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
      freeReplyObject(r);
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
    char kx[340], age[24];
    dt__rq_id_key(q, kx, sizeof kx, blob ? "b:" : "r:",
                  strtoull(f->str + blob, NULL, 10));
    snprintf(age, sizeof age, "%lld", ORPHAN_AGE_MS);
    const char *keys[] = {kt, kc, kx};
    const char *args[] = {f->str, v->str, age};
    redisReply *x = dt__rq_eval(&q->main, mine ? FORGET : ORPHAN, 3, keys,
                                mine ? 2 : 3, args, NULL);
    count += x != NULL && dt__rq_num(x, 0) == 1;
    if (x != NULL)
      freeReplyObject(x);
  }
  freeReplyObject(r);
  return count;
}

/* The sweep operation (a supervisor's tick): sweep_claims, then
 * sweep_callers.  Returns the number of entries given back or removed,
 * or a negative errno when the server cannot be reached. */
int dt__rd_sweep(dt__queue *base) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  int count = sweep_claims(q);
  count += sweep_callers(q);
  sweep_consumers(q);
  dt__rq_unlock(q);
  return count;
}

/* The stat operation: the STAT script (tasks waiting, claimed, answers
 * not yet read, blobs); used_bytes is the server's used_memory.
 * Returns 0 or -EIO. */
int dt__rd_stat(dt__queue *base, dt__queue_stats *st) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  char kt[320], kc[320];
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks"),
                        dt__rq_key(q, kc, sizeof kc, "calls")};
  redisReply *r = dt__rq_eval(&q->main, STAT, 2, keys, 0, NULL, NULL);
  const char *argv[] = {"INFO", "memory"};
  redisReply *m = r != NULL ? dt__rconn_argv(&q->main, 2, argv, NULL) : NULL;
  dt__rq_unlock(q);
  rc = -EIO;
  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
    long long x = dt__rq_num(r->element[0], 0);
    long long p = dt__rq_num(r->element[1], 0);
    long long c = dt__rq_num(r->element[2], 0);
    long long b = dt__rq_num(r->element[3], 0);
    memset(st, 0, sizeof *st);
    st->tasks = (size_t)(x > p ? x - p : 0);
    st->claims = (size_t)p;
    st->results = (size_t)(c > x ? c - x : 0);
    st->blobs = (size_t)b;
    const char *u = m != NULL && m->type == REDIS_REPLY_STRING
                        ? strstr(m->str, "used_memory:")
                        : NULL;
    if (u != NULL)
      st->used_bytes = strtoull(u + 12, NULL, 10);
    rc = 0;
  }
  if (r != NULL)
    freeReplyObject(r);
  if (m != NULL)
    freeReplyObject(m);
  return rc;
}

/* ------------------------------------------------------------- blobs */

/* The blob_put operation: stores size bytes under a new id (*id) as this
 * caller's, in one value.  Returns 0; -E2BIG past one Redis value;
 * -EIO. */
int dt__rd_blob_put(dt__queue *base, const void *data, size_t size,
                    uint64_t *id) {
  dt__rq *q = dt__rd(base);
  if (size > MAX_RECORD)
    return -E2BIG;
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  rc = dt__rq_take_id(q, &q->main, id);
  redisReply *r = NULL;
  if (rc == 0) {
    char kc[320], kb[340], ids[24];
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)*id);
    const char *keys[] = {dt__rq_key(q, kc, sizeof kc, "calls"),
                          dt__rq_id_key(q, kb, sizeof kb, "b:", *id)};
    const char *args[] = {ids, q->me, (const char *)data};
    size_t alen[] = {DT__RQ_STR, DT__RQ_STR, size};
    r = dt__rq_eval(&q->main, BLOBPUT, 2, keys, 3, args, alen);
    rc = r != NULL ? 0 : -EIO;
  }
  dt__rq_unlock(q);
  if (r != NULL)
    freeReplyObject(r);
  return rc;
}

/* The blob_read operation: copies blob id into dst (exactly size
 * bytes) for the claimed task `task`, whose caller must be the blob's.
 * Returns 0; -ENOENT; -EPROTO for another size; -EACCES for another
 * caller's blob; -EIO. */
int dt__rd_blob_read(dt__queue *base, uint64_t task, uint64_t id, void *dst,
                     uint64_t size) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  char kc[320], kb[340], ts[24], ids[24];
  snprintf(ts, sizeof ts, "%llu", (unsigned long long)task);
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  const char *keys[] = {dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kb, sizeof kb, "b:", id)};
  const char *args[] = {ts, ids};
  redisReply *r = dt__rq_eval(&q->main, BLOBREAD, 2, keys, 2, args, NULL);
  char caller[96] = "";
  if (q->claim_id == task)
    snprintf(caller, sizeof caller, "%s", q->claim_caller);
  dt__rq_unlock(q);
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
    if (r != NULL)
      freeReplyObject(r);
    return -EIO;
  }
  const redisReply *tv = r->element[0], *bc = r->element[1],
                   *data = r->element[2];
  if (caller[0] == '\0' && tv->type == REDIS_REPLY_STRING) {
    const char *sp = memchr(tv->str, ' ', tv->len);
    size_t n = sp != NULL ? (size_t)(sp - tv->str) : tv->len;
    if (n < sizeof caller) {
      memcpy(caller, tv->str, n);
      caller[n] = '\0';
    }
  }
  if (data->type != REDIS_REPLY_STRING)
    rc = -ENOENT;
  else if ((uint64_t)data->len != size)
    rc = -EPROTO;
  else if (bc->type != REDIS_REPLY_STRING || caller[0] == '\0' ||
           strcmp(bc->str, caller) != 0)
    rc = -EACCES;
  else
    memcpy(dst, data->str, data->len);
  freeReplyObject(r);
  return rc;
}

/* The blob_drop operation: deletes blob id and its entry in calls.
 * Returns 0 or -EIO. */
int dt__rd_blob_drop(dt__queue *base, uint64_t id) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  char kc[320], kb[340], f[26];
  snprintf(f, sizeof f, "b%llu", (unsigned long long)id);
  const char *argv[] = {"DEL", dt__rq_id_key(q, kb, sizeof kb, "b:", id)};
  const char *argh[] = {"HDEL", dt__rq_key(q, kc, sizeof kc, "calls"), f};
  redisReply *a = dt__rconn_argv(&q->main, 2, argv, NULL);
  redisReply *b = a != NULL ? dt__rconn_argv(&q->main, 3, argh, NULL) : NULL;
  dt__rq_unlock(q);
  rc = a != NULL && b != NULL ? 0 : -EIO;
  if (a != NULL)
    freeReplyObject(a);
  if (b != NULL)
    freeReplyObject(b);
  return rc;
}
