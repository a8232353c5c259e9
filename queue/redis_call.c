/* redis_call.c: the redis backend's caller side (queue/redis.c has the
 * key layout): opening and closing a handle, the waiter slots and their
 * connections (one per waiting thread), submitting a task, waiting for
 * its answer without polling, dropping and cancelling a call. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "config/config.h"
#include "queue/proc.h"
#include "queue/redis_core.h"
#include "queue/redis_ops.h"
#include "queue/wire.h"

/* KEYS tasks calls dropreply; ARGV id caller record drop.  Sent again
 * after a link failed mid-way, it does nothing the second time (the id
 * is in calls): a call is never queued twice. */
static const char SUBMIT[] =
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'again' end\n"
    "local e = redis.call('XADD', KEYS[1], '*', 'i', ARGV[1], 'c', ARGV[2],"
    " 't', '0', 'r', ARGV[3])\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. e)\n"
    "if ARGV[4] ~= '' then redis.call('DEL', KEYS[3])"
    " redis.call('HDEL', KEYS[2], ARGV[4]) end\n"
    "return e\n";

/* KEYS tasks calls; ARGV id.  1: removed before any worker claimed it;
 * 0: answered, or the server has no trace of it (restarted without it: a
 * worker may have run it, so it is never run again in the caller); for
 * a task a worker holds, {its consumer, its idle ms}. */
static const char CANCEL[] =
    "local v = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if not v then return 0 end\n"
    "local e = string.match(v, ' (%S+)$')\n"
    "local p = redis.call('XPENDING', KEYS[1], 'w', e, e, 1)\n"
    "if #p > 0 then return {p[1][2], p[1][3]} end\n"
    "if redis.call('XDEL', KEYS[1], e) == 1 then\n"
    " redis.call('HDEL', KEYS[2], ARGV[1]) return 1 end\n"
    "return 0\n";

/* KEYS tasks calls; ARGV id owner min_idle.  Removes the task of call id
 * held by owner, if owner still holds it and it has been idle (its lease
 * not renewed) for min_idle ms: its worker is gone.  1 or 0. */
static const char CANCEL_HELD[] =
    "local v = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if not v then return 0 end\n"
    "local e = string.match(v, ' (%S+)$')\n"
    "local p = redis.call('XPENDING', KEYS[1], 'w', 'IDLE', ARGV[3], e, e,"
    " 1)\n"
    "if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end\n"
    "redis.call('XACK', KEYS[1], 'w', e) redis.call('XDEL', KEYS[1], e)\n"
    "redis.call('HDEL', KEYS[2], ARGV[1]) return 1\n";

/* KEYS calls reply; ARGV id. */
static const char DROP[] =
    "redis.call('DEL', KEYS[2]) redis.call('HDEL', KEYS[1], ARGV[1])"
    " return 1\n";

/* The calling thread's connection for slot (made on first use), ready.
 * Returns 0 with *out, or a negative errno. */
static int slot_conn(dt__rq *q, uint32_t slot, dt__rconn **out) {
  if (slot >= SLOTS)
    return -EINVAL;
  dt__rconn *c = q->slot[slot];
  if (c == NULL) {
    c = calloc(1, sizeof *c);
    if (c == NULL)
      return -ENOMEM;
    c->srv = &q->srv;
    q->slot[slot] = c;
  }
  *out = c;
  return dt__rconn_ready(c, IO_TIMEOUT_NS);
}

/* The open operation: derives the key prefix from cfg and dir (the
 * image's directory that queue.c checked; it holds the autostart lock
 * and the pool's log, nothing of the queue itself), reads the password
 * file, and connects once to create the stream: a server that refuses
 * the password is an error here; one that cannot be reached is not (the
 * calls then follow on_unavailable, and the connection is tried again).
 * Returns 0 with *out, or a negative errno with a sentence in err. */
