/* lmdb.c: the "lmdb" queue backend: its records in an LMDB environment
 * in the queue directory (queue/lmdb_env.c), beside the doorbell page
 * (queue/bell.c).  The environment holds four databases:
 *
 *   tasks    id -> [caller pid u32][waiter slot u16][requeues u16]
 *                  [task record]
 *   claims   id -> [worker pid u32][worker start time u64], then the
 *                  task's value as above, while a worker runs the call
 *   results  id -> [caller pid u32][from u32][result record], from
 *                  saying who stored it (DT__FROM_WORKER: complete and
 *                  reject; DT__FROM_RUNNER: fail_claim and the sweep),
 *                  set here and never taken from the record
 *   blobs    id -> [caller pid u32][bytes]: an in buffer common to the
 *                  slices of one fan-out call, stored once and referenced
 *                  by every slice's task; a worker reads it only for a
 *                  task of the same caller
 *
 * A claim is a lease held by one worker process, named by its pid and
 * its start time (so that a recycled pid is not mistaken for it).  When
 * the worker is gone, the lease lapses: the sweep gives the task back to
 * the queue if its caller still waits, at most MAX_REQUEUES times (a task
 * that keeps killing its workers is then answered as a crash).
 *
 * Ids are big-endian keys, so a cursor's first entry is the oldest task:
 * the queue is FIFO across all callers.  Ids, wake-ups and the runner's
 * heartbeat live on the doorbell page (queue/bell.c); whether a process
 * still runs is queue/proc.c's answer.
 *
 * queue/lmdb_rec.h owns the layout of those records; this file every
 * operation on them but the sweep (queue/lmdb_sweep.c), each in
 * transactions of queue/lmdb_env.c ended on every path, and fills
 * dt__queue_lmdb_ops. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/log.h"
#include "common/pid.h"
#include "config/config.h"
#include "queue/bell.h"
#include "queue/lmdb.h"
#include "queue/lmdb_cache.h"
#include "queue/lmdb_compact.h"
#include "queue/lmdb_env.h"
#include "queue/lmdb_gate.h"
#include "queue/lmdb_rec.h"
#include "queue/poolfile.h"
#include "queue/tripfile.h"
#include "queue/proc.h"
#include "queue/queue.h"
#include "queue/wire.h"

/* --------------------------------------------------------------- open */

/* The open operation: maps the doorbell page and opens the environment
 * in dir (queue.c has created and checked it), both through dirfd, its
 * descriptor.  *out is a dt__lmq, freed by lm_close.  Returns 0, or a
 * negative errno with a sentence in err and nothing left open. */
static int lm_open(const dt__config *cfg, const char *dir, int dirfd,
                   dt__queue **out, dt__error *err) {
  *out = NULL;
  dt__lmq *q = calloc(1, sizeof *q);
  if (q == NULL) {
    dt__error_set(err, 0, 0, "cannot open the queue in %s: %s", dir,
                  strerror(ENOMEM));
    return -ENOMEM;
  }
  (void)dt__proc_runs(getpid(), &q->start);
  int rc = dt__bell_open(dirfd, dir, &q->bell, err);
  if (rc == 0) {
    rc = dt__lmdb_env_open(&q->db, dirfd, dir, cfg->map_size, err);
    if (rc != 0)
      dt__bell_close(q->bell);
  }
  if (rc != 0) {
    free(q);
    return rc;
  }
  *out = &q->base;
  return 0;
}

/* The close operation: closes the environment, unmaps the doorbell and
 * frees q (queue.c calls it only in the process that opened q). */
static void lm_close(dt__queue *base) {
  dt__lmq *q = dt__lm(base);
  dt__lmdb_env_close(&q->db);
  dt__bell_close(q->bell);
  free(q);
}

/* ------------------------------------------------------------- caller */

/* The waiter operation: a waiter slot is a word of the doorbell page
 * (dt__bell_waiter; -EAGAIN when none is free). */
static int lm_waiter(dt__queue *q, uint32_t *slot) {
  return dt__bell_waiter(dt__lm(q)->bell, slot);
}

/* The waiter_release operation: dt__bell_waiter_release. */
static void lm_waiter_release(dt__queue *q, uint32_t slot) {
  dt__bell_waiter_release(dt__lm(q)->bell, slot);
}

/* The slot_seq operation: dt__bell_slot_seq (0 for a slot out of
 * range). */
static uint32_t lm_slot_seq(dt__queue *q, uint32_t slot) {
  return dt__bell_slot_seq(dt__lm(q)->bell, slot);
}

