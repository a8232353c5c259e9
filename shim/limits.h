/* limits.h: an entry's limits and cache as the caller makes them for
 * each call (shim/limits.c). */
#ifndef DT_SHIM_LIMITS_H
#define DT_SHIM_LIMITS_H

#include "queue/queue.h"
#include "shim/symbol.h"
#include "shim/trip.h"

const dt__admit *dt__limits_admit(const dt__stub *s, void **args,
                                  dt__admit *adm);
int dt__limits_cache_key(const dt__stub *s, void **args, dt__cache_key *k);
int dt__limits_cache_find(dt__queue *q, const dt__cache_key *k,
                          uint8_t **rec, size_t *size);
void dt__limits_cache_keep(dt__stub *s, dt__queue *q, const dt__cache_key *k,
                           dt__call_ctx *c, void *ret);

#endif /* DT_SHIM_LIMITS_H */
