/* redis_pool.c: the redis backend's worker and pool side (queue/redis.c
 * has the key layout): claiming a task, answering it once (only while
 * holding it), the supervisor's crash answers, heartbeats and whether a
 * pool serves, counts, and the shared buffers of fan-out calls.  The
 * sweep is redis_sweep.c's. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "queue/proc.h"
#include "queue/redis_admit.h"
#include "queue/redis_core.h"
#include "queue/redis_ops.h"
#include "queue/redis_parts.h"
#include "queue/wire.h"

/* KEYS tasks calls reply taskparts replyparts myparts; ARGV id entry
 * owner record from parts total.  Stores the answer only if owner ('' :
 * anyone) holds the entry and the caller still wants it; acks and
 * deletes the task and its parts (a task parked by admission too, for
 * owner ''), and gives the slot of the gate it held to the next waiter
 * (redis_admit.h).  An answer in parts (parts not '0') was written to
 * myparts, this worker's own key: it becomes replyparts only here, so
 * that a worker whose lease was taken over never overwrites the answer
 * that counts.  1: done, 0: not the owner
 * (nothing changed but myparts deleted). */
static const char ANSWER[] =
    DT__RQ_GATE_LUA
    "local parted = ARGV[6] ~= '0'\n"
    "if ARGV[3] ~= '' then\n"
    " local p = redis.call('XPENDING', KEYS[1], 'w', ARGV[2], ARGV[2], 1)\n"
    " if #p == 0 or p[1][2] ~= ARGV[3] then\n"
    "  if parted then redis.call('DEL', KEYS[6]) end return 0 end\n"
    "end\n"
    "if parted and redis.call('EXISTS', KEYS[6]) == 0 then\n"
    " return redis.error_reply('the answer parts are gone') end\n"
    "redis.call('XACK', KEYS[1], 'w', ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "redis.call('DEL', KEYS[4])\n"
    "unqueue(ARGV[1]) release(ARGV[1])\n"
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then\n"
    " if parted then\n"
    "  redis.call('RENAME', KEYS[6], KEYS[5])\n"
    "  redis.call('EXPIRE', KEYS[5], " REPLY_TTL_S ")\n"
    "  redis.call('XADD', KEYS[3], '*', 'f', ARGV[5], 'r', '', 'k', ARGV[6],"
    " 'z', ARGV[7])\n"
    " else redis.call('XADD', KEYS[3], '*', 'f', ARGV[5], 'r', ARGV[4]) end\n"
    " redis.call('EXPIRE', KEYS[3], " REPLY_TTL_S ")\n"
    "elseif parted then redis.call('DEL', KEYS[6]) end\n"
    "return 1\n";

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

/* KEYS pools; ARGV max_age_ms.  The pools that beat within max_age_ms,
 * by the server's clock: {name, workers, name, workers...}. */
