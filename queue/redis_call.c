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
#include "queue/redis_admit.h"
#include "queue/redis_core.h"
#include "queue/redis_ops.h"
#include "queue/redis_parts.h"
#include "queue/wire.h"

/* KEYS tasks calls dropreply dropparts; ARGV id caller record drop
 * parts total [gate running rate interval_us burst] (parts '0': the
 * record is ARGV[3]; else it is in the task's parts key, written first,
 * and ARGV[3] is empty; the five admission arguments, when given, go
 * into the entry as g and n, R, T and B, those not '').  Sent again
 * after a link failed mid-way, it does nothing the second time (the id
 * is in calls): a call is never queued twice. */
static const char SUBMIT[] =
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'again' end\n"
    "local f = {'i', ARGV[1], 'c', ARGV[2], 't', '0', 'r', ARGV[3]}\n"
    "local function add(k, v) f[#f + 1] = k f[#f + 1] = v end\n"
    "if ARGV[5] ~= '0' then add('k', ARGV[5]) add('z', ARGV[6]) end\n"
    "if ARGV[7] and ARGV[7] ~= '' then add('g', ARGV[7]) add('n', ARGV[8])"
    " end\n"
    "if ARGV[9] and ARGV[9] ~= '' then add('R', ARGV[9]) add('T', ARGV[10])"
    " add('B', ARGV[11]) end\n"
    "local e = redis.call('XADD', KEYS[1], '*', unpack(f))\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. e)\n"
    "if ARGV[4] ~= '' then redis.call('DEL', KEYS[3], KEYS[4])"
    " redis.call('HDEL', KEYS[2], ARGV[4]) end\n"
    "return e\n";

/* KEYS tasks calls parts; ARGV id.  1: removed (with its parts, and the
 * slot of a gate it holds given to the next waiter) before any worker
 * claimed it, or while parked by admission (redis_admit.c);
 * 0: answered, or the server has no trace of it (restarted without it: a
 * worker may have run it, so it is never run again in the caller); for
 * a task a worker holds, {its consumer, its idle ms}. */
static const char CANCEL[] =
    DT__RQ_GATE_LUA
    "local v = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if not v then return 0 end\n"
    "local e = string.match(v, ' (%S+)$')\n"
    "if e == '" DT__RQ_PARKED "' then unqueue(ARGV[1]) release(ARGV[1])\n"
    " redis.call('HDEL', KEYS[2], ARGV[1]) redis.call('DEL', KEYS[3])"
    " return 1 end\n"
    "local p = redis.call('XPENDING', KEYS[1], 'w', e, e, 1)\n"
    "if #p > 0 then return {p[1][2], p[1][3]} end\n"
    "if redis.call('XDEL', KEYS[1], e) == 1 then\n"
    " redis.call('HDEL', KEYS[2], ARGV[1]) redis.call('DEL', KEYS[3])"
    " release(ARGV[1]) return 1 end\n"
    "return 0\n";

/* KEYS tasks calls parts; ARGV id owner min_idle.  Removes the task of
 * call id (and its parts; its gate's slot goes to the next waiter) held
 * by owner, if owner still holds it and it has been idle (its lease not
 * renewed) for min_idle ms: its worker is gone.  1 or 0. */
static const char CANCEL_HELD[] =
    DT__RQ_GATE_LUA
    "local v = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if not v then return 0 end\n"
    "local e = string.match(v, ' (%S+)$')\n"
    "local p = redis.call('XPENDING', KEYS[1], 'w', 'IDLE', ARGV[3], e, e,"
    " 1)\n"
    "if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end\n"
    "redis.call('XACK', KEYS[1], 'w', e) redis.call('XDEL', KEYS[1], e)\n"
    "redis.call('HDEL', KEYS[2], ARGV[1]) redis.call('DEL', KEYS[3])"
    " release(ARGV[1]) return 1\n";

