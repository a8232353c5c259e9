/* redis_cache.c: the redis backend's answers cache (queue/queue.h's
 * cache_get and cache_put; queue/redis.c lists the keys).  It owns three
 * kinds of keys under the queue's prefix P, kept with the queue across
 * pools (nothing expires them):
 *
 *   P c:HEX      an answer: 8 bytes, the time it was stored (µs since the
 *                epoch by the server's clock, big-endian), then the
 *                record; HEX is the key's hash in lower-case hex
 *   P cl:ENTRY   sorted set: the HEX of every answer of entry ENTRY (a
 *                symbol), scored by its last use (µs, the server's clock)
 *   P cb         hash: ENTRY -> the bytes its answers' records take
 *
 * Each operation is one script, atomic: a get checks the age and makes
 * the answer the entry's most recently used; a put stores the answer,
 * then evicts the entry's least recently used ones until its answers fit
 * its budget.  Times are whole microseconds, exact in Lua's doubles.
 * An answer is counted by its record's bytes (the 8-byte time is not).
 * A count that drifted (a key deleted by hand or evicted by a server not
 * set to noeviction) heals: an answer whose key is gone is taken off the
 * index without its bytes, and an index left with only the new answer
 * counts just its bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/redis_core.h"
#include "queue/redis_ops.h"

/* The Lua that makes the 8 bytes of a time t (µs, a whole number below
 * 2^53) into h8(t), and reads them back as at8(v). */
#define TIME_LUA                                                            \
  "local function h8(t)\n"                                                  \
  " local b = {}\n"                                                         \
  " for i = 8, 1, -1 do b[i] = t % 256 t = math.floor(t / 256) end\n"       \
  " return string.char(unpack(b))\n"                                        \
  "end\n"                                                                   \
  "local function at8(v)\n"                                                 \
  " local t = 0\n"                                                          \
  " for i = 1, 8 do t = t * 256 + string.byte(v, i) end\n"                  \
  " return t\n"                                                             \
  "end\n"                                                                   \
  "local tm = redis.call('TIME')\n"                                         \
  "local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"               \
  "local function n0(x) return string.format('%.0f', x) end\n"

/* KEYS answer index bytes; ARGV hex entry ttl_us (0: none).  The answer
 * (its 8-byte time first) when there and not older than ttl_us, made the
 * entry's most recently used (indexed and counted if it was not); false
 * when missing, expired (deleted, its bytes uncounted) or shorter than
 * its time (deleted). */
static const char CGET[] =
    TIME_LUA
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then return false end\n"
    "local known = redis.call('ZSCORE', KEYS[2], ARGV[1])\n"
    "local ttl = tonumber(ARGV[3]) or 0\n"
    "if #v < 8 or (ttl > 0 and now - at8(v) > ttl) then\n"
    " redis.call('DEL', KEYS[1])\n"
    " if known then redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "  if #v >= 8 then redis.call('HINCRBY', KEYS[3], ARGV[2], 8 - #v) end\n"
    " end\n"
    " return false\n"
    "end\n"
    "if not known then redis.call('HINCRBY', KEYS[3], ARGV[2], #v - 8) end\n"
    "redis.call('ZADD', KEYS[2], n0(now), ARGV[1])\n"
    "return v\n";

/* KEYS answer index bytes; ARGV hex entry value max_bytes (value: 8
 * bytes, overwritten here with the time, then the record).  Stores the
 * answer (replacing one under hex, whose bytes it uncounts), indexes it
 * as the most recently used, then deletes the entry's least recently
 * used other answers until its records take at most max_bytes.  0 when
 * the record alone is larger than max_bytes (nothing stored), else 1. */
static const char CPUT[] =
    TIME_LUA
    "local size, max = #ARGV[3] - 8, tonumber(ARGV[4])\n"
    "if size < 0 or not max or size > max then return 0 end\n"
    "local P = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[1] - 2)\n"
    "local used = tonumber(redis.call('HGET', KEYS[3], ARGV[2])) or 0\n"
    "local old = redis.call('STRLEN', KEYS[1])\n"
    "if old >= 8 and redis.call('ZSCORE', KEYS[2], ARGV[1]) then\n"
    " used = used - (old - 8) end\n"
    "redis.call('SET', KEYS[1], ARGV[3])\n"
    "redis.call('SETRANGE', KEYS[1], 0, h8(now))\n"
    "redis.call('ZADD', KEYS[2], n0(now), ARGV[1])\n"
    "used = used + size\n"
    "while used > max do\n"
    " local lru = redis.call('ZRANGE', KEYS[2], 0, 1)\n"
    " local h = lru[1]\n"
    " if h == ARGV[1] then h = lru[2] end\n"
    " if not h then used = size break end\n"
    " local k = P .. 'c:' .. h\n"
    " local l = redis.call('STRLEN', k)\n"
    " if l >= 8 then used = used - (l - 8) end\n"
    " redis.call('DEL', k) redis.call('ZREM', KEYS[2], h)\n"
    "end\n"
    "if used < size then used = size end\n"
    "redis.call('HSET', KEYS[3], ARGV[2], n0(used))\n"
    "return 1\n";

