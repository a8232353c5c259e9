/* config.h: a loaded config, everything the TOML file says once checked
 * (config/config.c).  Plain data, owned by whoever loaded it. */
#ifndef DT_CONFIG_H
#define DT_CONFIG_H

#include "config/cond.h"
#include "config/file.h"
#include "config/limits.h"
#include "config/policy.h"
#include "config/sig.h"
#include "config/split.h"
#include "config/url.h"

/* One [[offload]] entry. */
typedef struct dt__offload {
  char symbol[128];
  char version[64];    /* "" when not versioned */
  char library[256];   /* "" when any object may define it */
  int required;        /* not importing it is an error */
  int has_offload_if;  /* offload_if given: other calls run in the caller */
  dt__cond offload_if; /* bound to a scalar parameter passed by value */
  dt__sig sig;
  dt__policy policy;
  dt__split split;
  int async;           /* async = true: the caller does not wait */
  dt__limits limits;   /* max_concurrency, rate_limit, cache */
  int line;            /* where the [[offload]] header is */
} dt__offload;

typedef struct dt__config {
  char path[4096]; /* the file it was read from ("<embedded>" if none) */

  /* [queue] */
  char backend[16];       /* "lmdb" */
  char queue_path[4096];  /* expanded */
  uint64_t map_size;      /* bytes */
  uint64_t max_call_size; /* bytes: the most one call's task or result may
                             take (default: map_size / 4, 4KiB..2GiB) */
  int arena;              /* big buffers travel through the callers'
                             arenas (queue/arena.h; "lmdb" only) */
  /* [queue] with backend = "redis" (all empty for "lmdb") */
  char url[1024];            /* as written */
  dt__url redis;             /* url, parsed */
  char password_file[4096];  /* expanded; "" when none */
  char queue_name[128];      /* key prefix; "" derives it from path */

  /* [runner] */
  int workers;
  int autostart;
  uint64_t idle_exit_ns;

  /* [defaults]: the policy each [[offload]] entry starts from */
  dt__policy defaults;
  dt__limits defaults_limits; /* max_concurrency, rate_limit */

  /* [types] */
  dt__utype *types;
  size_t ntypes;

  /* [[offload]] */
  dt__offload *offloads;
  size_t noffloads;

  int strict;   /* [shim] strict = true, or DTASK_STRICT=1 */
  int progress; /* [shim] progress = true (or DTASK_PROGRESS=1) */
} dt__config;

int dt__config_parse(const char *text, size_t len, const char *path,
                     dt__config **out, dt__error *err);
int dt__config_load(const char *path, dt__config **out, dt__error *err);
void dt__config_free(dt__config *cfg);
uint64_t dt__config_call_default(uint64_t map_size);
void dt__config_keys(void (*fn)(const char *table, const char *key,
                                void *ctx),
                     void *ctx);

#endif /* DT_CONFIG_H */