/* The submit operation: stores a task of size bytes, written in place by
 * enc, under a new id (*id), with this process's pid and the waiter
 * slot; then rings the new-task word.  The result drop (unless
 * DT__NO_ID) is deleted in the same write transaction: one transaction
 * less per call on the fast path.  Returns 0; -EINVAL for a slot past
 * the header's 16 bits; -E2BIG for a task larger
 * than a quarter of the map (it must fit twice, being copied into
 * claims, with room to spare); enc's error, or an LMDB error (-ENOSPC:
 * the map is full), with nothing stored. */
static int lm_submit(dt__queue *base, size_t size, dt__encode_fn enc,
                     void *ctx, uint32_t slot, uint64_t drop, unsigned flags,
                     const dt__admit *adm, uint64_t *id) {
  dt__lmq *q = dt__lm(base);
  (void)flags; /* the doorbell's wait needs no head start */
  MDB_txn *txn;
  uint8_t key[8];
  size_t ab = dt__lm_admit_size(adm);
  MDB_val k = {sizeof key, key}, v = {size + 8 + ab, NULL};
  int rc;

  if (size > q->db.map_size / 4)
    return -E2BIG;
  if (slot > 0xffffu)
    return -EINVAL; /* the header's 16 bits (lmdb_rec.h) */
  *id = dt__bell_take_id(q->bell);
  dt__lmdb_key(key, *id);
  rc = dt__lmdb_begin(&q->db, 0, &txn);
  if (rc != 0)
    return rc;
  if (drop != DT__NO_ID) {
    rc = dt__lmdb_del_in(txn, q->db.results, drop);
    if (rc != 0) {
      dt__lmdb_end(&q->db, txn, 0);
      return rc;
    }
  }
  /* Room for the task, and for its copy when a worker claims it. */
  rc = dt__lmdb_room(&q->db, 2 * (uint64_t)v.mv_size);
  if (rc == 0)
    rc = dt__lmdb_err(
        mdb_put(txn, q->db.tasks, &k, &v, MDB_RESERVE | MDB_NOOVERWRITE));
  if (rc == 0) {
    dt__lm_put32(v.mv_data, (uint32_t)dt__pid());
    dt__lm_put32((uint8_t *)v.mv_data + 4, ab ? slot | DT__LM_ADMIT : slot);
    if (ab)
      dt__lm_admit_put((uint8_t *)v.mv_data + 8, adm);
    rc = enc(ctx, (uint8_t *)v.mv_data + 8 + ab, size, *id);
  }
  if (rc != 0) {
    dt__lmdb_end(&q->db, txn, 0);
    return rc;
  }
  rc = dt__lmdb_end(&q->db, txn, 1);
  if (rc != 0)
    return rc;
  dt__bell_task_added(q->bell);
  return 0;
}

/* Looks for the result of id and applies it; unless keep, deletes it in
 * the same write transaction when apply returns 0 or -EPROTO (keep: a
 * read-only transaction, nothing deleted).  Returns apply's result,
 * -ENOENT when the result is not there yet, -EPROTO for a value too
 * short to be a result, or an LMDB error. */
static int take_result(dt__lmq *q, uint64_t id, bool keep, dt__apply_fn apply,
                       void *ctx) {
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key}, v;
  int rc;

  dt__lmdb_key(key, id);
  rc = dt__lmdb_begin(&q->db, keep ? MDB_RDONLY : 0, &txn);
  if (rc != 0)
    return rc;
  rc = dt__lmdb_err(mdb_get(txn, q->db.results, &k, &v));
  if (rc == 0) {
    if (v.mv_size < RESULT_HDR)
      rc = -EPROTO;
    else
      rc = apply(ctx, (const uint8_t *)v.mv_data + RESULT_HDR,
                 v.mv_size - RESULT_HDR,
                 (int)dt__lm_get32((const uint8_t *)v.mv_data + 4));
    if (!keep && (rc == 0 || rc == -EPROTO))
      mdb_del(txn, q->db.results, &k, NULL);
  }
  if (keep) {
    dt__lmdb_end(&q->db, txn, 0);
    return rc;
  }
  if (rc == 0 || rc == -EPROTO) {
    int crc = dt__lmdb_end(&q->db, txn, 1);
    return rc != 0 ? rc : crc;
  }
  dt__lmdb_end(&q->db, txn, 0);
  return rc;
}

/* Waits for the result of id on the waiter slot's word (futex, no
 * polling): looks, sleeps until the word moves, looks again.  With
 * have_seen, the first look waits for the word to move past seen (read
 * before the task was queued), which saves a transaction that would find
 * nothing.  keep as in take_result.  timeout_ns 0 waits forever.
 * Returns take_result's answer, -ETIMEDOUT (after one last look),
 * -EINVAL for a slot out of range, or the wait's error. */
