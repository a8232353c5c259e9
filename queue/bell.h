/* bell.h: the doorbell page of an LMDB queue (queue/bell.c).
 *
 * A page of futex words shared by every process of one queue: the id
 * counter, the new-task word idle workers sleep on, one word per
 * waiting caller thread (a waiter slot), and the runner pool's pid,
 * heartbeat and worker count.  Nothing here touches LMDB. */
#ifndef DT_QUEUE_BELL_H
#define DT_QUEUE_BELL_H

#include "common/error.h"

/* Waiter slots on one page; a slot number is below this. */
#define DT__BELL_SLOTS 4096u

typedef struct dt__bell dt__bell;

int dt__bell_open(int dirfd, const char *dir, dt__bell **out,
                  dt__error *err);
void dt__bell_close(dt__bell *b);
uint64_t dt__bell_deadline(uint64_t timeout_ns);

/* Ids, and the new-task word that workers sleep on. */
uint64_t dt__bell_take_id(dt__bell *b);
uint64_t dt__bell_next_id(dt__bell *b);
uint32_t dt__bell_task_seq(dt__bell *b);
void dt__bell_task_added(dt__bell *b);
void dt__bell_tasks_returned(dt__bell *b);
int dt__bell_wait_task(dt__bell *b, uint32_t seen, uint64_t timeout_ns);
uint32_t dt__bell_kicks(dt__bell *b);
void dt__bell_kick(dt__bell *b);

/* Waiter slots: a caller thread's word. */
int dt__bell_waiter(dt__bell *b, uint32_t *slot);
void dt__bell_waiter_release(dt__bell *b, uint32_t slot);
uint32_t dt__bell_slot_seq(dt__bell *b, uint32_t slot);
int dt__bell_wait_slot(dt__bell *b, uint32_t slot, uint32_t seen,
                       uint64_t timeout_ns);
void dt__bell_ring(dt__bell *b, uint32_t slot);

/* The runner pool. */
void dt__bell_heartbeat(dt__bell *b, int pid);
int dt__bell_runner_recent(dt__bell *b, uint64_t max_age_ns);
int dt__bell_runner_alive(dt__bell *b, uint64_t max_age_ns);
int dt__bell_wait_runner(dt__bell *b, uint64_t max_age_ns,
                         uint64_t timeout_ns);
void dt__bell_set_workers(dt__bell *b, int n);
int dt__bell_workers(dt__bell *b);

#endif /* DT_QUEUE_BELL_H */
