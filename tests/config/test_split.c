/* test_split.c: unit tests of fan-out (split.c) and of the wire's
 * references to bytes stored once (wire.c).
 *
 * The split keys go through dt__config_parse: which buffers are sliced
 * and which are common, and every refusal with its line and column.  The
 * slicing arithmetic covers chunk, chunks, the one-per-worker default and
 * min_split; the aggregates fold real return values (min and max
 * byte-identical to the loop `if (x > m) m = x` over the slices in
 * order, with +0.0/-0.0 ties, NaNs and integer ties); a task that refers
 * to stored bytes decodes to the same frame as one that carries them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/config.h"
#include "config/sig.h"
#include "config/split.h"
#include "config/types.h"
#include "queue/wire.h"
#include "testutil.h"

static dt__error err;

static dt__config *one(const char *text) {
  dt__config *cfg = NULL;
  parse_ok(text, &cfg);
  return cfg;
}

static void test_split_read(void **state) {
  (void)state;
  dt__config *cfg = one(
      "[types]\nitem = { size = 16, align = 8 }\n"
      "[[offload]]\n"
      "signature = \"int score(in item items[n], size_t n, in double w[m], "
      "size_t m, out double s[n*2], inout int tag[n])\"\n"
      "split = { over = \"n\", chunk = 64 }\n"
      "aggregate = \"sum\"\n"
      "min_split = 100\n");
  const dt__split *s = &cfg->offloads[0].split;
  assert_int_equal(s->enabled, 1);
  assert_int_equal(s->over, 1);
  assert_int_equal(s->chunk, 64);
  assert_int_equal(s->chunks, 0);
  assert_int_equal(s->min_split, 100);
  assert_int_equal(s->agg, DT__AGG_SUM);
  assert_int_equal(s->sliced[0], 1);
  assert_int_equal(s->common[2], 1); /* w[m]: stored once */
  assert_int_equal(s->sliced[2], 0);
  assert_int_equal(s->sliced[4], 1); /* s[n*2] */
  assert_int_equal(s->sliced[5], 1);
  dt__config_free(cfg);

  cfg = one("[[offload]]\nsignature = \"void v(inout int x[n], int n)\"\n"
            "split = { over = \"n\", chunks = 3 }\n");
  assert_int_equal(cfg->offloads[0].split.chunks, 3);
  assert_int_equal(cfg->offloads[0].split.agg, DT__AGG_NONE);
  dt__config_free(cfg);

  cfg = one("[[offload]]\nsignature = \"int f(int x)\"\n");
  assert_int_equal(cfg->offloads[0].split.enabled, 0);
  dt__config_free(cfg);
}

static void test_split_errors(void **state) {
  (void)state;
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n, out double y[4])\"\nsplit = { over = \"n\" }\n"
                   "aggregate = \"sum\"\n",
                   3, 18, "out buffer 'y' does not have 'n' in its length");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n, inout double y[4])\"\nsplit = { over = \"n\" }\n"
                   "aggregate = \"sum\"\n",
                   3, 18, "slices would overwrite each other");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = { over = \"k\" }\naggregate = \"sum\"\n",
                   3, 18, "no parameter named 'k'");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = { over = \"x\" }\naggregate = \"sum\"\n",
                   3, 18, "split over an integer parameter passed by value");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n, bool k)\"\nsplit = { over = \"k\" }\n"
                   "aggregate = \"sum\"\n",
                   3, 18, "split over an integer parameter passed by value");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n*n], "
                   "size_t n)\"\nsplit = { over = \"n\" }\n"
                   "aggregate = \"sum\"\n",
                   3, 18, "more than once");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[4], size_t "
                   "n)\"\nsplit = { over = \"n\" }\naggregate = \"sum\"\n",
                   3, 18, "nothing to split");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = { over = \"n\" }\n",
                   3, 9, "combine, e.g. aggregate = \"sum\"");
  assert_cfg_error("[[offload]]\nsignature = \"void f(in double x[n], size_t "
                   "n)\"\nsplit = { over = \"n\" }\naggregate = \"min\"\n",
                   4, 13, "a void function takes aggregate = \"none\"");
  assert_cfg_error("[[offload]]\nsignature = \"double f(in double x[n], "
                   "size_t n)\"\nsplit = { over = \"n\" }\n"
                   "aggregate = \"and\"\n",
                   4, 13, "need an integer return");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = { over = \"n\" }\naggregate = \"none\"\n",
                   4, 13, "say how the slices' return values combine");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = { over = \"n\" }\naggregate = \"avg\"\n",
                   4, 13, "must be one of \"sum\"");
  assert_cfg_error("[[offload]]\nsignature = \"cstring f(in double x[n], "
                   "size_t n)\"\nsplit = { over = \"n\" }\n",
                   3, 9, "returns a string");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = { over = \"n\", chunk = 4, chunks = 2 }\n"
                   "aggregate = \"sum\"\n",
                   3, 9, "gives both chunk and chunks");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = { over = \"n\", chunk = 0 }\n"
                   "aggregate = \"sum\"\n",
                   3, 31, "chunk must be a positive integer");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = { over = \"n\", size = 4 }\n"
                   "aggregate = \"sum\"\n",
                   3, 23, "unknown key 'size' in split");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = { chunk = 4 }\naggregate = \"sum\"\n",
                   3, 9, "does not say what to split over");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\naggregate = \"sum\"\n",
                   3, 1, "only means something with split");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in double x[n], size_t "
                   "n)\"\nsplit = \"n\"\n",
                   3, 9, "must be an inline table");
}