static int wait_result(dt__lmq *q, uint64_t id, uint32_t slot, bool have_seen,
                       uint32_t seen, bool keep, dt__apply_fn apply,
                       void *ctx, uint64_t timeout_ns) {
  uint64_t deadline = timeout_ns ? dt__bell_deadline(timeout_ns) : 0;
  if (slot >= DT__BELL_SLOTS)
    return -EINVAL;
  for (;;) {
    if (!have_seen) {
      seen = dt__bell_slot_seq(q->bell, slot);
      int rc = take_result(q, id, keep, apply, ctx);
      if (rc != -ENOENT)
        return rc;
    }
    have_seen = false;
    uint64_t left = 0;
    if (deadline) {
      uint64_t now = dt__now_ns();
      if (now >= deadline)
        return -ETIMEDOUT;
      left = deadline - now;
    }
    int rc = dt__bell_wait_slot(q->bell, slot, seen, left);
    if (rc == -ETIMEDOUT && deadline == 0)
      continue;
    if (rc == -ETIMEDOUT) {
      /* One last look: the result may have come with the deadline. */
      rc = take_result(q, id, keep, apply, ctx);
      return rc == -ENOENT ? -ETIMEDOUT : rc;
    }
    if (rc != 0 && rc != -EINTR)
      return rc;
  }
}

/* The wait operation: wait_result, which deletes the result it applied. */
static int lm_wait(dt__queue *q, uint64_t id, uint32_t slot,
                   dt__apply_fn apply, void *ctx, uint64_t timeout_ns) {
  return wait_result(dt__lm(q), id, slot, false, 0, false, apply, ctx,
                     timeout_ns);
}

/* The wait_since operation: wait_result from seen, reading the result
 * in a read-only transaction and leaving it for lm_drop or the next
 * lm_submit; a dead caller's result is removed by the sweep. */
static int lm_wait_since(dt__queue *q, uint64_t id, uint32_t slot,
                         uint32_t seen, dt__apply_fn apply, void *ctx,
                         uint64_t timeout_ns) {
  return wait_result(dt__lm(q), id, slot, true, seen, true, apply, ctx,
                     timeout_ns);
}

/* Deletes the result of id (left by lm_wait_since).  Returns 0, also
 * when it is not there. */
static int lm_drop(dt__queue *q, uint64_t id) {
  return dt__lmdb_del(&dt__lm(q)->db, dt__lm(q)->db.results, id);
}

/* Removes task id if no worker claimed it yet, or if the worker that
 * claimed it is gone (its lease lapsed, and no supervisor is left to
 * sweep it).  Returns 1 when removed, 0 when a live worker has it or it
 * is in neither database, or a negative errno. */
static int lm_cancel(dt__queue *base, uint64_t id) {
  dt__lmq *q = dt__lm(base);
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key};
  int rc;
  dt__lmdb_key(key, id);
  rc = dt__lmdb_begin(&q->db, 0, &txn);
  if (rc != 0)
    return rc;
  rc = mdb_del(txn, q->db.tasks, &k, NULL);
  if (rc == MDB_NOTFOUND) {
    MDB_val cv;
    rc = mdb_get(txn, q->db.claims, &k, &cv);
    if (rc == 0 && cv.mv_size >= CLAIM_HDR &&
        !dt__proc_lease_alive((int)dt__lm_get32((const uint8_t *)cv.mv_data),
                              dt__lm_get64((const uint8_t *)cv.mv_data + 4)))
      rc = mdb_del(txn, q->db.claims, &k, NULL);
    else
      rc = MDB_NOTFOUND;
  }
  if (rc == MDB_NOTFOUND) {
    dt__lmdb_end(&q->db, txn, 0);
    return 0;
  }
  if (rc != 0) {
    dt__lmdb_end(&q->db, txn, 0);
    return dt__lmdb_err(rc);
  }
  rc = dt__lmdb_end(&q->db, txn, 1);
  return rc == 0 ? 1 : rc;
}

/* ------------------------------------------------------------- worker */

/* The longest a worker held back by a full gate sleeps before it looks
 * again without being rung. */
#define GATE_LOOK_NS 1000000000ull

/* In txn (a write transaction, left open): moves the oldest task that
 * may start now to claims under this process's lease and copies its
 * record into *rec (malloc'd, the caller frees it), unless it is larger
 * than max bytes.  A task with admission (queue/lmdb_gate.c) may start
 * when its gate has room and its rate allows; others are passed over,
 * and *retry (0: none) gets the earliest time (CLOCK_MONOTONIC ns) at
 * which a rate lets one of them start.  Returns 0; -ENOENT if there is
 * none (or the first that may start is over max); -EAGAIN after deleting
 * an entry that is not a task of this version (commit, and look again);
 * -ENOSPC when the map cannot hold the claim's copy; or another negative
 * errno.  On any error but -ENOENT and -EAGAIN, txn must be aborted. */
