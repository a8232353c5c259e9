/* redisfx.h: the fixture the Redis queue's tests share (test_redis.c,
 * test_redis_sweep.c, test_redis_limits.c): a real redis-server per
 * test, started by the setup on a unix socket in a private directory
 * under /tmp (no persistence; setup_parts: a server that takes at most
 * 1 MiB in one value) and killed by the teardown, which removes the
 * directory; the queue opened on it (f->q), and a raw hiredis connection
 * of the test (f->raw) on which the server's own view (keys, pending
 * entries) is read and planted; records of plain strings (an encoder, a
 * reader of answers, submit), a claim in a forked child and one by
 * another host's worker on the raw connection.  A child never calls a
 * cmocka assertion: it reports through its exit status.  redis-server
 * must be installed (tools/deps.sh installs it); a test that cannot
 * start it fails.  Include it after <cmocka.h>, <hiredis/hiredis.h>,
 * queue/queue.h and testutil.h. */
#ifndef DT_TESTS_REDISFX_H
#define DT_TESTS_REDISFX_H

#define MS 1000000ull

/* ---------------------------------------------------------- fixture */

typedef struct fx {
  char root[64];
  char sock[100];
  pid_t server;
  dt__config *cfg;
  dt__queue *q;
  redisContext *raw;
} fx;

static inline void msleep(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs a command on the test's raw connection; returns the reply. */
static inline redisReply *raw(fx *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(f->raw, fmt, ap);
  va_end(ap);
  if (r == NULL)
    fail_msg("raw command %s failed: %s", fmt, f->raw->errstr);
  return r;
}

static inline long long raw_int(fx *f, const char *fmt, const char *arg) {
  redisReply *r = raw(f, fmt, arg);
  long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  freeReplyObject(r);
  return v;
}

static inline long long dbsize(fx *f) {
  redisReply *r = raw(f, "DBSIZE");
  long long v = r->integer;
  freeReplyObject(r);
  return v;
}

/* The server's proto-max-bulk-len for the next setup ("": its default,
 * 512 MiB); setup_parts sets "1mb", the least it takes. */
static const char *bulk_limit = "";

static inline int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  snprintf(f->root, sizeof f->root, "/tmp/dtask-redis-XXXXXX");
  assert_non_null(mkdtemp(f->root));
  snprintf(f->sock, sizeof f->sock, "%s/redis.sock", f->root);
  f->server = fork();
  assert_true(f->server >= 0);
  if (f->server == 0) {
    int dn = open("/dev/null", 0);
    dup2(dn, 1);
    dup2(dn, 2);
    if (bulk_limit[0] != '\0')
      execlp("redis-server", "redis-server", "--port", "0", "--unixsocket",
             f->sock, "--save", "", "--appendonly", "no", "--dir", f->root,
             "--proto-max-bulk-len", bulk_limit, (char *)NULL);
    else
      execlp("redis-server", "redis-server", "--port", "0", "--unixsocket",
             f->sock, "--save", "", "--appendonly", "no", "--dir", f->root,
             (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 200 && f->raw == NULL; i++) {
    redisContext *c = redisConnectUnix(f->sock);
    if (c != NULL && c->err == 0)
      f->raw = c;
    else {
      if (c != NULL)
        redisFree(c);
      msleep(10);
    }
  }
  if (f->raw == NULL)
    fail_msg("redis-server did not start on %s (is it installed? "
             "tools/deps.sh installs it)", f->sock);
  parse_ok("[runner]\nworkers = 1\n", &f->cfg);
  snprintf(f->cfg->backend, sizeof f->cfg->backend, "redis");
  snprintf(f->cfg->queue_path, sizeof f->cfg->queue_path, "%s/q", f->root);
  snprintf(f->cfg->redis.path, sizeof f->cfg->redis.path, "%s", f->sock);
  dt__error err = {0, 0, ""};
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  if (rc != 0)
    fail_msg("open: %d %s", rc, err.msg);
  *state = f;
  return 0;
}

static inline int teardown(void **state) {
  fx *f = *state;
  dt__queue_close(f->q);
  dt__config_free(f->cfg);
  if (f->raw != NULL)
    redisFree(f->raw);
  kill(f->server, SIGKILL);
  waitpid(f->server, NULL, 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->root);
  if (system(cmd) != 0)
    return -1;
  free(f);
  return 0;
}

/* setup with a server that takes at most 1 MiB in one value. */
static inline int setup_parts(void **state) {
  bulk_limit = "1mb";
  int rc = setup(state);
  bulk_limit = "";
  return rc;
}

/* ---------------------------------------------------------- records */

/* The encoder: writes ctx's string. */
static inline int enc_str(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
  (void)id;
  memcpy(buf, ctx, size);
  return 0;
}

typedef struct got {
  char text[64];
  int from;
} got;

/* The reader: keeps the answer's text and who stored it. */
static inline int apply_got(void *ctx, const uint8_t *rec, size_t size,
                            int from) {
  got *g = ctx;
  snprintf(g->text, sizeof g->text, "%.*s", (int)size, (const char *)rec);
  g->from = from;
  return 0;
}

static inline uint64_t submit(fx *f, uint32_t slot, const char *s) {
  uint64_t id;
  int rc = dt__queue_submit(f->q, strlen(s), enc_str, (void *)s, slot, &id);
  if (rc != 0)
    fail_msg("submit: %d", rc);
  return id;
}

/* In a forked child (no cmocka there): opens its own handle of f's
 * queue and claims one task within 2 s.  Returns the claim's result, with
 * the call's id in *cid; the record is left to the child's exit. */
static inline int child_claim(fx *f, uint64_t *cid) {
  dt__queue *q;
  dt__error err;
  uint8_t *rec;
  size_t size;
  if (dt__queue_open(f->cfg, &q, &err) != 0)
    return -1;
  return dt__queue_claim(q, &rec, &size, cid, 2000 * MS);
}

/* Has consumer (another host's worker, as the server names it) claim the
 * oldest task on the test's raw connection; its stream entry id goes
 * into entry (cap bytes). */
static inline void raw_claim(fx *f, const char *consumer, char *entry,
                             size_t cap) {
  redisReply *r = raw(f, "XREADGROUP GROUP w %s COUNT 1 STREAMS "
                         "dtask:{q}:tasks >", consumer);
  assert_int_equal(r->type, REDIS_REPLY_ARRAY);
  snprintf(entry, cap, "%s",
           r->element[0]->element[1]->element[0]->element[0]->str);
  freeReplyObject(r);
}

/* n bytes that differ from one MiB to the next (a part out of place
 * shows), malloc'd. */
static inline uint8_t *pattern(size_t n, unsigned seed) {
  uint8_t *p = malloc(n);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)(i * 31 + (i >> 20) * 7 + seed);
  return p;
}

/* ----------------------------------------------- the callers' trips */

#define TRIPS_KEY "dtask:{q}:trips"

/* A field of the trips hash as the server holds it ("" when missing). */
static inline void raw_hget(fx *f, const char *field, char *out, size_t cap) {
  redisReply *r = raw(f, "HGET " TRIPS_KEY " %s", field);
  snprintf(out, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
  freeReplyObject(r);
}

#endif /* DT_TESTS_REDISFX_H */
