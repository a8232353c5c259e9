/* fanout.h: running a split call as slices (shim/fanout.c). */
#ifndef DT_FANOUT_H
#define DT_FANOUT_H

#include "queue/queue.h"
#include "shim/call.h"
#include "shim/state.h"
#include "shim/symbol.h"

dt__where dt__fanout(dt__stub *s, dt__queue *q, dt__thread_state *ts, void *ret,
                void **args, int saved, uint64_t n, uint64_t count);

#endif /* DT_FANOUT_H */