static int claim_in(dt__lmq *q, MDB_txn *txn, size_t max, uint8_t **rec,
                    size_t *size, uint64_t *id, uint64_t *retry) {
  MDB_cursor *cur;
  MDB_val k, v;
  dt__lm_full full = {0};
  dt__lm_adm a = {0};
  uint64_t now = 0, tat = 0;
  size_t skip = 8;
  *retry = 0;
  int rc = dt__lmdb_err(mdb_cursor_open(txn, q->db.tasks, &cur));
  if (rc != 0)
    return rc;
  for (rc = dt__lmdb_err(mdb_cursor_get(cur, &k, &v, MDB_FIRST)); rc == 0;
       rc = dt__lmdb_err(mdb_cursor_get(cur, &k, &v, MDB_NEXT))) {
    if (k.mv_size != 8 || v.mv_size < 8 ||
        ((dt__lm_get32((const uint8_t *)v.mv_data + 4) & DT__LM_ADMIT) &&
         dt__lm_admit_get((const uint8_t *)v.mv_data + 8, v.mv_size - 8,
                          &a) != 0)) {
      /* Not a task this version wrote: drop it rather than loop on it. */
      mdb_cursor_del(cur, 0);
      mdb_cursor_close(cur);
      return -EAGAIN;
    }
    if (!(dt__lm_get32((const uint8_t *)v.mv_data + 4) & DT__LM_ADMIT)) {
      skip = 8;
      break;
    }
    if (now == 0)
      now = dt__now_ns();
    rc = dt__lm_admit_check(&q->db, txn, &a, &full, now, &tat, retry);
    if (rc < 0)
      break;
    if (rc == 1) {
      rc = 0;
      skip = 8 + a.size;
      break;
    }
  }
  /* A gate opens when a call of it is answered, which rings for the
   * workers; a lease that lapses without an answer gives its place back
   * with no ring, so a worker held back by a gate looks again within a
   * second even then. */
  if (full.refused && (*retry == 0 || *retry > now + GATE_LOOK_NS))
    *retry = now + GATE_LOOK_NS;
  if (rc == 0 && v.mv_size - skip > max)
    rc = -ENOENT;
  if (rc != 0) {
    mdb_cursor_close(cur);
    return rc;
  }
  uint8_t key[8];
  memcpy(key, k.mv_data, 8);
  *id = dt__lmdb_id(key);
  *size = v.mv_size - skip;
  *rec = malloc(*size ? *size : 1);
  if (*rec == NULL) {
    mdb_cursor_close(cur);
    return -ENOMEM;
  }
  memcpy(*rec, (const uint8_t *)v.mv_data + skip, *size);
  /* claims value: the lease (worker pid and start time), then the task
   * value as it was (its header, admission block and record). */
  MDB_val ck = {8, key}, cv = {v.mv_size + CLAIM_HDR, NULL};
  uint8_t head[8 + 24 + 2 * DT__GATE_MAX];
  memcpy(head, v.mv_data, skip);
  char rate[DT__GATE_MAX];
  size_t rlen = skip > 8 && a.interval_ns != 0 && a.burst != 0 ? a.rlen : 0;
  if (rlen != 0) /* a.rate is NULL for a task without admission */
    memcpy(rate, a.rate, rlen);
  q->caller = dt__lm_get32(head); /* formatted outside the txn */
  mdb_cursor_del(cur, 0);
  mdb_cursor_close(cur);
  rc = rlen != 0 ? dt__lm_admit_take(&q->db, txn, rate, rlen, tat) : 0;
  if (rc == 0)
    rc = dt__lmdb_room(&q->db, cv.mv_size);
  if (rc == 0)
    rc = dt__lmdb_err(mdb_put(txn, q->db.claims, &ck, &cv, MDB_RESERVE));
  if (rc == 0) {
    dt__lm_put32(cv.mv_data, (uint32_t)dt__pid());
    dt__lm_put64((uint8_t *)cv.mv_data + 4, q->start);
    memcpy((uint8_t *)cv.mv_data + CLAIM_HDR, head, skip);
    memcpy((uint8_t *)cv.mv_data + CLAIM_HDR + skip, *rec, *size);
    return 0;
  }
  free(*rec);
  *rec = NULL;
  return rc;
}

/* Claims the oldest task in a transaction of its own (claim_in).
 * Returns 0; -ENOENT if there is none; -EAGAIN after dropping an entry
 * that is not a task of this version (look again); -E2BIG with *id set
 * when the map cannot hold the claim's copy; or another negative
 * errno.  *retry as claim_in says. */
