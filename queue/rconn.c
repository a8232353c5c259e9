/* rconn.c: connections to the Redis server of a queue, for the redis
 * backend (queue/redis.c).
 *
 * This file owns how dtask reaches and authenticates to Redis: the
 * server's address and password (read once from password_file, never
 * logged, wiped at close), one hiredis context per dt__rconn, made
 * close-on-exec, authenticated and switched to the url's db, and the
 * backoff between failed connects.  It also owns the host id that names
 * this machine in the queue's records (callers and workers).
 *
 * hiredis 0.14: a context is not thread-safe (one per thread that
 * blocks), its socket is opened without close-on-exec, and after a read
 * timeout or an error the context is dead and must be freed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/pid.h"
#include "queue/rconn.h"

#define CONNECT_TIMEOUT_NS 1000000000ull
#define BACKOFF_MIN_NS 10000000ull
#define BACKOFF_MAX_NS 1000000000ull

/* Reads the password from path into out (cap bytes with its NUL): the
 * file must be a regular file of this user that group and others cannot
 * read; one line, its newline dropped.  Returns 0, or -EACCES/-EINVAL/
 * an open error with a sentence in err. */
static int read_password(const char *path, char *out, size_t cap, char *err,
                         size_t errsz) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int e = errno;
    snprintf(err, errsz, "cannot read [queue] password_file %s: %s", path,
             strerror(e));
    return -e;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    close(fd);
    snprintf(err, errsz,
             "[queue] password_file %s must be a regular file of yours that "
             "no one else can read: chmod 600 %s",
             path, path);
    return -EACCES;
  }
  ssize_t n = read(fd, out, cap - 1);
  close(fd);
  if (n < 0) {
    snprintf(err, errsz, "cannot read [queue] password_file %s: %s", path,
             strerror(errno));
    return -EIO;
  }
  out[n] = '\0';
  char *nl = strpbrk(out, "\r\n");
  if (nl != NULL)
    *nl = '\0';
  if (out[0] == '\0') {
    snprintf(err, errsz, "[queue] password_file %s is empty: write the "
             "password on its first line", path);
    return -EINVAL;
  }
  return 0;
}

/* Loads libhiredis (queue/hiredis.c) and fills srv from the config's
 * parsed url and, unless NULL or "", the password in password_file
 * (which replaces none: the config refuses a url with a password beside
 * a password_file).  Returns 0, or a negative errno with a sentence in
 * err (errsz bytes): -ELIBACC when libhiredis cannot be loaded. */
int dt__rserver_init(dt__rserver *srv, const dt__url *url,
                     const char *password_file, char *err, size_t errsz) {
  memset(srv, 0, sizeof *srv);
  int rc = dt__hiredis_load(err, errsz);
  if (rc != 0)
    return rc;
  srv->url = *url;
  if (url->path[0] != '\0')
    snprintf(srv->label, sizeof srv->label, "unix://%s?db=%d", url->path,
             url->db);
  else
    snprintf(srv->label, sizeof srv->label, "redis://%s:%d/%d", url->host,
             url->port, url->db);
  if (password_file != NULL && password_file[0] != '\0')
    return read_password(password_file, srv->url.pass, sizeof srv->url.pass,
                         err, errsz);
  return 0;
}

/* Wipes the password held in srv. */
void dt__rserver_wipe(dt__rserver *srv) {
  explicit_bzero(srv->url.pass, sizeof srv->url.pass);
}

static struct timeval tv_of(uint64_t ns) {
  struct timeval tv = {(time_t)(ns / 1000000000ull),
                       (suseconds_t)(ns % 1000000000ull / 1000)};
  return tv;
}

/* SIGPIPE: hiredis writes with write(2), which raises SIGPIPE in the
 * calling thread when the server has gone; that would kill the host
 * program.  Around each exchange the signal is blocked in this thread,
 * and one it raised is taken back (sigtimedwait) before the old mask
 * returns.  Blocking it: pipe_block, with the old mask into *old. */
static void pipe_block(sigset_t *old) {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, old);
}

/* Takes back a SIGPIPE the exchange raised (after failed: only a failed
 * write raises it) and restores old. */
static void pipe_restore(const sigset_t *old, bool failed) {
  if (failed && !sigismember(old, SIGPIPE)) {
    sigset_t pending, pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
      struct timespec zero = {0, 0};
      while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
        ;
    }
  }
  pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* redisCommandArgv with SIGPIPE held back (pipe_block). */
