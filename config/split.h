/* split.h: fan-out, one call split into slices over an integer parameter
 * (config/split.c): its config keys, the slicing arithmetic, and how the
 * slices' return values fold into the call's. */
#ifndef DT_SPLIT_H
#define DT_SPLIT_H

#include <stdio.h>

#include "config/sig.h"
#include "config/toml.h"

typedef enum dt__agg {
  DT__AGG_NONE,          /* void functions */
  DT__AGG_SUM,
  DT__AGG_MIN,
  DT__AGG_MAX,
  DT__AGG_AND,           /* 1 if every slice returned non-zero, else 0 */
  DT__AGG_OR,            /* 1 if any slice returned non-zero, else 0 */
  DT__AGG_FIRST_NONZERO  /* the first slice, in order, that returned
                            non-zero (the C error-code convention) */
} dt__agg;

/* split = { over = "n", chunk = 64 } and aggregate = "sum". */
typedef struct dt__split {
  int enabled;
  int over;           /* index of the integer parameter split over */
  uint64_t chunk;     /* elements per slice (0: not given) */
  uint64_t chunks;    /* number of slices (0: not given; with neither,
                         one slice per worker) */
  uint64_t min_split; /* calls with fewer elements run as one task */
  dt__agg agg;
  /* Per parameter: sliced along `over` (its length has `over` as a
   * factor once), or common to every slice (an in buffer whose length
   * does not depend on it: stored in the queue once). */
  uint8_t sliced[DT__MAX_PARAMS];
  uint8_t common[DT__MAX_PARAMS];
} dt__split;

/* The [[offload]] keys that fan-out adds, and those of split's table. */
extern const char *const dt__split_keys[];
extern const char *const dt__split_table_keys[];

int dt__split_read(const dt__toml *t, const char *section, const dt__sig *sig,
                   dt__split *s, dt__error *err);
void dt__split_describe(const dt__split *s, const dt__sig *sig, FILE *out);
const char *dt__agg_name(dt__agg agg);

uint64_t dt__split_count(const dt__split *s, uint64_t n, int workers);
uint64_t dt__split_start(const dt__split *s, uint64_t n, uint64_t count,
                         uint64_t k);
int dt__split_fold(dt__agg agg, const dt__type *t, uint64_t *acc, uint64_t v,
                   int first);

#endif /* DT_SPLIT_H */
