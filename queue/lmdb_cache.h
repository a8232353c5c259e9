/* lmdb_cache.h: the answers cache of an "lmdb" queue
 * (queue/lmdb_cache.c). */
#ifndef DT_QUEUE_LMDB_CACHE_H
#define DT_QUEUE_LMDB_CACHE_H

#include "queue/lmdb_rec.h"

int dt__lm_cache_get(dt__queue *q, const dt__cache_key *k, uint8_t **rec,
                     size_t *size);
int dt__lm_cache_put(dt__queue *q, const dt__cache_key *k,
                     const uint8_t *rec, size_t size);

#endif /* DT_QUEUE_LMDB_CACHE_H */
