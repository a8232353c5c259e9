/* bigbuf.c: owns the choice of which buffers of a call travel through
 * the calling thread's arena (queue/arena.h), and their copy in.
 *
 * A record carries its buffers' bytes: the caller writes them into the
 * queue's map, the worker copies them out into its own memory, and the
 * out buffers come back the same way, page faults of the map included.
 * Through the arena, the caller copies an in buffer once into a file
 * the worker keeps mapped, the function reads it and writes its out
 * buffers there, and the caller copies those once into its own: one
 * copy each way.  A call goes that way when its queue's workers share
 * this host (dt__queue_ops.arena) and [queue] arena is not false, it is
 * a single synchronous call without an answers cache (whose record must
 * carry everything), and its in and out buffers take at least
 * DT__BIGBUF_MIN bytes.  inout
 * buffers stay in the record: a worker that died halfway through one
 * would leave it half written for the call's next try.
 *
 * The thread's arena holds one call at a time (its waiter slot waits for
 * one answer at a time).  A call given up while a worker may still run
 * it lets go of the arena (dt__bigbuf_abandon): the next call gets a new
 * one, so that a late worker can never write into it. */
#include <string.h>

#include "common/log.h"
#include "config/sig.h"
#include "queue/arena.h"
#include "shim/bigbuf.h"

/* Buffers start on a cache line in the arena, or on their type's
 * alignment when that is larger (wire.c's dt__wire_frame_align). */
#define PLACE_ALIGN 64u

/* Whether the call of s with args sends its buffers through the calling
 * thread's arena (ts's, for queue q); if so, ar gets where each one lies,
 * the arena made or grown to hold them all.  Nothing is copied yet
 * (dt__bigbuf_fill).  A call that cannot have an arena (the filesystem
 * is full, no memory to map) goes through its record instead, said at
 * DTASK_LOG=info.  Returns true when placed. */
bool dt__bigbuf_place(const dt__stub *s, dt__queue *q, dt__thread_state *ts,
                      void **args, dt__wire_arena *ar) {
  const dt__sig *sig = &s->off->sig;
  uint64_t end = 0, total = 0;
  if (!q->ops->arena || !dt__caller.cfg->arena || s->off->async ||
      s->off->limits.cache)
    return false;
  if (dt__wire_arena_place(sig, args, PLACE_ALIGN, ar, &end, &total) != 0 ||
      end > DT__ARENA_MAX)
    return false; /* the record's path says why, or dt__trip_too_big */
  if (total < DT__BIGBUF_MIN)
    return false;
  dt__error err = {0, 0, ""};
  int rc = dt__arena_reserve(&ts->arena, q->dirfd, dt__queue_dir(q),
                             ts->slot, end, &err);
  if (rc != 0) {
    dt__log(DT__LOG_INFO, "%s: %s; its buffers go in the record instead",
            s->off->symbol, err.msg);
    return false;
  }
  ar->slot = ts->slot;
  ar->stamp = ts->arena.stamp;
  ar->data = dt__arena_data(&ts->arena);
  return true;
}

/* Before a try of a call that ar placed in ts's arena: whether that
 * arena is still there for it; if the thread let go of it since (a try
 * given up while a worker may still write into it), a new one is made
 * with the same layout (the record's size is the same) and ar updated.
 * False when none can be had: the try goes through its record. */
bool dt__bigbuf_again(const dt__stub *s, dt__queue *q, dt__thread_state *ts,
                      void **args, dt__wire_arena *ar) {
  if (ts->arena.map != NULL && ts->arena.pid == ts->pid &&
      ts->arena.stamp == ar->stamp &&
      dt__arena_data(&ts->arena) == ar->data)
    return true;
  return dt__bigbuf_place(s, q, ts, args, ar);
}

/* Copies the in buffers of the call of s with args into the arena where
 * ar placed them: before each try of the call, outside any transaction
 * of the queue (a function that wrote into its in buffer, against its
 * signature, does not change what its next try reads). */
void dt__bigbuf_fill(const dt__stub *s, void **args,
                     const dt__wire_arena *ar) {
  const dt__sig *sig = &s->off->sig;
  for (int i = 0; i < sig->nparams; i++) {
    const void *ptr;
    uint64_t n;
    if (ar->off[i] == DT__NO_ID || sig->params[i].dir != DT__DIR_IN)
      continue;
    memcpy(&ptr, args[i], sizeof ptr);
    if (dt__wire_buffer_bytes(sig, i, args, &n) == 0 && n > 0)
      memcpy(ar->data + ar->off[i], ptr, (size_t)n);
  }
}

/* The call that used ts's arena was given up while a worker may still
 * run it: the thread lets go of that arena (its file unlinked), and its
 * next call makes a new one. */
void dt__bigbuf_abandon(dt__queue *q, dt__thread_state *ts) {
  dt__arena_drop(&ts->arena, q->dirfd);
}