int dt__rd_open(const dt__config *cfg, const char *dir, int dirfd,
                dt__queue **out, dt__error *err) {
  (void)dirfd;
  *out = NULL;
  dt__rq *q = calloc(1, sizeof *q);
  if (q == NULL) {
    dt__error_set(err, 0, 0, "cannot open the Redis queue: %s",
                  strerror(ENOMEM));
    return -ENOMEM;
  }
  int rc = dt__rq_init(q, cfg, dir, err);
  if (rc != 0) {
    free(q);
    return rc;
  }
  rc = dt__rconn_ready(&q->main, IO_TIMEOUT_NS);
  if (rc == -EACCES) {
    dt__error_set(err, 0, 0,
                  "the Redis server at %s refused dtask's password: check "
                  "[queue] password_file (or the url's user)",
                  q->srv.label);
    dt__rserver_wipe(&q->srv);
    free(q);
    return -EACCES;
  }
  if (rc == 0)
    (void)dt__rq_ensure_group(q, &q->main);
  *out = &q->base;
  return 0;
}

/* The close operation: frees a claim's reply no claim took, closes
 * every connection, wipes the password and frees q. */
void dt__rd_close(dt__queue *base) {
  dt__rq *q = dt__rd(base);
  if (q->ahead != NULL) /* a claim's reply that no claim took */
    freeReplyObject(q->ahead);
  dt__rconn_close(&q->main);
  for (unsigned i = 0; i < SLOTS; i++)
    if (q->slot[i] != NULL) {
      dt__rconn_close(q->slot[i]);
      free(q->slot[i]);
    }
  dt__rserver_wipe(&q->srv);
  pthread_mutex_destroy(&q->mu);
  pthread_mutex_destroy(&q->id_mu);
  free(q);
}

/* ----------------------------------------------------------- caller */

/* The waiter operation: a free slot of q->used (-EAGAIN past SLOTS
 * threads waiting at once). */
