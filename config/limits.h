/* limits.h: what an entry asks of the pool beyond running its calls:
 * max_concurrency (with concurrency_key), rate_limit and cache
 * (config/limits.c).  The queue enforces them (queue/queue.h's dt__admit
 * and answers cache); the caller makes them per call (shim/limits.c). */
#ifndef DT_LIMITS_H
#define DT_LIMITS_H

#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "config/sig.h"
#include "config/split.h"
#include "config/toml.h"

#define DT__CACHE_DEFAULT_MAX_BYTES (64ull << 20)

typedef struct dt__limits {
  uint32_t max_concurrency; /* 0: no limit */
  int key_param;            /* concurrency_key's parameter; -1: none */
  uint64_t rate_interval_ns; /* 0: no rate limit; else one call per this */
  uint32_t rate_burst;       /* >= 1 with a rate */
  char rate_text[32];        /* as written, "100/s", for dtask check */
  int cache;                 /* cache given and not false */
  uint64_t cache_ttl_ns;     /* 0: answers do not expire */
  uint64_t cache_max_bytes;  /* the entry's budget */
  int cache_line, cache_col; /* where cache was written (0: not) */
} dt__limits;

/* The keys valid in [defaults] as in [[offload]] (concurrency_key and
 * cache are in config.c's list of the entry's own), and those of
 * rate_limit's table and of cache's table. */
extern const char *const dt__limits_keys[];
extern const char *const dt__limits_rate_keys[];
extern const char *const dt__limits_cache_keys[];

void dt__limits_defaults(dt__limits *l);
int dt__limits_read(const dt__toml *t, const char *section, dt__limits *l,
                    dt__error *err);
int dt__limits_read_entry(const dt__toml *t, const char *section,
                          const dt__sig *sig, const dt__split *split,
                          int async, dt__limits *l, dt__error *err);
int dt__limits_fit_map(const dt__limits *l, uint64_t map_size,
                       const char *section, dt__error *err);
void dt__limits_describe(const dt__limits *l, const dt__sig *sig, FILE *out);

#endif /* DT_LIMITS_H */
