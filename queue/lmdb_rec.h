/* lmdb_rec.h: the records of an "lmdb" queue and its handle, shared by
 * the backend's operations (queue/lmdb.c) and its sweep
 * (queue/lmdb_sweep.c).  queue/lmdb.c's opening comment draws the four
 * databases; their headers are in host order (the queue never leaves
 * its machine), at unaligned places: the dt__lm_put and dt__lm_get
 * helpers copy them. */
#ifndef DT_QUEUE_LMDB_REC_H
#define DT_QUEUE_LMDB_REC_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "queue/bell.h"
#include "queue/lmdb_env.h"
#include "queue/queue.h"

#define CLAIM_HDR 12u    /* worker pid u32, worker start time u64 */
#define RESULT_HDR 8u    /* caller pid u32, from u32 */
#define MAX_REQUEUES 5u

/* The backend's handle: dt__queue first (queue.c fills it). */
typedef struct dt__lmq {
  dt__queue base;
  dt__lmdb_env db;
  dt__bell *bell;
  uint64_t start; /* the opening process's start time (clock ticks) */
  bool seen_empty;    /* this process's last answer found no task... */
  uint32_t empty_seq; /* ...with the new-task word at this value */
  uint32_t caller; /* the caller's pid of the task claimed last */
} dt__lmq;

/* The backend's handle of q (q is always one of ours). */
static inline dt__lmq *dt__lm(dt__queue *q) { return (dt__lmq *)q; }

static inline void dt__lm_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void dt__lm_put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t dt__lm_get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t dt__lm_get64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* The waiter slot, requeue count and admission flag share the task
 * header's second word: the slot in the low 16 bits, the count in the
 * next 15, and DT__LM_ADMIT on top when an admission block
 * (queue/lmdb_gate.c) follows the header. */
#define DT__LM_ADMIT 0x80000000u
static inline uint32_t dt__lm_slot(uint32_t word) { return word & 0xffffu; }
static inline uint32_t dt__lm_requeues(uint32_t word) {
  return (word >> 16) & 0x7fffu;
}
/* word with its requeue count set to n (the slot and flag kept). */
static inline uint32_t dt__lm_with_requeues(uint32_t word, uint32_t n) {
  return (word & (DT__LM_ADMIT | 0xffffu)) | (n & 0x7fffu) << 16;
}

int dt__lm_sweep(dt__queue *q, unsigned *reclaimed);
int dt__lm_stat(dt__queue *q, dt__queue_stats *st);

#endif /* DT_QUEUE_LMDB_REC_H */
