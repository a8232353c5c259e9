/* tripstat.h: the caller's round trips as `dtask status` shows them,
 * added to the queue at most once a second (shim/tripstat.c). */
#ifndef DT_TRIPSTAT_H
#define DT_TRIPSTAT_H

#include <stdint.h>

#include "queue/queue.h"

void dt__tripstat_init(void);
void dt__tripstat_tick(dt__queue *q, uint32_t slot, uint64_t now_ns);
void dt__tripstat_exit(void);

#endif /* DT_TRIPSTAT_H */
