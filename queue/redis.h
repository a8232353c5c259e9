/* redis.h: the Redis Streams queue backend (queue/redis.c), for queue.c's
 * table of backends. */
#ifndef DT_QUEUE_REDIS_H
#define DT_QUEUE_REDIS_H

#include "queue/queue.h"

extern const dt__queue_ops dt__queue_redis_ops;

#endif /* DT_QUEUE_REDIS_H */
