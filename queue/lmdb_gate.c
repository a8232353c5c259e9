/* lmdb_gate.c: owns the admission of an "lmdb" queue's tasks
 * (queue/queue.h's dt__admit): the block that a gated task carries after
 * its header, and the decision, taken inside the claim's write
 * transaction, whether a worker may start it now.
 *
 * A task with admission has DT__LM_ADMIT set in its header's second word
 * and, between the header and the record, the block
 *
 *     u16 size (of the whole block), u32 running, u32 burst,
 *     u64 interval_ns, u8 gate length, u8 rate length, gate, rate
 *
 * A claim keeps the task's value whole (queue/lmdb.c), block included,
 * so the calls of a gate now running are the claims whose block names
 * it: counted in the claims database, never in a counter that a dying
 * worker could leave wrong.  A lease the sweep takes back, an answer,
 * a cancel: each removes the claim, and with it the call's place at the
 * gate.  A rate's theoretical arrival time (dt__gcra) is a record of the
 * "limits" database, "t:" + name -> u64 ns of CLOCK_MONOTONIC (one clock
 * for every process of the machine; a time left by another boot is
 * discarded by dt__gcra). */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "queue/lmdb_gate.h"

#define FIXED 22u /* the block without its names */

/* The bytes of adm's block (0: adm asks nothing). */
size_t dt__lm_admit_size(const dt__admit *adm) {
  if (adm == NULL || (adm->gate[0] == '\0' && adm->rate[0] == '\0'))
    return 0;
  return FIXED + strnlen(adm->gate, DT__GATE_MAX - 1) +
         strnlen(adm->rate, DT__GATE_MAX - 1);
}

/* Writes adm's block at p (dt__lm_admit_size bytes; a name with
 * nothing to enforce, such as a gate of 0 running, is written empty). */
void dt__lm_admit_put(uint8_t *p, const dt__admit *adm) {
  size_t gl = strnlen(adm->gate, DT__GATE_MAX - 1);
  size_t rl = strnlen(adm->rate, DT__GATE_MAX - 1);
  uint16_t size = (uint16_t)(FIXED + gl + rl);
  memcpy(p, &size, 2);
  dt__lm_put32(p + 2, adm->running);
  dt__lm_put32(p + 6, adm->burst);
  dt__lm_put64(p + 10, adm->interval_ns);
  p[18] = (uint8_t)gl;
  p[19] = (uint8_t)rl;
  p[20] = p[21] = 0;
  memcpy(p + FIXED, adm->gate, gl);
  memcpy(p + FIXED + gl, adm->rate, rl);
}

/* Reads the block at p (n bytes available) into *a, whose names point
 * into p.  Returns 0, or -EPROTO for a block that is not one. */
int dt__lm_admit_get(const uint8_t *p, size_t n, dt__lm_adm *a) {
  uint16_t size;
  if (n < FIXED)
    return -EPROTO;
  memcpy(&size, p, 2);
  a->size = size;
  a->running = dt__lm_get32(p + 2);
  a->burst = dt__lm_get32(p + 6);
  a->interval_ns = dt__lm_get64(p + 10);
  a->glen = p[18];
  a->rlen = p[19];
  /* Names are shorter than DT__GATE_MAX (dt__lm_admit_put): longer ones
   * would overflow the claim's and the rate key's buffers. */
  if (size > n || size != FIXED + a->glen + a->rlen ||
      a->glen >= DT__GATE_MAX || a->rlen >= DT__GATE_MAX)
    return -EPROTO;
  a->gate = (const char *)p + FIXED;
  a->rate = a->gate + a->glen;
  return 0;
}

/* The block of a claim's value v (n bytes), if it has one: 1 with *a,
 * 0 when the claim is not gated or not readable. */
static int claim_block(const uint8_t *v, size_t n, dt__lm_adm *a) {
  if (n < CLAIM_HDR + 8 ||
      !(dt__lm_get32(v + CLAIM_HDR + 4) & DT__LM_ADMIT))
    return 0;
  return dt__lm_admit_get(v + CLAIM_HDR + 8, n - CLAIM_HDR - 8, a) == 0;
}

