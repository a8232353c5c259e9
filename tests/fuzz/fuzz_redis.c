/* fuzz_redis.c: the fuzz harness of the Redis backend's reading of
 * replies (queue/redis_status.c, queue/redis_core.c, queue/redis_parts.c),
 * which come from a server that may be hostile or broken.
 *
 * The input is what a server sends: RESP bytes, fed to hiredis's reader
 * (redisReaderCreate, redisReaderFeed, redisReaderGetReply), as the
 * backend's connection does.  Every reply it yields, and every element
 * nested in one (the backend reaches into entries and field lists), is
 * handed to what reads replies:
 *   - dt__rq_trips_read, as `dtask status` reads HGETALL of P:trips, with
 *     room for every symbol and for two: at most that many entries, each
 *     a symbol dt__trips_symbol_ok accepts;
 *   - dt__rq_field, for the fields of a stream entry the backend reads
 *     (i, c, r, t, k, z), and dt__rq_info, for those of XINFO (name,
 *     pending, idle, entries-added), each value read with dt__rq_num as
 *     the backend reads them;
 *   - dt__rq_parts_of, under a small and an unbounded limit: 1 only with
 *     a count from 1 to MAX_PARTS and a total of at least one byte a
 *     part, within the limit; -E2BIG only above it.
 * hiredis 0.14 has no bound on a multi-bulk count: "*2000000000\r\n"
 * makes it allocate 16 GB of element pointers before any element
 * arrives.  That is hiredis's, not dtask's, so an input with a count
 * above DT__FUZZ_MAX_ELEMENTS is skipped.  Every reply is freed
 * (freeReplyObject), then the reader.  Dictionary: tests/fuzz/redis.dict;
 * corpus: tests/fuzz/corpus/redis/. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "queue/queue.h"
#include "queue/redis_core.h"
#include "queue/redis_parts.h"
#include "queue/redis_status.h"
#include "fuzz/fuzz.h"

/* The largest multi-bulk count an input may hold (see above), and the
 * most replies one input yields. */
#define DT__FUZZ_MAX_ELEMENTS 4096
#define DT__FUZZ_MAX_REPLIES 64

/* The symbols' round trips a reply is read into (over a megabyte). */
static dt__trips redis_trips[DT__TRIPS_SYMBOLS];

/* The fields the backend looks up in stream entries and XINFO replies. */
static const char *const redis_fields[] = {"i", "c", "r", "t", "k", "z"};
static const char *const redis_infos[] = {"name", "pending", "idle",
                                          "entries-added"};

/* Whether data[0, size) holds a multi-bulk count ('*' then digits) above
 * DT__FUZZ_MAX_ELEMENTS, anywhere. */
static bool redis_too_many(const uint8_t *data, size_t size) {
  for (size_t i = 0; i < size; i++) {
    if (data[i] != '*')
      continue;
    uint64_t v = 0;
    for (size_t k = i + 1; k < size && data[k] >= '0' && data[k] <= '9';
         k++) {
      v = v * 10 + (uint64_t)(data[k] - '0');
      if (v > DT__FUZZ_MAX_ELEMENTS)
        return true;
    }
  }
  return false;
}

/* Reads r as P:trips with room for cap symbols; checks what comes out. */
static void redis_trips_of(const redisReply *r, int cap) {
  int nt = dt__rq_trips_read(r, redis_trips, cap);
  dt__fuzz_check(nt >= 0 && nt <= cap, "more symbols than room for them");
  for (int i = 0; i < nt; i++) {
    const char *s = redis_trips[i].symbol;
    dt__fuzz_check(memchr(s, '\0', sizeof redis_trips[i].symbol) != NULL &&
                       dt__trips_symbol_ok(s, strlen(s)),
                   "a symbol of round trips that is not a symbol");
  }
}

/* Reads r as a stream entry's field list that may point at parts. */
static void redis_parts(const redisReply *r, uint64_t limit) {
  long long n = -1;
  uint64_t total = 0;
  int rc = dt__rq_parts_of(r, limit, &n, &total);
  dt__fuzz_check(rc == 0 || rc == 1 || rc == -EPROTO || rc == -E2BIG,
                 "an answer of dt__rq_parts_of that it does not give");
  if (rc == 1)
    dt__fuzz_check(n >= 1 && n <= MAX_PARTS && total >= (uint64_t)n &&
                       total <= limit,
                   "parts that make no sense, taken");
  if (rc == -E2BIG)
    dt__fuzz_check(total > limit, "-E2BIG within the limit");
}

/* Hands r and everything nested in it (depth levels down) to the
 * readers of replies. */
static void redis_walk(const redisReply *r, int depth) {
  (void)dt__rq_num(r, -1);
  redis_trips_of(r, DT__TRIPS_SYMBOLS);
  redis_trips_of(r, 2);
  for (size_t i = 0; i < sizeof redis_fields / sizeof *redis_fields; i++) {
    const redisReply *v = dt__rq_field(r, redis_fields[i]);
    dt__fuzz_check(v == NULL || v->type == REDIS_REPLY_STRING,
                   "a field's value that is not a string");
    (void)dt__rq_num(v, 0);
  }
  for (size_t i = 0; i < sizeof redis_infos / sizeof *redis_infos; i++)
    (void)dt__rq_num(dt__rq_info(r, redis_infos[i]), 0);
  redis_parts(r, 1u << 20);
  redis_parts(r, UINT64_MAX);
  if (r->type == REDIS_REPLY_ARRAY && depth < 16)
    for (size_t i = 0; i < r->elements; i++)
      redis_walk(r->element[i], depth + 1);
}

/* Feeds data[0, size) to a hiredis reader as a server's bytes and hands
 * every reply to the backend's readers.  Always returns 0. */
int dt__fuzz_redis(const uint8_t *data, size_t size) {
  if (redis_too_many(data, size))
    return 0;
  redisReader *rd = redisReaderCreate();
  if (rd == NULL)
    return 0;
  if (redisReaderFeed(rd, (const char *)data, size) == REDIS_OK) {
    for (int k = 0; k < DT__FUZZ_MAX_REPLIES; k++) {
      void *reply = NULL;
      if (redisReaderGetReply(rd, &reply) != REDIS_OK || reply == NULL)
        break;
      redis_walk(reply, 0);
      freeReplyObject(reply);
    }
  }
  redisReaderFree(rd);
  return 0;
}

DT__FUZZ_ENTRY(dt__fuzz_redis)
