/* test_poolstat.c: the pool status record (runner/poolstat.c).
 *
 * A record built from a pool's numbers parses back to the same numbers;
 * quantiles come from the histogram; and since a record read from a
 * Redis server is untrusted, records that are not well formed are
 * refused (a wrong first line, a bucket past the last, a name with a
 * control byte, a count that is not a number), and every truncation and
 * thousands of random byte changes of a good record are parsed without
 * a crash (ASan in make check-asan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"
#include "runner/poolstat.h"
#include "testutil.h"

/* A pool of 3 workers, one busy, two entries with counts and run times. */
static dt__pool_info *sample(void) {
  dt__pool_info *p = calloc(1, sizeof *p);
  assert_non_null(p);
  p->pid = 4242;
  strcpy(p->host, "host-a");
  strcpy(p->image, "prog-0123456789abcdef");
  strcpy(p->program, "prog");
  p->started_ms = 1700000000000ull;
  p->updated_ms = 1700000005000ull;
  p->workers = 3;
  p->alive = 3;
  p->swept = 7;
  p->reclaimed = 3;
  p->nw = 3;
  for (int i = 0; i < 3; i++) {
    p->w[i].index = i;
    p->w[i].pid = 5000 + i;
  }
  p->w[1].call = 99;
  p->w[1].entry = 1;
  p->w[1].ms = 1500;
  strcpy(p->w[1].caller, "host-b:777");
  p->nsym = 2;
  strcpy(p->sym[0].symbol, "f_add");
  p->sym[0].calls = 100;
  p->sym[0].errors = 2;
  p->sym[0].exec[dt__hist_bucket(10000)] = 98; /* 10 us */
  p->sym[1].entry = 1;
  strcpy(p->sym[1].symbol, "f_slow");
  p->sym[1].calls = 3;
  p->sym[1].crashes = 1;
  p->sym[1].timeouts = 1;
  p->sym[1].exec[dt__hist_bucket(2000000000ull)] = 3; /* 2 s */
  return p;
}

static void test_round_trip(void **state) {
  (void)state;
  dt__pool_info *p = sample(), *q = calloc(1, sizeof *q);
  char *buf = malloc(DT__POOLREC_MAX);
  assert_non_null(q);
  assert_non_null(buf);
  int n = dt__poolrec_build(p, buf, DT__POOLREC_MAX);
  assert_true(n > 0);
  assert_int_equal(dt__poolrec_parse(buf, (size_t)n, q), 0);
  assert_int_equal(q->pid, 4242);
  assert_string_equal(q->host, "host-a");
  assert_string_equal(q->image, "prog-0123456789abcdef");
  assert_int_equal(q->workers, 3);
  assert_int_equal(q->alive, 3);
  assert_int_equal(q->swept, 7);
  assert_int_equal(q->reclaimed, 3);
  assert_int_equal(q->nw, 3);
  assert_int_equal(q->w[1].call, 99);
  assert_int_equal(q->w[1].ms, 1500);
  assert_string_equal(q->w[1].caller, "host-b:777");
  assert_string_equal(q->w[0].caller, "");
  assert_int_equal(q->nsym, 2);
  assert_memory_equal(q->sym, p->sym, 2 * sizeof p->sym[0]);
  /* Quantiles within a bucket (3%) of the value. */
  uint64_t p50 = dt__hist_quantile(q->sym[0].exec, 0.5);
  assert_true(p50 >= 10000 && p50 <= 10400);
  uint64_t s99 = dt__hist_quantile(q->sym[1].exec, 0.99);
  assert_true(s99 >= 2000000000ull && s99 <= 2070000000ull);
  /* Every bucket has a value (UBSan: no shift past 63), in order. */
  for (int k = 1; k < DT__HIST_BUCKETS; k++)
    assert_true(dt__hist_value(k) >= dt__hist_value(k - 1));
  assert_true(dt__hist_value(dt__hist_bucket(UINT64_MAX)) >= UINT64_MAX / 2);
  uint64_t none[DT__HIST_BUCKETS] = {0};
  assert_int_equal(dt__hist_quantile(none, 0.5), 0);
  /* Too small a buffer is said, not overrun. */
  assert_int_equal(dt__poolrec_build(p, buf, 64), -E2BIG);
  free(buf);
  free(q);
  free(p);
}

