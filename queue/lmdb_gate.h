/* lmdb_gate.h: admission of an "lmdb" queue's tasks: the block a gated
 * task carries, and the claim's decision (queue/lmdb_gate.c). */
#ifndef DT_QUEUE_LMDB_GATE_H
#define DT_QUEUE_LMDB_GATE_H

#include "queue/lmdb_rec.h"

/* A task's admission block as read (names point into the record). */
typedef struct dt__lm_adm {
  size_t size; /* of the block */
  uint32_t running, burst;
  uint64_t interval_ns;
  const char *gate, *rate;
  size_t glen, rlen;
} dt__lm_adm;

/* The gates counted during one claim, and how many calls of each run. */
#define DT__LM_FULL_MAX 16
typedef struct dt__lm_full {
  int n;
  const char *gate[DT__LM_FULL_MAX];
  size_t len[DT__LM_FULL_MAX];
  uint32_t running[DT__LM_FULL_MAX];
  bool refused; /* a task was held back by its gate */
} dt__lm_full;

size_t dt__lm_admit_size(const dt__admit *adm);
void dt__lm_admit_put(uint8_t *p, const dt__admit *adm);
int dt__lm_admit_get(const uint8_t *p, size_t n, dt__lm_adm *a);
int dt__lm_admit_check(dt__lmdb_env *db, MDB_txn *txn, const dt__lm_adm *a,
                       dt__lm_full *full, uint64_t now, uint64_t *tat,
                       uint64_t *retry);
int dt__lm_admit_take(dt__lmdb_env *db, MDB_txn *txn, const char *name,
                      size_t len, uint64_t tat);

#endif /* DT_QUEUE_LMDB_GATE_H */