static const char RECENT[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "local out = {}\n"
    "for i = 1, #h, 2 do\n"
    " local ms, k = string.match(h[i + 1], '^(%d+) (%d+)')\n"
    " if ms and now - tonumber(ms) <= tonumber(ARGV[1]) then\n"
    "  out[#out + 1] = h[i] out[#out + 1] = tonumber(k) end\n"
    "end\n"
    "return out\n";

/* KEYS tasks calls parked; {entries, pending, calls, blobs, parked}. */
static const char STAT[] =
    "local x = redis.call('XLEN', KEYS[1])\n"
    "local ok, s = pcall(redis.call, 'XPENDING', KEYS[1], 'w')\n"
    "local p = 0\n"
    "if ok then p = s[1] end\n"
    "local c, b = 0, 0\n"
    "for _, k in ipairs(redis.call('HKEYS', KEYS[2])) do\n"
    " if string.sub(k, 1, 1) == 'b' then b = b + 1 else c = c + 1 end\n"
    "end\n"
    "return {x, p, c, b, redis.call('HLEN', KEYS[3])}\n";

/* KEYS calls blob; ARGV task bid.  {task's entry or false, blob's
 * caller or false, bytes, or the number of parts of a blob kept in
 * parts (a list), or false}. */
static const char BLOBREAD[] =
    "local b = false\n"
    "local t = redis.call('TYPE', KEYS[2])['ok']\n"
    "if t == 'string' then b = redis.call('GET', KEYS[2])\n"
    "elseif t == 'list' then b = redis.call('LLEN', KEYS[2]) end\n"
    "return {redis.call('HGET', KEYS[1], ARGV[1]),"
    " redis.call('HGET', KEYS[1], 'b' .. ARGV[2]), b}\n";

/* KEYS calls blob; ARGV bid caller bytes parted ('1': the blob is
 * already in its key, in parts). */
static const char BLOBPUT[] =
    "if ARGV[4] ~= '1' then redis.call('SET', KEYS[2], ARGV[3]) end"
    " redis.call('HSET', KEYS[1], 'b' .. ARGV[1], ARGV[2]) return 1\n";

/* ------------------------------------------------------------- worker */

/* Sleeps out the main connection's backoff (at most until deadline) when
 * the server cannot be reached; the lock is not held. */
static int unreachable(dt__rq *q, uint64_t deadline) {
  (void)dt__rconn_wait_retry(&q->main, deadline);
  return -ETIMEDOUT;
}

/* Reads the parts of the task of call id (total bytes, n parts) into a
 * new buffer *rec (malloc'd, the caller frees it) on the locked main
 * connection.  Returns 0; -ENOENT or -EPROTO (the parts are gone or
 * wrong); -ENOMEM; -EIO on the link (*rec NULL for all but 0). */
static int claim_parts(dt__rq *q, uint64_t id, uint64_t total, long long n,
                       uint8_t **rec) {
  char kk[340];
  *rec = malloc(total);
  if (*rec == NULL)
    return -ENOMEM;
  int rc = dt__rq_get_parts(&q->main, dt__rq_id_key(q, kk, sizeof kk, "k:",
                                                    id),
                            n, total, *rec);
  if (rc != 0) {
    free(*rec);
    *rec = NULL;
  }
  return rc;
}

static int answer(dt__rq *q, uint64_t id, const char *entry,
                  const char *owner, const uint8_t *rec, size_t size,
                  int from);

/* Answers the task entry of call id, just claimed in parts, with a
 * refusal instead of running it (why: -E2BIG, larger than this worker's
 * [queue] max_call_size, nothing allocated; -ENOENT or -EPROTO, its
 * parts gone or wrong), on the locked main connection: its caller gets
 * an answer and the task and its parts are deleted. */
static void refuse_parts(dt__rq *q, uint64_t id, const char *entry, int why,
                         uint64_t total) {
  char msg[200];
  if (why == -E2BIG)
    snprintf(msg, sizeof msg,
             "the task (%llu bytes) is larger than the worker's [queue] "
             "max_call_size (%llu bytes); raise it on the runner's host",
             (unsigned long long)total, (unsigned long long)q->max_call);
  else
    snprintf(msg, sizeof msg, "the task's parts are %s in the queue's "
             "Redis", why == -ENOENT ? "missing" : "not what it says");
  uint8_t *res = NULL;
  size_t rsize = 0;
  if (dt__wire_result_error(id, why == -E2BIG ? DT__ST_TOO_BIG
                                              : DT__ST_MALFORMED,
                            0, msg, &res, &rsize) != 0)
    return; /* out of memory: the sweep gives it back later */
  dt__log(DT__LOG_WARN, "call %llu: %s", (unsigned long long)id, msg);
  (void)answer(q, id, entry, q->me, res, rsize, DT__FROM_WORKER);
  free(res);
}

/* The claim operation's loop (dt__rd_claim); *later is set when ADMIT
 * parked a task on a rate's list. */
static int claim_loop(dt__rq *q, uint8_t **rec, size_t *size, uint64_t *id,
                      uint64_t timeout_ns, bool *later) {
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
    dt__rq_key(q, kt, sizeof kt, "tasks");
    /* After a connect, this worker's own pending entries first ("0": the
     * server may have handed one out on a link that then failed; read
     * again, it is run here instead of being renewed forever unrun);
     * then new ones (">"), or the reply of the claim sent ahead. */
    bool history = q->claim_epoch != q->main.epoch;
    if (history && q->ahead != NULL) {
      dt__hi.freeReplyObject(q->ahead); /* its task, if any, is read again */
      q->ahead = NULL;
    }
    if (!history && q->ahead == NULL) { /* before blocking: P later */
      (void)dt__rq_promote(q);
      uint64_t now = dt__now_ns(), due = q->later_ns;
      if (due > now && due - now <= DT__RQ_NEAR_NS) {
        /* A rate's waiter is due: wait here (dt__rq_block_ms: why). */
        dt__rq_unlock(q);
        struct timespec ts = {0, (long)(due - now)};
        nanosleep(&ts, NULL);
        continue;
      }
      ms = dt__rq_block_ms(q, ms);
    }
    snprintf(mss, sizeof mss, "%lld", ms);
    uint64_t sent = dt__now_ns();
    redisReply *r = NULL;
    if (!history && q->ahead != NULL) {
      r = q->ahead;
      q->ahead = NULL;
    } else { /* the server woken when the BLOCK runs out: on time */
      const char *argv[] = {"XREADGROUP", "GROUP", "w", q->me, "COUNT", "1",
                            "BLOCK", mss, "STREAMS", kt, history ? "0" : ">"};
      r = dt__rconn_append(&q->main, 11, argv, NULL, 0) == 0
              ? dt__rconn_get_by(&q->main, sent + (uint64_t)(ms + 1) * MS_NS)
              : NULL;
    }
    if (r != NULL && r->type == REDIS_REPLY_ERROR &&
        strncmp(r->str, "NOGROUP", 7) == 0) {
      (void)dt__rq_ensure_group(q, &q->main); /* the server lost it */
    } else if (r != NULL && r->type == REDIS_REPLY_ERROR) {
      /* Refused (the key is not a stream, an ACL): say so, and look
       * again after a second rather than at once. */
      dt__log(DT__LOG_ERROR, "worker: the queue's Redis refused a claim: "
              "%.200s", r->str);
      dt__rq_unlock(q);
      dt__hi.freeReplyObject(r);
      struct timespec pause = {1, 0};
      nanosleep(&pause, NULL);
      if (deadline != 0 && dt__now_ns() >= deadline)
        return -ETIMEDOUT;
      continue;
    }
    const redisReply *e = NULL;
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2 &&
        r->element[0]->element[1]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->element[1]->elements == 1)
      e = r->element[0]->element[1]->element[0];
    if (e == NULL || e->type != REDIS_REPLY_ARRAY || e->elements != 2) {
      if (history && r != NULL && r->type == REDIS_REPLY_ARRAY)
        q->claim_epoch = q->main.epoch; /* none of its own left */
      /* Nothing, well before its BLOCK ended: a kick unblocked it. */
      bool kicked = !history && r != NULL && r->type == REDIS_REPLY_NIL &&
                    dt__now_ns() + 100000000ull < sent + (uint64_t)ms * 1000000;
      dt__rq_unlock(q);
      if (r != NULL)
        dt__hi.freeReplyObject(r);
      if (kicked)
        return -EINTR;
      if (history || deadline == 0 || dt__now_ns() < deadline)
        continue;
      return -ETIMEDOUT;
    }
    const redisReply *fi = dt__rq_field(e->element[1], "i");
    const redisReply *fc = dt__rq_field(e->element[1], "c");
    const redisReply *fr = dt__rq_field(e->element[1], "r");
    long long nparts = 0;
    uint64_t total = 0, cid = fi != NULL ? strtoull(fi->str, NULL, 10) : 0;
    int parted = dt__rq_parts_of(e->element[1], q->max_call, &nparts, &total);
    int rc = 0, adm = 1;
    if (fi == NULL || fc == NULL || fr == NULL ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[0]->len >= sizeof q->claim_entry ||
        fc->len >= sizeof q->claim_caller) {
      /* Not a task of dtask's: ack and delete it (acked only, it would
       * stay in the stream for good), look again. */
      if (e->element[0]->type == REDIS_REPLY_STRING) {
        const char *a[] = {"XACK", kt, "w", e->element[0]->str};
        const char *d[] = {"XDEL", kt, e->element[0]->str};
        redisReply *x = dt__rconn_argv(&q->main, 4, a, NULL);
        if (x != NULL)
          dt__hi.freeReplyObject(x);
        if ((x = dt__rconn_argv(&q->main, 3, d, NULL)) != NULL)
          dt__hi.freeReplyObject(x);
      }
      rc = -EAGAIN;
    } else if ((adm = dt__rq_admit(q, e->element[1], e->element[0]->str, cid,
                                   later)) != 1) {
      if (adm == -EPROTO) /* refused: read it again, after a pause */
        q->claim_epoch = 0;
      rc = -EAGAIN;
    } else if (parted != 0) {
      rc = parted == 1 ? claim_parts(q, cid, total, nparts, rec) : parted;
      if (rc == -E2BIG || rc == -ENOENT || rc == -EPROTO) {
        refuse_parts(q, cid, e->element[0]->str, rc, total);
        rc = -EAGAIN;
      } else if (rc == -EIO) {
        rc = -EAGAIN; /* the link failed: this worker's own read again */
      }
    } else if ((*rec = malloc(fr->len ? fr->len : 1)) == NULL) {
      rc = -ENOMEM;
    } else {
      memcpy(*rec, fr->str, fr->len);
    }
    if (rc == 0) {
      *size = parted != 0 ? total : fr->len;
      *id = cid;
      q->claim_id = cid;
      snprintf(q->claim_entry, sizeof q->claim_entry, "%s",
               e->element[0]->str);
      snprintf(q->claim_caller, sizeof q->claim_caller, "%s", fc->str);
    }
    dt__rq_unlock(q);
    dt__hi.freeReplyObject(r);
    if (adm == -EPROTO)
      nanosleep(&(struct timespec){1, 0}, NULL);
    if (rc != -EAGAIN)
      return rc;
  }
}

