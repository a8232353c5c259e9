/* redis_status.c: the redis backend's part of `dtask status`: the pool
 * records, in the hash P:status (field HOST:PID, the record as value),
 * and who made the task this worker holds.
 *
 * A supervisor rewrites its field every tick and removes it when it
 * stops.  The field of a supervisor of this host that is gone (killed
 * with SIGKILL) is removed by the next listing; one of another host
 * stays until a status reader finds its record too old, which it says
 * (runner/status.c).  Records are untrusted text: runner/poolstat.c
 * parses them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/proc.h"
#include "queue/redis_core.h"
#include "queue/redis_ops.h"

/* KEYS status; ARGV field record: sets the field, or removes it when
 * record is empty. */
static const char PUT[] =
    "if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end\n"
    "return 1\n";

/* KEYS status: every field and value. */
static const char LIST[] = "return redis.call('HGETALL', KEYS[1])\n";

/* Sets (or, n 0, removes) field of P:status.  0 or -EIO. */
static int put(dt__rq *q, const char *field, const char *text, size_t n) {
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  char ks[320];
  const char *keys[] = {dt__rq_key(q, ks, sizeof ks, "status")};
  const char *args[] = {field, n ? text : ""};
  size_t alen[] = {DT__RQ_STR, n};
  redisReply *r = dt__rq_eval(&q->main, PUT, 1, keys, 2, args, alen);
  dt__rq_unlock(q);
  if (r == NULL)
    return -EIO;
  freeReplyObject(r);
  return 0;
}

/* The pool_put operation: this process's field (HOST:PID). */
int dt__rd_pool_put(dt__queue *base, const char *text, size_t n) {
  dt__rq *q = dt__rd(base);
  return put(q, q->me, text, n);
}

/* The pool_list operation: fn with each record; the fields of this
 * host's processes that are gone are removed instead.  Returns fn's
 * first nonzero answer, 0, or -EIO. */
int dt__rd_pool_list(dt__queue *base,
                     int (*fn)(void *ctx, const char *text, size_t n),
                     void *ctx) {
  dt__rq *q = dt__rd(base);
  int rc = dt__rq_lock(q);
  if (rc != 0)
    return rc;
  char ks[320];
  const char *keys[] = {dt__rq_key(q, ks, sizeof ks, "status")};
  redisReply *r = dt__rq_eval(&q->main, LIST, 1, keys, 0, NULL, NULL);
  dt__rq_unlock(q);
  if (r == NULL)
    return -EIO;
  size_t hl = strlen(q->host);
  rc = 0;
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements &&
                     rc == 0;
       i += 2) {
    const redisReply *f = r->element[i], *v = r->element[i + 1];
    if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
      continue;
    if (f->len > hl && strncmp(f->str, q->host, hl) == 0 &&
        f->str[hl] == ':' && !dt__proc_alive(atoi(f->str + hl + 1))) {
      (void)put(q, f->str, NULL, 0);
      continue;
    }
    rc = fn(ctx, v->str, v->len);
  }
  freeReplyObject(r);
  return rc;
}

/* The claim_caller operation: the caller (HOST:PID) of the task this
 * worker claimed last, into out. */
void dt__rd_claim_caller(dt__queue *base, char *out, size_t cap) {
  snprintf(out, cap, "%s", dt__rd(base)->claim_caller);
}