/* The three keys of k (answer, index, bytes) into keys, their names in
 * buf (3 x 400 bytes), and k->hash in hex into hex (65 bytes).  Returns
 * 0, or -EINVAL when k's entry is not a symbol (dt__trips_symbol_ok). */
static int cache_keys(const dt__rq *q, const dt__cache_key *k,
                      char (*buf)[400], const char **keys, char *hex) {
  if (k->entry == NULL || !dt__trips_symbol_ok(k->entry, strlen(k->entry)))
    return -EINVAL;
  for (int i = 0; i < DT__CACHE_HASH; i++)
    snprintf(hex + 2 * i, 3, "%02x", k->hash[i]);
  snprintf(buf[0], 400, "%sc:%s", q->p, hex);
  snprintf(buf[1], 400, "%scl:%s", q->p, k->entry);
  snprintf(buf[2], 400, "%scb", q->p);
  for (int i = 0; i < 3; i++)
    keys[i] = buf[i];
  return 0;
}

/* The cache_get operation: the CGET script on the main connection,
 * k->ttl_ns rounded up to whole microseconds.  Returns 1 with *rec (a
 * malloc'd copy of the record, which the caller frees) and *size; 0 when
 * no answer younger than the ttl is there; -EINVAL for an entry that is
 * not a symbol; -ENOMEM; -EIO (the link, or the server refused). */
int dt__rd_cache_get(dt__queue *base, const dt__cache_key *k, uint8_t **rec,
                     size_t *size) {
  dt__rq *q = dt__rd(base);
  char buf[3][400], hex[2 * DT__CACHE_HASH + 1], ttl[24];
  const char *keys[3];
  int rc = cache_keys(q, k, buf, keys, hex);
  if (rc != 0)
    return rc;
  snprintf(ttl, sizeof ttl, "%llu",
           (unsigned long long)(k->ttl_ns / 1000 + (k->ttl_ns % 1000 != 0)));
  const char *args[] = {hex, k->entry, ttl};
  if ((rc = dt__rq_lock(q)) != 0)
    return rc;
  redisReply *r = dt__rq_eval(&q->main, CGET, 3, keys, 3, args, NULL);
  dt__rq_unlock(q);
  if (r == NULL)
    return -EIO;
  if (r->type == REDIS_REPLY_NIL) {
    rc = 0;
  } else if (r->type != REDIS_REPLY_STRING || r->len < 8) {
    rc = -EIO;
  } else if ((*rec = malloc(r->len > 8 ? r->len - 8 : 1)) == NULL) {
    rc = -ENOMEM;
  } else {
    memcpy(*rec, r->str + 8, r->len - 8);
    *size = r->len - 8;
    rc = 1;
  }
  dt__hi.freeReplyObject(r);
  return rc;
}

/* The cache_put operation: the CPUT script on the main connection with
 * the record behind 8 bytes the script fills with the time.  An answer
 * larger than k->max_bytes, or than one value of the server (q->part, the
 * parts limit of redis_parts.c, with its 8 bytes), is not stored and
 * costs no command.  Returns 0 (stored or not); -EINVAL for an entry
 * that is not a symbol; -ENOMEM; -ENOSPC when the server is out of
 * memory; -EIO. */
int dt__rd_cache_put(dt__queue *base, const dt__cache_key *k,
                     const uint8_t *rec, size_t size) {
  dt__rq *q = dt__rd(base);
  char buf[3][400], hex[2 * DT__CACHE_HASH + 1], max[24];
  const char *keys[3];
  int rc = cache_keys(q, k, buf, keys, hex);
  if (rc != 0)
    return rc;
  if (size > k->max_bytes ||
      size > __atomic_load_n(&q->part, __ATOMIC_RELAXED) - 8)
    return 0;
  uint8_t *value = malloc(size + 8);
  if (value == NULL)
    return -ENOMEM;
  memset(value, 0, 8);
  if (size > 0)
    memcpy(value + 8, rec, size);
  snprintf(max, sizeof max, "%llu", (unsigned long long)k->max_bytes);
  const char *args[] = {hex, k->entry, (const char *)value, max};
  size_t alen[] = {DT__RQ_STR, DT__RQ_STR, size + 8, DT__RQ_STR};
  if ((rc = dt__rq_lock(q)) == 0) {
    redisReply *r = dt__rq_eval(&q->main, CPUT, 3, keys, 4, args, alen);
    rc = r != NULL ? 0 : q->main.refused == -ENOSPC ? -ENOSPC : -EIO;
    dt__rq_unlock(q);
    if (r != NULL)
      dt__hi.freeReplyObject(r);
  }
  free(value);
  return rc;
}
