/* redis_status.h: reading the callers' round trips from the Redis
 * server's reply (queue/redis_status.c), for the backend and for the
 * fuzz harness of untrusted replies. */
#ifndef DT_QUEUE_REDIS_STATUS_H
#define DT_QUEUE_REDIS_STATUS_H

#include <hiredis/hiredis.h>

#include "queue/queue.h"

int dt__rq_trips_read(const redisReply *r, dt__trips *t, int cap);

#endif /* DT_QUEUE_REDIS_STATUS_H */
