/* redis_ping.c: a raw Redis round trip, the limit of any Redis backend.
 *
 * Usage: redis_ping ADDRESS ROUNDS
 * ADDRESS is a unix socket (a path with a '/') or HOST:PORT (TCP).  One
 * connection (hiredis, blocking), an untimed warm-up of ROUNDS / 10 PINGs
 * (at least 100), then ROUNDS PINGs timed one by one with clock_gettime;
 * every reply must be +PONG.  Prints p50, p99 and p99.9 of the round trip
 * in microseconds, one "KEY VALUE" line each (p50, p99, p999), as the
 * other bench programs do.  ROUNDS 0 only connects and checks one PING:
 * bench/run.sh waits for its server that way.  The connect and every
 * reply are bounded (5 s): a stuck server makes it fail, never hang.
 * Exit status: 0, or 1 with a message on stderr. */
#include "bench.h"
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

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

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: redis_ping SOCKET_PATH|HOST:PORT ROUNDS\n");
    return 1;
  }
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
  long warm = rounds / 10 < 100 ? 100 : rounds / 10;
  for (long i = 0; i < warm; i++)
    if (ping(c, addr) != 0) {
      redisFree(c);
      return 1;
    }
  double *t = malloc((size_t)rounds * sizeof *t);
  if (!t) {
    fprintf(stderr, "redis_ping: out of memory\n");
    redisFree(c);
    return 1;
  }
  for (long i = 0; i < rounds; i++) {
    double a = bench_now();
    if (ping(c, addr) != 0) {
      free(t);
      redisFree(c);
      return 1;
    }
    t[i] = bench_now() - a;
  }
  redisFree(c);
  size_t n = (size_t)rounds;
  qsort(t, n, sizeof *t, bench_cmp);
  printf("p50 %.2f\np99 %.2f\np999 %.2f\n", bench_quantile(t, n, 0.5) / 1e3,
         bench_quantile(t, n, 0.99) / 1e3, bench_quantile(t, n, 0.999) / 1e3);
  free(t);
  return 0;
}