static int claim_one(dt__lmq *q, uint8_t **rec, size_t *size, uint64_t *id,
                     uint64_t *retry) {
  MDB_txn *txn;
  *retry = 0;
  int rc = dt__lmdb_begin(&q->db, 0, &txn);
  if (rc != 0)
    return rc;
  rc = claim_in(q, txn, SIZE_MAX, rec, size, id, retry);
  if (rc == 0 || rc == -EAGAIN) {
    int crc = dt__lmdb_end(&q->db, txn, 1);
    if (crc != 0 && rc == 0) {
      free(*rec);
      *rec = NULL;
    }
    return crc != 0 ? crc : rc;
  }
  dt__lmdb_end(&q->db, txn, 0);
  /* The map (or the filesystem: -EDQUOT) cannot hold a second copy of
   * this task while it moves to claims: tell the worker, which answers it
   * with an error result through lm_reject instead of failing on it
   * forever. */
  return rc == -ENOSPC ? -E2BIG : rc;
}

/* Claims the oldest task (FIFO by id) that may start with claim_one,
 * sleeping on the new-task word while there is none, at most timeout_ns
 * (0: forever), and no later than a rate lets a waiting task start.
 * Returns 0 with *rec (malloc'd, owned by the caller), *size and *id;
 * -ETIMEDOUT; -EINTR when the kick count moved (lm_kick) or a signal
 * interrupted the sleep; -E2BIG with *id set when the oldest task is too
 * large to claim (the worker answers it with lm_reject); or another
 * negative errno. */
static int lm_claim(dt__queue *base, uint8_t **rec, size_t *size,
                    uint64_t *id, uint64_t timeout_ns) {
  dt__lmq *q = dt__lm(base);
  uint64_t deadline = timeout_ns ? dt__bell_deadline(timeout_ns) : 0;
  uint32_t kicks = dt__bell_kicks(q->bell);
  for (;;) {
    uint32_t seen = dt__bell_task_seq(q->bell);
    if (dt__bell_kicks(q->bell) != kicks)
      return -EINTR;
    uint64_t retry = 0;
    /* This process's last answer found the queue empty and no task came
     * since (the word moves after every task's commit): no write
     * transaction to find it empty again. */
    bool skip = q->seen_empty && seen == q->empty_seq;
    q->seen_empty = false;
    int rc = skip ? -ENOENT : claim_one(q, rec, size, id, &retry);
    if (rc == -EAGAIN)
      continue;
    if (rc != -ENOENT)
      return rc;
    uint64_t left = 0, now = dt__now_ns();
    if (deadline) {
      if (now >= deadline)
        return -ETIMEDOUT;
      left = deadline - now;
    }
    bool early = false;
    if (retry != 0) {
      uint64_t wait = retry > now ? retry - now : 1;
      early = left == 0 || wait < left;
      if (early)
        left = wait;
    }
    rc = dt__bell_wait_task(q->bell, seen, left);
    if (rc == -EINTR)
      return -EINTR;
    if (rc == -ETIMEDOUT && (deadline == 0 || early))
      continue;
    if (rc != 0 && rc != -ETIMEDOUT)
      return rc;
  }
}

/* In txn (a write transaction, left open): stores rec as the answer to
 * call id.  The claim (or, if the sweep gave the task back meanwhile,
 * the queued task) is removed in the same transaction, so the call is
 * never run again once answered.  The caller's pid and waiter slot come
 * from that entry (the slot into *slot, to ring once committed); from
 * (DT__FROM_*) is stored beside the record.  With worker > 0, answers
 * only a claim that this worker holds, and returns -ENOENT (writing
 * nothing) otherwise, or -EPERM while that worker still runs.  *gated
 * tells whether the claim ended held a place at an admission gate (the
 * workers are rung for it once committed).  Returns 0 or a negative
 * errno (-ENOSPC: the map cannot hold the result; txn must then be
 * aborted). */
static int answer_in(dt__lmq *q, MDB_txn *txn, uint64_t id, int worker,
                     int from, const uint8_t *rec, size_t size,
                     uint32_t *slot, bool *gated) {
  uint8_t key[8];
  MDB_val k = {sizeof key, key}, v, rv = {size + RESULT_HDR, NULL};
  uint32_t caller = 0;
  *slot = UINT32_MAX;
  *gated = false;
  dt__lmdb_key(key, id);
  if (mdb_get(txn, q->db.claims, &k, &v) == 0 && v.mv_size >= CLAIM_HDR + 8 &&
      (worker <= 0 || (int)dt__lm_get32(v.mv_data) == worker)) {
    if (worker > 0 && dt__proc_lease_alive(
                          worker, dt__lm_get64((const uint8_t *)v.mv_data + 4)))
      return -EPERM; /* only a worker that is gone can have crashed */
    caller = dt__lm_get32((const uint8_t *)v.mv_data + CLAIM_HDR);
    uint32_t word = dt__lm_get32((const uint8_t *)v.mv_data + CLAIM_HDR + 4);
    *slot = dt__lm_slot(word);
    *gated = (word & DT__LM_ADMIT) != 0;
    mdb_del(txn, q->db.claims, &k, NULL);
  } else if (worker > 0) {
    return -ENOENT;
  } else if (mdb_get(txn, q->db.tasks, &k, &v) == 0 && v.mv_size >= 8) {
    caller = dt__lm_get32(v.mv_data);
    *slot = dt__lm_slot(dt__lm_get32((const uint8_t *)v.mv_data + 4));
    mdb_del(txn, q->db.tasks, &k, NULL);
  }
  int rc = dt__lmdb_room(&q->db, rv.mv_size);
  if (rc == 0)
    rc = dt__lmdb_err(mdb_put(txn, q->db.results, &k, &rv, MDB_RESERVE));
  if (rc == 0) {
    dt__lm_put32(rv.mv_data, caller);
    dt__lm_put32((uint8_t *)rv.mv_data + 4, (uint32_t)from);
    memcpy((uint8_t *)rv.mv_data + RESULT_HDR, rec, size);
  }
  return rc;
}

