/* redis_core.c: what the redis backend's files share: the handle's
 * setup (its key prefix and its server), keys, running a script, the
 * main connection's lock, ids and the consumer group.  The key layout
 * is documented in queue/redis.c. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"
#include "queue/redis_core.h"
#include "queue/wire.h"

/* Sets up q (zeroed by the caller) for cfg's queue whose image directory
 * is dir: reads the password file, derives the key prefix
 * "dtask:{NAME/IMAGE}:" (NAME: [queue] name or the leaf of [queue] path;
 * IMAGE: dir's name under path, none when dir is path itself) and this
 * process's name HOST:PID.  Connects nothing.  Returns 0, or a negative
 * errno with a sentence in err. */
int dt__rq_init(dt__rq *q, const dt__config *cfg, const char *dir,
                dt__error *err) {
  char msg[400];
  int rc = dt__rserver_init(&q->srv, &cfg->redis, cfg->password_file, msg,
                            sizeof msg);
  if (rc != 0) {
    dt__rserver_wipe(&q->srv);
    dt__error_set(err, 0, 0, "%s", msg);
    return rc;
  }
  const char *name = cfg->queue_name;
  if (name[0] == '\0') {
    name = strrchr(cfg->queue_path, '/');
    name = name != NULL ? name + 1 : cfg->queue_path;
  }
  size_t ql = strlen(cfg->queue_path);
  const char *image = "";
  if (strncmp(dir, cfg->queue_path, ql) == 0 && dir[ql] == '/')
    image = dir + ql + 1;
  int n = snprintf(q->p, sizeof q->p, "dtask:{%.128s%s%.128s}:", name,
                   image[0] ? "/" : "", image);
  if (n < 0 || (size_t)n >= sizeof q->p) {
    dt__rserver_wipe(&q->srv);
    return dt__error_set(err, 0, 0, "the queue's name %s/%s is too long "
                         "for a Redis key prefix", name, image);
  }
  q->plen = strlen(q->p);
  q->host = dt__rhost_id();
  snprintf(q->me, sizeof q->me, "%s:%d", q->host, (int)getpid());
  pthread_mutex_init(&q->mu, NULL);
  pthread_mutex_init(&q->id_mu, NULL);
  q->main.srv = &q->srv;
  snprintf(q->main.name, sizeof q->main.name, "dtask:%s", q->me);
  q->claim_id = DT__NO_ID;
  q->part = MAX_RECORD;
  q->max_call = cfg->max_call_size;
  snprintf(q->sweep_cursor, sizeof q->sweep_cursor, "0");
  return 0;
}

/* Writes P followed by what (a key name) into buf. */
const char *dt__rq_key(const dt__rq *q, char *buf, size_t cap,
                       const char *what) {
  snprintf(buf, cap, "%s%s", q->p, what);
  return buf;
}

/* The key of call id's answer (what "r:") or blob (what "b:"). */
const char *dt__rq_id_key(const dt__rq *q, char *buf, size_t cap,
                          const char *what, uint64_t id) {
  snprintf(buf, cap, "%s%s%llu", q->p, what, (unsigned long long)id);
  return buf;
}

/* Takes r, the reply of a command on conn: an error reply is freed and
 * said, and conn->refused set (-ENOSPC when the server is out of memory:
 * said once per process at error, since calls then run by on_unavailable
 * until it has room; -EAGAIN, unsaid, for a script sent by its SHA-1
 * that the server no longer has, which the caller sends again: the
 * connection sends every script in full next; -EPROTO otherwise, at
 * info).  Returns r, or NULL for an error reply or a failed link (r
 * NULL). */
redisReply *dt__rq_checked(dt__rconn *conn, redisReply *r) {
  static int said_oom;
  if (r == NULL || r->type != REDIS_REPLY_ERROR) {
    if (r != NULL)
      conn->refused = 0;
    return r;
  }
  if (strncmp(r->str, "OOM", 3) == 0) {
    conn->refused = -ENOSPC;
    if (!__atomic_exchange_n(&said_oom, 1, __ATOMIC_RELAXED))
      dt__log(DT__LOG_ERROR,
              "the queue's Redis at %s is out of memory (maxmemory): new "
              "calls are refused and run in the caller until it has "
              "room; raise maxmemory or add memory",
              conn->srv->label);
  } else if (strncmp(r->str, "NOSCRIPT", 8) == 0) {
    conn->refused = -EAGAIN; /* send it again, in full (redis_script.c) */
    conn->scripts = 0;
  } else {
    conn->refused = -EPROTO;
    dt__log(DT__LOG_INFO, "the queue's Redis refused a command: %.200s",
            r->str);
  }
  dt__hi.freeReplyObject(r);
  return NULL;
}