static void test_counts_and_starts(void **state) {
  (void)state;
  dt__split s;
  memset(&s, 0, sizeof s);
  s.enabled = 1;
  s.chunk = 64;
  assert_int_equal(dt__split_count(&s, 0, 4), 1);
  assert_int_equal(dt__split_count(&s, 1, 4), 1);
  assert_int_equal(dt__split_count(&s, 63, 4), 1);
  assert_int_equal(dt__split_count(&s, 64, 4), 1);
  assert_int_equal(dt__split_count(&s, 65, 4), 2);
  assert_int_equal(dt__split_count(&s, 643, 4), 11);
  assert_int_equal(dt__split_start(&s, 643, 11, 10), 640);
  assert_int_equal(dt__split_start(&s, 643, 11, 11), 643);
  s.chunk = 0;
  s.chunks = 3;
  assert_int_equal(dt__split_count(&s, 10, 4), 3);
  assert_int_equal(dt__split_count(&s, 2, 4), 2); /* never empty slices */
  /* Near-equal slices cover 0..n exactly, in order. */
  for (uint64_t n = 2; n < 200; n++) {
    uint64_t k = dt__split_count(&s, n, 4), prev = 0;
    assert_int_equal(dt__split_start(&s, n, k, 0), 0);
    for (uint64_t j = 1; j <= k; j++) {
      uint64_t st = dt__split_start(&s, n, k, j);
      assert_true(st > prev);
      assert_true(st - prev <= n / k + 1);
      prev = st;
    }
    assert_int_equal(prev, n);
  }
  /* Huge n does not overflow. */
  assert_int_equal(dt__split_start(&s, UINT64_MAX, 3, 2),
                   (uint64_t)((unsigned __int128)2 * UINT64_MAX / 3));
  s.chunks = 0; /* one slice per worker */
  assert_int_equal(dt__split_count(&s, 100, 8), 8);
  assert_int_equal(dt__split_count(&s, 5, 8), 5);
  assert_int_equal(dt__split_count(&s, 100, 0), 1);
  s.min_split = 50;
  assert_int_equal(dt__split_count(&s, 49, 8), 1);
  assert_int_equal(dt__split_count(&s, 50, 8), 8);
  s.enabled = 0;
  assert_int_equal(dt__split_count(&s, 100, 8), 1);
}