int dt__rd_waiter(dt__queue *base, uint32_t *slot) {
  dt__rq *q = dt__rd(base);
  for (unsigned w = 0; w < SLOTS / 64; w++) {
    uint64_t v = __atomic_load_n(&q->used[w], __ATOMIC_RELAXED);
    while (v != UINT64_MAX) {
      int b = __builtin_ctzll(~v);
      if (__atomic_compare_exchange_n(&q->used[w], &v, v | (1ull << b), false,
                                      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        *slot = w * 64 + (unsigned)b;
        return 0;
      }
    }
  }
  return -EAGAIN;
}

/* The waiter_release operation: closes the slot's connection and frees
 * the slot (the thread that held it exits). */
void dt__rd_waiter_release(dt__queue *base, uint32_t slot) {
  dt__rq *q = dt__rd(base);
  if (slot >= SLOTS)
    return;
  if (q->slot[slot] != NULL) {
    dt__rconn_close(q->slot[slot]);
    free(q->slot[slot]);
    q->slot[slot] = NULL;
  }
  __atomic_and_fetch(&q->used[slot / 64], ~(1ull << (slot % 64)),
                     __ATOMIC_RELEASE);
}

/* The slot_seq operation: answers are read from Redis, not rung on a
 * word; always 0. */
uint32_t dt__rd_slot_seq(dt__queue *q, uint32_t slot) {
  (void)q, (void)slot;
  return 0;
}

/* One try of the SUBMIT script on c, with the blocking read of the
 * answer of id sent in the same write under DT__SUBMIT_NEXT (its reply
 * left for wait_answer).  Returns the script's reply (the caller frees
 * it), or NULL: c->refused is then the server's refusal (-ENOSPC,
 * -EPROTO), or 0 when the link failed. */
static redisReply *submit_once(dt__rq *q, dt__rconn *c, unsigned flags,
                               const char *const *keys,
                               const char *const *args, const size_t *alen,
                               uint64_t id) {
  c->refused = 0;
  if (!(flags & DT__SUBMIT_NEXT) || c->pending > 0)
    return dt__rq_eval(c, SUBMIT, 3, keys, 4, args, alen);
  char ka[340], ms[24];
  snprintf(ms, sizeof ms, "%lld", BLOCK_MS);
  const char *xr[] = {"XREAD", "COUNT", "1", "BLOCK", ms, "STREAMS",
                      dt__rq_id_key(q, ka, sizeof ka, "r:", id), "0"};
  if (dt__rq_eval_append(c, SUBMIT, 3, keys, 4, args, alen) != 0)
    return NULL;
  if (dt__rconn_append(c, 8, xr, NULL, id) != 0) {
    dt__rconn_close(c); /* half a pipeline: start clean */
    return NULL;
  }
  redisReply *r = dt__rq_checked(c, dt__rconn_get(c));
  if (r == NULL && c->pending > 0)
    dt__rconn_close(c); /* the read sent ahead waits for no answer */
  return r;
}

/* The submit operation: takes an id, has enc write the task into a
 * buffer, and adds it to the stream with its entry in calls, deleting
 * the answer drop in the same script.  With DT__SUBMIT_NEXT the blocking
 * read of the answer goes out in the same write (one message less on the
 * call's path); wait_answer reads its reply first.  A link that fails is
 * connected again and the script sent once more (it does nothing the
 * second time if the first got through).  Returns 0; -E2BIG past what
 * one Redis value takes; enc's error; -ENOMEM; -ENOSPC when the server
 * is out of memory; -ECONNREFUSED/-EAGAIN/-EIO when it cannot be reached
 * (nothing stored, as far as this caller can tell). */
int dt__rd_submit(dt__queue *base, size_t size, dt__encode_fn enc, void *ctx,
                  uint32_t slot, uint64_t drop, unsigned flags,
                  uint64_t *id) {
  dt__rq *q = dt__rd(base);
  dt__rconn *c;
  if (size > MAX_RECORD)
    return -E2BIG;
  int rc = slot_conn(q, slot, &c);
  if (rc != 0)
    return rc;
  rc = dt__rq_take_id(q, c, id);
  if (rc != 0)
    return rc;
  uint8_t *buf = malloc(size ? size : 1);
  if (buf == NULL)
    return -ENOMEM;
  rc = enc(ctx, buf, size, *id);
  if (rc != 0) {
    free(buf);
    return rc;
  }
  char kt[320], kc[320], kr[340], ids[24], drops[24] = "";
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)*id);
  if (drop != DT__NO_ID)
    snprintf(drops, sizeof drops, "%llu", (unsigned long long)drop);
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks"),
                        dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kr, sizeof kr, "r:",
                                      drop != DT__NO_ID ? drop : 0)};
  const char *args[] = {ids, q->me, (const char *)buf, drops};
  size_t alen[] = {DT__RQ_STR, DT__RQ_STR, size, DT__RQ_STR};
  redisReply *r = submit_once(q, c, flags, keys, args, alen, *id);
  if (r == NULL && c->refused == 0 && slot_conn(q, slot, &c) == 0)
    r = submit_once(q, c, flags, keys, args, alen, *id);
  free(buf);
  if (r == NULL)
    return c->refused != 0 ? c->refused : -EIO;
  freeReplyObject(r);
  return 0;
}

/* Reads an answer out of r, the reply of an XREAD of one answer stream,
 * and applies it.  Returns apply's result; -ENOENT when r holds none
 * (the read timed out); -EPROTO for an entry that is not an answer, or
 * an error reply (the key is not a stream: something else wrote it). */