/* Parses text (a C string) into a scratch pool_info. */
static int parse(const char *text) {
  dt__pool_info *q = malloc(sizeof *q);
  assert_non_null(q);
  int rc = dt__poolrec_parse(text, strlen(text), q);
  free(q);
  return rc;
}

/* Names a record cannot hold as they are (found by the pool record
 * fuzzer): a program named "my report", with UTF-8 or a newline in its
 * name, and an empty host.  The record still reads back (before, status
 * dropped it, and a newline added a line of its own), with '_' for each
 * such byte and "-" for the empty name. */
static void test_odd_names(void **state) {
  (void)state;
  dt__pool_info *p = sample(), *q = calloc(1, sizeof *q);
  assert_non_null(q);
  strcpy(p->program, "my report\nswept 99");
  strcpy(p->image, "r\xc3\xa9sum\xc3\xa9");
  p->host[0] = '\0';
  char *buf = malloc(DT__POOLREC_MAX);
  assert_non_null(buf);
  int n = dt__poolrec_build(p, buf, DT__POOLREC_MAX);
  assert_true(n > 0);
  assert_int_equal(dt__poolrec_parse(buf, (size_t)n, q), 0);
  assert_string_equal(q->program, "my_report_swept_99");
  assert_string_equal(q->image, "r__sum__");
  assert_string_equal(q->host, "-");
  assert_int_equal(q->swept, 7); /* the name added no line */
  assert_int_equal(q->nw, 3);
  assert_int_equal(q->nsym, 2);
  free(buf);
  free(p);
  free(q);
}

static void test_refuses_malformed(void **state) {
  (void)state;
  assert_int_equal(parse("dtask-pool 1\npid 3\n"), 0);
  assert_int_equal(parse("dtask-pool 1\nnew-key whatever\n"), 0);
  assert_int_equal(parse("dtask-pool 2\npid 3\n"), -EPROTO);
  assert_int_equal(parse("pid 3\n"), -EPROTO);
  assert_int_equal(parse(""), -EPROTO);
  assert_int_equal(parse("dtask-pool 1\npid x\n"), -EPROTO);
  assert_int_equal(parse("dtask-pool 1\nhost a\x1b[2Jb\n"), -EPROTO);
  assert_int_equal(parse("dtask-pool 1\ns 0 f 1 0 0 0 99999:1\n"), -EPROTO);
  assert_int_equal(parse("dtask-pool 1\ns 0 f 1 0 0 0 5:\n"), -EPROTO);
  assert_int_equal(parse("dtask-pool 1\ns 0 f 1 0 0 0 5:1,\n"), 0);
  assert_int_equal(parse("dtask-pool 1\nw 0 1 2 3 4\n"), -EPROTO);
  assert_int_equal(parse("dtask-pool 1\nw 0 1 2 3 4 a\"b\n"), -EPROTO);
}

static void test_mutations_do_not_crash(void **state) {
  (void)state;
  dt__pool_info *p = sample(), *q = malloc(sizeof *q);
  char *buf = malloc(DT__POOLREC_MAX), *m = malloc(DT__POOLREC_MAX);
  assert_non_null(q);
  int n = dt__poolrec_build(p, buf, DT__POOLREC_MAX);
  assert_true(n > 0);
  for (int cut = 0; cut <= n; cut++)
    (void)dt__poolrec_parse(buf, (size_t)cut, q);
  srand(7);
  int ok = 0;
  for (int i = 0; i < 5000; i++) {
    memcpy(m, buf, (size_t)n);
    for (int k = 0; k < 1 + rand() % 4; k++)
      m[rand() % n] = (char)(rand() % 256);
    if (dt__poolrec_parse(m, (size_t)n, q) == 0) {
      ok++;
      assert_true(q->nw <= DT__POOLREC_WORKERS);
      assert_true(q->nsym <= DT__STAT_ENTRIES);
      assert_true(strlen(q->host) < sizeof q->host);
    }
  }
  assert_true(ok > 0); /* some changes (a digit for a digit) still parse */
  free(m);
  free(buf);
  free(q);
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_odd_names),
      cmocka_unit_test(test_refuses_malformed),
      cmocka_unit_test(test_mutations_do_not_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