static void test_fold(void **state) {
  (void)state;
  dt__type i8, u32, dbl, i32;
  assert_int_equal(dt__type_lookup("int8", NULL, 0, &i8), 0);
  assert_int_equal(dt__type_lookup("uint32", NULL, 0, &u32), 0);
  assert_int_equal(dt__type_lookup("double", NULL, 0, &dbl), 0);
  assert_int_equal(dt__type_lookup("int", NULL, 0, &i32), 0);
  uint64_t acc = 0;
  /* sum wraps in the return type: int8 100 + 100 = -56. */
  dt__split_fold(DT__AGG_SUM, &i8, &acc, 100, 1);
  dt__split_fold(DT__AGG_SUM, &i8, &acc, 100, 0);
  assert_int_equal((int64_t)acc, -56);
  /* min/max: signed, unsigned and double comparisons. */
  dt__split_fold(DT__AGG_MIN, &i32, &acc, (uint64_t)-5, 1);
  dt__split_fold(DT__AGG_MIN, &i32, &acc, 3, 0);
  assert_int_equal((int64_t)acc, -5);
  dt__split_fold(DT__AGG_MAX, &u32, &acc, 7, 1);
  dt__split_fold(DT__AGG_MAX, &u32, &acc, 4000000000u, 0);
  dt__split_fold(DT__AGG_MAX, &u32, &acc, 9, 0);
  assert_int_equal(acc, 4000000000u);
  double a = 2.5, b = -1.0, r;
  uint64_t va, vb;
  memcpy(&va, &a, 8);
  memcpy(&vb, &b, 8);
  dt__split_fold(DT__AGG_MIN, &dbl, &acc, va, 1);
  dt__split_fold(DT__AGG_MIN, &dbl, &acc, vb, 0);
  memcpy(&r, &acc, 8);
  assert_true(r == -1.0);
  dt__split_fold(DT__AGG_SUM, &dbl, &acc, va, 1);
  dt__split_fold(DT__AGG_SUM, &dbl, &acc, va, 0);
  memcpy(&r, &acc, 8);
  assert_true(r == 5.0);
  /* and / or are logical. */
  dt__split_fold(DT__AGG_AND, &i32, &acc, 5, 1);
  dt__split_fold(DT__AGG_AND, &i32, &acc, 2, 0);
  assert_int_equal(acc, 1);
  dt__split_fold(DT__AGG_AND, &i32, &acc, 0, 0);
  dt__split_fold(DT__AGG_AND, &i32, &acc, 3, 0);
  assert_int_equal(acc, 0);
  dt__split_fold(DT__AGG_OR, &i32, &acc, 0, 1);
  assert_int_equal(acc, 0);
  dt__split_fold(DT__AGG_OR, &i32, &acc, 9, 0);
  dt__split_fold(DT__AGG_OR, &i32, &acc, 0, 0);
  assert_int_equal(acc, 1);
  /* first_nonzero decides at the first non-zero slice. */
  assert_int_equal(dt__split_fold(DT__AGG_FIRST_NONZERO, &i32, &acc, 0, 1), 0);
  assert_int_equal(dt__split_fold(DT__AGG_FIRST_NONZERO, &i32, &acc, 0, 0), 0);
  assert_int_equal(dt__split_fold(DT__AGG_FIRST_NONZERO, &i32, &acc,
                                  (uint64_t)-3, 0),
                   1);
  assert_int_equal((int64_t)acc, -3);
  assert_string_equal(dt__agg_name(DT__AGG_FIRST_NONZERO), "first_nonzero");
}

/* The reference: what `m = s[0]; for (i = 1; i < k; i++) if (s[i] > m)
 * m = s[i];` (or < for min) leaves, over slice values s[0..k). */
static double ref_fold_d(dt__agg agg, const double *s, size_t k) {
  double m = s[0];
  for (size_t i = 1; i < k; i++)
    if (agg == DT__AGG_MAX ? s[i] > m : s[i] < m)
      m = s[i];
  return m;
}

static float ref_fold_f(dt__agg agg, const float *s, size_t k) {
  float m = s[0];
  for (size_t i = 1; i < k; i++)
    if (agg == DT__AGG_MAX ? s[i] > m : s[i] < m)
      m = s[i];
  return m;
}

/* dt__split_fold over s[0..k) in order, as the caller folds slices. */
static double fold_d(dt__agg agg, const double *s, size_t k) {
  dt__type t;
  assert_int_equal(dt__type_lookup("double", NULL, 0, &t), 0);
  uint64_t acc = 0x5555555555555555ull, v;
  for (size_t i = 0; i < k; i++) {
    memcpy(&v, &s[i], sizeof v);
    assert_int_equal(dt__split_fold(agg, &t, &acc, v, i == 0), 0);
  }
  double r;
  memcpy(&r, &acc, sizeof r);
  return r;
}