/* answer_in in a transaction of its own, then wakes the caller.  Returns
 * 0 or answer_in's error (nothing written). */
static int answer(dt__lmq *q, uint64_t id, int worker, int from,
                  const uint8_t *rec, size_t size) {
  MDB_txn *txn;
  uint32_t slot;
  bool gated;
  int rc = dt__lmdb_begin(&q->db, 0, &txn);
  if (rc != 0)
    return rc;
  rc = answer_in(q, txn, id, worker, from, rec, size, &slot, &gated);
  if (rc != 0) {
    dt__lmdb_end(&q->db, txn, 0);
    return rc;
  }
  rc = dt__lmdb_end(&q->db, txn, 1);
  if (rc == 0)
    dt__bell_ring(q->bell, slot);
  if (rc == 0 && gated)
    dt__bell_task_added(q->bell); /* a place at its gate is free */
  return rc;
}

/* The most bytes of a task that complete claims with an answer: a
 * larger one is left to claim, whose failure to copy it (a full map)
 * can be answered on its own, not by losing the answer made with it. */
#define NEXT_MAX (1u << 20)

/* The complete operation: answer() for the claim, whoever holds it, as
 * a worker's answer.  With next, the oldest task (up to NEXT_MAX bytes)
 * is claimed in the same transaction: one write transaction per call
 * instead of two while tasks are waiting.  If that claim fails, the
 * answer is made alone.  Returns 1 with next filled, 0, or answer()'s
 * error. */
static int lm_complete(dt__queue *base, uint64_t id, const uint8_t *rec,
                       size_t size, dt__claimed *next) {
  dt__lmq *q = dt__lm(base);
  if (next == NULL)
    return answer(q, id, 0, DT__FROM_WORKER, rec, size);
  MDB_txn *txn;
  uint32_t slot;
  bool gated;
  /* Read before the transaction: a task it does not see bumps the word
   * after this read (lm_submit rings after its commit). */
  uint32_t seq = dt__bell_task_seq(q->bell);
  q->seen_empty = false;
  int rc = dt__lmdb_begin(&q->db, 0, &txn);
  if (rc != 0)
    return rc;
  rc = answer_in(q, txn, id, 0, DT__FROM_WORKER, rec, size, &slot, &gated);
  if (rc != 0) {
    dt__lmdb_end(&q->db, txn, 0);
    return rc;
  }
  uint64_t retry;
  int got = claim_in(q, txn, NEXT_MAX, &next->rec, &next->size, &next->id,
                     &retry);
  if (got != 0 && got != -ENOENT && got != -EAGAIN) {
    dt__lmdb_end(&q->db, txn, 0); /* the claim spoilt it: answer alone */
    return answer(q, id, 0, DT__FROM_WORKER, rec, size);
  }
  MDB_stat ts;
  bool empty = got == -ENOENT && retry == 0 &&
               mdb_stat(txn, q->db.tasks, &ts) == 0 && ts.ms_entries == 0;
  rc = dt__lmdb_end(&q->db, txn, 1);
  if (rc != 0) {
    if (got == 0)
      free(next->rec);
    return rc;
  }
  dt__bell_ring(q->bell, slot);
  if (gated)
    dt__bell_task_added(q->bell); /* a place at its gate is free */
  q->seen_empty = empty;
  q->empty_seq = seq;
  return got == 0 ? 1 : 0;
}

/* The fail_claim operation: answer() only while worker holds the claim
 * (-ENOENT otherwise, nothing written) and is gone (-EPERM while its
 * lease lives: no process reports its own crash), as the runner's own
 * answer (the only kind whose crash details a caller honours).  A worker
 * pid of 0 or less can hold no claim. */
static int lm_fail_claim(dt__queue *q, uint64_t id, int worker,
                         const uint8_t *rec, size_t size) {
  return answer(dt__lm(q), id, worker > 0 ? worker : -1, DT__FROM_RUNNER, rec,
                size);
}

