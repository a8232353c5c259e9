/* queue.h: the queue between callers and runner workers, and the
 * operations every queue backend provides.
 *
 * queue/queue.c opens a backend by the name in the config's [queue]
 * backend (its table of backends; "lmdb" is queue/lmdb.c) and owns the
 * queue directory; each backend fills a dt__queue_ops.  The shim's call
 * path and the runner call only the dt__queue_* functions below, each of
 * which calls its backend's operation.
 *
 * Records go in as bytes (queue/wire.h) and come out as bytes: a queue
 * never looks inside them.  Every task gets an id from the queue, unique
 * and increasing; its result is stored under the same id.  A handle is
 * used by every thread of the process that opened it, at once; after
 * fork the child opens its own (dt__queue_stale says when) and abandons
 * the old one, because closing it could release what the parent uses.
 *
 * Returns follow common/common.h: 0 or a negative errno, unless an
 * operation below says it returns a count, a flag (0/1) or a value.
 * Full documentation is at each backend's definitions. */
#ifndef DT_QUEUE_H
#define DT_QUEUE_H

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "config/config.h"
#include "queue/wire.h"

typedef struct dt__queue dt__queue;

/* Writes a task record in place: called inside the step that stores the
 * task, with size bytes of reserved, unaligned space and the call id. */
typedef int (*dt__encode_fn)(void *ctx, uint8_t *buf, size_t size,
                             uint64_t id);

/* Who stored a result, as the backend records it (never the record's
 * own say): a worker's answer (complete, reject), or the runner's own
 * (fail_claim: the supervisor that saw the worker die; the sweep). */
enum { DT__FROM_WORKER = 0, DT__FROM_RUNNER = 1 };

/* submit's flags.  DT__SUBMIT_SHARED: the slot is shared by threads of
 * this process, one of which may be waiting on it at this moment (the
 * async calls' slot, shim/async.c); a backend that keeps a connection
 * per slot submits over another one. */
enum { DT__SUBMIT_NEXT = 1, DT__SUBMIT_SHARED = 2 };

/* What must hold before a worker starts a task, across every process
 * that serves the queue (config/limits.h's settings, made per call by
 * the caller; NULL or all empty: nothing).  Names are as
 * dt__admit_name_ok says.
 *   gate, running: at most running (>= 1) tasks with this gate run at
 *     once; further ones wait in the queue, not in a worker.
 *   rate, interval_ns, burst: tasks with this rate name start at most
 *     one per interval_ns on average, at most burst (>= 1) at once after
 *     a quiet spell: GCRA, the generic cell rate algorithm (one stored
 *     time per name, the theoretical arrival time). */
#define DT__GATE_MAX 160
typedef struct dt__admit {
  char gate[DT__GATE_MAX];
  uint32_t running;
  char rate[DT__GATE_MAX];
  uint64_t interval_ns;
  uint32_t burst;
} dt__admit;

/* Whether the n bytes at s are 1 to max - 1 of [A-Za-z0-9_.@$] and of
 * the characters of more (NULL: none): the names a queue keeps. */
static inline bool dt__queue_name_ok(const char *s, size_t n, size_t max,
                                     const char *more) {
  if (n == 0 || n >= max)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '@' ||
          c == '$' || (c != '\0' && more != NULL && strchr(more, c))))
      return false;
  }
  return true;
}

/* Whether the n bytes at s may name a gate or a rate (dt__admit): a
 * symbol, and "=VALUE" (a signed decimal) for a gate per value. */
static inline bool dt__admit_name_ok(const char *s, size_t n) {
  return dt__queue_name_ok(s, n, DT__GATE_MAX, "=-");
}

/* GCRA's decision at now_ns for a name whose stored theoretical arrival
 * time is *tat (0: never used): 0 and *tat moved on by interval_ns when
 * a task may start now; otherwise the time (> now_ns) at which it may,
 * *tat untouched.  A stored time further ahead than any admission could
 * have put it (a clock that went back, a reboot under a persistent
 * queue) counts as 0.  Both backends decide with it, on their clock. */
