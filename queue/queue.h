/* queue.h: the queue between callers and runner workers (queue/queue.c).
 *
 * Records go in as bytes (queue/wire.h) and come out as bytes: the queue
 * never looks inside them. */
#ifndef DT_QUEUE_H
#define DT_QUEUE_H

#include "config/config.h"

/* The LMDB queue between callers and runner workers, with a doorbell
 * page of futex words beside it (queue.c).  A handle belongs to the
 * process that opened it: after fork the child must open its own
 * (dt__queue_stale says so); the old one is abandoned, never closed,
 * because closing it would release the parent's reader slots. */
typedef struct dt__queue dt__queue;

/* Opens the queue of cfg, creating its directory (0700) and files.  The
 * directory must belong to this user and be closed to group and others;
 * otherwise -EPERM with a sentence in err that says why and what to do.
 * *out is owned by the caller (dt__queue_close). */
int dt__queue_open(const dt__config *cfg, dt__queue **out, char *err,
                   size_t errsz);
void dt__queue_close(dt__queue *q);

/* 1 if q was opened by another process (this one forked since). */
int dt__queue_stale(const dt__queue *q);

/* The queue directory (owned by q). */
const char *dt__queue_dir(const dt__queue *q);

/* Writes a task record in place: called inside the write transaction
 * with size bytes of reserved, unaligned space and the call id. */
typedef int (*dt__encode_fn)(void *ctx, uint8_t *buf, size_t size,
                             uint64_t id);

/* Reads a result record in place: called inside the transaction that
 * then deletes it.  A negative return keeps the record (-ENOSPC: the
 * caller grows a buffer and waits again without sleeping). */
typedef int (*dt__apply_fn)(void *ctx, const uint8_t *rec, size_t size);

/* Caller side.  A waiter slot is this thread's futex word on the
 * doorbell page; dt__queue_submit stores it in the task so that the
 * worker wakes exactly this thread. */
int dt__queue_waiter(dt__queue *q, uint32_t *slot);
/* Gives this thread's slot back (thread exit). */
void dt__queue_waiter_release(dt__queue *q, uint32_t slot);
/* -E2BIG for a task larger than a quarter of the map. */
int dt__queue_submit(dt__queue *q, size_t size, dt__encode_fn enc, void *ctx,
                     uint32_t slot, uint64_t *id);
/* Blocks (futex, no polling) until the result of id is there, then
 * applies and deletes it.  timeout_ns 0 waits forever; -ETIMEDOUT. */
int dt__queue_wait(dt__queue *q, uint64_t id, uint32_t slot,
                   dt__apply_fn apply, void *ctx, uint64_t timeout_ns);
/* The caller's fast path.  Read the slot's wake-up count before
 * queueing and pass it to dt__queue_wait_since, which sleeps until the
 * result's wake-up instead of first looking for a result that cannot be
 * there, then reads the result in a read-only transaction and leaves it
 * in place.  The caller drops it later: in the write transaction of its
 * next call (dt__queue_submit_drop), or with dt__queue_drop.  A result
 * left by a caller that dies is removed by the sweep. */
uint32_t dt__queue_slot_seq(dt__queue *q, uint32_t slot);
int dt__queue_wait_since(dt__queue *q, uint64_t id, uint32_t slot,
                         uint32_t seen, dt__apply_fn apply, void *ctx,
                         uint64_t timeout_ns);
int dt__queue_submit_drop(dt__queue *q, size_t size, dt__encode_fn enc,
                          void *ctx, uint32_t slot, uint64_t drop,
                          uint64_t *id);
int dt__queue_drop(dt__queue *q, uint64_t id);
/* Removes a task that no worker claimed yet, or whose worker died (1),
 * or returns 0 if a live worker has it. */
int dt__queue_cancel(dt__queue *q, uint64_t id);