static int apply_answer(const redisReply *r, dt__apply_fn apply, void *ctx) {
  if (r->type == REDIS_REPLY_ERROR)
    return -EPROTO;
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 1)
    return -ENOENT;
  /* [[key, [[entry, [f, v, r, v]]]]] */
  const redisReply *s = r->element[0];
  const redisReply *e = s->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
                                s->element[1]->type == REDIS_REPLY_ARRAY &&
                                s->element[1]->elements >= 1
                            ? s->element[1]->element[0]
                            : NULL;
  const redisReply *fv =
      e != NULL && e->type == REDIS_REPLY_ARRAY && e->elements == 2
          ? e->element[1]
          : NULL;
  const redisReply *rec = NULL;
  int from = -1;
  for (size_t i = 0;
       fv != NULL && fv->type == REDIS_REPLY_ARRAY && i + 1 < fv->elements;
       i += 2) {
    const redisReply *f = fv->element[i], *v = fv->element[i + 1];
    if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
      continue;
    if (strcmp(f->str, "r") == 0)
      rec = v;
    else if (strcmp(f->str, "f") == 0)
      from = strcmp(v->str, "1") == 0 ? DT__FROM_RUNNER : DT__FROM_WORKER;
  }
  return rec != NULL && from >= 0
             ? apply(ctx, (const uint8_t *)rec->str, rec->len, from)
             : -EPROTO;
}

/* Reads the answer of id on c: the reply of the read that submit sent
 * ahead when c owes it, else a blocking read of at most block_ms (> 0).
 * Returns apply_answer's result, or -EIO on the link. */
static int read_answer(dt__rq *q, dt__rconn *c, uint64_t id,
                       long long block_ms, dt__apply_fn apply, void *ctx) {
  redisReply *r;
  if (c->pending > 0 && c->pending_tag == id) {
    r = dt__rconn_get(c);
  } else {
    char kr[340], ms[24];
    snprintf(ms, sizeof ms, "%lld", block_ms);
    const char *argv[] = {"XREAD", "COUNT", "1", "BLOCK", ms, "STREAMS",
                          dt__rq_id_key(q, kr, sizeof kr, "r:", id), "0"};
    r = dt__rconn_argv(c, 8, argv, NULL);
  }
  if (r == NULL)
    return -EIO;
  int rc = apply_answer(r, apply, ctx);
  freeReplyObject(r);
  return rc;
}

/* Whether call id is still known to the server (its entry in calls). 1,
 * 0, or a negative errno. */
static int call_known(dt__rq *q, dt__rconn *c, uint64_t id) {
  char kc[320], ids[24];
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  const char *argv[] = {"HEXISTS", dt__rq_key(q, kc, sizeof kc, "calls"), ids};
  redisReply *r = dt__rconn_argv(c, 3, argv, NULL);
  if (r == NULL)
    return -EIO;
  int rc = r->type == REDIS_REPLY_INTEGER ? (r->integer == 1) : -EIO;
  freeReplyObject(r);
  return rc;
}

/* The drop script on c (or the main connection when c is NULL). */
static int drop_on(dt__rq *q, dt__rconn *c, uint64_t id) {
  char kc[320], kr[340], ids[24];
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  const char *keys[] = {dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kr, sizeof kr, "r:", id)};
  const char *args[] = {ids};
  redisReply *r = dt__rq_eval(c, DROP, 2, keys, 1, args, NULL);
  if (r == NULL)
    return -EIO;
  freeReplyObject(r);
  return 0;
}

/* Waits for the answer of id on the slot's connection: blocking reads of
 * at most BLOCK_MS each, no polling.  Between them it checks that the
 * server still knows the call: one restarted without it answers
 * -ECONNRESET (a worker may have run it: dt__queue_cancel then says 0,
 * and the call is lost, for on_crash to decide).  A failed link is connected again after its backoff and
 * the answer read again (reading consumes nothing).  Unless keep, the
 * answer is deleted once applied (0 or -EPROTO).  timeout_ns 0: no
 * limit.  Returns apply's result, -ETIMEDOUT, -ECONNRESET, or another
 * negative errno. */
