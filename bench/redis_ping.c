/* redis_ping.c: raw Redis round trips, the limits of any Redis backend.
 *
 * Usage: redis_ping ADDRESS ROUNDS [relay]
 * ADDRESS is a unix socket (a path with a '/') or HOST:PORT (TCP).  One
 * connection (hiredis, blocking), an untimed warm-up of ROUNDS / 10
 * rounds (at least 100), then ROUNDS rounds timed one by one with
 * clock_gettime.  Prints p50, p99 and p99.9 of a round in microseconds,
 * one "KEY VALUE" line each (p50, p99, p999), as the other bench
 * programs do.
 *
 * A round is a PING (every reply must be +PONG): one message to the
 * server and back, the limit of one command.  With "relay", a round is
 * the least a call through a broker costs: a forked child plays the
 * worker, blocked in XREAD on a request stream; the round sends XADD of
 * a request and a blocking XREAD of the reply stream in one write, the
 * child answers with XADD of the reply and its next XREAD in one write
 * (as dtask's caller and worker pipeline theirs), and the reply must
 * carry the request's number.  Two messages through the server, four
 * wake-ups, no script: a backend that also checks owners and leases can
 * only come near it.  Its keys (relay:PID:req, relay:PID:rep) are
 * deleted at the end.
 *
 * ROUNDS 0 only connects and checks one PING: bench/run.sh waits for its
 * server that way.  The connect and every reply are bounded (5 s): a
 * stuck server makes it fail, never hang.  Exit status: 0, or 1 with a
 * message on stderr. */
#include "bench.h"
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct timeval LIMIT = {5, 0};

static redisContext *connect_to(const char *addr) {
  if (strchr(addr, '/'))
    return redisConnectUnixWithTimeout(addr, LIMIT);
  const char *colon = strrchr(addr, ':');
  if (!colon || colon == addr || !colon[1]) {
    fprintf(stderr, "redis_ping: '%s' is neither a socket path nor HOST:PORT\n", addr);
    return NULL;
  }
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 1 || port > 65535) {
    fprintf(stderr, "redis_ping: bad port in '%s'\n", addr);
    return NULL;
  }
  char host[256];
  size_t n = (size_t)(colon - addr);
  if (n >= sizeof host) {
    fprintf(stderr, "redis_ping: host name too long in '%s'\n", addr);
    return NULL;
  }
  memcpy(host, addr, n);
  host[n] = '\0';
  return redisConnectWithTimeout(host, (int)port, LIMIT);
}

/* One PING; 0 when the answer is PONG, else -1 with a message. */
static int ping(redisContext *c, const char *addr) {
  redisReply *r = redisCommand(c, "PING");
  if (!r) {
    fprintf(stderr, "redis_ping: PING to %s: %s\n", addr,
            c->errstr[0] ? c->errstr : "no reply");
    return -1;
  }
  int ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
  if (!ok)
    fprintf(stderr, "redis_ping: PING to %s answered %s\n", addr,
            r->type == REDIS_REPLY_ERROR ? r->str : "something else than PONG");
  freeReplyObject(r);
  return ok ? 0 : -1;
}

/* The reply r of an XREAD of one stream: its only entry's id into id
 * (cap bytes) and its field v's value into v (cap bytes).  0, or -1. */
static int entry(const redisReply *r, char *id, char *v, size_t cap) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 1)
    return -1;
  const redisReply *s = r->element[0];
  if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
      s->element[1]->type != REDIS_REPLY_ARRAY || s->element[1]->elements != 1)
    return -1;
  const redisReply *e = s->element[1]->element[0];
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
      e->element[0]->type != REDIS_REPLY_STRING ||
      e->element[1]->type != REDIS_REPLY_ARRAY || e->element[1]->elements != 2 ||
      e->element[1]->element[1]->type != REDIS_REPLY_STRING ||
      e->element[0]->len >= cap || e->element[1]->element[1]->len >= cap)
    return -1;
  snprintf(id, cap, "%s", e->element[0]->str);
  snprintf(v, cap, "%s", e->element[1]->element[1]->str);
  return 0;
}

/* Appends a blocking read of key after id (BLOCK 5 s). */
static void append_read(redisContext *c, const char *key, const char *id) {
  redisAppendCommand(c, "XREAD COUNT 1 BLOCK 5000 STREAMS %s %s", key, id);
}

/* The relay's worker, in the child: answers every request with its
 * number until the parent dies or a read fails.  Never returns. */
