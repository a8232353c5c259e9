/* lmdb_sweep.c: the "lmdb" backend's sweep, run by the pool's supervisor
 * on each tick, and its counts (queue/lmdb.c has the other operations,
 * queue/lmdb_rec.h the records): the tasks, results and blobs of callers
 * that are gone deleted, and the claims of workers that are gone given
 * back to the queue or answered as a crash; the arena files of threads
 * that are gone unlinked (queue/arena.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "queue/arena.h"
#include "queue/bell.h"
#include "queue/lmdb_env.h"
#include "queue/lmdb_rec.h"
#include "queue/proc.h"
#include "queue/queue.h"
#include "queue/wire.h"

/* Deletes cur's entry, adds it to *count, and moves cur to the entry
 * after it (*k, *v): the current one, or the next when the delete
 * emptied its page (which leaves no current entry).  Returns LMDB's code
 * (MDB_NOTFOUND past the last). */
static int del_and_step(MDB_cursor *cur, MDB_val *k, MDB_val *v, int *count) {
  mdb_cursor_del(cur, 0);
  (*count)++;
  int rc = mdb_cursor_get(cur, k, v, MDB_GET_CURRENT);
  return rc == 0 || rc == MDB_NOTFOUND ? rc : mdb_cursor_get(cur, k, v,
                                                             MDB_NEXT);
}

/* Deletes every entry of dbi (tasks, results or blobs) whose first u32
 * names a dead process: its caller is gone.  Adds the deletions to
 * *count.  Returns 0 or a negative errno (txn is the caller's). */
static int sweep_db(MDB_txn *txn, MDB_dbi dbi, int *count) {
  MDB_cursor *cur;
  MDB_val k, v;
  int rc = dt__lmdb_err(mdb_cursor_open(txn, dbi, &cur));
  if (rc != 0)
    return rc;
  rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == 0) {
    if (v.mv_size >= 4 && !dt__proc_alive((int)dt__lm_get32(v.mv_data))) {
      rc = del_and_step(cur, &k, &v, count);
      continue;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : dt__lmdb_err(rc);
}

/* Answers a task whose workers keep dying with a crash record, in txn;
 * *slot gets the caller's waiter slot to wake.  Returns 0, or a negative
 * errno when the answer cannot be made or stored (the claim must then
 * stay, for the next sweep to try again: a call is never dropped
 * unanswered while its caller waits). */
static int answer_lost(dt__lmq *q, MDB_txn *txn, MDB_val *k,
                       const uint8_t *task, unsigned requeues, uint32_t *slot) {
  char msg[200];
  uint8_t *res = NULL;
  size_t rsize = 0;
  snprintf(msg, sizeof msg,
           "the workers running this call were killed %u times (SIGKILL, "
           "e.g. by the OOM killer); dtask gave up on it",
           requeues + 1);
  int rc = dt__wire_result_error(dt__lmdb_id(k->mv_data), DT__ST_CRASH, 9, msg,
                                 &res, &rsize);
  if (rc != 0)
    return rc;
  MDB_val rv = {rsize + RESULT_HDR, NULL};
  rc = dt__lmdb_err(mdb_put(txn, q->db.results, k, &rv, MDB_RESERVE));
  if (rc == 0) {
    memcpy(rv.mv_data, task, 4);
    dt__lm_put32((uint8_t *)rv.mv_data + 4, DT__FROM_RUNNER);
    memcpy((uint8_t *)rv.mv_data + RESULT_HDR, res, rsize);
    *slot = dt__lm_slot(dt__lm_get32(task + 4));
  }
  free(res);
  return rc;
}

/* Lapsed leases: a claim whose worker is gone goes back to tasks while
 * its caller lives (with its requeue count raised), is answered as a
 * crash after MAX_REQUEUES, and is dropped when its caller is gone too.
 * Adds the claims removed to *count, and those whose caller still
 * waited (requeued or answered) to *reclaimed; slots to wake are
 * collected in wake (at most maxwake).  Returns 0 or a negative errno
 * (txn is the caller's). */
static int sweep_claims(dt__lmq *q, MDB_txn *txn, int *count,
                        unsigned *reclaimed, uint32_t *wake, size_t *nwake,
                        size_t maxwake) {
  MDB_cursor *cur;
  MDB_val k, v;
  uint64_t requeued = 0; /* bytes of the tasks put back so far */
  int rc = dt__lmdb_err(mdb_cursor_open(txn, q->db.claims, &cur));
  if (rc != 0)
    return rc;
  rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == 0) {
    const uint8_t *c = v.mv_data;
    if (v.mv_size >= CLAIM_HDR &&
        dt__proc_lease_alive((int)dt__lm_get32(c), dt__lm_get64(c + 4))) {
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      continue;
    }
    if (v.mv_size >= CLAIM_HDR + 8 &&
        dt__proc_alive((int)dt__lm_get32(c + CLAIM_HDR))) {
      const uint8_t *task = c + CLAIM_HDR;
      uint32_t word = dt__lm_get32(task + 4);
      unsigned n = dt__lm_requeues(word);
      uint8_t kb[8];
      MDB_val tk = {sizeof kb, kb};
      if (k.mv_size != sizeof kb) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        continue;
      }
      memcpy(kb, k.mv_data, sizeof kb);
      int prc;
      if (n + 1 >= MAX_REQUEUES) {
        uint32_t slot = UINT32_MAX;
        if (answer_lost(q, txn, &tk, task, n, &slot) != 0) {
          /* Keep the claim: the next sweep answers it. */
          rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
          continue;
        }
        if (slot < DT__BELL_SLOTS && *nwake < maxwake)
          wake[(*nwake)++] = slot;
        prc = 0;
      } else {
        MDB_val tv = {v.mv_size - CLAIM_HDR, NULL};
        /* Room for every task this sweep has put back so far. */
        requeued += tv.mv_size;
        int room = dt__lmdb_room(&q->db, requeued);
        prc = room != 0 ? room
                        : dt__lmdb_err(mdb_put(txn, q->db.tasks, &tk, &tv,
                                               MDB_RESERVE));
        if (prc == 0) {
          memcpy(tv.mv_data, task, tv.mv_size);
          dt__lm_put32((uint8_t *)tv.mv_data + 4,
                       dt__lm_with_requeues(word, n + 1));
        }
      }
      if (prc != 0) {
        mdb_cursor_close(cur);
        return prc;
      }
      (*reclaimed)++;
      /* The put may have moved the cursor's page: find the claim again. */
      k = tk;
      rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
      if (rc != 0)
        break;
    }
    rc = del_and_step(cur, &k, &v, count);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : dt__lmdb_err(rc);
}

