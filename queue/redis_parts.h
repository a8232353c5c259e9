/* redis_parts.h: values larger than the queue's Redis server takes in
 * one (queue/redis_parts.c): a task's record, an answer's record or a
 * fan-out blob kept as a list of parts under a key of its own. */
#ifndef DT_QUEUE_REDIS_PARTS_H
#define DT_QUEUE_REDIS_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "queue/redis_core.h"

#define MAX_PARTS (1ll << 20)

void dt__rq_learn_part(dt__rq *q, dt__rconn *c);
long long dt__rq_put_parts(dt__rq *q, dt__rconn *c, const char *key,
                           const uint8_t *data, size_t size, bool expire);
int dt__rq_get_parts(dt__rconn *c, const char *key, long long n,
                     uint64_t total, uint8_t *dst);
int dt__rq_parts_of(const redisReply *fv, uint64_t limit, long long *n,
                    uint64_t *total);

#endif /* DT_QUEUE_REDIS_PARTS_H */
