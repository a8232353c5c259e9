/* tripfile.h: the callers' round-trip counts as a file of the queue
 * directory, for the backends whose queue lives on one machine
 * (queue/tripfile.c). */
#ifndef DT_QUEUE_TRIPFILE_H
#define DT_QUEUE_TRIPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "queue/queue.h"

int dt__tripfile_add(dt__queue *q, uint32_t slot, const dt__trips *d,
                     size_t n);
int dt__tripfile_list(dt__queue *q,
                      int (*fn)(void *ctx, const dt__trips *t), void *ctx);
int dt__tripfile_reset(dt__queue *q);

#endif /* DT_QUEUE_TRIPFILE_H */