/* The sweep operation, in one write transaction after clearing the
 * reader slots of dead processes: lapsed claims first (a dead worker's
 * task goes back to the queue only if its caller still waits for it),
 * then dead callers' tasks, results and blobs; then, outside it, the
 * arenas of dead caller threads (not counted).  Wakes idle workers when
 * anything changed and the callers answered as a crash.  Returns the
 * number of entries removed or requeued, or a negative errno (nothing
 * changed then); *reclaimed (if not NULL) gets how many were leases
 * taken back for a caller that still waits. */
int dt__lm_sweep(dt__queue *base, unsigned *reclaimed) {
  dt__lmq *q = dt__lm(base);
  MDB_txn *txn;
  int count = 0, dead = 0;
  unsigned back = 0;
  uint32_t wake[64];
  size_t nwake = 0;
  int rc;
  if (reclaimed != NULL)
    *reclaimed = 0;
  mdb_reader_check(q->db.env, &dead);
  rc = dt__lmdb_begin(&q->db, 0, &txn);
  if (rc != 0)
    return rc;
  rc = sweep_claims(q, txn, &count, &back, wake, &nwake,
                    sizeof wake / sizeof *wake);
  if (rc == 0)
    rc = sweep_db(txn, q->db.tasks, &count);
  if (rc == 0)
    rc = sweep_db(txn, q->db.results, &count);
  if (rc == 0)
    rc = sweep_db(txn, q->db.blobs, &count);
  if (rc != 0) {
    dt__lmdb_end(&q->db, txn, 0);
    return rc;
  }
  rc = dt__lmdb_end(&q->db, txn, 1);
  if (rc == 0 && count > 0)
    dt__bell_tasks_returned(q->bell);
  for (size_t i = 0; rc == 0 && i < nwake; i++)
    dt__bell_ring(q->bell, wake[i]);
  if (reclaimed != NULL)
    *reclaimed = rc == 0 ? back : 0;
  (void)dt__arena_sweep(base->dirfd);
  return rc == 0 ? count : rc;
}

/* The stat operation: dt__lmdb_stat. */
int dt__lm_stat(dt__queue *q, dt__queue_stats *st) {
  int rc = dt__lmdb_stat(&dt__lm(q)->db, st);
  if (rc == 0)
    (void)dt__arena_usage(q->dirfd, &st->arenas, &st->arena_bytes);
  return rc;
}