/* The claim operation: XREADGROUP for this worker (consumer HOST:PID),
 * blocking at most timeout_ns (0: BLOCK_MS at a time, forever), which
 * makes the task pending for this worker in the same step.  Keeps its
 * entry and caller for complete, reject and blob_read.  A task kept in
 * parts is read from them (one larger than [queue] max_call_size, or
 * whose parts are gone, is answered with a refusal: refuse_parts).  A
 * task with admission is handed out only once ADMIT admits it (one it
 * parks is looked past); before blocking, PROMOTE puts the first
 * waiters of the rates that are due back in the stream, and the block
 * ends when the next rate is due; a claim that parked a task on a
 * rate's list leaves a tick for another worker as it returns
 * (queue/redis_admit.c).  Returns 0 with *rec (malloc'd, the
 * caller frees it), *size and *id; -ETIMEDOUT when none came (also
 * while the server cannot be reached, after the reconnect backoff);
 * -EINTR after a kick; -ENOMEM. */
int dt__rd_claim(dt__queue *base, uint8_t **rec, size_t *size, uint64_t *id,
                 uint64_t timeout_ns) {
  dt__rq *q = dt__rd(base);
  bool later = false;
  int rc = claim_loop(q, rec, size, id, timeout_ns, &later);
  if (later)
    dt__rq_tick(q);
  return rc;
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
  dt__hi.freeReplyObject(r);
  return rc;
}

