/* lmdb_env.h: the LMDB environment of an "lmdb" queue
 * (queue/lmdb_env.c), under the backend's operations (queue/lmdb.c).
 *
 * Keys are call ids in big-endian order, so that a cursor's first entry
 * is the oldest. */
#ifndef DT_QUEUE_LMDB_ENV_H
#define DT_QUEUE_LMDB_ENV_H

#include <pthread.h>

#include <lmdb.h>

#include "common/error.h"
#include "queue/queue.h"

/* How every process opens a queue's environment: tuned for tmpfs (a
 * blocking call dies with its caller, so nothing is made durable), the
 * same databases and reader slots in each, since the first opener sizes
 * lock.mdb for all. */
#define DT__LMDB_FLAGS \
  (MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP | MDB_NOTLS | MDB_NORDAHEAD)
#define DT__LMDB_MAX_DBS 7
#define DT__LMDB_MAX_READERS 1022u

typedef struct dt__lmdb_env {
  MDB_env *env;
  /* Transactions hold it shared; adopting a map that another process
   * grew holds it exclusive, because LMDB remaps the environment then and
   * no transaction of this process may be open. */
  pthread_rwlock_t resize;
  MDB_dbi tasks, claims, results, blobs;
  /* Admission and the answers cache (queue/lmdb_gate.c, lmdb_cache.c):
   * limits holds rates' arrival times and the cache's counters; cache
   * the answers; lru their order of use. */
  MDB_dbi limits, cache, lru;
  uint64_t map_size; /* as configured */
  /* Room in data.mdb (dt__lmdb_room): the file's descriptor (LMDB's),
   * its page size, and how far this process knows it to be allocated
   * (atomic; 0: not looked yet; UINT64_MAX: the filesystem cannot
   * allocate ahead, nothing is checked); and how far past what a
   * transaction needs it allocates next (0: this process has not looked
   * at the file yet; written only by the holder of LMDB's writer lock). */
  int datafd;
  uint64_t psize;
  uint64_t reserved;
  uint64_t chunk;
  /* One read-only transaction kept reset between uses (dt__lmdb_begin):
   * renewing it keeps its reader slot, where a new one takes LMDB's
   * reader lock, scans the reader table and allocates.  rtxn is NULL or
   * the kept handle (atomic); rbusy is 1 while a thread uses it; nokeep
   * is 1 once the reader table was found half used (nothing kept). */
  MDB_txn *rtxn;
  int rbusy;
  int nokeep;
} dt__lmdb_env;

int dt__lmdb_env_open(dt__lmdb_env *e, int dirfd, const char *dir,
                      uint64_t map_size, dt__error *err);
void dt__lmdb_env_close(dt__lmdb_env *e);
int dt__lmdb_err(int rc);
int dt__lmdb_begin(dt__lmdb_env *e, unsigned flags, MDB_txn **txn);
int dt__lmdb_room(dt__lmdb_env *e, uint64_t bytes);
int dt__lmdb_end(dt__lmdb_env *e, MDB_txn *txn, int commit);
int dt__lmdb_del_in(MDB_txn *txn, MDB_dbi dbi, uint64_t id);
int dt__lmdb_del(dt__lmdb_env *e, MDB_dbi dbi, uint64_t id);
int dt__lmdb_stat(dt__lmdb_env *e, dt__queue_stats *st);
int dt__lmdb_free_pages(MDB_txn *txn, uint64_t *n);

/* An id as a key: 8 bytes, big-endian. */
static inline void dt__lmdb_key(uint8_t *p, uint64_t id) {
  for (int i = 7; i >= 0; i--, id >>= 8)
    p[i] = (uint8_t)id;
}
/* The id of a key written by dt__lmdb_key. */
static inline uint64_t dt__lmdb_id(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

#endif /* DT_QUEUE_LMDB_ENV_H */