static float fold_f(dt__agg agg, const float *s, size_t k) {
  dt__type t;
  assert_int_equal(dt__type_lookup("float", NULL, 0, &t), 0);
  uint64_t acc = 0x5555555555555555ull;
  for (size_t i = 0; i < k; i++) {
    uint32_t b;
    memcpy(&b, &s[i], sizeof b);
    assert_int_equal(dt__split_fold(agg, &t, &acc, b, i == 0), 0);
  }
  uint32_t b = (uint32_t)acc;
  float r;
  memcpy(&r, &b, sizeof r);
  return r;
}

/* Byte-identical to the reference loop, for min and max. */
static void same_d(const double *s, size_t k, const char *what) {
  for (int a = 0; a < 2; a++) {
    dt__agg agg = a ? DT__AGG_MAX : DT__AGG_MIN;
    double want = ref_fold_d(agg, s, k), got = fold_d(agg, s, k);
    if (memcmp(&want, &got, sizeof want) != 0)
      fail_msg("%s of %s: %a, the loop in order gives %a", a ? "max" : "min",
               what, got, want);
  }
}

static void same_f(const float *s, size_t k, const char *what) {
  for (int a = 0; a < 2; a++) {
    dt__agg agg = a ? DT__AGG_MAX : DT__AGG_MIN;
    float want = ref_fold_f(agg, s, k), got = fold_f(agg, s, k);
    if (memcmp(&want, &got, sizeof want) != 0)
      fail_msg("%s of %s (float): %a, the loop in order gives %a",
               a ? "max" : "min", what, (double)got, (double)want);
  }
}

static void test_fold_minmax_ties_and_nan(void **state) {
  (void)state;
  const double pz = 0.0, nz = -0.0, nan = __builtin_nan("");
  const double inf = __builtin_inf();
  /* Of +0.0 and -0.0 (equal), the first stays, both ways. */
  const double a[] = {pz, nz};
  const double b[] = {nz, pz};
  const double c[] = {pz, nz, pz, nz};
  const double d[] = {-1.0, nz, pz, -2.0};
  const double e[] = {1.0, pz, nz, 2.0};
  double r = fold_d(DT__AGG_MAX, a, 2);
  assert_false(signbit(r)); /* +0.0, not -0.0 */
  r = fold_d(DT__AGG_MAX, b, 2);
  assert_true(signbit(r) && r == 0);
  r = fold_d(DT__AGG_MIN, a, 2);
  assert_false(signbit(r));
  r = fold_d(DT__AGG_MIN, b, 2);
  assert_true(signbit(r) && r == 0);
  same_d(a, 2, "+0.0, -0.0");
  same_d(b, 2, "-0.0, +0.0");
  same_d(c, 4, "+0.0, -0.0, +0.0, -0.0");
  same_d(d, 4, "-1, -0.0, +0.0, -2");
  same_d(e, 4, "1, +0.0, -0.0, 2");
  /* A NaN first stays (nothing compares greater or smaller than it); a
   * NaN later is never taken. */
  const double f[] = {nan, 1.0, -5.0, inf};
  const double g[] = {1.0, nan, 2.0};
  const double h[] = {-1.0, nan};
  const double i[] = {pz, nan, nz};
  r = fold_d(DT__AGG_MAX, f, 4);
  assert_true(isnan(r));
  r = fold_d(DT__AGG_MIN, f, 4);
  assert_true(isnan(r));
  r = fold_d(DT__AGG_MAX, g, 3);
  assert_true(r == 2.0);
  r = fold_d(DT__AGG_MIN, h, 2);
  assert_true(r == -1.0);
  same_d(f, 4, "NaN, 1, -5, inf");
  same_d(g, 3, "1, NaN, 2");
  same_d(h, 2, "-1, NaN");
  same_d(i, 3, "+0.0, NaN, -0.0");
  /* A NaN with a sign and a payload comes back bit for bit. */
  uint64_t bits = 0xfff8000000000123ull;
  double odd;
  memcpy(&odd, &bits, sizeof odd);
  const double j[] = {odd, 3.0};
  same_d(j, 2, "-NaN(0x123), 3");
  /* Infinities. */
  const double k[] = {-inf, inf, -inf};
  same_d(k, 3, "-inf, inf, -inf");

  /* float: the same, on 32-bit values. */
  const float fa[] = {0.0f, -0.0f}, fb[] = {-0.0f, 0.0f};
  const float fc[] = {__builtin_nanf(""), 1.0f, 2.0f};
  const float fd[] = {1.0f, __builtin_nanf(""), -2.0f};
  const float fe[] = {-3.0f, -0.0f, 0.0f, -0.0f};
  float fr = fold_f(DT__AGG_MAX, fa, 2);
  assert_false(signbit(fr));
  fr = fold_f(DT__AGG_MAX, fb, 2);
  assert_true(signbit(fr));
  same_f(fa, 2, "+0.0, -0.0");
  same_f(fb, 2, "-0.0, +0.0");
  same_f(fc, 3, "NaN, 1, 2");
  same_f(fd, 3, "1, NaN, -2");
  same_f(fe, 4, "-3, -0.0, +0.0, -0.0");

  /* Every sequence of 4 values from {-1, -0.0, +0.0, 1, NaN, -inf}. */
  const double pool[] = {-1.0, nz, pz, 1.0, nan, -inf};
  double s[4];
  char what[32];
  for (int m = 0; m < 6 * 6 * 6 * 6; m++) {
    int x = m;
    for (int q = 0; q < 4; q++, x /= 6)
      s[q] = pool[x % 6];
    snprintf(what, sizeof what, "sequence %d", m);
    same_d(s, 4, what);
    float sf[4];
    for (int q = 0; q < 4; q++)
      sf[q] = (float)s[q];
    same_f(sf, 4, what);
  }
}