/* The six keys of the ANSWER script for call id into keys, their names
 * in k (6 x 360 bytes). */
static void answer_keys(dt__rq *q, uint64_t id, char (*k)[360],
                        const char **keys) {
  keys[0] = dt__rq_key(q, k[0], 360, "tasks");
  keys[1] = dt__rq_key(q, k[1], 360, "calls");
  keys[2] = dt__rq_id_key(q, k[2], 360, "r:", id);
  keys[3] = dt__rq_id_key(q, k[3], 360, "k:", id);
  keys[4] = dt__rq_id_key(q, k[4], 360, "a:", id);
  size_t l = strlen(dt__rq_id_key(q, k[5], 360, "a:", id));
  snprintf(k[5] + l, 360 - l, ":%s", q->me); /* this worker's own */
  keys[5] = k[5];
}

/* Stores rec as the answer of call id whose task is entry, only if owner
 * ("" : anyone) holds it (the ANSWER script), trying again across a
 * failed link for up to IO_TIMEOUT_NS; an answer larger than one value
 * goes first into this process's own parts key.  Returns 1 (stored, or
 * the caller is gone), 0 (owner does not hold it), or a negative
 * errno. */
static int answer(dt__rq *q, uint64_t id, const char *entry,
                  const char *owner, const uint8_t *rec, size_t size,
                  int from) {
  uint64_t deadline = dt__now_ns() + IO_TIMEOUT_NS;
  char k[6][360], ids[24], np[24] = "0", total[24];
  const char *keys[6];
  answer_keys(q, id, k, keys);
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  snprintf(total, sizeof total, "%zu", size);
  bool parted = size > __atomic_load_n(&q->part, __ATOMIC_RELAXED);
  const char *args[] = {ids, entry, owner, parted ? "" : (const char *)rec,
                        from == DT__FROM_RUNNER ? "1" : "0", np, total};
  size_t alen[] = {DT__RQ_STR, DT__RQ_STR, DT__RQ_STR, parted ? 0 : size,
                   DT__RQ_STR, DT__RQ_STR, DT__RQ_STR};
  for (;;) {
    int rc = dt__rconn_ready(&q->main, IO_TIMEOUT_NS);
    if (rc == 0 && parted) {
      long long n = dt__rq_put_parts(q, &q->main, keys[5], rec, size, true);
      if (n == -ENOSPC)
        return -ENOSPC;
      rc = n < 0 ? (int)n : 0;
      snprintf(np, sizeof np, "%lld", n);
    }
    if (rc == 0) {
      redisReply *r = dt__rq_eval(&q->main, ANSWER, 6, keys, 7, args, alen);
      if (r != NULL) {
        rc = (int)dt__rq_num(r, -EIO);
        dt__hi.freeReplyObject(r);
        return rc;
      }
      if (q->main.c != NULL)
        return q->main.refused == -ENOSPC ? -ENOSPC : -EIO;
    }
    if (q->main.c != NULL && rc != 0)
      return rc; /* the parts were refused */
    if (dt__now_ns() >= deadline)
      return -EIO;
    (void)dt__rconn_wait_retry(&q->main, deadline);
  }
}