static inline uint64_t dt__gcra(uint64_t *tat, uint64_t now_ns,
                                uint64_t interval_ns, uint32_t burst) {
  /* In 128 bits: a year's interval times a burst of a million does not
   * fit in 64. */
  __extension__ typedef unsigned __int128 u128;
  u128 tau = (u128)(burst - 1) * interval_ns; /* the tolerance */
  u128 t = *tat;
  if (t > (u128)now_ns + tau + interval_ns)
    t = 0;
  if (t < now_ns)
    t = now_ns;
  if (t - now_ns > tau)
    return (uint64_t)(t - tau);
  t += interval_ns;
  *tat = t > UINT64_MAX ? UINT64_MAX : (uint64_t)t;
  return 0;
}

/* A cached answer's key and the entry's cache settings: hash is a
 * SHA-256 of the config's fingerprint, the function's object, its
 * symbol and every argument (shim/cache.c); entry is the symbol, whose
 * answers share one budget of max_bytes (least recently used first
 * out); an answer older than ttl_ns (0: none) is not given. */
#define DT__CACHE_HASH 32
typedef struct dt__cache_key {
  uint8_t hash[DT__CACHE_HASH];
  const char *entry;
  uint64_t ttl_ns;
  uint64_t max_bytes;
} dt__cache_key;

/* Reads a result record in place; from is who stored it.  A negative
 * return keeps the result (-ENOSPC: the caller grows a buffer and waits
 * again without sleeping); -EPROTO deletes it as 0 does. */
typedef int (*dt__apply_fn)(void *ctx, const uint8_t *rec, size_t size,
                            int from);

/* What a queue holds now, and the most storage it has ever needed at
 * once in bytes (a fan-out's common buffers are counted as blobs). */
typedef struct dt__queue_stats {
  size_t tasks, claims, results, blobs;
  uint64_t used_bytes;
  /* LMDB: the bytes of used_bytes on its free list, which a pool alone
   * with the queue gives back (queue/lmdb_compact.c); 0 for Redis. */
  uint64_t free_bytes;
  /* The callers' arenas in the queue directory (queue/arena.h): how
   * many, and the bytes they hold; 0 for a backend without them. */
  size_t arenas;
  uint64_t arena_bytes;
} dt__queue_stats;

/* One symbol's round trips as its callers count them: calls answered
 * by a worker, retries (policy retries, of every kind), and a histogram
 * of round-trip times (common/log.h's buckets, ns).  trips_add takes
 * one caller's increments since its last add; trips_list gives the
 * totals of every caller. */
#define DT__TRIPS_SYMBOLS 64 /* symbols listed (an LMDB queue keeps no more) */
typedef struct dt__trips {
  char symbol[128]; /* config/config.h's dt__offload symbol */
  uint64_t calls, retries;
  uint64_t hits, misses; /* answers the cache gave, and calls it had not */
  uint64_t hist[DT__HIST_BUCKETS];
} dt__trips;

/* Whether the n bytes at s are a symbol as dt__trips holds one: 1 to 127
 * of [A-Za-z0-9_.@$].  Every backend adds and lists only such names. */
static inline bool dt__trips_symbol_ok(const char *s, size_t n) {
  return dt__queue_name_ok(s, n, sizeof ((dt__trips *)0)->symbol, NULL);
}

/* A task claimed by complete in the same step as an answer: its record
 * (malloc'd, the worker frees it), size and call id. */
typedef struct dt__claimed {
  uint8_t *rec;
  size_t size;
  uint64_t id;
} dt__claimed;