static void test_fold_integer_ties(void **state) {
  (void)state;
  dt__type i32, u64, i8;
  assert_int_equal(dt__type_lookup("int", NULL, 0, &i32), 0);
  assert_int_equal(dt__type_lookup("uint64", NULL, 0, &u64), 0);
  assert_int_equal(dt__type_lookup("int8", NULL, 0, &i8), 0);
  uint64_t acc = 0;
  /* Equal values: the result is that value (whichever slice). */
  dt__split_fold(DT__AGG_MAX, &i32, &acc, 7, 1);
  dt__split_fold(DT__AGG_MAX, &i32, &acc, 7, 0);
  dt__split_fold(DT__AGG_MAX, &i32, &acc, 3, 0);
  assert_int_equal(acc, 7);
  dt__split_fold(DT__AGG_MIN, &i32, &acc, (uint64_t)-2, 1);
  dt__split_fold(DT__AGG_MIN, &i32, &acc, (uint64_t)-2, 0);
  assert_int_equal((int64_t)acc, -2);
  /* Signed: -1 (all ones) is below 0, not above it. */
  dt__split_fold(DT__AGG_MAX, &i8, &acc, (uint64_t)-1, 1);
  dt__split_fold(DT__AGG_MAX, &i8, &acc, 0, 0);
  assert_int_equal(acc, 0);
  dt__split_fold(DT__AGG_MIN, &i8, &acc, 0, 1);
  dt__split_fold(DT__AGG_MIN, &i8, &acc, (uint64_t)-128, 0);
  dt__split_fold(DT__AGG_MIN, &i8, &acc, (uint64_t)-128, 0);
  assert_int_equal((int64_t)acc, -128);
  /* Unsigned: all ones is the largest. */
  dt__split_fold(DT__AGG_MAX, &u64, &acc, 0, 1);
  dt__split_fold(DT__AGG_MAX, &u64, &acc, UINT64_MAX, 0);
  dt__split_fold(DT__AGG_MAX, &u64, &acc, UINT64_MAX, 0);
  dt__split_fold(DT__AGG_MAX, &u64, &acc, 5, 0);
  assert_true(acc == UINT64_MAX);
  dt__split_fold(DT__AGG_MIN, &u64, &acc, UINT64_MAX, 1);
  dt__split_fold(DT__AGG_MIN, &u64, &acc, 1ull << 63, 0);
  dt__split_fold(DT__AGG_MIN, &u64, &acc, 1ull << 63, 0);
  assert_true(acc == 1ull << 63);
  /* The first slice's value is taken whatever acc held. */
  acc = 12345;
  dt__split_fold(DT__AGG_MIN, &i32, &acc, 99999, 1);
  assert_int_equal(acc, 99999);
  acc = 0;
  dt__split_fold(DT__AGG_MAX, &i32, &acc, (uint64_t)-9, 1);
  assert_int_equal((int64_t)acc, -9);
}

