/* redis_status.c: the redis backend's part of `dtask status`: the pool
 * records, in the hash P:status (field HOST:PID, the record as value),
 * who made the task this worker holds, and reading and resetting the
 * callers' round trips (the hash P:trips, which redis_call.c adds to).
 *
 * A supervisor rewrites its field every tick and removes it when it
 * stops.  The field of a supervisor of this host that is gone (killed
 * with SIGKILL) is removed by the next listing; one of another host
 * stays until a status reader finds its record too old, which it says
 * (runner/status.c).  Records are untrusted text: runner/poolstat.c
 * parses them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/proc.h"
#include "queue/redis_core.h"
#include "queue/redis_ops.h"
#include "queue/redis_status.h"

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
  dt__hi.freeReplyObject(r);
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
  dt__hi.freeReplyObject(r);
  return rc;
}

/* The claim_caller operation: the caller (HOST:PID) of the task this
 * worker claimed last, into out. */
void dt__rd_claim_caller(dt__queue *base, char *out, size_t cap) {
  snprintf(out, cap, "%s", dt__rd(base)->claim_caller);
}

/* Finds (or, with room below cap, adds) the entry of symbol sym (n
 * bytes) in t[0, *nt).  NULL when sym is not a name or there is no
 * room. */
static dt__trips *trips_of(dt__trips *t, int *nt, int cap, const char *sym,
                           size_t n) {
  if (!dt__trips_symbol_ok(sym, n))
    return NULL;
  for (int i = 0; i < *nt; i++)
    if (strlen(t[i].symbol) == n && memcmp(t[i].symbol, sym, n) == 0)
      return &t[i];
  if (*nt >= cap)
    return NULL;
  dt__trips *e = &t[(*nt)++];
  memset(e, 0, sizeof *e);
  memcpy(e->symbol, sym, n);
  return e;
}

/* The number written as the n bytes at s: only digits, without a
 * leading zero (but "0"), at most UINT64_MAX; -1 when it is not one. */
static int number_of(const char *s, size_t n, uint64_t *out) {
  if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
    return -1;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (x > (UINT64_MAX - d) / 10)
      return -1;
    x = x * 10 + d;
  }
  *out = x;
  return 0;
}

/* A count as the server keeps it; 0 when it is not a number. */
static uint64_t count_of(const redisReply *v) {
  uint64_t x = 0;
  if (v->type != REDIS_REPLY_STRING || number_of(v->str, v->len, &x) != 0)
    return 0;
  return x;
}

/* Reads one field of P trips (redis_call.c's dt__rd_trips_add names
 * them: c calls, r retries, h a histogram's bucket, H cache hits, M
 * misses) into t; a field of another form is ignored. */
static void trips_field(dt__trips *t, int *nt, int cap, const redisReply *f,
                        const redisReply *v) {
  if (f->type != REDIS_REPLY_STRING || f->len < 3 || f->str[1] != ':')
    return;
  const char *sym = f->str + 2;
  size_t n = f->len - 2;
  int bucket = -1;
  if (f->str[0] == 'h') {
    const char *colon = memchr(sym, ':', n);
    uint64_t b;
    if (colon == NULL ||
        number_of(colon + 1, (size_t)(sym + n - colon - 1), &b) != 0 ||
        b >= DT__HIST_BUCKETS)
      return;
    bucket = (int)b;
    n = (size_t)(colon - sym);
  } else if (f->str[0] != 'c' && f->str[0] != 'r' && f->str[0] != 'H' &&
             f->str[0] != 'M') {
    return;
  }
  dt__trips *e = trips_of(t, nt, cap, sym, n);
  if (e == NULL)
    return;
  if (bucket >= 0)
    e->hist[bucket] = count_of(v);
  else if (f->str[0] == 'c')
    e->calls = count_of(v);
  else if (f->str[0] == 'r')
    e->retries = count_of(v);
  else if (f->str[0] == 'H')
    e->hits = count_of(v);
  else
    e->misses = count_of(v);
}

/* Reads r, the server's reply to HGETALL of P trips (untrusted: a field
 * that is not of the form written is left out, a count that is not a
 * number is read as 0), into t[0, cap): one entry per symbol, at most
 * cap.  Returns the number of entries. */
int dt__rq_trips_read(const redisReply *r, dt__trips *t, int cap) {
  int nt = 0;
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
       i += 2)
    trips_field(t, &nt, cap, r->element[i], r->element[i + 1]);
  return nt;
}

/* Runs argv[0, argc) on q's main connection, under its lock.  Returns
 * the reply (the caller frees it), or NULL with *rc a negative errno
 * (-EIO: no reply or an error reply, said by dt__rq_checked). */
static redisReply *on_main(dt__rq *q, int argc, const char **argv, int *rc) {
  *rc = dt__rq_lock(q);
  if (*rc != 0)
    return NULL;
  redisReply *r =
      dt__rq_checked(&q->main, dt__rconn_argv(&q->main, argc, argv, NULL));
  dt__rq_unlock(q);
  if (r == NULL)
    *rc = -EIO;
  return r;
}

/* The trips_list operation: fn with each symbol's totals from the hash
 * P trips (dt__rq_trips_read).  Returns fn's first nonzero answer, 0, or
 * a negative errno. */
