/* call.h: the caller's side of an offloaded call (shim/call.c). */
#ifndef DT_CALL_H
#define DT_CALL_H

#include "shim/symbol.h"

/* Where an offloaded call ran, as its DTASK_TRACE line says it. */
typedef enum dt__where {
  DT__RAN_WORKER, /* in a worker (every slice of a split call) */
  DT__RAN_INLINE, /* here: no queue or runner, a refusal, a policy */
  DT__RAN_SOME,   /* a split call: some slices here, the rest in workers */
  DT__RAN_VALUE,  /* nowhere: an on_* value was returned */
  DT__RAN_QUEUED, /* async: queued, its answer read later */
  DT__RAN_CACHE   /* nowhere: the answers cache gave a worker's answer */
} dt__where;

void dt__offload_init(const dt__config *cfg, dt__stub *stubs, size_t n);
dt__where dt__offload_call(dt__stub *s, void *ret, void **args);
void dt__offload_fini(void);

#endif /* DT_CALL_H */