/* The answer of the task this worker holds (id, entry), sent in one
 * write with PROMOTE when it is due (redis_admit.c; P later bounds the
 * claim's block) and this worker's next claim (XREADGROUP, its reply
 * read by the next dt__rd_claim, or kept by dt__rq_lock): the worker
 * sleeps once per call instead of twice, and its next task is waiting
 * when the answer is stored.  On the locked main connection.  Returns
 * ANSWER's 1 or 0, a negative errno, or -EAGAIN when it cannot be sent
 * this way (nothing sent, or the link failed, or the server lost the
 * script: answer() tries again; the claim sent ahead is lost with the
 * link, and the worker's next claim reads its own pending entries
 * first). */
static int answer_ahead(dt__rq *q, uint64_t id, const char *entry,
                        const uint8_t *rec, size_t size) {
  if (size > __atomic_load_n(&q->part, __ATOMIC_RELAXED) ||
      dt__rconn_ready(&q->main, IO_TIMEOUT_NS) != 0 || q->main.pending > 0 ||
      q->claim_epoch != q->main.epoch || q->ahead != NULL)
    return -EAGAIN;
  char k[6][360], ids[24], ms[24];
  const char *keys[6];
  answer_keys(q, id, k, keys);
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  long long block = dt__rq_block_ms(q, BLOCK_MS);
  snprintf(ms, sizeof ms, "%lld", block);
  q->ahead_until = dt__now_ns() + (uint64_t)(block + 1) * MS_NS;
  const char *args[] = {ids, entry, q->me, (const char *)rec, "0", "0", ""};
  size_t alen[] = {DT__RQ_STR, DT__RQ_STR, DT__RQ_STR, size, DT__RQ_STR,
                   DT__RQ_STR, DT__RQ_STR};
  const char *claim[] = {"XREADGROUP", "GROUP", "w", q->me, "COUNT", "1",
                         "BLOCK", ms, "STREAMS", keys[0], ">"};
  if (dt__rq_eval_append(&q->main, ANSWER, 6, keys, 7, args, alen) != 0)
    return -EAGAIN;
  bool promote = dt__rq_promote_due(q);
  if ((promote && dt__rq_promote_append(q) != 0) ||
      dt__rconn_append(&q->main, 11, claim, NULL, DT__RQ_AHEAD) != 0) {
    dt__rconn_close(&q->main); /* half a pipeline: start clean */
    return -EAGAIN;
  }
  redisReply *r = dt__rq_checked(&q->main, dt__rconn_get(&q->main));
  int refused = q->main.refused;
  if (promote)
    dt__rq_promote_read(q); /* always: the claim's reply is next */
  if (r == NULL && q->main.c != NULL && refused == -EAGAIN)
    dt__rconn_close(&q->main); /* NOSCRIPT: as a failed link, rather than
                                  wait for the claim sent behind it */
  if (r == NULL)
    return q->main.c == NULL ? -EAGAIN : -EIO;
  int rc = (int)dt__rq_num(r, -EIO);
  dt__hi.freeReplyObject(r);
  return rc;
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
  dt__rq_stash(q); /* a claim sent ahead is not drained by what follows */
  int rc = 0;
  if (q->claim_id == id) {
    snprintf(entry, sizeof entry, "%s", q->claim_entry);
    owner = q->me;
  } else if ((rc = dt__rconn_ready(&q->main, IO_TIMEOUT_NS)) == 0) {
    rc = entry_of(q, id, entry, sizeof entry);
  }
  if (rc == 0 && q->claim_id == id)
    rc = answer_ahead(q, id, entry, rec, size);
  if (rc == -EAGAIN || (rc == 0 && q->claim_id != id)) {
    dt__rq_stash(q); /* a claim the failed answer_ahead sent */
    rc = answer(q, id, entry, owner, rec, size, DT__FROM_WORKER);
  }
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

/* The complete operation: answer_claimed, which sends this worker's
 * next claim with the answer when it can (answer_ahead); next is never
 * filled here (0), the claim that follows reads that reply. */
int dt__rd_complete(dt__queue *q, uint64_t id, const uint8_t *rec,
                    size_t size, dt__claimed *next) {
  (void)next;
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

/* The kick operation (a pool's shutdown): unblocks every claim blocked
 * on the server by a process of this host (CLIENT UNBLOCK of the
 * connections named "dtask:HOST:PID", CLIENT LIST), which then returns
 * -EINTR; a worker told to stop sees it at once instead of at the end of
 * its BLOCK.  A server that refuses CLIENT costs only that second. */
void dt__rd_kick(dt__queue *base) {
  dt__rq *q = dt__rd(base);
  if (dt__rq_lock(q) != 0)
    return;
  const char *argv[] = {"CLIENT", "LIST", "TYPE", "normal"};
  redisReply *r = dt__rconn_argv(&q->main, 4, argv, NULL);
  char prefix[112];
  int pl = snprintf(prefix, sizeof prefix, " name=dtask:%s:", q->host);
  for (const char *line = r != NULL && r->type == REDIS_REPLY_STRING
                              ? r->str
                              : NULL;
       line != NULL && *line != '\0';) {
    const char *end = strchr(line, '\n');
    size_t n = end != NULL ? (size_t)(end - line) : strlen(line);
    const char *name = memmem(line, n, prefix, (size_t)pl);
    if (strncmp(line, "id=", 3) == 0 && name != NULL) {
      char id[24];
      size_t k = strspn(line + 3, "0123456789");
      if (k > 0 && k < sizeof id) {
        memcpy(id, line + 3, k);
        id[k] = '\0';
        const char *u[] = {"CLIENT", "UNBLOCK", id};
        redisReply *x = dt__rconn_argv(&q->main, 3, u, NULL);
        if (x != NULL)
          dt__hi.freeReplyObject(x);
      }
    }
    line = end != NULL ? end + 1 : line + n;
  }
  dt__rq_unlock(q);
  if (r != NULL)
    dt__hi.freeReplyObject(r);
}

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
    dt__hi.freeReplyObject(r);
}

/* Asks the server whether a pool beat within max_age_ns (the RECENT
 * script; a pool of this host also must still run) and caches the answer
 * with its worker count.  Returns 1, 0, or
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
  /* A pool of this host whose supervisor is gone is not counted, though
   * its last beat is young: it is known dead at once, as with LMDB. */
  int n = 0, w = 0;
  size_t hl = strlen(q->host);
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
       i += 2) {
    const redisReply *name = r->element[i];
    if (name->type != REDIS_REPLY_STRING)
      continue;
    const char *colon = strrchr(name->str, ':');
    if (colon != NULL && (size_t)(colon - name->str) == hl &&
        strncmp(name->str, q->host, hl) == 0 &&
        !dt__proc_alive(atoi(colon + 1)))
      continue;
    n++;
    w += (int)dt__rq_num(r->element[i + 1], 0);
  }
  dt__hi.freeReplyObject(r);
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
      dt__hi.freeReplyObject(r);
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

