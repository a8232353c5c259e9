/* lmdb_compact.h: rewriting an "lmdb" queue's data.mdb as a compact copy
 * when no process has it open (queue/lmdb_compact.c). */
#ifndef DT_QUEUE_LMDB_COMPACT_H
#define DT_QUEUE_LMDB_COMPACT_H

#include <stdint.h>

/* The fewest free pages worth a rewrite (with more free than live). */
#define DT__LMDB_COMPACT_MIN 64u

#include <lmdb.h>

int dt__lmdb_compact_worth(MDB_env *env);
int dt__lmdb_compact(int dirfd, const char *dir, uint64_t map_size);

#endif /* DT_QUEUE_LMDB_COMPACT_H */
