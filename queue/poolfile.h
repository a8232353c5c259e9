/* poolfile.h: pool records as files of the queue directory, for the
 * backends whose queue lives on one machine (queue/poolfile.c). */
#ifndef DT_QUEUE_POOLFILE_H
#define DT_QUEUE_POOLFILE_H

#include <stddef.h>

#include "queue/queue.h"

int dt__poolfile_put(dt__queue *q, const char *text, size_t n);
int dt__poolfile_list(dt__queue *q,
                      int (*fn)(void *ctx, const char *text, size_t n),
                      void *ctx);

#endif /* DT_QUEUE_POOLFILE_H */
