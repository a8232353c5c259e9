/* poolstat.h: a runner pool's status record, which its supervisor
 * publishes in the queue every tick and `dtask status` reads
 * (runner/poolstat.c). */
#ifndef DT_POOLSTAT_H
#define DT_POOLSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "runner/worker.h"

/* The largest record written or read. */
#define DT__POOLREC_MAX (2u << 20)
#define DT__POOLREC_WORKERS 256 /* workers listed in one record */
/* A record older than this is a pool that stopped without a word (its
 * host is gone, or it was killed): it no longer counts as serving. */
#define DT__POOLREC_STALE_MS 10000u

/* One worker as a record tells it. */
typedef struct dt__pw {
  int index, pid;
  uint64_t call;    /* the queue id of the call it runs; 0: idle */
  uint32_t entry;
  uint64_t ms;      /* how long that call has run */
  char caller[64];
} dt__pw;

/* One entry's counters as a record tells them. */
typedef struct dt__psym {
  uint32_t entry;
  char symbol[128]; /* config/config.h's dt__offload symbol */
  uint64_t calls, errors, crashes, timeouts;
  uint64_t exec[DT__HIST_BUCKETS];
} dt__psym;

/* A decoded record (dt__poolrec_parse). */
typedef struct dt__pool_info {
  int pid;
  char host[64], image[160], program[64];
  uint64_t started_ms, updated_ms; /* Unix time, ms */
  int workers, alive;
  uint64_t swept, reclaimed;
  int nw;
  dt__pw w[DT__POOLREC_WORKERS];
  int nsym;
  dt__psym sym[DT__STAT_ENTRIES];
} dt__pool_info;

uint64_t dt__hist_quantile(const uint64_t *hist, double q);
int dt__poolrec_build(const dt__pool_info *p, char *buf, size_t cap);
int dt__poolrec_parse(const char *text, size_t n, dt__pool_info *p);

#endif /* DT_POOLSTAT_H */