typedef struct dt__queue_ops {
  const char *name; /* as written in [queue] backend */
  /* Whether every worker runs on its callers' host and reaches the queue
   * directory: a call's big buffers may then travel through the caller's
   * arena there (queue/arena.h) instead of through the record. */
  bool arena;
  /* Opens the queue of cfg whose directory dir queue.c has created and
   * checked; dirfd is its descriptor (queue.c's, kept in the handle):
   * every file is opened relative to it (queue/qdir.h), never by dir's
   * name.  *out is the backend's handle (struct dt__queue first), freed
   * by close.  Fills err (a sentence to act on) on failure. */
  int (*open)(const dt__config *cfg, const char *dir, int dirfd,
              dt__queue **out, dt__error *err);
  /* Frees q; called only in the process that opened it. */
  void (*close)(dt__queue *q);

  /* Caller side.  A waiter slot is an opaque per-thread token: submit
   * stores it with the task so that its answer wakes exactly this
   * thread.  waiter: -EAGAIN when none is free.  waiter_release: gives
   * the calling thread's slot back (thread exit). */
  int (*waiter)(dt__queue *q, uint32_t *slot);
  void (*waiter_release)(dt__queue *q, uint32_t slot);
  /* Queues a task of size bytes written by enc, gets its id into *id and
   * wakes an idle worker; adm (NULL: none) is what must hold before a
   * worker starts it, kept beside the record.  drop, unless DT__NO_ID, is a result that
   * wait_since left, deleted in the same step.  With DT__SUBMIT_NEXT in
   * flags, the thread's next operation on the queue is wait_since for
   * this id (a backend may start that wait now).  -E2BIG for a task
   * larger than the backend takes; enc's error aborts the step. */
  int (*submit)(dt__queue *q, size_t size, dt__encode_fn enc, void *ctx,
                uint32_t slot, uint64_t drop, unsigned flags,
                const dt__admit *adm, uint64_t *id);
  /* The slot's wake-up count: read before submit, passed to wait_since. */
  uint32_t (*slot_seq)(dt__queue *q, uint32_t slot);
  /* Blocks until the result of id is there (no polling), applies it and
   * deletes it.  timeout_ns 0 waits forever; -ETIMEDOUT. */
  int (*wait)(dt__queue *q, uint64_t id, uint32_t slot, dt__apply_fn apply,
              void *ctx, uint64_t timeout_ns);
  /* The fast path: sleeps until the slot's count moves past seen before
   * the first look, applies the result and leaves it in place for drop
   * or the next submit.  A dead caller's results go with the sweep. */
  int (*wait_since)(dt__queue *q, uint64_t id, uint32_t slot, uint32_t seen,
                    dt__apply_fn apply, void *ctx, uint64_t timeout_ns);
  /* Deletes the result of id if there. */
  int (*drop)(dt__queue *q, uint64_t id);
  /* Removes task id if no worker claimed it or its worker died: 1, or 0
   * when a live worker has it or it is gone. */
  int (*cancel)(dt__queue *q, uint64_t id);

  /* Worker side.  claim: takes the oldest task (FIFO by id) into *rec
   * (malloc'd, the caller frees it); blocks until one comes or timeout_ns
   * (0: forever; -ETIMEDOUT); -EINTR after kick; -E2BIG with *id set for
   * a task too large to claim (answer it with reject). */
  int (*claim)(dt__queue *q, uint8_t **rec, size_t *size, uint64_t *id,
               uint64_t timeout_ns);
  /* Stores the result of id, ends its claim, wakes its caller.  With
   * next, may also claim the next task in the same step (as claim would,
   * never blocking): 1 then, with next filled; 0 when it did not. */
  int (*complete)(dt__queue *q, uint64_t id, const uint8_t *rec,
                  size_t size, dt__claimed *next);
  /* The supervisor's answer (a crash or timeout record) for worker's call
   * id, stored only while that worker holds the claim (-ENOENT if not)
   * and is dead (-EPERM while it runs). */
  int (*fail_claim)(dt__queue *q, uint64_t id, int worker,
                    const uint8_t *rec, size_t size);
  /* Answers task id, claimed or not, with an error record. */
  int (*reject)(dt__queue *q, uint64_t id, const uint8_t *rec, size_t size);
  /* Shutdown: every claim begun before it, in any process, returns. */
  void (*kick)(dt__queue *q);

  /* The runner pool.  heartbeat: publishes the pool's pid (0: stopped)
   * and a beat.  runner_recent: 1 if a beat is younger than max_age_ns,
   * cheap enough for every call.  runner_alive: the same and its process
   * exists.  wait_runner: until runner_alive, at most timeout_ns (0 or
   * -ETIMEDOUT).  set_workers/workers: the pool's worker count (0: not
   * known). */
  void (*heartbeat)(dt__queue *q, int pid);
  int (*runner_recent)(dt__queue *q, uint64_t max_age_ns);
  int (*runner_alive)(dt__queue *q, uint64_t max_age_ns);
  int (*wait_runner)(dt__queue *q, uint64_t max_age_ns, uint64_t timeout_ns);
  void (*set_workers)(dt__queue *q, int n);
  int (*workers)(dt__queue *q);

  /* The next id to be handed out (activity detection). */
  uint64_t (*next_id)(dt__queue *q);
  /* Removes what dead callers left (tasks, results, blobs) and lapsed
   * claims of dead workers: requeued while their caller waits, answered
   * as a crash after 5 tries.  Returns the number of entries removed or
   * requeued; *reclaimed (if not NULL) gets how many of them were
   * leases taken back from a worker that is gone while its caller
   * waited (requeued, or answered as a crash). */
  int (*sweep)(dt__queue *q, unsigned *reclaimed);
  /* Fills *st in one consistent look. */
  int (*stat)(dt__queue *q, dt__queue_stats *st);
  /* The pool's supervisor, alone with the queue (no worker yet, or none
   * left): rewrites the backend's storage compactly when no other
   * process has it open and that is worth it.  Returns 1 when rewritten,
   * 0 when there was nothing to gain or the rewrite failed (logged, the
   * storage as it was), -EBUSY when another process has the queue open,
   * or another negative errno when q could not be opened again (logged):
   * q is then unusable, to be closed.  NULL for a backend with nothing
   * to compact. */
  int (*compact)(dt__queue *q);

  /* Bytes shared by the slices of a fan-out call, stored once.
   * blob_put: the caller; -E2BIG past what the backend takes.
   * blob_read: for claimed task `task`, into dst of exactly size bytes;
   * -ENOENT, -EPROTO for another size, -EACCES for a blob of another
   * caller than the task's.  blob_drop: once every slice is answered. */
  int (*blob_put)(dt__queue *q, const void *data, size_t size, uint64_t *id);
  int (*blob_read)(dt__queue *q, uint64_t task, uint64_t id, void *dst,
                   uint64_t size);
  int (*blob_drop)(dt__queue *q, uint64_t id);

  /* What `dtask status` reads.  claim_caller: who made the task this
   * process claimed last ("PID" of a caller on this host, or
   * "HOST:PID"), written into out (cap bytes, truncated), "" when not
   * known.  pool_put: publishes this process's pool record (text of n
   * bytes; n 0 removes it).  pool_list: calls fn with every pool record
   * of the queue (one of a process of this host that is gone is removed
   * instead), stopping at fn's first nonzero answer, which it returns;
   * otherwise 0, or a negative errno. */
  void (*claim_caller)(dt__queue *q, char *out, size_t cap);
  int (*pool_put)(dt__queue *q, const char *text, size_t n);
  int (*pool_list)(dt__queue *q,
                   int (*fn)(void *ctx, const char *text, size_t n),
                   void *ctx);
  /* The callers' round trips, since the last trips_reset.  trips_add:
   * a caller adds its n increments d (slot: the calling thread's waiter
   * slot, or UINT32_MAX); never blocks on another process: -EAGAIN when
   * one holds the store (the caller adds them later).  trips_list: fn
   * with each symbol's totals, stopping at fn's first nonzero answer,
   * which it returns.  trips_reset: forgets them all (a pool that starts
   * when no other serves). */
  int (*trips_add)(dt__queue *q, uint32_t slot, const dt__trips *d,
                   size_t n);
  int (*trips_list)(dt__queue *q, int (*fn)(void *ctx, const dt__trips *t),
                    void *ctx);
  int (*trips_reset)(dt__queue *q);
  /* The answers cache (shared by every caller of the queue, kept with
   * it across pools).  cache_get: 1 with *rec (malloc'd, the caller
   * frees it) and *size when an answer under k is there and younger than
   * k->ttl_ns, which makes it the entry's most recently used; 0 when not.
   * cache_put: stores rec (size bytes) under k, replacing one there, then
   * drops the entry's least recently used answers until its answers
   * take at most k->max_bytes (an answer larger than that is not
   * stored: 0 all the same). */
  int (*cache_get)(dt__queue *q, const dt__cache_key *k, uint8_t **rec,
                   size_t *size);
  int (*cache_put)(dt__queue *q, const dt__cache_key *k, const uint8_t *rec,
                   size_t size);
  /* Without a handle (opening one may create what it opens): fn with
   * the name of each image of cfg's queue that the backend knows beyond
   * the queue directory's own subdirectories (a name may come more than
   * once), stopping at fn's first nonzero answer, which it returns.  NULL
   * for a backend whose every image is a directory (dt__queue_images
   * then returns 0). */
  int (*images)(const dt__config *cfg,
                int (*fn)(void *ctx, const char *image), void *ctx);
} dt__queue_ops;