static redisReply *command(redisContext *c, int argc, const char **argv,
                           const size_t *len) {
  sigset_t old;
  int e = errno;
  pipe_block(&old);
  redisReply *r = dt__hi.redisCommandArgv(c, argc, argv, len);
  pipe_restore(&old, r == NULL);
  errno = e;
  return r;
}

/* Sends argv on c and checks for a status reply (AUTH, SELECT).  Returns
 * 0, or -EACCES for an error reply (its text in err), -EIO on the link. */
static int simple(redisContext *c, int argc, const char **argv, char *err,
                  size_t errsz) {
  redisReply *r = command(c, argc, argv, NULL);
  if (r == NULL) {
    snprintf(err, errsz, "%s", c->errstr);
    return -EIO;
  }
  int rc = 0;
  if (r->type == REDIS_REPLY_ERROR) {
    snprintf(err, errsz, "%.200s", r->str);
    rc = -EACCES;
  }
  dt__hi.freeReplyObject(r);
  return rc;
}

/* Says once per process, at warn, that the server may evict keys: a
 * queue's tasks and answers must never be evicted. */
static void check_eviction(redisContext *c) {
  static int said;
  if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
    return;
  const char *argv[] = {"CONFIG", "GET", "maxmemory-policy"};
  redisReply *r = command(c, 3, argv, NULL);
  if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
      r->element[1]->type == REDIS_REPLY_STRING &&
      strcmp(r->element[1]->str, "noeviction") != 0)
    dt__log(DT__LOG_WARN,
            "the Redis server's maxmemory-policy is %s: it may evict a "
            "queued call or its answer; set maxmemory-policy noeviction",
            r->element[1]->str);
  if (r != NULL)
    dt__hi.freeReplyObject(r);
}

/* Connects rc unless it is connected in this process, with io_timeout_ns
 * as the longest any later command may block (longer than any BLOCK
 * argument).  A context inherited over fork is freed (its socket closed
 * in this process only; nothing is sent).  Returns 0; -EAGAIN while the
 * backoff after a failed connect runs; -ECONNREFUSED (or -EACCES when
 * the server refused the password) with the reason logged at info. */
int dt__rconn_ready(dt__rconn *rc, uint64_t io_timeout_ns) {
  int pid = dt__pid();
  if (rc->c != NULL && rc->pid == pid)
    return 0;
  if (rc->c != NULL)
    dt__rconn_close(rc);
  uint64_t now = dt__now_ns();
  if (now < rc->retry_at)
    return -EAGAIN;
  const dt__url *u = &rc->srv->url;
  struct timeval tv = tv_of(CONNECT_TIMEOUT_NS);
  redisContext *c =
      u->path[0] != '\0'
          ? dt__hi.redisConnectUnixWithTimeout(u->path, tv)
          : dt__hi.redisConnectWithTimeout(u->host, u->port, tv);
  char why[256] = "";
  int err = 0;
  if (c == NULL) {
    snprintf(why, sizeof why, "out of memory");
    err = -ENOMEM;
  } else if (c->err != 0) {
    snprintf(why, sizeof why, "%s", c->errstr);
    err = -ECONNREFUSED;
  } else {
    (void)fcntl(c->fd, F_SETFD, FD_CLOEXEC);
    dt__hi.redisSetTimeout(c, tv_of(io_timeout_ns));
    if (u->host[0] != '\0')
      dt__hi.redisEnableKeepAlive(c);
    if (u->pass[0] != '\0') {
      /* AUTH USER PASSWORD for an ACL user, AUTH PASSWORD otherwise. */
      const char *a[] = {"AUTH", u->user, u->pass};
      if (u->user[0] != '\0')
        err = simple(c, 3, a, why, sizeof why);
      else {
        a[1] = u->pass;
        err = simple(c, 2, a, why, sizeof why);
      }
    }
    if (err == 0 && rc->name[0] != '\0') {
      /* Named, so that a pool's kick finds its workers (CLIENT LIST);
       * a server that refuses CLIENT (an ACL) only loses that. */
      const char *a[] = {"CLIENT", "SETNAME", rc->name};
      char ignored[64];
      (void)simple(c, 3, a, ignored, sizeof ignored);
    }
    if (err == 0 && u->db != 0) {
      char db[16];
      snprintf(db, sizeof db, "%d", u->db);
      const char *a[] = {"SELECT", db};
      err = simple(c, 2, a, why, sizeof why);
    }
  }
  if (err != 0) {
    if (c != NULL)
      dt__hi.redisFree(c);
    rc->backoff_ns = rc->backoff_ns == 0 ? BACKOFF_MIN_NS
                     : rc->backoff_ns * 2 > BACKOFF_MAX_NS
                         ? BACKOFF_MAX_NS
                         : rc->backoff_ns * 2;
    rc->retry_at = now + rc->backoff_ns;
    dt__log(DT__LOG_INFO, "cannot reach the queue's Redis at %s: %s",
            rc->srv->label, why);
    return err == -ENOMEM ? -ENOMEM : err == -EACCES ? -EACCES
                                                     : -ECONNREFUSED;
  }
  check_eviction(c);
  rc->c = c;
  rc->pid = pid;
  rc->backoff_ns = 0;
  rc->retry_at = 0;
  rc->epoch++;
  return 0;
}