static int wait_answer(dt__rq *q, uint64_t id, uint32_t slot, bool keep,
                       dt__apply_fn apply, void *ctx, uint64_t timeout_ns) {
  uint64_t deadline = timeout_ns ? dt__now_ns() + timeout_ns : 0;
  for (;;) {
    dt__rconn *c;
    int rc = slot_conn(q, slot, &c);
    if (rc == -EINVAL || rc == -ENOMEM)
      return rc;
    if (rc != 0) {
      if (dt__rconn_wait_retry(c, deadline) == -ETIMEDOUT)
        return -ETIMEDOUT;
      continue;
    }
    long long ms = BLOCK_MS;
    if (deadline) {
      uint64_t now = dt__now_ns();
      if (now >= deadline)
        return -ETIMEDOUT;
      if ((deadline - now) / 1000000 < (uint64_t)ms)
        ms = (long long)((deadline - now) / 1000000) + 1;
    }
    uint64_t epoch = c->epoch;
    rc = read_answer(q, c, id, ms, apply, ctx);
    if (rc == -EIO)
      continue; /* reconnect and read again */
    if (rc != -ENOENT) {
      if (!keep && (rc == 0 || rc == -EPROTO))
        (void)drop_on(q, c, id);
      return rc;
    }
    if (c->epoch == epoch && call_known(q, c, id) == 0)
      return -ECONNRESET;
  }
}

/* The wait operation: wait_answer, deleting the answer it applied. */
int dt__rd_wait(dt__queue *q, uint64_t id, uint32_t slot,
                   dt__apply_fn apply, void *ctx, uint64_t timeout_ns) {
  return wait_answer(dt__rd(q), id, slot, false, apply, ctx, timeout_ns);
}

/* The wait_since operation: wait_answer, leaving the answer for rd_drop
 * or the next rd_submit (seen has no meaning here). */
int dt__rd_wait_since(dt__queue *q, uint64_t id, uint32_t slot,
                         uint32_t seen, dt__apply_fn apply, void *ctx,
                         uint64_t timeout_ns) {
  (void)seen;
  return wait_answer(dt__rd(q), id, slot, true, apply, ctx, timeout_ns);
}

/* The drop operation: deletes the answer of id and its entry in calls.
 * Returns 0, or a negative errno. */
int dt__rd_drop(dt__queue *base, uint64_t id) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  rc = drop_on(q, &q->main, id);
  dt__rq_unlock(q);
  return rc;
}

/* The cancel operation: the CANCEL script, which removes a task no
 * worker claimed; a task held by a worker that is gone (a process of this
 * host that no longer runs, or any host's worker whose lease lapsed) is
 * removed too (CANCEL_HELD), as the LMDB backend does.  Returns 1
 * (removed: it never ran, or its worker died with it), 0 (a live worker
 * has it, it was answered, or the server lost it), or a negative
 * errno. */
int dt__rd_cancel(dt__queue *base, uint64_t id) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  char kt[320], kc[320], ids[24];
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks"),
                        dt__rq_key(q, kc, sizeof kc, "calls")};
  const char *args[] = {ids};
  redisReply *r = dt__rq_eval(&q->main, CANCEL, 2, keys, 1, args, NULL);
  rc = r != NULL ? (int)dt__rq_num(r, -EIO) : -EIO;
  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
      r->element[0]->type == REDIS_REPLY_STRING) {
    /* Held: by a worker that is gone? */
    const char *owner = r->element[0]->str;
    const char *colon = strrchr(owner, ':');
    long long idle = dt__rq_num(r->element[1], 0);
    bool here = colon != NULL && (size_t)(colon - owner) == strlen(q->host) &&
                strncmp(owner, q->host, strlen(q->host)) == 0;
    rc = 0;
    if ((here && !dt__proc_alive(atoi(colon + 1))) ||
        (!here && idle >= LEASE_MS)) {
      char minidle[24];
      snprintf(minidle, sizeof minidle, "%lld", here ? 0ll : LEASE_MS);
      const char *hargs[] = {ids, owner, minidle};
      redisReply *h =
          dt__rq_eval(&q->main, CANCEL_HELD, 2, keys, 3, hargs, NULL);
      rc = h != NULL ? (int)dt__rq_num(h, 0) : -EIO;
      if (h != NULL)
        freeReplyObject(h);
    }
  }
  dt__rq_unlock(q);
  if (r != NULL)
    freeReplyObject(r);
  return rc;
}