/* The next_id operation, for activity detection: the number of tasks
 * ever added to the stream (XINFO STREAM's entries-added) plus one, which
 * moves with every call, from any process; 0 when the server cannot be
 * reached. */
uint64_t dt__rd_next_id(dt__queue *base) {
  dt__rq *q = dt__rd(base);
  if (dt__rq_lock(q) != 0)
    return 0;
  char k[320];
  const char *argv[] = {"XINFO", "STREAM", dt__rq_key(q, k, sizeof k,
                                                       "tasks")};
  redisReply *r = dt__rconn_argv(&q->main, 3, argv, NULL);
  dt__rq_unlock(q);
  long long v = r != NULL ? dt__rq_num(dt__rq_info(r, "entries-added"), 0)
                          : 0;
  if (r != NULL)
    dt__hi.freeReplyObject(r);
  return (uint64_t)v + 1;
}

/* The stat operation: the STAT script (tasks waiting, parked ones among
 * them, claimed, answers not yet read, blobs); used_bytes is the
 * server's used_memory.  Returns 0 or -EIO. */
int dt__rd_stat(dt__queue *base, dt__queue_stats *st) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  char kt[320], kc[320], kp[320];
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks"),
                        dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_key(q, kp, sizeof kp, "parked")};
  redisReply *r = dt__rq_eval(&q->main, STAT, 3, keys, 0, NULL, NULL);
  const char *argv[] = {"INFO", "memory"};
  redisReply *m = r != NULL ? dt__rconn_argv(&q->main, 2, argv, NULL) : NULL;
  dt__rq_unlock(q);
  rc = -EIO;
  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 5) {
    long long x = dt__rq_num(r->element[0], 0);
    long long p = dt__rq_num(r->element[1], 0);
    long long c = dt__rq_num(r->element[2], 0);
    long long b = dt__rq_num(r->element[3], 0);
    long long k = dt__rq_num(r->element[4], 0);
    memset(st, 0, sizeof *st);
    st->tasks = (size_t)(x > p ? x - p : 0) + (size_t)(k > 0 ? k : 0);
    st->claims = (size_t)p;
    st->results = (size_t)(c > x + k ? c - x - k : 0);
    st->blobs = (size_t)b;
    const char *u = m != NULL && m->type == REDIS_REPLY_STRING
                        ? strstr(m->str, "used_memory:")
                        : NULL;
    if (u != NULL)
      st->used_bytes = strtoull(u + 12, NULL, 10);
    rc = 0;
  }
  if (r != NULL)
    dt__hi.freeReplyObject(r);
  if (m != NULL)
    dt__hi.freeReplyObject(m);
  return rc;
}

