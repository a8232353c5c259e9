/* hiredis.h: libhiredis, loaded with dlopen when a queue first needs a
 * Redis server (queue/hiredis.c), so that a program whose queue is LMDB
 * never maps it.
 *
 * Each function dtask takes from it is a pointer in dt__hi, of the type
 * <hiredis/hiredis.h> declares, so the compiler checks every call:
 * write dt__hi.freeReplyObject(r), never freeReplyObject(r).  The
 * pointers are valid once dt__hiredis_load has returned 0; the library
 * then stays loaded for the life of the process. */
#ifndef DT_QUEUE_HIREDIS_H
#define DT_QUEUE_HIREDIS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

/* What the backend takes from libhiredis. */
#define DT__HIREDIS_API(X)                                                 \
  X(redisConnectWithTimeout) X(redisConnectUnixWithTimeout) X(redisFree)   \
  X(redisSetTimeout) X(redisEnableKeepAlive) X(redisCommandArgv)           \
  X(redisAppendCommandArgv) X(redisGetReply) X(redisBufferWrite)           \
  X(redisGetReplyFromReader) X(freeReplyObject)

#define DT__HIREDIS_MEMBER(f) __typeof__(f) *f;
typedef struct dt__hiredis {
  DT__HIREDIS_API(DT__HIREDIS_MEMBER)
} dt__hiredis;
#undef DT__HIREDIS_MEMBER

extern dt__hiredis dt__hi;

int dt__hiredis_load(char *err, size_t errsz);

#endif /* DT_QUEUE_HIREDIS_H */