/* A reply's integer (or integer-looking string), or dflt. */
long long dt__rq_num(const redisReply *r, long long dflt) {
  if (r == NULL)
    return dflt;
  if (r->type == REDIS_REPLY_INTEGER)
    return r->integer;
  if (r->type == REDIS_REPLY_STRING)
    return strtoll(r->str, NULL, 10);
  return dflt;
}

/* With q->mu held: reads the reply of a claim sent ahead with the last
 * answer (a worker's), if one is owed, into q->ahead for the next claim,
 * so that no command in between can drop a task the server handed out
 * (it blocks at most BLOCK_MS, and the server is woken when that claim's
 * BLOCK has run out: dt__rconn_get_by).  A failed link leaves q->ahead
 * NULL and the connection closed. */
void dt__rq_stash(dt__rq *q) {
  if (q->main.pending > 0 && q->main.pending_tag == DT__RQ_AHEAD &&
      q->ahead == NULL)
    q->ahead = dt__rconn_get_by(&q->main, q->ahead_until);
}

/* Locks the main connection, makes it ready and stashes a claim sent
 * ahead (dt__rq_stash).  Returns 0 with the lock held, or a negative
 * errno without it. */
int dt__rq_lock(dt__rq *q) {
  pthread_mutex_lock(&q->mu);
  int rc = dt__rconn_ready(&q->main, IO_TIMEOUT_NS);
  if (rc != 0) {
    pthread_mutex_unlock(&q->mu);
    return rc;
  }
  dt__rq_stash(q);
  return 0;
}

/* Unlocks the main connection. */
void dt__rq_unlock(dt__rq *q) { pthread_mutex_unlock(&q->mu); }

/* Takes the next id of this process's block, taking a new block from P id
 * on conn when it is used up.  Returns 0 with *id, or -EIO. */
int dt__rq_take_id(dt__rq *q, dt__rconn *conn, uint64_t *id) {
  pthread_mutex_lock(&q->id_mu);
  if (q->id_next >= q->id_end) {
    char k[320], n[16];
    snprintf(n, sizeof n, "%u", ID_BLOCK);
    const char *argv[] = {"INCRBY", dt__rq_key(q, k, sizeof k, "id"), n};
    redisReply *r = dt__rconn_argv(conn, 3, argv, NULL);
    long long end = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer
                                                                : -1;
    if (r != NULL)
      dt__hi.freeReplyObject(r);
    if (end < (long long)ID_BLOCK) {
      pthread_mutex_unlock(&q->id_mu);
      return -EIO;
    }
    q->id_end = (uint64_t)end + 1;
    q->id_next = q->id_end - ID_BLOCK;
  }
  *id = q->id_next++;
  pthread_mutex_unlock(&q->id_mu);
  return 0;
}

/* Creates the tasks stream and its group if missing (after a restart of
 * a server without persistence, too).  Returns 0 or -EIO. */
int dt__rq_ensure_group(dt__rq *q, dt__rconn *conn) {
  char k[320];
  const char *argv[] = {"XGROUP", "CREATE", dt__rq_key(q, k, sizeof k, "tasks"),
                        "w", "0", "MKSTREAM"};
  redisReply *r = dt__rconn_argv(conn, 6, argv, NULL);
  if (r == NULL)
    return -EIO;
  int rc = r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9)
               ? -EIO
               : 0;
  if (rc != 0)
    dt__log(DT__LOG_ERROR, "cannot make the queue's stream in Redis at %s: "
            "%.200s", q->srv.label, r->str);
  dt__hi.freeReplyObject(r);
  return rc;
}

/* The value of field name in a stream entry's field list fv, or NULL. */
const redisReply *dt__rq_field(const redisReply *fv, const char *name) {
  if (fv == NULL || fv->type != REDIS_REPLY_ARRAY)
    return NULL;
  for (size_t i = 0; i + 1 < fv->elements; i += 2)
    if (fv->element[i]->type == REDIS_REPLY_STRING &&
        fv->element[i + 1]->type == REDIS_REPLY_STRING &&
        strcmp(fv->element[i]->str, name) == 0)
      return fv->element[i + 1];
  return NULL;
}

/* The value of field name in an XINFO reply's flat list of pairs, or
 * NULL. */
const redisReply *dt__rq_info(const redisReply *m, const char *name) {
  for (size_t i = 0; m->type == REDIS_REPLY_ARRAY && i + 1 < m->elements;
       i += 2)
    if (m->element[i]->type == REDIS_REPLY_STRING &&
        strcmp(m->element[i]->str, name) == 0)
      return m->element[i + 1];
  return NULL;
}
