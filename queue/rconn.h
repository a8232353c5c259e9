/* rconn.h: one connection to the Redis server of a queue
 * (queue/rconn.c), for the redis backend (queue/redis.c).
 *
 * A connection belongs to one thread at a time (hiredis contexts are not
 * thread-safe).  It connects lazily, with the url, password and db of the
 * config, is close-on-exec, and is never used by a process other than the
 * one that connected it (after fork the child connects its own).  A
 * command that fails on the link frees the context; the next command
 * connects again, no sooner than a backoff that doubles from 10 ms to
 * 1 s while the server stays away. */
#ifndef DT_QUEUE_RCONN_H
#define DT_QUEUE_RCONN_H

#include <stddef.h>
#include <stdint.h>

#include "queue/hiredis.h"

#include "config/url.h"

/* Where and as whom to connect: shared by a queue's connections. */
typedef struct dt__rserver {
  dt__url url;          /* the config's, with the password_file's */
  char label[300];      /* "redis://host:port/db" or "unix://path": logs */
} dt__rserver;

typedef struct dt__rconn {
  const dt__rserver *srv;
  redisContext *c;      /* NULL until connected, and after a failure */
  int pid;              /* the process that connected c */
  uint64_t retry_at;    /* no connect before (dt__now_ns) */
  uint64_t backoff_ns;  /* the next wait after a failed connect */
  uint64_t epoch;       /* counts connects: a new one means state may be lost */
  int refused;          /* the last error reply: -ENOSPC for the server's
                           OOM, -EPROTO for another; 0 after a success */
  int pending;          /* replies sent for with dt__rconn_append, unread */
  uint64_t pending_tag; /* the user's word for what the last one is */
  char name[112];       /* CLIENT SETNAME at each connect ("": none) */
  uint64_t scripts;     /* the scripts sent in full since the connect of
                           scripts_epoch (bits: queue/redis_script.c) */
  uint64_t scripts_epoch;
} dt__rconn;

int dt__rserver_init(dt__rserver *srv, const dt__url *url,
                     const char *password_file, char *err, size_t errsz);
void dt__rserver_wipe(dt__rserver *srv);
int dt__rconn_ready(dt__rconn *rc, uint64_t io_timeout_ns);
redisReply *dt__rconn_argv(dt__rconn *rc, int argc, const char **argv,
                           const size_t *len);
int dt__rconn_append(dt__rconn *rc, int argc, const char **argv,
                     const size_t *len, uint64_t tag);
redisReply *dt__rconn_get(dt__rconn *rc);
redisReply *dt__rconn_get_by(dt__rconn *rc, uint64_t deadline_ns);
void dt__rconn_close(dt__rconn *rc);
int dt__rconn_wait_retry(dt__rconn *rc, uint64_t deadline_ns);
const char *dt__rhost_id(void);

#endif /* DT_QUEUE_RCONN_H */