/* KEYS calls reply replyparts; ARGV id. */
static const char DROP[] =
    "redis.call('DEL', KEYS[2], KEYS[3]) redis.call('HDEL', KEYS[1], ARGV[1])"
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
  if (rc == 0) {
    (void)dt__rq_ensure_group(q, &q->main);
    dt__rq_learn_part(q, &q->main);
  }
  *out = &q->base;
  return 0;
}

/* The close operation: frees a claim's reply no claim took, closes
 * every connection, wipes the password and frees q. */
void dt__rd_close(dt__queue *base) {
  dt__rq *q = dt__rd(base);
  if (q->ahead != NULL) /* a claim's reply that no claim took */
    dt__hi.freeReplyObject(q->ahead);
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

/* One try of the SUBMIT script (nargs arguments) on c, with the
 * blocking read of the answer of id sent in the same write under
 * DT__SUBMIT_NEXT (its reply left for wait_answer).  Returns the
 * script's reply (the caller frees it), or NULL: c->refused is then the
 * server's refusal (-ENOSPC, -EPROTO; -EAGAIN for a script to send
 * again), or 0 when the link failed. */
static redisReply *submit_once(dt__rq *q, dt__rconn *c, unsigned flags,
                               const char *const *keys, int nargs,
                               const char *const *args, const size_t *alen,
                               uint64_t id) {
  c->refused = 0;
  if (!(flags & DT__SUBMIT_NEXT) || c->pending > 0)
    return dt__rq_eval(c, SUBMIT, 4, keys, nargs, args, alen);
  char ka[340], ms[24];
  snprintf(ms, sizeof ms, "%lld", BLOCK_MS);
  const char *xr[] = {"XREAD", "COUNT", "1", "BLOCK", ms, "STREAMS",
                      dt__rq_id_key(q, ka, sizeof ka, "r:", id), "0"};
  if (dt__rq_eval_append(c, SUBMIT, 4, keys, nargs, args, alen) != 0)
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

/* Sends the task of id (record rec, size bytes; adm: its admission
 * arguments, NULL for none) on c: its parts first when it is larger
 * than one value (then the script carries their count instead of the
 * bytes), then submit_once.  Returns its reply, or NULL with c->refused
 * as submit_once leaves it (-ENOSPC also when the parts did not fit). */
static redisReply *send_task(dt__rq *q, dt__rconn *c, unsigned flags,
                             const char *const *keys, const char *ids,
                             const char *drops, const uint8_t *rec,
                             size_t size, uint64_t id,
                             const dt__rq_adm *adm) {
  char kk[340], np[24] = "0", total[24];
  snprintf(total, sizeof total, "%zu", size);
  bool parted = size > __atomic_load_n(&q->part, __ATOMIC_RELAXED);
  if (parted) {
    long long n = dt__rq_put_parts(q, c, dt__rq_id_key(q, kk, sizeof kk,
                                                      "k:", id),
                                   rec, size, false);
    if (n < 0) {
      c->refused = n == -ENOSPC ? -ENOSPC : 0;
      return NULL;
    }
    snprintf(np, sizeof np, "%lld", n);
  }
  const char *args[11] = {ids, q->me, parted ? "" : (const char *)rec,
                          drops, np, total};
  size_t alen[11] = {DT__RQ_STR, DT__RQ_STR, parted ? 0 : size, DT__RQ_STR,
                     DT__RQ_STR, DT__RQ_STR};
  for (int i = 0; adm != NULL && i < 5; i++) {
    args[6 + i] = adm->args[i];
    alen[6 + i] = DT__RQ_STR;
  }
  redisReply *r = submit_once(q, c, flags, keys, adm != NULL ? 11 : 6, args,
                              alen, id);
  if (r == NULL && parted && c->refused != 0 && c->c != NULL) {
    const char *del[] = {"DEL", kk}; /* refused: its parts are garbage */
    redisReply *d = dt__rconn_argv(c, 2, del, NULL);
    if (d != NULL)
      dt__hi.freeReplyObject(d);
  }
  return r;
}

/* The submit operation: takes an id, has enc write the task into a
 * buffer, and adds it to the stream with its entry in calls (and adm's
 * fields, for queue/redis_admit.c), deleting the answer drop in the
 * same script; a task larger than one Redis value goes first into parts
 * (queue/redis_parts.c).  With DT__SUBMIT_NEXT the blocking read of the
 * answer goes out in the same write (one message less on the call's
 * path); wait_answer reads its reply first.  A link
 * that fails is connected again and the task sent once more (the script
 * does nothing the second time if the first got through).  Returns 0;
 * enc's error; -ENOMEM; -ENOSPC when the server is out of memory;
 * -ECONNREFUSED/-EAGAIN/-EIO when it cannot be reached (nothing stored,
 * as far as this caller can tell); -EINVAL for an adm that
 * dt__rq_admit_args refuses (nothing sent). */
static int submit_on(dt__rq *q, dt__rconn *c, bool shared, size_t size,
                     dt__encode_fn enc, void *ctx, uint32_t slot,
                     uint64_t drop, unsigned flags, const dt__rq_adm *adm,
                     uint64_t *id);

int dt__rd_submit(dt__queue *base, size_t size, dt__encode_fn enc, void *ctx,
                  uint32_t slot, uint64_t drop, unsigned flags,
                  const dt__admit *adm, uint64_t *id) {
  dt__rq *q = dt__rd(base);
  dt__rq_adm a;
  int has = dt__rq_admit_args(adm, &a);
  if (has < 0)
    return has;
  const dt__rq_adm *ap = has ? &a : NULL;
  dt__rconn *c;
  if (flags & DT__SUBMIT_SHARED) {
    /* Another thread may be blocked reading on the slot's connection:
     * the shared one carries the task (the answer's key is the call's,
     * whichever connection reads it). */
    pthread_mutex_lock(&q->mu);
    int rc = dt__rconn_ready(&q->main, IO_TIMEOUT_NS);
    if (rc == 0)
      rc = submit_on(q, &q->main, true, size, enc, ctx, slot, drop,
                     flags & ~(unsigned)DT__SUBMIT_NEXT, ap, id);
    pthread_mutex_unlock(&q->mu);
    return rc;
  }
  int rc = slot_conn(q, slot, &c);
  if (rc != 0)
    return rc;
  return submit_on(q, c, false, size, enc, ctx, slot, drop, flags, ap, id);
}

/* The submit operation's work on c, ready (the slot's connection, or the
 * shared one with q->mu held): as dt__rd_submit says. */
static int submit_on(dt__rq *q, dt__rconn *c, bool shared, size_t size,
                     dt__encode_fn enc, void *ctx, uint32_t slot,
                     uint64_t drop, unsigned flags, const dt__rq_adm *adm,
                     uint64_t *id) {
  int rc = dt__rq_take_id(q, c, id);
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
  char kt[320], kc[320], kr[340], ka[340], ids[24], drops[24] = "";
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)*id);
  if (drop != DT__NO_ID)
    snprintf(drops, sizeof drops, "%llu", (unsigned long long)drop);
  uint64_t d = drop != DT__NO_ID ? drop : 0;
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks"),
                        dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kr, sizeof kr, "r:", d),
                        dt__rq_id_key(q, ka, sizeof ka, "a:", d)};
  redisReply *r = send_task(q, c, flags, keys, ids, drops, buf, size, *id,
                            adm);
  if (r == NULL && (c->refused == 0 || c->refused == -EAGAIN) &&
      (shared ? dt__rconn_ready(c, IO_TIMEOUT_NS) : slot_conn(q, slot, &c)) ==
          0)
    r = send_task(q, c, flags, keys, ids, drops, buf, size, *id, adm);
  free(buf);
  if (r == NULL)
    return c->refused != 0 ? c->refused : -EIO;
  dt__hi.freeReplyObject(r);
  return 0;
}

