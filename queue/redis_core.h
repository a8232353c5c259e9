/* redis_core.h: what the redis backend's files share (queue/redis_core.c,
 * and queue/redis_script.c for scripts): its handle, its limits, and
 * running a command or a script on one of its connections.
 * queue/redis.c documents the keys; redis_call.c is the caller's side,
 * redis_pool.c the workers' and the pool's. */
#ifndef DT_QUEUE_REDIS_CORE_H
#define DT_QUEUE_REDIS_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "queue/queue.h"
#include "queue/rconn.h"

#define ID_BLOCK 256u
#define SLOTS 1024u             /* waiter slots: threads waiting at once */
#define BLOCK_MS 1000ll         /* longest single blocking read */
#define MS_NS 1000000ull        /* a millisecond in ns */
#define IO_TIMEOUT_NS 5000000000ull /* longer than any BLOCK */
#define LEASE_MS 5000ll         /* a claim not renewed for this long lapses */
#define MAX_TRIES 5u            /* then the call is answered as a crash */
#define REPLY_TTL_S "3600"
#define MAX_RECORD (512ull << 20) /* Redis's default proto-max-bulk-len */
#define RECENT_CACHE_NS 200000000ull
#define POOL_AGE_MS 3000ll      /* a pool whose last beat is older is gone */
#define SWEEP_BATCH "200"      /* calls entries a sweep looks at */
#define PENDING_PAGE "256"     /* pending entries read at once */
#define CONSUMER_IDLE_MS 3600000ll /* another host's idle consumer: gone */
#define ORPHAN_AGE_MS 3660000ll /* REPLY_TTL_S and a minute, in ms */

/* The backend's handle: dt__queue first (queue.c fills it). */
typedef struct dt__rq {
  dt__queue base;
  dt__rserver srv;
  char p[300];            /* the key prefix P */
  size_t plen;
  char me[96];            /* this process as a caller or worker: HOST:PID */
  const char *host;       /* dt__rhost_id */

  pthread_mutex_t mu;     /* main: the shared connection and what follows */
  dt__rconn main;
  uint64_t claim_id;      /* the task this worker holds, or DT__NO_ID */
  uint64_t claim_epoch;   /* main.epoch when this worker last read its own
                             pending entries (history) */
  redisReply *ahead;      /* the reply of the claim sent with the last
                             answer, read before another command */
  uint64_t ahead_until;   /* when that claim's BLOCK runs out (dt__now_ns) */
  char claim_entry[48];
  char claim_caller[96];
  char sweep_cursor[32];  /* HSCAN cursor of calls, across sweeps */
  uint64_t later_ns;      /* when the earliest rate of P later is due
                             (dt__now_ns), as this worker last learned
                             (redis_admit.c); 0: none */
  uint64_t promoted_at;   /* when this worker last ran PROMOTE */
  int nworkers;           /* set_workers */

  pthread_mutex_t id_mu;  /* the block of ids this process took */
  uint64_t id_next, id_end;

  uint64_t seen_at;       /* runner_recent's cache (atomics) */
  int seen_recent, seen_workers;

  uint64_t part;          /* the most bytes in one value (redis_parts.c;
                             atomic) */
  uint64_t max_call;      /* [queue] max_call_size: the most a record or
                             blob read here may take */

  uint64_t used[SLOTS / 64]; /* waiter slots in use (atomics) */
  dt__rconn *slot[SLOTS];    /* each used only by the slot's thread */
} dt__rq;

static inline dt__rq *dt__rd(dt__queue *q) { return (dt__rq *)q; }

/* In dt__rq_eval's alen: this argument is a C string (strlen). */
#define DT__RQ_STR ((size_t)-1)
/* The tag of a claim sent ahead with an answer (dt__rconn pending_tag). */
#define DT__RQ_AHEAD UINT64_MAX

int dt__rq_init(dt__rq *q, const dt__config *cfg, const char *dir,
                dt__error *err);
const char *dt__rq_key(const dt__rq *q, char *buf, size_t cap,
                       const char *what);
const char *dt__rq_id_key(const dt__rq *q, char *buf, size_t cap,
                          const char *what, uint64_t id);
redisReply *dt__rq_eval(dt__rconn *conn, const char *script, int nkeys,
                        const char *const *keys, int nargs,
                        const char *const *args, const size_t *alen);
redisReply *dt__rq_checked(dt__rconn *conn, redisReply *r);
int dt__rq_eval_append(dt__rconn *conn, const char *script, int nkeys,
                       const char *const *keys, int nargs,
                       const char *const *args, const size_t *alen);
const redisReply *dt__rq_field(const redisReply *fv, const char *name);
const redisReply *dt__rq_info(const redisReply *m, const char *name);
long long dt__rq_num(const redisReply *r, long long dflt);
void dt__rq_stash(dt__rq *q);
int dt__rq_lock(dt__rq *q);
void dt__rq_unlock(dt__rq *q);
int dt__rq_take_id(dt__rq *q, dt__rconn *conn, uint64_t *id);
int dt__rq_ensure_group(dt__rq *q, dt__rconn *conn);

#endif /* DT_QUEUE_REDIS_CORE_H */