/* ------------------------------------------------------------- blobs */

/* The blob_put operation: stores size bytes under a new id (*id) as this
 * caller's, in one value, or as a list of parts when larger than one
 * value takes.  Returns 0; -ENOSPC when the server is out of memory;
 * -EIO. */
int dt__rd_blob_put(dt__queue *base, const void *data, size_t size,
                    uint64_t *id) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  rc = dt__rq_take_id(q, &q->main, id);
  if (rc != 0) {
    dt__rq_unlock(q);
    return rc;
  }
  redisReply *r = NULL;
  char kc[320], kb[340], ids[24];
  bool parted = size > __atomic_load_n(&q->part, __ATOMIC_RELAXED);
  const char *keys[] = {dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kb, sizeof kb, "b:", *id)};
  if (parted) {
    long long n = dt__rq_put_parts(q, &q->main, kb, data, size, false);
    rc = n < 0 ? (int)n : 0;
  }
  if (rc == 0) {
    snprintf(ids, sizeof ids, "%llu", (unsigned long long)*id);
    const char *args[] = {ids, q->me, parted ? "" : (const char *)data,
                          parted ? "1" : "0"};
    size_t alen[] = {DT__RQ_STR, DT__RQ_STR, parted ? 0 : size, DT__RQ_STR};
    r = dt__rq_eval(&q->main, BLOBPUT, 2, keys, 4, args, alen);
    rc = r != NULL ? 0 : q->main.refused == -ENOSPC ? -ENOSPC : -EIO;
  }
  if (rc != 0 && parted && q->main.c != NULL) {
    const char *del[] = {"DEL", kb}; /* parts of a blob never recorded */
    redisReply *d = dt__rconn_argv(&q->main, 2, del, NULL);
    if (d != NULL)
      dt__hi.freeReplyObject(d);
  }
  dt__rq_unlock(q);
  if (r != NULL)
    dt__hi.freeReplyObject(r);
  return rc;
}