/* Reads the answer of call id out of r, the reply of an XREAD of its
 * answer stream on c, and applies it; an answer kept in parts is read
 * from them (at most q->max_call bytes: nothing larger is allocated).
 * Returns apply's result; -ENOENT when r holds none (the read timed
 * out); -EPROTO for an entry that is not an answer, or an error reply
 * (the key is not a stream: something else wrote it); -ENOMEM; -EIO
 * when the link failed while reading the parts. */
static int apply_answer(dt__rq *q, dt__rconn *c, uint64_t id,
                        const redisReply *r, dt__apply_fn apply,
                        void *ctx) {
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
  if (rec == NULL || from < 0)
    return -EPROTO;
  long long n;
  uint64_t total;
  int rc = dt__rq_parts_of(fv, q->max_call, &n, &total);
  if (rc == 0)
    return apply(ctx, (const uint8_t *)rec->str, rec->len, from);
  if (rc < 0)
    return -EPROTO;
  uint8_t *buf = malloc(total);
  if (buf == NULL)
    return -ENOMEM;
  char ka[340];
  rc = dt__rq_get_parts(c, dt__rq_id_key(q, ka, sizeof ka, "a:", id), n,
                        total, buf);
  if (rc == 0)
    rc = apply(ctx, buf, total, from);
  else if (rc != -EIO)
    rc = -EPROTO; /* parts gone or wrong: not an answer to trust */
  free(buf);
  return rc;
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
  int rc = apply_answer(q, c, id, r, apply, ctx);
  dt__hi.freeReplyObject(r);
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
  dt__hi.freeReplyObject(r);
  return rc;
}

