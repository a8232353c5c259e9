/* autostart.h: starting a runner pool from the caller when none serves
 * its queue (shim/autostart.c). */
#ifndef DT_AUTOSTART_H
#define DT_AUTOSTART_H

#include "queue/queue.h"

/* A runner whose heartbeat is older than this is taken for dead. */
#define DT__RUNNER_MAX_AGE_NS (3ull * 1000000000ull)
/* How long an autostarted pool may take to come up; a caller starts a
 * pool again at most this often. */
#define DT__AUTOSTART_WAIT_NS (10ull * 1000000000ull)

void dt__autostart_init(void);
int dt__autostart_ensure(dt__queue *q, uint64_t budget_ns);

#endif /* DT_AUTOSTART_H */