/* Sends one command (binary-safe: len gives each argument's length, or
 * NULL for C strings) on rc, which must be ready; replies still owed to
 * dt__rconn_append are read and dropped first.  Returns hiredis's
 * reply (the caller frees it with freeReplyObject; an error reply is a
 * reply), or NULL when the link failed: the context is then freed, and
 * the next dt__rconn_ready connects again. */
redisReply *dt__rconn_argv(dt__rconn *rc, int argc, const char **argv,
                           const size_t *len) {
  if (rc->c == NULL || rc->pid != dt__pid())
    return NULL;
  while (rc->pending > 0) { /* replies owed first, in order */
    redisReply *old = dt__rconn_get(rc);
    if (old == NULL)
      return NULL;
    dt__hi.freeReplyObject(old);
  }
  redisReply *r = command(rc->c, argc, argv, len);
  if (r == NULL) {
    dt__log(DT__LOG_INFO, "the link to the queue's Redis at %s failed: %s",
            rc->srv->label, rc->c->errstr);
    dt__rconn_close(rc);
  }
  return r;
}

/* Queues one command on rc (ready) without reading its reply, which
 * dt__rconn_get returns later; tag is the caller's note of what the reply
 * answers (kept in rc->pending_tag).  Nothing is sent before the next
 * dt__rconn_argv or dt__rconn_get, which send everything queued first.
 * Returns 0, or -ENOMEM (nothing queued). */
int dt__rconn_append(dt__rconn *rc, int argc, const char **argv,
                     const size_t *len, uint64_t tag) {
  if (rc->c == NULL || rc->pid != dt__pid() ||
      dt__hi.redisAppendCommandArgv(rc->c, argc, argv, len) != REDIS_OK)
    return -ENOMEM;
  rc->pending++;
  rc->pending_tag = tag;
  return 0;
}

/* Reads the oldest reply not yet read (one per dt__rconn_append; the
 * reply of a command sent by dt__rconn_argv is read by it).  Returns it
 * (the caller frees it), or NULL when the link failed (the context is
 * then freed and every pending reply forgotten). */
redisReply *dt__rconn_get(dt__rconn *rc) {
  void *r = NULL;
  if (rc->c == NULL || rc->pid != dt__pid() || rc->pending == 0)
    return NULL;
  sigset_t old;
  int e = errno;
  pipe_block(&old);
  int ok = dt__hi.redisGetReply(rc->c, &r) == REDIS_OK && r != NULL;
  pipe_restore(&old, !ok);
  errno = e;
  if (!ok) {
    dt__log(DT__LOG_INFO, "the link to the queue's Redis at %s failed: %s",
            rc->srv->label, rc->c->errstr);
    dt__rconn_close(rc);
    return NULL;
  }
  rc->pending--;
  return r;
}

/* The most PINGs dt__rconn_get_by sends, 10 ms apart. */
#define NUDGES 8

/* Reads the oldest reply owed on rc as dt__rconn_get does, but when it
 * is the only one owed (a blocking command, sent with dt__rconn_append)
 * waits for it only until deadline_ns (dt__now_ns; 0: no limit), then
 * sends a PING (again every 10 ms, NUDGES at most) to wake the server:
 * Redis answers a blocking command whose BLOCK has run out whenever its
 * event loop wakes, else only on its next cron tick, up to 1/hz s (100
 * ms by default) late.  The PINGs' replies are read and dropped after
 * the one owed.  Returns the reply (the caller frees it), or NULL when
 * the link failed (the context is then freed). */
