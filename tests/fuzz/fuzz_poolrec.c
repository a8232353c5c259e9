/* fuzz_poolrec.c: the fuzz harness of a pool's status record
 * (runner/poolstat.c), untrusted text that `dtask status` reads from the
 * queue (Redis: the hash P:status; queue/redis_status.c hands each value
 * to the parser with its length), and that a supervisor writes.
 *
 * An input that starts with 'd' is one record, data[0, size), parsed
 * with dt__poolrec_parse as runner/status.c does.  A refusal must be
 * -EPROTO (or -ENOMEM).  A record it accepts is used as status uses one
 * (the quantiles of every entry's histogram), then written back with
 * dt__poolrec_build as a supervisor writes its own, and that record must
 * parse again to the same pool: the same numbers, names, workers and
 * entries (the writer and the reader must agree, or status would misread
 * a pool).
 *
 * Any other input is a supervisor's pool, written first (the writer's
 * side, runner/supervisor.c, publish): data[0] is its number of workers
 * (modulo 4), the rest up to a NUL its program's name, which is the base
 * name of its executable (dt__image_self: any bytes but '/' and NUL, cut
 * to 63), its image the queue name made from it (dt__image_queue_name),
 * its host a host id as dt__rhost_id makes one.  The record written must
 * parse to the same pool.
 *
 * Names are compared as the writer must write them: each byte the reader
 * does not take as '_', an empty name as "-".  (This harness found the
 * writer writing them as they were, which the reader refused, so that
 * `dtask status` dropped the pool of a program named "my report"; its
 * inputs are now in the corpus, crash-*.)
 *
 * The decoded records live in static storage (a dt__pool_info is over a
 * megabyte); nothing is left allocated.  Dictionary:
 * tests/fuzz/poolrec.dict; corpus: tests/fuzz/corpus/poolrec/. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/image.h"
#include "runner/poolstat.h"
#include "fuzz/fuzz.h"

/* The two decodings compared, and the record written between them. */
static dt__pool_info poolrec_a, poolrec_b;
static char poolrec_buf[DT__POOLREC_MAX + 1];

/* Whether a and b describe the same pool. */
static bool poolrec_same(const dt__pool_info *a, const dt__pool_info *b) {
  if (a->pid != b->pid || strcmp(a->host, b->host) != 0 ||
      strcmp(a->image, b->image) != 0 || strcmp(a->program, b->program) != 0 ||
      a->started_ms != b->started_ms || a->updated_ms != b->updated_ms ||
      a->workers != b->workers || a->alive != b->alive ||
      a->swept != b->swept || a->reclaimed != b->reclaimed ||
      a->nw != b->nw || a->nsym != b->nsym)
    return false;
  for (int i = 0; i < a->nw; i++) {
    const dt__pw *x = &a->w[i], *y = &b->w[i];
    if (x->index != y->index || x->pid != y->pid || x->call != y->call ||
        x->entry != y->entry || x->ms != y->ms ||
        strcmp(x->caller, y->caller) != 0)
      return false;
  }
  for (int i = 0; i < a->nsym; i++) {
    const dt__psym *x = &a->sym[i], *y = &b->sym[i];
    if (x->entry != y->entry || strcmp(x->symbol, y->symbol) != 0 ||
        x->calls != y->calls || x->errors != y->errors ||
        x->crashes != y->crashes || x->timeouts != y->timeouts ||
        memcmp(x->exec, y->exec, sizeof x->exec) != 0)
      return false;
  }
  return true;
}

/* s as the writer must write it (the promise of runner/poolstat.c,
 * written out here again as the oracle): each byte outside
 * [A-Za-z0-9_.:@/+-] as '_', "-" for an empty name. */
static void poolrec_as_written(char *s) {
  if (s[0] == '\0') {
    strcpy(s, "-");
    return;
  }
  for (; *s != '\0'; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || strchr("_.:@/+-", *s) != NULL))
      *s = '_';
}

/* Writes poolrec_a as a record, parses it into poolrec_b, and checks
 * that both are the same pool, poolrec_a's names as the writer must
 * write them. */