/* The part of every handle that queue.c owns; a backend's handle starts
 * with it. */
struct dt__queue {
  const dt__queue_ops *ops;
  int pid;            /* the process that opened it */
  char dir[PATH_MAX]; /* the queue directory */
  int dirfd;          /* its descriptor (queue/qdir.c), closed with q */
};

/* The generic functions (queue.c): open the queue of cfg with its
 * backend (*out is the caller's to close; err gets the sentence to act
 * on); close (NULL allowed; does nothing in another process); stale (1
 * in a process forked since open); the queue directory (owned by q);
 * open_file (a file of that directory, through its descriptor); and
 * the entry counts of dt__queue_stat. */
int dt__queue_open_image(const dt__config *cfg, const char *image,
                         dt__queue **out, dt__error *err);
int dt__queue_open(const dt__config *cfg, dt__queue **out, dt__error *err);
void dt__queue_close(dt__queue *q);
int dt__queue_stale(const dt__queue *q);
const char *dt__queue_dir(const dt__queue *q);
int dt__queue_open_file(const dt__queue *q, const char *name, int flags,
                        int *fd, dt__error *err);
int dt__queue_counts(dt__queue *q, size_t *tasks, size_t *claims,
                     size_t *results);
int dt__queue_images(const dt__config *cfg,
                     int (*fn)(void *ctx, const char *image), void *ctx);