static void test_arg_count_and_store(void **state) {
  (void)state;
  dt__type t;
  uint64_t n;
  assert_int_equal(dt__type_lookup("int16", NULL, 0, &t), 0);
  int16_t v = 300;
  assert_int_equal(dt__scalar_count(&t, &v, &n), 0);
  assert_int_equal(n, 300);
  v = -1;
  assert_int_equal(dt__scalar_count(&t, &v, &n), -ERANGE);
  dt__scalar_set(&t, 77, &v);
  assert_int_equal(v, 77);
  assert_int_equal(dt__type_lookup("size_t", NULL, 0, &t), 0);
  size_t z = (size_t)1 << 40;
  assert_int_equal(dt__scalar_count(&t, &z, &n), 0);
  assert_int_equal(n, (uint64_t)1 << 40);
}

/* A fetcher over one stored buffer. */
typedef struct store {
  uint64_t id;
  const void *data;
  uint64_t n;
  int calls;
} store;

static int fetch(void *ctx, uint64_t id, void *dst, uint64_t n) {
  store *s = ctx;
  s->calls++;
  if (id != s->id)
    return -ENOENT;
  if (n != s->n)
    return -EPROTO;
  memcpy(dst, s->data, (size_t)n);
  return 0;
}

static void test_wire_refs(void **state) {
  (void)state;
  dt__sig sig;
  assert_int_equal(dt__sig_parse("int f(in uint8 t[m], size_t m, in int "
                                 "x[n], size_t n, out int y[n])",
                                 NULL, 0, &sig, &err),
                   0);
  static uint8_t table[100000];
  for (size_t i = 0; i < sizeof table; i++)
    table[i] = (uint8_t)(i * 7);
  int xs[3] = {1, 2, 3}, ys[3] = {0};
  size_t m = sizeof table, n = 3;
  uint8_t *tp = table;
  int *xp = xs, *yp = ys;
  void *args[5] = {&tp, &m, &xp, &n, &yp};
  uint64_t refs[5] = {42, DT__NO_ID, DT__NO_ID, DT__NO_ID, DT__NO_ID};
  size_t plain = 0, small = 0;
  assert_int_equal(dt__wire_task_size(&sig, args, NULL, &plain), 0);
  assert_int_equal(dt__wire_task_size_refs(&sig, args, refs, NULL, &small), 0);
  /* The reference replaces the bytes by an 8-byte id. */
  assert_int_equal(plain - small, sizeof table - 8);
  uint8_t *rec = malloc(small);
  assert_int_equal(dt__wire_task_encode_refs(&sig, 1, 0, 9, 0, args, refs,
                                             NULL, rec, small),
                   0);
  store st = {42, table, sizeof table, 0};
  dt__frame f;
  dt__error werr;
  assert_int_equal(
      dt__wire_task_decode_refs(&sig, rec, small, fetch, &st, &f, &werr), 0);
  assert_int_equal(st.calls, 1);
  assert_int_equal(f.bytes[0], sizeof table);
  assert_memory_equal(f.buf[0], table, sizeof table);
  assert_memory_equal(f.buf[2], xs, sizeof xs);
  dt__frame_free(&f);
  /* Without a fetcher, or with a missing id, the record is refused. */
  assert_int_equal(dt__wire_task_decode(&sig, rec, small, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "presence byte of 2");
  st.id = 43;
  assert_int_equal(
      dt__wire_task_decode_refs(&sig, rec, small, fetch, &st, &f, &werr),
      -EPROTO);
  assert_contains(werr.msg, "refers to shared bytes 42");
  free(rec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_read),
      cmocka_unit_test(test_split_errors),
      cmocka_unit_test(test_counts_and_starts),
      cmocka_unit_test(test_fold),
      cmocka_unit_test(test_fold_minmax_ties_and_nan),
      cmocka_unit_test(test_fold_integer_ties),
      cmocka_unit_test(test_arg_count_and_store),
      cmocka_unit_test(test_wire_refs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
