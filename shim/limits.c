/* limits.c: owns what the caller makes of an entry's limits and cache
 * (config/limits.h) for each call: the admission its task carries
 * (queue/queue.h's dt__admit), and the answers cache's key, lookup and
 * store.
 *
 * Admission names: the gate of max_concurrency is the symbol, or
 * "SYMBOL=VALUE" with concurrency_key (VALUE in decimal, signed when the
 * parameter's type is); the rate of rate_limit is the symbol.  A queue
 * serves one image (queue/queue.c), so these names need no more.
 *
 * A cache key is the SHA-256 of the config's fingerprint (the offload
 * entries: signatures included), the identity of the object that defines
 * the function, the symbol and its version, and every argument as the
 * function sees it: a scalar's value, a string's bytes, an in buffer's
 * length and bytes, an out buffer's length (its bytes are the function's
 * to write), NULL as NULL.  A hit gives the answer a worker gave for
 * equal arguments (return value, out buffers, errno) as if the call had
 * gone out.  Only a worker's answer, with status OK and not one the
 * entry's policy would retry, is kept. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/sha256.h"
#include "config/policy.h"
#include "queue/wire.h"
#include "shim/limits.h"
#include "shim/state.h"

/* Fills *adm with the admission of a call of s with args, and returns
 * adm; NULL (adm untouched) when s's entry has no limit.  Costs one test
 * for an entry without limits. */
const dt__admit *dt__limits_admit(const dt__stub *s, void **args,
                                  dt__admit *adm) {
  const dt__limits *l = &s->off->limits;
  if (l->max_concurrency == 0 && l->rate_interval_ns == 0)
    return NULL;
  adm->gate[0] = adm->rate[0] = '\0';
  adm->running = l->max_concurrency;
  adm->interval_ns = l->rate_interval_ns;
  adm->burst = l->rate_burst;
  if (l->max_concurrency != 0) {
    if (l->key_param >= 0) {
      const dt__type *t = &s->off->sig.params[l->key_param].type;
      uint64_t v = 0;
      (void)dt__scalar_get(t, args[l->key_param], &v);
      if (dt__tag_is_signed(t->tag))
        snprintf(adm->gate, sizeof adm->gate, "%s=%lld", s->off->symbol,
                 (long long)v);
      else
        snprintf(adm->gate, sizeof adm->gate, "%s=%llu", s->off->symbol,
                 (unsigned long long)v);
    } else {
      snprintf(adm->gate, sizeof adm->gate, "%s", s->off->symbol);
    }
  }
  if (l->rate_interval_ns != 0)
    snprintf(adm->rate, sizeof adm->rate, "%s", s->off->symbol);
  return adm;
}

/* Adds a tag byte and a u64, little-endian, to c. */
static void add_u64(dt__sha256 *c, char tag, uint64_t v) {
  uint8_t b[9];
  b[0] = (uint8_t)tag;
  for (int i = 0; i < 8; i++)
    b[1 + i] = (uint8_t)(v >> (8 * i));
  dt__sha256_add(c, b, sizeof b);
}

/* Fills k with the cache key of a call of s with args (k->entry points
 * at s's symbol).  Returns 0, or a negative errno for a call whose
 * buffer lengths cannot be read (-ERANGE: negative), which is not
 * cached. */
int dt__limits_cache_key(const dt__stub *s, void **args, dt__cache_key *k) {
  const dt__offload *off = s->off;
  const dt__sig *sig = &off->sig;
  dt__sha256 c;
  dt__sha256_init(&c);
  dt__sha256_add(&c, "dtask-cache 1", 14);
  add_u64(&c, 'f', dt__caller.fp);
  add_u64(&c, 'o', s->def_known ? s->def_id.digest : 0);
  dt__sha256_add(&c, off->symbol, strlen(off->symbol) + 1);
  dt__sha256_add(&c, off->version, strlen(off->version) + 1);
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (!p->is_buffer && p->type.tag != DT__T_CSTRING) {
      uint64_t v = 0;
      (void)dt__scalar_get(&p->type, args[i], &v);
      add_u64(&c, 'v', v);
      continue;
    }
    const void *ptr;
    memcpy(&ptr, args[i], sizeof ptr);
    if (ptr == NULL) {
      dt__sha256_add(&c, "N", 1);
      continue;
    }
    if (!p->is_buffer) {
      size_t n = strlen(ptr);
      add_u64(&c, 's', n);
      dt__sha256_add(&c, ptr, n);
      continue;
    }
    uint64_t nb;
    int rc = dt__wire_buffer_bytes(sig, i, args, &nb);
    if (rc != 0)
      return rc;
    add_u64(&c, p->dir == DT__DIR_OUT ? 'o' : 'b', nb);
    if (p->dir != DT__DIR_OUT)
      dt__sha256_add(&c, ptr, (size_t)nb);
  }
  dt__sha256_end(&c, k->hash);
  k->entry = off->symbol;
  k->ttl_ns = off->limits.cache_ttl_ns;
  k->max_bytes = off->limits.cache_max_bytes;
  return 0;
}

/* The answer to a call kept under k in q's cache, if any: 1 with *rec
 * (malloc'd, the caller frees it) and *size; 0 when there is none or the
 * cache cannot be read (the call then goes out as any other).  The
 * caller applies it (shim/trip.c) and counts the hit or the miss. */
int dt__limits_cache_find(dt__queue *q, const dt__cache_key *k,
                          uint8_t **rec, size_t *size) {
  int rc = dt__queue_cache_get(q, k, rec, size);
  if (rc < 0)
    dt__log(DT__LOG_DEBUG, "%s: the answers cache cannot be read: %s",
            k->entry, strerror(-rc));
  return rc == 1;
}

/* After the call c of s settled with the result of a worker: stores its
 * answer (kept by the trip: c->kept) under k in q when the entry's
 * policy would not retry it, and frees the copy.  A failure to store
 * only costs a later hit. */
void dt__limits_cache_keep(dt__stub *s, dt__queue *q, const dt__cache_key *k,
                           dt__call_ctx *c, void *ret) {
  if (c->kept != NULL && c->status == DT__ST_OK &&
      c->from == DT__FROM_WORKER &&
      !dt__policy_should_retry(&s->off->policy, &s->off->sig, ret, c->err)) {
    int rc = dt__queue_cache_put(q, k, c->kept, c->kept_size);
    if (rc != 0)
      dt__log(DT__LOG_DEBUG, "%s: answer not cached: %s", s->off->symbol,
              strerror(-rc));
  }
  free(c->kept);
  c->kept = NULL;
}