redisReply *dt__rconn_get_by(dt__rconn *rc, uint64_t deadline_ns) {
  if (rc->c == NULL || rc->pid != dt__pid() || rc->pending != 1 ||
      deadline_ns == 0)
    return dt__rconn_get(rc);
  void *r = NULL;
  int pings = 0, done = 0, ok = 1;
  for (uint64_t until = deadline_ns;;) {
    sigset_t old;
    int e = errno;
    pipe_block(&old);
    for (done = 0; ok && !done;) /* what was sent, out first */
      ok = dt__hi.redisBufferWrite(rc->c, &done) == REDIS_OK;
    if (ok && r == NULL)
      ok = dt__hi.redisGetReplyFromReader(rc->c, &r) == REDIS_OK;
    pipe_restore(&old, !ok);
    errno = e;
    if (!ok || r != NULL || pings == NUDGES)
      break;
    uint64_t now = dt__now_ns();
    struct pollfd p = {rc->c->fd, POLLIN, 0};
    int n = poll(&p, 1, now >= until ? 0 : (int)((until - now + 999999) /
                                                 1000000));
    if (n < 0 && errno == EINTR)
      continue;
    if (n != 0)
      break; /* something to read (or the link failed): read it */
    const char *ping[] = {"PING"};
    if (dt__rconn_append(rc, 1, ping, NULL, rc->pending_tag) != 0)
      break;
    pings++;
    until = dt__now_ns() + 10000000ull;
  }
  if (!ok) {
    dt__log(DT__LOG_INFO, "the link to the queue's Redis at %s failed: %s",
            rc->srv->label, rc->c->errstr);
    dt__rconn_close(rc);
    return NULL;
  }
  redisReply *reply = r;
  if (reply != NULL)
    rc->pending--;
  else
    reply = dt__rconn_get(rc);
  for (int i = 0; reply != NULL && i < pings && rc->c != NULL; i++) {
    redisReply *pong = dt__rconn_get(rc);
    if (pong != NULL)
      dt__hi.freeReplyObject(pong);
  }
  return reply;
}

/* Frees rc's context if any (closing its socket in this process). */
void dt__rconn_close(dt__rconn *rc) {
  if (rc->c != NULL)
    dt__hi.redisFree(rc->c);
  rc->c = NULL;
  rc->pending = 0;
}

/* Sleeps until rc may try to connect again, or until deadline_ns
 * (dt__now_ns; 0: no deadline), whichever comes first: the wait between
 * connects while the server is away, never on a healthy call path.
 * Returns 0, or -ETIMEDOUT when the deadline came first. */
int dt__rconn_wait_retry(dt__rconn *rc, uint64_t deadline_ns) {
  uint64_t until = rc->retry_at;
  int rc_ = 0;
  if (deadline_ns != 0 && deadline_ns < until) {
    until = deadline_ns;
    rc_ = -ETIMEDOUT;
  }
  uint64_t now = dt__now_ns();
  if (until > now) {
    struct timespec ts = {(time_t)((until - now) / 1000000000ull),
                          (long)((until - now) % 1000000000ull)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
      ;
  }
  return rc_;
}

static char host_id[128];
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

/* Makes host_id: DTASK_HOST_ID if set (tests play several hosts on one
 * machine), else the host name and the boot id's first 8 digits, which
 * tell two boots of one host apart. */
static void make_host_id(void) {
  const char *env = secure_getenv("DTASK_HOST_ID");
  if (env != NULL && env[0] != '\0' && strlen(env) < 64 &&
      strchr(env, ' ') == NULL) {
    snprintf(host_id, sizeof host_id, "%s", env);
    return;
  }
  char name[64] = "host", boot[40] = "0";
  (void)gethostname(name, sizeof name - 1);
  name[sizeof name - 1] = '\0';
  for (char *p = name; *p; p++)
    if (*p == ' ' || *p == ':')
      *p = '_';
  int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, boot, 8);
    boot[n > 0 ? n : 1] = '\0';
    close(fd);
  }
  snprintf(host_id, sizeof host_id, "%s-%s", name, boot);
}

/* This machine's id in the queue's records: constant for the process.
 * Returns a string owned by this file. */
const char *dt__rhost_id(void) {
  pthread_once(&host_once, make_host_id);
  return host_id;
}
