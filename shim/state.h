/* state.h: the caller role's settings, its queue handle and each
 * thread's state (shim/state.c). */
#ifndef DT_STATE_H
#define DT_STATE_H

#include <stdbool.h>

#include "queue/arena.h"
#include "queue/queue.h"
#include "shim/symbol.h"

/* The caller role's settings: set once by dt__state_init, before any
 * intercepted call, and read-only afterwards. */
typedef struct dt__caller_set {
  const dt__config *cfg; /* owned by shim.c for the life of the process */
  dt__stub *stubs;       /* likewise: one per [[offload]] entry */
  size_t n;
  uint64_t fp;           /* the config's fingerprint, sent with each task */
  bool progress;         /* draw split calls' progress (stderr a terminal) */
} dt__caller_set;
extern dt__caller_set dt__caller;

/* A thread's state: its waiter slot, and the arena its big buffers
 * travel through (shim/bigbuf.c).  (Returned strings live in
 * shim/rstring.c.) */
typedef struct dt__thread_state {
  int pid;
  uint32_t slot;
  bool has_slot;
  bool has_drop;  /* the last result, read in place, is still queued */
  uint64_t drop;
  dt__arena arena; /* made at the first call that needs it */
} dt__thread_state;

void dt__state_init(const dt__config *cfg, dt__stub *stubs, size_t n);
dt__queue *dt__state_queue(void);
dt__thread_state *dt__state_thread(void);
dt__thread_state *dt__state_current(void);
void *dt__state_map(size_t n);
void dt__state_fini(void);

#endif /* DT_STATE_H */