/* The drop script on c (or the main connection when c is NULL). */
static int drop_on(dt__rq *q, dt__rconn *c, uint64_t id) {
  char kc[320], kr[340], ka[340], ids[24];
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  const char *keys[] = {dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kr, sizeof kr, "r:", id),
                        dt__rq_id_key(q, ka, sizeof ka, "a:", id)};
  const char *args[] = {ids};
  redisReply *r = dt__rq_eval(c, DROP, 3, keys, 1, args, NULL);
  if (r == NULL)
    return -EIO;
  dt__hi.freeReplyObject(r);
  return 0;
}

/* Waits for the answer of id on the slot's connection: blocking reads of
 * at most BLOCK_MS each, no polling.  Between them it checks that the
 * server still knows the call: one restarted without it answers
 * -ECONNRESET (a worker may have run it: dt__queue_cancel then says 0,
 * and the call is lost, for on_crash to decide).  A failed link is
 * connected again after its backoff and the answer read again (reading
 * consumes nothing).  Unless keep, the answer is deleted once applied (0
 * or -EPROTO).  timeout_ns 0: no limit.  Returns apply's result,
 * -ETIMEDOUT, -ECONNRESET, or another negative errno. */
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
 * worker claimed (or one parked by admission); a task held by a worker
 * that is gone (a process of this host that no longer runs, or any
 * host's worker whose lease lapsed) is removed too (CANCEL_HELD), as
 * the LMDB backend does.  Returns 1 (removed: it never ran, or its
 * worker died with it), 0 (a live worker has it, it was answered, or
 * the server lost it), or a negative errno. */
int dt__rd_cancel(dt__queue *base, uint64_t id) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  char kt[320], kc[320], kk[340], ids[24];
  snprintf(ids, sizeof ids, "%llu", (unsigned long long)id);
  const char *keys[] = {dt__rq_key(q, kt, sizeof kt, "tasks"),
                        dt__rq_key(q, kc, sizeof kc, "calls"),
                        dt__rq_id_key(q, kk, sizeof kk, "k:", id)};
  const char *args[] = {ids};
  redisReply *r = dt__rq_eval(&q->main, CANCEL, 3, keys, 1, args, NULL);
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
          dt__rq_eval(&q->main, CANCEL_HELD, 3, keys, 3, hargs, NULL);
      rc = h != NULL ? (int)dt__rq_num(h, 0) : -EIO;
      if (h != NULL)
        dt__hi.freeReplyObject(h);
    }
  }
  dt__rq_unlock(q);
  if (r != NULL)
    dt__hi.freeReplyObject(r);
  return rc;
}