static void relay_worker(const char *addr, const char *req, const char *rep) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  redisContext *c = connect_to(addr);
  if (!c || c->err)
    _exit(1);
  char last[64] = "0-0", v[64];
  append_read(c, req, last);
  for (;;) {
    redisReply *r;
    if (redisGetReply(c, (void **)&r) != REDIS_OK)
      _exit(1);
    if (r->type == REDIS_REPLY_NIL) { /* BLOCK ran out: read again */
      freeReplyObject(r);
      append_read(c, req, last);
      continue;
    }
    if (entry(r, last, v, sizeof last) != 0)
      _exit(1);
    freeReplyObject(r);
    redisAppendCommand(c, "XADD %s MAXLEN ~ 1000 * v %s", rep, v);
    append_read(c, req, last);
    if (redisGetReply(c, (void **)&r) != REDIS_OK) /* XADD's id */
      _exit(1);
    freeReplyObject(r);
  }
}

/* One relay round, number i: the request and the read of its reply in
 * one write; last is the reply stream's last id (updated).  0, or -1
 * with a message. */
static int relay(redisContext *c, const char *req, const char *rep,
                 char *last, long i) {
  char want[24], v[64];
  snprintf(want, sizeof want, "%ld", i);
  redisAppendCommand(c, "XADD %s MAXLEN ~ 1000 * v %s", req, want);
  append_read(c, rep, last);
  redisReply *a = NULL, *b = NULL;
  int ok = redisGetReply(c, (void **)&a) == REDIS_OK &&
           a->type == REDIS_REPLY_STRING &&
           redisGetReply(c, (void **)&b) == REDIS_OK &&
           entry(b, last, v, 64) == 0 && strcmp(v, want) == 0;
  if (!ok)
    fprintf(stderr, "redis_ping: relay round %ld: %s\n", i,
            c->errstr[0] ? c->errstr : "a wrong or missing reply");
  if (a)
    freeReplyObject(a);
  if (b)
    freeReplyObject(b);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc != 3 && !(argc == 4 && strcmp(argv[3], "relay") == 0)) {
    fprintf(stderr, "usage: redis_ping SOCKET_PATH|HOST:PORT ROUNDS [relay]\n");
    return 1;
  }
  int is_relay = argc == 4;
  char *end;
  long rounds = strtol(argv[2], &end, 10);
  if (*end || rounds < 0 || rounds > 100000000) {
    fprintf(stderr, "redis_ping: ROUNDS must be 0 to 100000000, not '%s'\n", argv[2]);
    return 1;
  }
  const char *addr = argv[1];
  redisContext *c = connect_to(addr);
  if (!c)
    return 1;
  if (c->err) {
    fprintf(stderr, "redis_ping: cannot connect to %s: %s\n", addr, c->errstr);
    redisFree(c);
    return 1;
  }
  if (redisSetTimeout(c, LIMIT) != REDIS_OK) {
    fprintf(stderr, "redis_ping: cannot set a timeout on %s\n", addr);
    redisFree(c);
    return 1;
  }
  if (ping(c, addr) != 0) {
    redisFree(c);
    return 1;
  }
  if (rounds == 0) {
    redisFree(c);
    return 0;
  }
  char req[64], rep[64], last[64] = "0-0";
  snprintf(req, sizeof req, "relay:%d:req", (int)getpid());
  snprintf(rep, sizeof rep, "relay:%d:rep", (int)getpid());
  pid_t worker = -1;
  if (is_relay) {
    freeReplyObject(redisCommand(c, "DEL %s %s", req, rep));
    worker = fork();
    if (worker == 0)
      relay_worker(addr, req, rep);
    if (worker < 0) {
      perror("redis_ping: fork");
      redisFree(c);
      return 1;
    }
  }
  long warm = rounds / 10 < 100 ? 100 : rounds / 10;
  double *t = malloc((size_t)rounds * sizeof *t);
  int rc = t ? 0 : -1;
  if (!t)
    fprintf(stderr, "redis_ping: out of memory\n");
  for (long i = -warm; rc == 0 && i < rounds; i++) {
    double a = bench_now();
    rc = is_relay ? relay(c, req, rep, last, i) : ping(c, addr);
    if (i >= 0)
      t[i] = bench_now() - a;
  }
  if (is_relay) {
    kill(worker, SIGKILL);
    waitpid(worker, NULL, 0);
    redisReply *d = redisCommand(c, "DEL %s %s", req, rep);
    if (d)
      freeReplyObject(d);
  }
  redisFree(c);
  if (rc != 0) {
    free(t);
    return 1;
  }
  size_t n = (size_t)rounds;
  qsort(t, n, sizeof *t, bench_cmp);
  printf("p50 %.2f\np99 %.2f\np999 %.2f\n", bench_quantile(t, n, 0.5) / 1e3,
         bench_quantile(t, n, 0.99) / 1e3, bench_quantile(t, n, 0.999) / 1e3);
  free(t);
  return 0;
}
