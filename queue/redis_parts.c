/* redis_parts.c: values larger than the queue's Redis server takes in
 * one bulk string (its proto-max-bulk-len, 512 MiB unless configured
 * otherwise).  Such a value (a task's record, an answer's record, a
 * fan-out blob) is written first as a list of parts of at most q->part
 * bytes under a key of its own; the entry that points at it carries the
 * count and the total (fields k and z) instead of the bytes, and the
 * reader takes the parts back one command each into one buffer.
 * queue/redis.c says which key holds which parts and who deletes them.
 * Nothing read here is trusted: counts and sizes are checked against
 * the reader's own limit before anything is allocated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "queue/redis_parts.h"

/* Learns the most bytes one value may take on c's server (CONFIG GET
 * proto-max-bulk-len, on c ready) into q->part, capped at MAX_RECORD and
 * at least 1 MiB (the server's own floor); a server that does not say
 * (CONFIG refused by an ACL, or renamed) leaves MAX_RECORD, its
 * default. */
void dt__rq_learn_part(dt__rq *q, dt__rconn *c) {
  const char *argv[] = {"CONFIG", "GET", "proto-max-bulk-len"};
  redisReply *r = dt__rconn_argv(c, 3, argv, NULL);
  uint64_t v = MAX_RECORD;
  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
      r->element[1]->type == REDIS_REPLY_STRING) {
    unsigned long long n = strtoull(r->element[1]->str, NULL, 10);
    if (n >= (1ull << 20) && n < MAX_RECORD)
      v = n;
  }
  if (r != NULL)
    dt__hi.freeReplyObject(r);
  __atomic_store_n(&q->part, v, __ATOMIC_RELAXED);
}

/* Stores size bytes of data under key (on c, ready) as a list of parts
 * of at most q->part bytes each, replacing what key held; with expire,
 * the key expires after REPLY_TTL_S (an answer's).  Returns the number
 * of parts; -ENOSPC when the server is out of memory; -EIO (the link,
 * or another refusal).  What was stored before a failure is left to the
 * key's owner to delete (the same key is written again on a retry). */
long long dt__rq_put_parts(dt__rq *q, dt__rconn *c, const char *key,
                           const uint8_t *data, size_t size, bool expire) {
  uint64_t part = __atomic_load_n(&q->part, __ATOMIC_RELAXED);
  const char *del[] = {"DEL", key};
  redisReply *r = dt__rq_checked(c, dt__rconn_argv(c, 2, del, NULL));
  if (r == NULL)
    return c->refused == -ENOSPC ? -ENOSPC : -EIO;
  dt__hi.freeReplyObject(r);
  long long n = 0;
  for (size_t off = 0; off < size; off += part, n++) {
    size_t len = size - off < part ? size - off : part;
    const char *argv[] = {"RPUSH", key, (const char *)data + off};
    size_t alen[] = {5, strlen(key), len};
    r = dt__rq_checked(c, dt__rconn_argv(c, 3, argv, alen));
    if (r == NULL)
      return c->refused == -ENOSPC ? -ENOSPC : -EIO;
    long long got = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    dt__hi.freeReplyObject(r);
    if (got != n + 1)
      return -EIO; /* someone else writes this key */
  }
  if (expire) {
    const char *argv[] = {"EXPIRE", key, REPLY_TTL_S};
    r = dt__rq_checked(c, dt__rconn_argv(c, 3, argv, NULL));
    if (r == NULL)
      return -EIO;
    dt__hi.freeReplyObject(r);
  }
  return n;
}

/* Reads the n parts of key (on c, ready) into dst, which has room for
 * exactly total bytes.  Returns 0; -ENOENT when a part is missing (the
 * key was deleted: its call is over); -EPROTO when the parts do not add
 * up to total; -EIO on the link. */
int dt__rq_get_parts(dt__rconn *c, const char *key, long long n,
                     uint64_t total, uint8_t *dst) {
  uint64_t off = 0;
  for (long long i = 0; i < n; i++) {
    char is[24];
    snprintf(is, sizeof is, "%lld", i);
    const char *argv[] = {"LINDEX", key, is};
    redisReply *r = dt__rconn_argv(c, 3, argv, NULL);
    if (r == NULL)
      return -EIO;
    int rc = 0;
    if (r->type == REDIS_REPLY_NIL)
      rc = -ENOENT;
    else if (r->type != REDIS_REPLY_STRING || r->len == 0 ||
             (uint64_t)r->len > total - off)
      rc = -EPROTO;
    else {
      memcpy(dst + off, r->str, r->len);
      off += (uint64_t)r->len;
    }
    dt__hi.freeReplyObject(r);
    if (rc != 0)
      return rc;
  }
  return off == total ? 0 : -EPROTO;
}

/* Whether the stream entry whose field list is fv points at parts
 * (fields k, the count, and z, the total in bytes).  Returns 0 when it
 * does not; 1 with *n and *total; -EPROTO for fields that make no sense
 * (a count of 0, more parts than bytes or than MAX_PARTS); -E2BIG (with
 * *n and *total) for a total above limit, which nothing may allocate. */
int dt__rq_parts_of(const redisReply *fv, uint64_t limit, long long *n,
                    uint64_t *total) {
  const redisReply *k = dt__rq_field(fv, "k");
  const redisReply *z = dt__rq_field(fv, "z");
  if (k == NULL && z == NULL)
    return 0;
  if (k == NULL || z == NULL)
    return -EPROTO;
  char *end;
  long long count = strtoll(k->str, &end, 10);
  if (*end != '\0' || count < 1 || count > MAX_PARTS)
    return -EPROTO;
  unsigned long long bytes = strtoull(z->str, &end, 10);
  if (*end != '\0' || z->str[0] == '-' || bytes < (unsigned long long)count)
    return -EPROTO;
  *n = count;
  *total = bytes;
  return bytes > limit ? -E2BIG : 1;
}