int dt__rd_trips_list(dt__queue *base,
                      int (*fn)(void *ctx, const dt__trips *t), void *ctx) {
  dt__rq *q = dt__rd(base);
  dt__trips *t = malloc(DT__TRIPS_SYMBOLS * sizeof *t);
  if (t == NULL)
    return -ENOMEM;
  char kt[320];
  const char *argv[] = {"HGETALL", dt__rq_key(q, kt, sizeof kt, "trips")};
  int rc;
  redisReply *r = on_main(q, 2, argv, &rc);
  if (r == NULL) {
    free(t);
    return rc;
  }
  int nt = dt__rq_trips_read(r, t, DT__TRIPS_SYMBOLS);
  dt__hi.freeReplyObject(r);
  for (int i = 0; i < nt && rc == 0; i++)
    rc = fn(ctx, &t[i]);
  free(t);
  return rc;
}

/* The trips_reset operation: deletes P trips.  0 or -EIO. */
int dt__rd_trips_reset(dt__queue *base) {
  char kt[320];
  const char *argv[] = {"DEL", dt__rq_key(dt__rd(base), kt, sizeof kt,
                                          "trips")};
  int rc;
  redisReply *r = on_main(dt__rd(base), 2, argv, &rc);
  if (r != NULL)
    dt__hi.freeReplyObject(r);
  return rc;
}

/* Whether the n bytes at s are an image's directory name as
 * dt__image_queue_name makes them: 1 to 255 of [A-Za-z0-9_.-], not
 * starting with a dot (a name from the server never leaves the queue
 * directory). */
static bool image_name(const char *s, size_t n) {
  if (n == 0 || n > 255 || s[0] == '.')
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  }
  return true;
}

/* The most keys one listing of images walks (SCAN looks at every key). */
#define IMAGES_SCAN_MAX 1000000

/* Walks the server's keys for the images of q (set up for the queue's
 * directory itself): see dt__rd_images. */
static int scan_images(dt__rq *q, int (*fn)(void *ctx, const char *image),
                       void *ctx) {
  /* q->p is "dtask:{NAME}:"; the images' keys are "dtask:{NAME/IMAGE}:",
   * matched with NAME's glob characters escaped. */
  char match[700];
  size_t m = 0, plen = q->plen;
  if (plen < 3 || q->p[plen - 1] != ':' || q->p[plen - 2] != '}')
    return -EINVAL;
  for (size_t i = 0; i < plen - 2 && m + 2 < sizeof match; i++) {
    if (strchr("*?[]\\", q->p[i]) != NULL)
      match[m++] = '\\';
    match[m++] = q->p[i];
  }
  int w = snprintf(match + m, sizeof match - m, "/*}:tasks");
  if (w < 0 || (size_t)w >= sizeof match - m)
    return -ENAMETOOLONG;
  size_t head = plen - 2 + 1; /* "dtask:{NAME/" */
  char cursor[32] = "0";
  int rc = 0;
  long walked = 0;
  do {
    const char *argv[] = {"SCAN", cursor, "MATCH", match, "COUNT", "1000",
                          "TYPE", "stream"};
    redisReply *r = on_main(q, 8, argv, &rc);
    if (r == NULL)
      return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[0]->len >= sizeof cursor ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
      dt__hi.freeReplyObject(r);
      return -EPROTO;
    }
    snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
    const redisReply *keys = r->element[1];
    for (size_t i = 0; i < keys->elements && rc == 0; i++) {
      const redisReply *k = keys->element[i];
      static const char tail[] = "}:tasks";
      if (k->type != REDIS_REPLY_STRING ||
          k->len < head + sizeof tail - 1 ||
          memcmp(k->str, q->p, head - 1) != 0 || k->str[head - 1] != '/')
        continue;
      size_t n = k->len - head - (sizeof tail - 1);
      char name[256];
      if (memcmp(k->str + head + n, tail, sizeof tail - 1) != 0 ||
          !image_name(k->str + head, n))
        continue;
      memcpy(name, k->str + head, n);
      name[n] = '\0';
      rc = fn(ctx, name);
    }
    walked += 1000;
    dt__hi.freeReplyObject(r);
  } while (rc == 0 && strcmp(cursor, "0") != 0 && walked < IMAGES_SCAN_MAX);
  return rc;
}

/* The images operation: fn with the name of each image of cfg's queue
 * whose task stream ("dtask:{NAME/IMAGE}:tasks") the server holds, as
 * SCAN finds them (a name may come twice; one that is not a plain
 * directory name is left out: it names a directory of this host).  It
 * connects without opening a queue, so it creates nothing on the server.
 * Returns fn's first nonzero answer, 0, or a negative errno. */
int dt__rd_images(const dt__config *cfg,
                  int (*fn)(void *ctx, const char *image), void *ctx) {
  dt__rq *q = calloc(1, sizeof *q);
  if (q == NULL)
    return -ENOMEM;
  dt__error err = {0, 0, ""};
  int rc = dt__rq_init(q, cfg, cfg->queue_path, &err);
  if (rc != 0) {
    free(q);
    return rc;
  }
  rc = scan_images(q, fn, ctx);
  dt__rd_close(&q->base);
  return rc;
}
