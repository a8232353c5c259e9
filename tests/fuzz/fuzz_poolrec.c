/* fuzz_poolrec.c: the fuzz harness of a pool's status record
 * (runner/poolstat.c), untrusted text that `dtask status` reads from the
 * queue (Redis: the hash P:status; queue/redis_status.c hands each value
 * to the parser with its length).
 *
 * The input is one record, data[0, size), parsed with dt__poolrec_parse
 * as runner/status.c does.  A refusal must be -EPROTO (or -ENOMEM).  A
 * record it accepts is used as status uses one (the quantiles of every
 * entry's histogram), then written back with dt__poolrec_build as a
 * supervisor writes its own, and that record must parse again to the
 * same pool: the same numbers, names, workers and entries (the writer
 * and the reader must agree, or status would misread a pool).  Known
 * bug, checked only with DTASK_FUZZ_STRICT=1 (tests/fuzz/fuzz.h): the
 * writer writes an empty host, image or program ("host " alone), which
 * the reader refuses, so such a record is not written back
 * (tests/fuzz/crashes/poolrec/).  The
 * decoded records live in static storage (a dt__pool_info is over a
 * megabyte); nothing is left allocated.  Dictionary:
 * tests/fuzz/poolrec.dict; corpus: tests/fuzz/corpus/poolrec/. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* Parses data[0, size) as a pool's record, uses it, writes it back and
 * parses that again; both readings must agree.  Always returns 0. */
int dt__fuzz_poolrec(const uint8_t *data, size_t size) {
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
  if (!dt__fuzz_strict() &&
      (poolrec_a.host[0] == '\0' || poolrec_a.image[0] == '\0' ||
       poolrec_a.program[0] == '\0'))
    return 0; /* the known bug above */
  int n = dt__poolrec_build(&poolrec_a, poolrec_buf, sizeof poolrec_buf);
  if (n == -E2BIG)
    return 0;
  dt__fuzz_check(n > 0 && (size_t)n < sizeof poolrec_buf,
                 "a record that cannot be written back");
  rc = dt__poolrec_parse(poolrec_buf, (size_t)n, &poolrec_b);
  dt__fuzz_check(rc == 0, "a record written back that the reader refuses");
  dt__fuzz_check(poolrec_same(&poolrec_a, &poolrec_b),
                 "a record written back that reads as another pool");
  return 0;
}

#ifdef DT_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  return dt__fuzz_poolrec(data, size);
}
#endif