/* The other public functions: each calls its operation above. */

static inline int dt__queue_waiter(dt__queue *q, uint32_t *slot) {
  return q->ops->waiter(q, slot);
}
static inline void dt__queue_waiter_release(dt__queue *q, uint32_t slot) {
  q->ops->waiter_release(q, slot);
}
static inline int dt__queue_submit(dt__queue *q, size_t size,
                                   dt__encode_fn enc, void *ctx,
                                   uint32_t slot, uint64_t *id) {
  return q->ops->submit(q, size, enc, ctx, slot, DT__NO_ID, 0, NULL, id);
}
static inline int dt__queue_submit_admit(dt__queue *q, size_t size,
                                         dt__encode_fn enc, void *ctx,
                                         uint32_t slot, const dt__admit *adm,
                                         uint64_t *id) {
  return q->ops->submit(q, size, enc, ctx, slot, DT__NO_ID, 0, adm, id);
}
static inline int dt__queue_submit_drop(dt__queue *q, size_t size,
                                        dt__encode_fn enc, void *ctx,
                                        uint32_t slot, uint64_t drop,
                                        unsigned flags, const dt__admit *adm,
                                        uint64_t *id) {
  return q->ops->submit(q, size, enc, ctx, slot, drop, flags, adm, id);
}
static inline uint32_t dt__queue_slot_seq(dt__queue *q, uint32_t slot) {
  return q->ops->slot_seq(q, slot);
}
static inline int dt__queue_wait(dt__queue *q, uint64_t id, uint32_t slot,
                                 dt__apply_fn apply, void *ctx,
                                 uint64_t timeout_ns) {
  return q->ops->wait(q, id, slot, apply, ctx, timeout_ns);
}
static inline int dt__queue_wait_since(dt__queue *q, uint64_t id,
                                       uint32_t slot, uint32_t seen,
                                       dt__apply_fn apply, void *ctx,
                                       uint64_t timeout_ns) {
  return q->ops->wait_since(q, id, slot, seen, apply, ctx, timeout_ns);
}
static inline int dt__queue_drop(dt__queue *q, uint64_t id) {
  return q->ops->drop(q, id);
}
static inline int dt__queue_cancel(dt__queue *q, uint64_t id) {
  return q->ops->cancel(q, id);
}
static inline int dt__queue_claim(dt__queue *q, uint8_t **rec, size_t *size,
                                  uint64_t *id, uint64_t timeout_ns) {
  return q->ops->claim(q, rec, size, id, timeout_ns);
}
static inline int dt__queue_complete(dt__queue *q, uint64_t id,
                                     const uint8_t *rec, size_t size) {
  return q->ops->complete(q, id, rec, size, NULL);
}
static inline int dt__queue_complete_next(dt__queue *q, uint64_t id,
                                          const uint8_t *rec, size_t size,
                                          dt__claimed *next) {
  return q->ops->complete(q, id, rec, size, next);
}
static inline int dt__queue_fail(dt__queue *q, uint64_t id, int worker,
                                 const uint8_t *rec, size_t size) {
  return q->ops->fail_claim(q, id, worker, rec, size);
}
static inline int dt__queue_reject(dt__queue *q, uint64_t id,
                                   const uint8_t *rec, size_t size) {
  return q->ops->reject(q, id, rec, size);
}
static inline void dt__queue_kick(dt__queue *q) { q->ops->kick(q); }
static inline void dt__queue_heartbeat(dt__queue *q, int pid) {
  q->ops->heartbeat(q, pid);
}
static inline int dt__queue_runner_recent(dt__queue *q, uint64_t max_age_ns) {
  return q->ops->runner_recent(q, max_age_ns);
}
static inline int dt__queue_runner_alive(dt__queue *q, uint64_t max_age_ns) {
  return q->ops->runner_alive(q, max_age_ns);
}
static inline int dt__queue_wait_runner(dt__queue *q, uint64_t max_age_ns,
                                        uint64_t timeout_ns) {
  return q->ops->wait_runner(q, max_age_ns, timeout_ns);
}
static inline void dt__queue_set_workers(dt__queue *q, int n) {
  q->ops->set_workers(q, n);
}
static inline int dt__queue_workers(dt__queue *q) {
  return q->ops->workers(q);
}
static inline uint64_t dt__queue_next_id(dt__queue *q) {
  return q->ops->next_id(q);
}
static inline int dt__queue_compact(dt__queue *q) {
  return q->ops->compact != NULL ? q->ops->compact(q) : 0;
}
static inline int dt__queue_sweep(dt__queue *q, unsigned *reclaimed) {
  return q->ops->sweep(q, reclaimed);
}
static inline int dt__queue_stat(dt__queue *q, dt__queue_stats *st) {
  memset(st, 0, sizeof *st);
  return q->ops->stat(q, st);
}
static inline int dt__queue_blob_put(dt__queue *q, const void *data,
                                     size_t size, uint64_t *id) {
  return q->ops->blob_put(q, data, size, id);
}
static inline int dt__queue_blob_read(dt__queue *q, uint64_t task,
                                      uint64_t id, void *dst, uint64_t size) {
  return q->ops->blob_read(q, task, id, dst, size);
}
static inline int dt__queue_blob_drop(dt__queue *q, uint64_t id) {
  return q->ops->blob_drop(q, id);
}
static inline void dt__queue_claim_caller(dt__queue *q, char *out,
                                          size_t cap) {
  q->ops->claim_caller(q, out, cap);
}
static inline int dt__queue_pool_put(dt__queue *q, const char *text,
                                     size_t n) {
  return q->ops->pool_put(q, text, n);
}
static inline int
dt__queue_pool_list(dt__queue *q,
                    int (*fn)(void *ctx, const char *text, size_t n),
                    void *ctx) {
  return q->ops->pool_list(q, fn, ctx);
}
static inline int dt__queue_trips_add(dt__queue *q, uint32_t slot,
                                      const dt__trips *d, size_t n) {
  return q->ops->trips_add(q, slot, d, n);
}
static inline int
dt__queue_trips_list(dt__queue *q, int (*fn)(void *ctx, const dt__trips *t),
                     void *ctx) {
  return q->ops->trips_list(q, fn, ctx);
}
static inline int dt__queue_trips_reset(dt__queue *q) {
  return q->ops->trips_reset(q);
}
static inline int dt__queue_cache_get(dt__queue *q, const dt__cache_key *k,
                                      uint8_t **rec, size_t *size) {
  return q->ops->cache_get(q, k, rec, size);
}
static inline int dt__queue_cache_put(dt__queue *q, const dt__cache_key *k,
                                      const uint8_t *rec, size_t size) {
  return q->ops->cache_put(q, k, rec, size);
}


#endif /* DT_QUEUE_H */