/* The reject operation: answer() for the claim or the queued task, as a
 * worker's answer. */
static int lm_reject(dt__queue *q, uint64_t id, const uint8_t *rec,
                     size_t size) {
  return answer(dt__lm(q), id, 0, DT__FROM_WORKER, rec, size);
}

/* The kick operation: dt__bell_kick. */
static void lm_kick(dt__queue *q) { dt__bell_kick(dt__lm(q)->bell); }

/* ------------------------------------------------------------ runners */

/* The runner pool's state is on the doorbell page: each operation here
 * is the bell.c function of the same name. */

/* The heartbeat operation: dt__bell_heartbeat. */
static void lm_heartbeat(dt__queue *q, int pid) {
  dt__bell_heartbeat(dt__lm(q)->bell, pid);
}

/* The runner_recent operation: dt__bell_runner_recent (1 or 0). */
static int lm_runner_recent(dt__queue *q, uint64_t max_age_ns) {
  return dt__bell_runner_recent(dt__lm(q)->bell, max_age_ns);
}

/* The runner_alive operation: dt__bell_runner_alive (1 or 0). */
static int lm_runner_alive(dt__queue *q, uint64_t max_age_ns) {
  return dt__bell_runner_alive(dt__lm(q)->bell, max_age_ns);
}

/* The wait_runner operation: dt__bell_wait_runner (0 or -ETIMEDOUT). */
static int lm_wait_runner(dt__queue *q, uint64_t max_age_ns,
                          uint64_t timeout_ns) {
  return dt__bell_wait_runner(dt__lm(q)->bell, max_age_ns, timeout_ns);
}

/* The set_workers operation: dt__bell_set_workers. */
static void lm_set_workers(dt__queue *q, int n) {
  dt__bell_set_workers(dt__lm(q)->bell, n);
}

/* The workers operation: dt__bell_workers (0: not known). */
static int lm_workers(dt__queue *q) {
  return dt__bell_workers(dt__lm(q)->bell);
}

/* The next_id operation: dt__bell_next_id (ids live on the page). */
static uint64_t lm_next_id(dt__queue *q) {
  return dt__bell_next_id(dt__lm(q)->bell);
}

/* ------------------------------------------------------------- blobs */

/* Stores size bytes of data once under a new id (*id), as this process's
 * (the sweep removes them when it is gone).  Returns 0; -E2BIG past a
 * quarter of the map; or an LMDB error (-ENOSPC), nothing stored. */
static int lm_blob_put(dt__queue *base, const void *data, size_t size,
                       uint64_t *id) {
  dt__lmq *q = dt__lm(base);
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key}, v = {size + 4, NULL};
  if (size > q->db.map_size / 4)
    return -E2BIG;
  *id = dt__bell_take_id(q->bell);
  dt__lmdb_key(key, *id);
  int rc = dt__lmdb_begin(&q->db, 0, &txn);
  if (rc != 0)
    return rc;
  rc = dt__lmdb_room(&q->db, v.mv_size);
  if (rc == 0)
    rc = dt__lmdb_err(
        mdb_put(txn, q->db.blobs, &k, &v, MDB_RESERVE | MDB_NOOVERWRITE));
  if (rc != 0) {
    dt__lmdb_end(&q->db, txn, 0);
    return rc;
  }
  dt__lm_put32(v.mv_data, (uint32_t)dt__pid());
  memcpy((uint8_t *)v.mv_data + 4, data, size);
  return dt__lmdb_end(&q->db, txn, 1);
}

/* Copies blob id into dst, which has exactly size bytes, for the task
 * task that this worker has claimed: blobs are bound to the caller that
 * stored them, and a task reads only its own caller's (ids are
 * sequential, so a task could otherwise name any caller's buffer).
 * Returns 0; -ENOENT if there is no such blob or no such claim; -EACCES
 * if the blob belongs to another caller than the task's; -EPROTO if it
 * has another size (dst untouched then); or an LMDB error. */
static int lm_blob_read(dt__queue *base, uint64_t task, uint64_t id,
                        void *dst, uint64_t size) {
  dt__lmq *q = dt__lm(base);
  MDB_txn *txn;
  uint8_t key[8], tkey[8];
  MDB_val k = {sizeof key, key}, v, tk = {sizeof tkey, tkey}, cv;
  dt__lmdb_key(key, id);
  dt__lmdb_key(tkey, task);
  int rc = dt__lmdb_begin(&q->db, MDB_RDONLY, &txn);
  if (rc != 0)
    return rc;
  rc = dt__lmdb_err(mdb_get(txn, q->db.claims, &tk, &cv));
  if (rc == 0 && cv.mv_size < CLAIM_HDR + 8)
    rc = -ENOENT;
  if (rc == 0)
    rc = dt__lmdb_err(mdb_get(txn, q->db.blobs, &k, &v));
  if (rc == 0 && (v.mv_size < 4 ||
                  dt__lm_get32(v.mv_data) !=
                      dt__lm_get32((const uint8_t *)cv.mv_data + CLAIM_HDR)))
    rc = -EACCES;
  if (rc == 0 && v.mv_size != size + 4)
    rc = -EPROTO;
  if (rc == 0)
    memcpy(dst, (const uint8_t *)v.mv_data + 4, (size_t)size);
  dt__lmdb_end(&q->db, txn, 0);
  return rc;
}

