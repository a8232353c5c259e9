/* redis_ops.h: the operations of the redis backend, defined in
 * queue/redis_call.c (the caller's side), queue/redis_pool.c (the
 * workers' and the pool's), queue/redis_sweep.c, queue/redis_status.c
 * and queue/redis_cache.c (the answers cache), gathered in
 * queue/redis.c's table.  Each is documented where it is defined;
 * queue/queue.h says what every backend's operation must do. */
#ifndef DT_QUEUE_REDIS_OPS_H
#define DT_QUEUE_REDIS_OPS_H

#include "queue/queue.h"

/* redis_call.c */
int dt__rd_open(const dt__config *cfg, const char *dir, int dirfd,
                dt__queue **out, dt__error *err);
void dt__rd_close(dt__queue *q);
int dt__rd_waiter(dt__queue *q, uint32_t *slot);
void dt__rd_waiter_release(dt__queue *q, uint32_t slot);
int dt__rd_submit(dt__queue *q, size_t size, dt__encode_fn enc, void *ctx,
                  uint32_t slot, uint64_t drop, unsigned flags,
                  const dt__admit *adm, uint64_t *id);
uint32_t dt__rd_slot_seq(dt__queue *q, uint32_t slot);
int dt__rd_wait(dt__queue *q, uint64_t id, uint32_t slot, dt__apply_fn apply,
                void *ctx, uint64_t timeout_ns);
int dt__rd_wait_since(dt__queue *q, uint64_t id, uint32_t slot, uint32_t seen,
                      dt__apply_fn apply, void *ctx, uint64_t timeout_ns);
int dt__rd_drop(dt__queue *q, uint64_t id);
int dt__rd_cancel(dt__queue *q, uint64_t id);
int dt__rd_trips_add(dt__queue *q, uint32_t slot, const dt__trips *d,
                     size_t n);

/* redis_sweep.c */
int dt__rd_sweep(dt__queue *q, unsigned *reclaimed);

/* redis_pool.c */
int dt__rd_claim(dt__queue *q, uint8_t **rec, size_t *size, uint64_t *id,
                 uint64_t timeout_ns);
int dt__rd_complete(dt__queue *q, uint64_t id, const uint8_t *rec,
                    size_t size, dt__claimed *next);
int dt__rd_fail_claim(dt__queue *q, uint64_t id, int worker,
                      const uint8_t *rec, size_t size);
int dt__rd_reject(dt__queue *q, uint64_t id, const uint8_t *rec, size_t size);
void dt__rd_kick(dt__queue *q);
void dt__rd_heartbeat(dt__queue *q, int pid);
int dt__rd_runner_recent(dt__queue *q, uint64_t max_age_ns);
int dt__rd_runner_alive(dt__queue *q, uint64_t max_age_ns);
int dt__rd_wait_runner(dt__queue *q, uint64_t max_age_ns, uint64_t timeout_ns);
void dt__rd_set_workers(dt__queue *q, int n);
int dt__rd_workers(dt__queue *q);
uint64_t dt__rd_next_id(dt__queue *q);
int dt__rd_stat(dt__queue *q, dt__queue_stats *st);
int dt__rd_blob_put(dt__queue *q, const void *data, size_t size,
                    uint64_t *id);
int dt__rd_blob_read(dt__queue *q, uint64_t task, uint64_t id, void *dst,
                     uint64_t size);
int dt__rd_blob_drop(dt__queue *q, uint64_t id);

/* redis_status.c */
int dt__rd_pool_put(dt__queue *q, const char *text, size_t n);
int dt__rd_pool_list(dt__queue *q,
                     int (*fn)(void *ctx, const char *text, size_t n),
                     void *ctx);
void dt__rd_claim_caller(dt__queue *q, char *out, size_t cap);
int dt__rd_trips_list(dt__queue *q,
                      int (*fn)(void *ctx, const dt__trips *t), void *ctx);
int dt__rd_trips_reset(dt__queue *q);
int dt__rd_images(const dt__config *cfg,
                  int (*fn)(void *ctx, const char *image), void *ctx);

/* redis_cache.c */
int dt__rd_cache_get(dt__queue *q, const dt__cache_key *k, uint8_t **rec,
                     size_t *size);
int dt__rd_cache_put(dt__queue *q, const dt__cache_key *k,
                     const uint8_t *rec, size_t size);

#endif /* DT_QUEUE_REDIS_OPS_H */
