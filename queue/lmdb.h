/* lmdb.h: the LMDB queue backend (queue/lmdb.c), for queue.c's table of
 * backends. */
#ifndef DT_QUEUE_LMDB_H
#define DT_QUEUE_LMDB_H

#include "queue/queue.h"

extern const dt__queue_ops dt__queue_lmdb_ops;

#endif /* DT_QUEUE_LMDB_H */