/* The blob_read operation: copies blob id into dst (exactly size
 * bytes) for the claimed task `task`, whose caller must be the blob's;
 * a blob in parts is read from them.  Returns 0; -ENOENT; -EPROTO for
 * another size; -EACCES for another caller's blob; -EIO. */
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
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
    dt__rq_unlock(q);
    if (r != NULL)
      dt__hi.freeReplyObject(r);
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
  if (data->type != REDIS_REPLY_STRING && data->type != REDIS_REPLY_INTEGER)
    rc = -ENOENT;
  else if (data->type == REDIS_REPLY_STRING && (uint64_t)data->len != size)
    rc = -EPROTO;
  else if (bc->type != REDIS_REPLY_STRING || caller[0] == '\0' ||
           strcmp(bc->str, caller) != 0)
    rc = -EACCES;
  else if (data->type == REDIS_REPLY_STRING)
    memcpy(dst, data->str, data->len);
  else if (data->integer < 1 || data->integer > MAX_PARTS ||
           (uint64_t)data->integer > size)
    rc = -EPROTO;
  else
    rc = dt__rq_get_parts(&q->main, kb, data->integer, size, dst);
  dt__rq_unlock(q);
  dt__hi.freeReplyObject(r);
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
    dt__hi.freeReplyObject(a);
  if (b != NULL)
    dt__hi.freeReplyObject(b);
  return rc;
}