/* How many claims of txn's claims database hold gate (glen bytes).
 * Returns the count, or a negative errno. */
static int running_at(dt__lmdb_env *db, MDB_txn *txn, const char *gate,
                      size_t glen) {
  MDB_cursor *cur;
  MDB_val k, v;
  int n = 0;
  int rc = dt__lmdb_err(mdb_cursor_open(txn, db->claims, &cur));
  if (rc != 0)
    return rc;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    dt__lm_adm c;
    if (claim_block(v.mv_data, v.mv_size, &c) && c.glen == glen &&
        memcmp(c.gate, gate, glen) == 0)
      n++;
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? n : dt__lmdb_err(rc);
}

/* The "limits" key of rate name (len bytes) into key (DT__GATE_MAX + 2
 * bytes); returns its length. */
static size_t rate_key(uint8_t *key, const char *name, size_t len) {
  key[0] = 't';
  key[1] = ':';
  memcpy(key + 2, name, len);
  return len + 2;
}

/* Decides, in txn (a write transaction, left open), whether the task
 * whose block is a may start now (CLOCK_MONOTONIC ns).  The gate is
 * looked at first: a rate's turn is not spent on a task the gate holds
 * back.  full remembers, across the tasks of one claim, how many calls
 * run at the gates counted (a task of one of them is decided without
 * counting again: each task carries its own limit).
 * Returns 1 when it may, with *tat the rate's next arrival time to store
 * (dt__lm_admit_take) when a has a rate; 0 when not, *retry lowered to
 * the time it may start if a rate holds it (a gate's wait ends with an
 * answer, which wakes the workers); or a negative errno.  Reads only. */
int dt__lm_admit_check(dt__lmdb_env *db, MDB_txn *txn, const dt__lm_adm *a,
                       dt__lm_full *full, uint64_t now, uint64_t *tat,
                       uint64_t *retry) {
  if (a->glen != 0 && a->running != 0) {
    int n = -1;
    for (int i = 0; i < full->n && n < 0; i++)
      if (full->len[i] == a->glen &&
          memcmp(full->gate[i], a->gate, a->glen) == 0)
        n = (int)full->running[i];
    if (n < 0) {
      n = running_at(db, txn, a->gate, a->glen);
      if (n < 0)
        return n;
      if (full->n < DT__LM_FULL_MAX) {
        full->gate[full->n] = a->gate;
        full->len[full->n] = a->glen;
        full->running[full->n++] = (uint32_t)n;
      }
    }
    if ((uint32_t)n >= a->running) {
      full->refused = true;
      return 0;
    }
  }
  if (a->rlen != 0 && a->interval_ns != 0 && a->burst != 0) {
    uint8_t key[DT__GATE_MAX + 2];
    MDB_val k = {rate_key(key, a->rate, a->rlen), key}, v;
    int rc = mdb_get(txn, db->limits, &k, &v);
    if (rc != 0 && rc != MDB_NOTFOUND)
      return dt__lmdb_err(rc);
    *tat = rc == 0 && v.mv_size == 8 ? dt__lm_get64(v.mv_data) : 0;
    uint64_t at = dt__gcra(tat, now, a->interval_ns, a->burst);
    if (at != 0) {
      if (*retry == 0 || at < *retry)
        *retry = at;
      return 0;
    }
  }
  return 1;
}

/* Stores tat as rate name's (len bytes) next arrival time in txn.
 * Returns 0 or a negative errno (txn must then be aborted). */
int dt__lm_admit_take(dt__lmdb_env *db, MDB_txn *txn, const char *name,
                      size_t len, uint64_t tat) {
  uint8_t key[DT__GATE_MAX + 2], val[8];
  MDB_val k = {rate_key(key, name, len), key}, v = {8, val};
  dt__lm_put64(val, tat);
  return dt__lmdb_err(mdb_put(txn, db->limits, &k, &v, 0));
}