/* Worker side.  Claims the oldest task (FIFO by id) and copies it into
 * a malloc'd buffer (*rec, owned by the caller).  Blocks on the doorbell
 * until a task arrives or timeout_ns passes (-ETIMEDOUT; 0 = forever).
 * -EINTR when woken by dt__queue_kick.  -E2BIG with *id set when the
 * oldest task is too large to claim (answer it with dt__queue_reject). */
int dt__queue_claim(dt__queue *q, uint8_t **rec, size_t *size, uint64_t *id,
                    uint64_t timeout_ns);
/* Stores the result of id, drops its claim, and wakes its caller. */
int dt__queue_complete(dt__queue *q, uint64_t id, const uint8_t *rec,
                       size_t size);
/* The supervisor's answer for a worker that died or was killed while
 * running call id: stores rec (a crash or timeout record) only if the
 * claim is still held by that worker pid, so that a call answered in the
 * meantime is never answered twice.  Returns 0, or -ENOENT when the claim
 * is no longer that worker's. */
int dt__queue_fail(dt__queue *q, uint64_t id, int worker, const uint8_t *rec,
                   size_t size);
/* Answers task id with an error record instead of a result: removes the
 * task (or its claim), stores rec, and wakes its caller.  Used when a task
 * cannot be claimed (dt__queue_claim gave -E2BIG with *id set) or its
 * result cannot be stored. */
int dt__queue_reject(dt__queue *q, uint64_t id, const uint8_t *rec,
                     size_t size);
/* Wakes every idle worker (shutdown). */
void dt__queue_kick(dt__queue *q);

/* Runner liveness: a pool publishes its pid and a heartbeat. */
void dt__queue_heartbeat(dt__queue *q, int pid);
/* 1 if a runner pool published a heartbeat within max_age_ns and its
 * process exists. */
int dt__queue_runner_alive(dt__queue *q, uint64_t max_age_ns);
/* The same without asking the kernel whether the process exists: a plain
 * read of the doorbell page, cheap enough for every call. */
int dt__queue_runner_recent(dt__queue *q, uint64_t max_age_ns);

/* Waits (futex on the doorbell, no polling) until a pool is alive, at
 * most timeout_ns.  Returns 0 or -ETIMEDOUT. */
int dt__queue_wait_runner(dt__queue *q, uint64_t max_age_ns,
                          uint64_t timeout_ns);

/* The next call id to be handed out (activity detection). */
uint64_t dt__queue_next_id(dt__queue *q);

/* Removes tasks and results whose caller process is gone, and claims
 * whose worker is gone (their lease lapsed): their tasks go back to the
 * queue while the caller waits, at most 5 times, and are then answered
 * as a crash.  Returns the number of entries removed or requeued. */
int dt__queue_sweep(dt__queue *q);

/* Bytes shared by the slices of a fan-out call, stored once: put (the
 * caller; -E2BIG past a quarter of the map), read (a worker, into dst,
 * which has exactly size bytes; -ENOENT, -EPROTO for another size) and
 * drop (the caller, once every slice is answered).  A dead caller's are
 * removed by the sweep. */
int dt__queue_blob_put(dt__queue *q, const void *data, size_t size,
                       uint64_t *id);
int dt__queue_blob_read(dt__queue *q, uint64_t id, void *dst, uint64_t size);
int dt__queue_blob_drop(dt__queue *q, uint64_t id);
int dt__queue_blob_count(dt__queue *q, size_t *blobs);

/* The high-water mark of the queue's map in bytes (its last used page):
 * what the queue has ever needed at once (tests of fan-out). */
uint64_t dt__queue_used_bytes(dt__queue *q);

/* The pool's number of workers, published by its supervisor (0: none
 * known); fan-out makes one slice per worker by default. */
void dt__queue_set_workers(dt__queue *q, int n);
int dt__queue_workers(dt__queue *q);

/* Entry counts (tests and tools). */
int dt__queue_counts(dt__queue *q, size_t *tasks, size_t *claims,
                     size_t *results);

#endif /* DT_QUEUE_H */