/* KEYS trips; ARGV field increment ...: adds each increment; a field
 * that holds no integer (or would overflow) is set to the increment, so
 * that one bad field neither stops the others nor makes the caller add
 * them all again. */
static const char TRIPS_ADD[] =
    "for i = 1, #ARGV - 1, 2 do\n"
    "  local r = redis.pcall('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])\n"
    "  if type(r) == 'table' and r.err then\n"
    "    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])\n"
    "  end\n"
    "end\nreturn 1\n";

/* The trips_add operation: one script adds d[0, n) to the hash P trips
 * (fields "c:SYMBOL" calls, "r:SYMBOL" retries, "h:SYMBOL:BUCKET"
 * counts, "H:SYMBOL" cache hits and "M:SYMBOL" misses, the last three
 * only when not 0; redis_status.c reads them), on the thread's own
 * connection for slot, else on the main one.  Returns 0, or a negative
 * errno (nothing added). */
int dt__rd_trips_add(dt__queue *base, uint32_t slot, const dt__trips *d,
                     size_t n) {
  dt__rq *q = dt__rd(base);
  size_t max = 4;
  for (size_t i = 0; i < n; i++) {
    max += 8;
    for (int b = 0; b < DT__HIST_BUCKETS; b++)
      max += d[i].hist[b] != 0 ? 2 : 0;
  }
  const char **argv = malloc(max * sizeof *argv);
  size_t *len = malloc(max * sizeof *len);
  char *text = malloc(max * 160); /* a field or a number per argument */
  int rc = argv != NULL && len != NULL && text != NULL ? 0 : -ENOMEM;
  char key[320], nk[] = "1";
  size_t argc = 0, used = 0;
  /* Appends one argument, formatted into text. */
#define ARG(...)                                                            \
  do {                                                                      \
    int w_ = snprintf(text + used, 160, __VA_ARGS__);                       \
    argv[argc] = text + used;                                               \
    len[argc++] = (size_t)w_;                                               \
    used += (size_t)w_ + 1;                                                 \
  } while (0)
  if (rc == 0) {
    argv[argc] = "EVAL";
    len[argc++] = 4;
    argv[argc] = TRIPS_ADD;
    len[argc++] = sizeof TRIPS_ADD - 1;
    argv[argc] = nk;
    len[argc++] = 1;
    argv[argc] = dt__rq_key(q, key, sizeof key, "trips");
    len[argc] = strlen(argv[argc]);
    argc++;
    for (size_t i = 0; i < n; i++) {
      const char *sym = d[i].symbol;
      if (!dt__trips_symbol_ok(sym, strnlen(sym, sizeof d[i].symbol)))
        continue;
      ARG("c:%.127s", sym);
      ARG("%llu", (unsigned long long)d[i].calls);
      ARG("r:%.127s", sym);
      ARG("%llu", (unsigned long long)d[i].retries);
      if (d[i].hits != 0) {
        ARG("H:%.127s", sym);
        ARG("%llu", (unsigned long long)d[i].hits);
      }
      if (d[i].misses != 0) {
        ARG("M:%.127s", sym);
        ARG("%llu", (unsigned long long)d[i].misses);
      }
      for (int b = 0; b < DT__HIST_BUCKETS; b++)
        if (d[i].hist[b] != 0) {
          ARG("h:%.127s:%d", sym, b);
          ARG("%llu", (unsigned long long)d[i].hist[b]);
        }
    }
  }
#undef ARG
  if (rc == 0) {
    dt__rconn *c = NULL;
    bool main = slot_conn(q, slot, &c) != 0;
    if (main && (rc = dt__rq_lock(q)) == 0)
      c = &q->main;
    if (rc == 0) {
      redisReply *r = dt__rq_checked(c, dt__rconn_argv(c, (int)argc, argv,
                                                       len));
      rc = r != NULL ? 0 : -EIO;
      if (r != NULL)
        dt__hi.freeReplyObject(r);
    }
    if (main && c == &q->main)
      dt__rq_unlock(q);
  }
  free(argv);
  free(len);
  free(text);
  return rc;
}
