/* lmdb_heal.h: an "lmdb" queue that LMDB cannot read, moved aside when
 * no live process has it open (queue/lmdb_heal.c). */
#ifndef DT_QUEUE_LMDB_HEAL_H
#define DT_QUEUE_LMDB_HEAL_H

#include <sys/stat.h>

#include "common/error.h"

int dt__lmdb_heal(int dirfd, const char *dir, const struct stat *bad,
                  const char *why, dt__error *err);

#endif /* DT_QUEUE_LMDB_HEAL_H */
