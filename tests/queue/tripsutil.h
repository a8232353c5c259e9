/* tripsutil.h: what the tests of the callers' round trips share
 * (tests/queue/test_trips.c for LMDB, test_redis.c and
 * test_redis_limits.c for Redis): naming a dt__trips, collecting what
 * trips_list hands its callback, finding and comparing entries.
 * Include it after <cmocka.h> and queue/queue.h. */
#ifndef DTASK_TESTS_TRIPSUTIL_H
#define DTASK_TESTS_TRIPSUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n zeroed dt__trips (the test frees them). */
static inline dt__trips *trips_new(size_t n) {
  dt__trips *t = calloc(n, sizeof *t);
  assert_non_null(t);
  return t;
}

/* Names t sym (the rest of its 128 bytes zeroed) and sets its counts;
 * the histogram is left as it is. */
static inline void trip_set(dt__trips *t, const char *sym, uint64_t calls,
                            uint64_t retries) {
  memset(t->symbol, 0, sizeof t->symbol);
  snprintf(t->symbol, sizeof t->symbol, "%s", sym);
  t->calls = calls;
  t->retries = retries;
}

/* What trips_list handed its callback: copies of up to cap entries, in
 * order, and how many times it was called.  stop_at > 0: the callback
 * answers 7 from its stop_at-th call on.  s.t is the test's to free. */
typedef struct seen {
  dt__trips *t;
  int n, cap, calls, stop_at;
} seen;

/* trips_list's callback: keeps a copy of t in ctx, a seen. */
static inline int collect(void *ctx, const dt__trips *t) {
  seen *s = ctx;
  s->calls++;
  if (s->n < s->cap)
    memcpy(&s->t[s->n++], t, sizeof *t);
  return s->stop_at > 0 && s->calls >= s->stop_at ? 7 : 0;
}

/* An empty seen with room for cap entries. */
static inline seen seen_new(int cap) {
  seen s = {trips_new((size_t)cap), 0, cap, 0, 0};
  return s;
}

/* Lists q into s (emptied first); returns trips_list's answer. */
static inline int list_into(dt__queue *q, seen *s) {
  s->n = 0;
  s->calls = 0;
  return dt__queue_trips_list(q, collect, s);
}

/* The entry of sym in s, or NULL; fails if sym is there twice. */
static inline const dt__trips *seen_find(const seen *s, const char *sym) {
  const dt__trips *hit = NULL;
  for (int i = 0; i < s->n; i++)
    if (strncmp(s->t[i].symbol, sym, sizeof s->t[i].symbol) == 0) {
      if (hit != NULL)
        fail_msg("%s listed twice", sym);
      hit = &s->t[i];
    }
  return hit;
}

/* Fails unless have holds exactly want's symbol and counts. */
static inline void trip_equal(const dt__trips *have, const dt__trips *want) {
  if (have == NULL)
    fail_msg("%s is not listed", want->symbol);
  if (strnlen(have->symbol, sizeof have->symbol) == sizeof have->symbol)
    fail_msg("listed a symbol that is not NUL-terminated");
  if (strcmp(have->symbol, want->symbol) != 0)
    fail_msg("symbol \"%s\", expected \"%s\"", have->symbol, want->symbol);
  if (have->calls != want->calls || have->retries != want->retries)
    fail_msg("%s: calls %llu retries %llu, expected %llu %llu", want->symbol,
             (unsigned long long)have->calls,
             (unsigned long long)have->retries,
             (unsigned long long)want->calls,
             (unsigned long long)want->retries);
  for (int b = 0; b < DT__HIST_BUCKETS; b++)
    if (have->hist[b] != want->hist[b])
      fail_msg("%s: bucket %d holds %llu, expected %llu", want->symbol, b,
               (unsigned long long)have->hist[b],
               (unsigned long long)want->hist[b]);
}

#endif /* DTASK_TESTS_TRIPSUTIL_H */