/* Deletes blob id (the caller, once every slice is answered).  Returns
 * 0, also when it is not there. */
static int lm_blob_drop(dt__queue *q, uint64_t id) {
  return dt__lmdb_del(&dt__lm(q)->db, dt__lm(q)->db.blobs, id);
}

/* The compact operation.  First, cheaply and with the environment left
 * open, whether the queue's pages are worth a rewrite (else 0: a pool's
 * start costs one read transaction more).  Then it closes this handle's
 * environment, lets queue/lmdb_compact.c rewrite data.mdb (which decides
 * again, under its exclusive lock, and answers -EBUSY when another
 * process has the queue open), and opens the environment again.
 * Returns 1, 0 or -EBUSY as dt__lmdb_compact (its other errors are
 * logged and give 0), or the reopening's error (logged; q is then
 * unusable).  No descriptor of lock.mdb is kept: closing one would drop
 * LMDB's lock, and workers forked later would inherit it. */
static int lm_compact(dt__queue *base) {
  dt__lmq *q = dt__lm(base);
  dt__error err = {0, 0, ""};
  if (dt__lmdb_compact_worth(q->db.env) != 1)
    return 0;
  dt__lmdb_env_close(&q->db);
  int rc = dt__lmdb_compact(base->dirfd, base->dir, q->db.map_size);
  if (rc < 0 && rc != -EBUSY) {
    dt__log(DT__LOG_ERROR, "could not compact the LMDB queue in %s: %s",
            base->dir, strerror(-rc));
    rc = 0;
  }
  int orc = dt__lmdb_env_open(&q->db, base->dirfd, base->dir,
                              q->db.map_size, &err);
  if (orc != 0) {
    dt__log(DT__LOG_ERROR, "%s", err.msg);
    return orc;
  }
  return rc;
}

/* The claim_caller operation: the caller's pid of the task claimed
 * last, into out as decimal digits (formatted here, not in the claim's
 * write transaction, and by hand: it runs once per call, where snprintf
 * costs more than the rest of it).  Truncated to cap - 1 characters. */
static void lm_claim_caller(dt__queue *base, char *out, size_t cap) {
  char d[10]; /* a u32 has at most 10 digits */
  size_t n = 0;
  uint32_t v = dt__lm(base)->caller;
  do {
    d[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (cap == 0)
    return;
  size_t i = 0;
  for (; i < n && i + 1 < cap; i++)
    out[i] = d[n - 1 - i];
  out[i] = '\0';
}

/* The backend, as queue.c's table of backends names it. */
const dt__queue_ops dt__queue_lmdb_ops = {
    .name = "lmdb",
    .arena = true,
    .open = lm_open,
    .close = lm_close,
    .waiter = lm_waiter,
    .waiter_release = lm_waiter_release,
    .submit = lm_submit,
    .slot_seq = lm_slot_seq,
    .wait = lm_wait,
    .wait_since = lm_wait_since,
    .drop = lm_drop,
    .cancel = lm_cancel,
    .claim = lm_claim,
    .complete = lm_complete,
    .fail_claim = lm_fail_claim,
    .reject = lm_reject,
    .kick = lm_kick,
    .heartbeat = lm_heartbeat,
    .runner_recent = lm_runner_recent,
    .runner_alive = lm_runner_alive,
    .wait_runner = lm_wait_runner,
    .set_workers = lm_set_workers,
    .workers = lm_workers,
    .next_id = lm_next_id,
    .sweep = dt__lm_sweep,
    .stat = dt__lm_stat,
    .compact = lm_compact,
    .blob_put = lm_blob_put,
    .blob_read = lm_blob_read,
    .blob_drop = lm_blob_drop,
    .claim_caller = lm_claim_caller,
    .pool_put = dt__poolfile_put,
    .pool_list = dt__poolfile_list,
    .trips_add = dt__tripfile_add,
    .trips_list = dt__tripfile_list,
    .trips_reset = dt__tripfile_reset,
    .cache_get = dt__lm_cache_get,
    .cache_put = dt__lm_cache_put,
    .images = NULL, /* an LMDB queue's images are its directories */
};