static void poolrec_back(void) {
  int n = dt__poolrec_build(&poolrec_a, poolrec_buf, sizeof poolrec_buf);
  poolrec_as_written(poolrec_a.host);
  poolrec_as_written(poolrec_a.image);
  poolrec_as_written(poolrec_a.program);
  if (n == -E2BIG)
    return;
  dt__fuzz_check(n > 0 && (size_t)n < sizeof poolrec_buf,
                 "a record that cannot be written back");
  int rc = dt__poolrec_parse(poolrec_buf, (size_t)n, &poolrec_b);
  dt__fuzz_check(rc == 0, "a record written back that the reader refuses");
  dt__fuzz_check(poolrec_same(&poolrec_a, &poolrec_b),
                 "a record written back that reads as another pool");
}

/* The writer's side: the pool data describes (see the file comment),
 * written and read back. */
static void poolrec_writer(const uint8_t *data, size_t size) {
  memset(&poolrec_a, 0, sizeof poolrec_a);
  size_t n = 0;
  while (1 + n < size && data[1 + n] != '\0' &&
         n < sizeof poolrec_a.program - 1)
    n++;
  if (n == 0)
    return; /* a file's name is never empty */
  for (size_t i = 0; i < n; i++)
    if (data[1 + i] == '/')
      return; /* a base name has none */
  memcpy(poolrec_a.program, data + 1, n);
  dt__objid id = {0x0123456789abcdefull, 'b', "0123456789abcdef"};
  if (dt__image_queue_name(&id, poolrec_a.program, poolrec_a.image,
                           sizeof poolrec_a.image) != 0)
    return;
  snprintf(poolrec_a.host, sizeof poolrec_a.host, "build-host-1a2b3c4d");
  poolrec_a.pid = 4242;
  poolrec_a.started_ms = 1700000000000ull;
  poolrec_a.updated_ms = 1700000001000ull;
  poolrec_a.workers = poolrec_a.alive = poolrec_a.nw = data[0] % 4;
  for (int i = 0; i < poolrec_a.nw; i++) {
    poolrec_a.w[i].index = i;
    poolrec_a.w[i].pid = 4243 + i;
    poolrec_a.w[i].call = (uint64_t)i * 7;
    snprintf(poolrec_a.w[i].caller, sizeof poolrec_a.w[i].caller,
             i % 2 ? "build-host-1a2b3c4d:999" : "");
  }
  poolrec_a.nsym = 1;
  snprintf(poolrec_a.sym[0].symbol, sizeof poolrec_a.sym[0].symbol,
           "build_report");
  poolrec_a.sym[0].calls = 3;
  poolrec_a.sym[0].exec[640] = 3;
  poolrec_back();
}

/* A record (data starts with 'd') parsed, used, written back and parsed
 * again, both readings the same; or a supervisor's pool written and read
 * back.  Always returns 0. */
int dt__fuzz_poolrec(const uint8_t *data, size_t size) {
  if (size > 0 && data[0] != 'd') {
    poolrec_writer(data, size);
    return 0;
  }
  int rc = dt__poolrec_parse((const char *)data, size, &poolrec_a);
  if (rc != 0) {
    dt__fuzz_check(rc == -EPROTO || rc == -ENOMEM,
                   "a refusal that is not -EPROTO");
    return 0;
  }
  dt__fuzz_check(poolrec_a.nw >= 0 && poolrec_a.nw <= DT__POOLREC_WORKERS &&
                     poolrec_a.nsym >= 0 &&
                     poolrec_a.nsym <= DT__STAT_ENTRIES,
                 "more workers or entries than a record holds");
  for (int i = 0; i < poolrec_a.nsym; i++) {
    uint64_t p50 = dt__hist_quantile(poolrec_a.sym[i].exec, 0.5);
    uint64_t p99 = dt__hist_quantile(poolrec_a.sym[i].exec, 0.99);
    dt__fuzz_check(p50 <= p99, "a median above the 99th percentile");
  }
  poolrec_back();
  return 0;
}

DT__FUZZ_ENTRY(dt__fuzz_poolrec)
