/* proc.h: whether a process or a thread still runs (queue/proc.c).
 *
 * The LMDB backend names the owners of its entries by pid (callers),
 * by pid and start time (a worker's lease) and by pid and tid (a
 * waiter slot); these answer whether such an owner is still there. */
#ifndef DT_QUEUE_PROC_H
#define DT_QUEUE_PROC_H

#include <stdbool.h>
#include <stdint.h>

bool dt__proc_runs(int pid, uint64_t *start);
bool dt__proc_alive(int pid);
bool dt__proc_lease_alive(int pid, uint64_t start);
bool dt__proc_thread_alive(int pid, int tid);

#endif /* DT_QUEUE_PROC_H */
