/* trip.h: one round trip of a call through the queue, and its settling
 * under the symbol's policy (shim/trip.c). */
#ifndef DT_TRIP_H
#define DT_TRIP_H

#include <stdbool.h>

#include "queue/queue.h"
#include "shim/state.h"
#include "shim/symbol.h"

/* One attempt of one call (or of one fan-out slice): its arguments, where
 * its answer goes, and what the answer said. */
typedef struct dt__call_ctx {
  dt__stub *s;
  void **args;
  void *ret;
  int err;
  int caller_errno;
  int status;
  int from;             /* who stored the answer: DT__FROM_* */
  uint64_t id;
  const uint64_t *refs; /* fan-out: in buffers stored once, or NULL */
  dt__wire_arena *ar;   /* big buffers in the thread's arena, or NULL
                           (shim/bigbuf.c) */
  bool quiet;           /* fan-out: another slice said it already */
  bool async;           /* async = true: no caller waits for the answer */
  bool keep;            /* cache: copy the answer applied into kept */
  uint8_t *kept;        /* ... that copy (malloc'd; shim/limits.c frees) */
  size_t kept_size;
  char msg[512];
} dt__call_ctx;

/* How one round trip through the queue ended. */
typedef enum dt__outcome {
  DT__OUT_OK,          /* the worker's result is applied */
  DT__OUT_INLINE,      /* refused or impossible: run the call inline */
  DT__OUT_CRASH,       /* the worker died running it (c.err: the detail) */
  DT__OUT_TIMEOUT,     /* it ran past its timeout and its worker was killed */
  DT__OUT_UNAVAILABLE, /* no runner within wait_for_runner */
  DT__OUT_LOST,        /* a worker ran it (or may have), and its answer is
                          lost or not to be trusted: never run again here */
  DT__OUT_DRAINED      /* no answer by the watch's until (an async call at
                          exit, past drain_timeout) */
} dt__outcome;

/* How long calls have found no runner: one per call, shared by the
 * slices of a fan-out call, so that they wait for a runner once, not once
 * each. */
typedef struct dt__watch {
  uint64_t since;   /* when no runner was first seen (0: one is alive) */
  uint64_t started; /* when this call last tried to autostart a pool */
  bool said;        /* the on_unavailable = "wait" message is out */
  uint64_t until;   /* 0, or when to stop waiting (DT__OUT_DRAINED) */
} dt__watch;

/* How dt__trip_settle ended. */
enum { DT__SETTLED_RESULT, DT__SETTLED_INLINE, DT__SETTLED_VALUE };

int dt__trip_inline(dt__stub *s, void *ret, void **args, int saved);
int dt__trip_apply_cached(dt__call_ctx *c, const uint8_t *rec, size_t size);
void dt__trip_ctx_init(dt__call_ctx *c, dt__stub *s, void **args, void *ret,
                       int saved, const uint64_t *refs);
int dt__trip_too_big(dt__stub *s, size_t size, void **args, bool *said);
int dt__trip_submit(dt__stub *s, dt__queue *q, dt__thread_state *ts,
                    size_t size, dt__call_ctx *c, bool *said);
int dt__trip_submit_async(dt__stub *s, dt__queue *q, uint32_t slot,
                          size_t size, dt__call_ctx *c);
dt__outcome dt__trip_wait(dt__stub *s, dt__queue *q, dt__thread_state *ts,
                          dt__call_ctx *c, bool first, uint32_t seen,
                          dt__watch *w);
dt__outcome dt__trip_round(dt__stub *s, dt__queue *q, dt__thread_state *ts,
                           size_t size, dt__call_ctx *c);
int dt__trip_settle(dt__stub *s, dt__queue *q, dt__thread_state *ts,
                    void *ret, void **args, size_t size, int saved,
                    dt__outcome o, dt__call_ctx *c, int *err);

#endif /* DT_TRIP_H */
