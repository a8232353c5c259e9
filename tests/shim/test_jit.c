/* test_jit.c: unit tests of shim/jit.c, the offload_if trampolines.
 *
 * Each case parses a one-entry config (a signature and its offload_if),
 * builds the trampoline with a "real" function that returns 1 and a
 * "closure" that returns 2, calls the trampoline with values as a caller
 * passes them, and checks the path taken against config/cond.c's
 * dt__cond_eval of the value the callee sees: every type's width and
 * signedness (with garbage above a narrow argument), every operator,
 * negative and big literals, NaN, a parameter in each register, and one
 * on the stack (no trampoline: the closure stays). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cond.h"
#include "config/config.h"
#include "config/types.h"
#include "shim/jit.h"
#include "shim/symbol.h"
#include "testutil.h"

#if defined(__x86_64__)

static dt__error err;

/* What the trampoline jumps to: 1 when the call stays, 2 when it goes. */
static long stays(void) { return 1; }
static long goes(void) { return 2; }

/* A stub for the one entry of cfg. */
static dt__stub stub_of(const dt__config *cfg) {
  dt__stub s;
  memset(&s, 0, sizeof s);
  s.off = &cfg->offloads[0];
  s.real = (void *)stays;
  s.code = (void *)goes;
  return s;
}

/* A stub for the one entry of text (the caller frees *cfg). */
static dt__stub make(const char *text, dt__config **cfg) {
  parse_ok(text, cfg);
  return stub_of(*cfg);
}

/* The decision dt__cond_eval makes for the parameter's value v (the
 * callee's view, in the wire form). */
static long want(const dt__stub *s, uint64_t v) {
  const dt__offload *o = s->off;
  const dt__type *t = &o->sig.params[o->offload_if.param].type;
  return dt__cond_eval(&o->offload_if, t, v) ? 2 : 1;
}

typedef long (*f_u64)(uint64_t);

/* One integer parameter of type T (written as in signatures) against
 * every operator and a few literals, called with raw 64-bit values whose
 * bits above T's width are garbage. */
static void int_case(const char *T, int bits, bool is_signed) {
  static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
  static const char *const lits[] = {"0", "5", "-1", "-200", "127", "200",
                                     "40000", "-40000", "3000000000",
                                     "18446744073709551615"};
  static const uint64_t raw[] = {0, 5, 0xffffffffffffffffull, 127, 128, 255,
                                 256, 200, 0xdead00000000ffffull,
                                 0x1234567880000000ull, 3000000000ull,
                                 0x7fffffffffffffffull,
                                 0x8000000000000000ull, 39999, 40001};
  for (size_t oi = 0; oi < 6; oi++)
    for (size_t li = 0; li < sizeof lits / sizeof *lits; li++) {
      char text[256];
      snprintf(text, sizeof text,
               "[[offload]]\nsignature = \"int f(%s a)\"\n"
               "offload_if = \"a %s %s\"\n",
               T, ops[oi], lits[li]);
      dt__config *cfg = NULL;
      memset(&err, 0, sizeof err);
      if (dt__config_parse(text, strlen(text), "t.toml", &cfg, &err) != 0)
        continue; /* a literal the type cannot hold: refused, fine */
      dt__stub s = stub_of(cfg);
      assert_int_equal(dt__jit_build(&s, 1), 1);
      assert_non_null(s.tramp);
      for (size_t ri = 0; ri < sizeof raw / sizeof *raw; ri++) {
        /* The callee's view: the low bits, extended as T is. */
        uint64_t v = raw[ri];
        if (bits < 64) {
          uint64_t mask = (1ull << bits) - 1;
          v &= mask;
          if (is_signed && (v >> (bits - 1)) & 1)
            v |= ~mask;
        }
        long got = ((f_u64)s.tramp)(raw[ri]);
        if (got != want(&s, v))
          fail_msg("%s: a = raw 0x%llx (callee 0x%llx): trampoline %s, "
                   "dt__cond_eval %s",
                   text, (unsigned long long)raw[ri], (unsigned long long)v,
                   got == 2 ? "offloads" : "keeps it",
                   want(&s, v) == 2 ? "offloads" : "keeps it");
      }
      dt__config_free(cfg);
    }
}

static void test_every_integer_type(void **state) {
  (void)state;
  int_case("int", 32, true);
  int_case("uint", 32, false);
  int_case("long", 64, true);
  int_case("ulong", 64, false);
  int_case("llong", 64, true);
  int_case("ullong", 64, false);
  int_case("short", 16, true);
  int_case("ushort", 16, false);
  int_case("char", 8, true);
  int_case("schar", 8, true);
  int_case("uchar", 8, false);
  int_case("int8", 8, true);
  int_case("uint8", 8, false);
  int_case("int16", 16, true);
  int_case("uint16", 16, false);
  int_case("int32", 32, true);
  int_case("uint32", 32, false);
  int_case("int64", 64, true);
  int_case("uint64", 64, false);
  int_case("size_t", 64, false);
  int_case("ssize_t", 64, true);
  int_case("bool", 8, false);
}

typedef long (*f_d)(double);
typedef long (*f_f)(float);

/* double and float, every operator, against NaN and infinities too. */
static void test_floating(void **state) {
  (void)state;
  static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
  static const char *const lits[] = {"0", "2.5", "-1", "1e300", "3"};
  const double vals[] = {0.0, -0.0, 2.5, 2.4999, 3.0, -1.0, 1e300, INFINITY,
                         -INFINITY, NAN};
  for (int fl = 0; fl < 2; fl++)
    for (size_t oi = 0; oi < 6; oi++)
      for (size_t li = 0; li < sizeof lits / sizeof *lits; li++) {
        char text[256];
        snprintf(text, sizeof text,
                 "[[offload]]\nsignature = \"int f(%s x)\"\n"
                 "offload_if = \"x %s %s\"\n",
                 fl ? "float" : "double", ops[oi], lits[li]);
        dt__config *cfg = NULL;
        dt__stub s = make(text, &cfg);
        assert_int_equal(dt__jit_build(&s, 1), 1);
        for (size_t vi = 0; vi < sizeof vals / sizeof *vals; vi++) {
          uint64_t v;
          long got;
          if (fl) {
            float f = (float)vals[vi];
            uint32_t b32;
            memcpy(&b32, &f, 4);
            v = b32;
            got = ((f_f)s.tramp)(f);
          } else {
            memcpy(&v, &vals[vi], 8);
            got = ((f_d)s.tramp)(vals[vi]);
          }
          if (got != want(&s, v))
            fail_msg("%s: x = %g: trampoline %ld, dt__cond_eval %ld", text,
                     vals[vi], got, want(&s, v));
        }
        dt__config_free(cfg);
      }
}

typedef long (*f_six)(long, long, long, long, long, long, long);
typedef long (*f_mixed)(double, long, double, double, double, double,
                        double, double, double, long);

/* The parameter found in each of the six argument registers, counted
 * past pointers, strings and doubles; a seventh integer or a ninth
 * double arrives on the stack: no trampoline. */
static void test_registers(void **state) {
  (void)state;
  for (int k = 0; k < 7; k++) {
    char text[512];
    snprintf(text, sizeof text,
             "[[offload]]\nsignature = \"int f(long a0, long a1, long a2, "
             "long a3, long a4, long a5, long a6)\"\n"
             "offload_if = \"a%d > 10\"\n",
             k);
    dt__config *cfg = NULL;
    dt__stub s = make(text, &cfg);
    int built = dt__jit_build(&s, 1);
    if (k == 6) {
      assert_int_equal(built, 0);
      assert_null(s.tramp);
      assert_ptr_equal(s.code, (void *)goes);
      dt__config_free(cfg);
      continue;
    }
    assert_int_equal(built, 1);
    long a[7] = {0, 0, 0, 0, 0, 0, 0};
    f_six f = (f_six)s.tramp;
    assert_int_equal(f(a[0], a[1], a[2], a[3], a[4], a[5], a[6]), 1);
    a[k] = 11;
    assert_int_equal(f(a[0], a[1], a[2], a[3], a[4], a[5], a[6]), 2);
    for (int j = 0; j < 7; j++)
      if (j != k) { /* another argument's value changes nothing */
        a[j] = 99;
        assert_int_equal(f(a[0], a[1], a[2], a[3], a[4], a[5], a[6]), 2);
        a[j] = 0;
      }
    dt__config_free(cfg);
  }
  /* Doubles and integers interleaved: x7 is xmm7, n is rdi after the
   * pointer... here n is the first integer (rdi), m the second (rsi). */
  const char *names[] = {"x0", "n", "x7", "m", "x8"};
  for (size_t k = 0; k < 5; k++) {
    char text[512];
    snprintf(text, sizeof text,
             "[[offload]]\nsignature = \"int f(double x0, long n, double x1, "
             "double x2, double x3, double x4, double x5, double x6, double "
             "x7, long m, double x8)\"\noffload_if = \"%s > 10\"\n",
             names[k]);
    dt__config *cfg = NULL;
    dt__stub s = make(text, &cfg);
    int built = dt__jit_build(&s, 1);
    if (k == 4) { /* the ninth double: on the stack */
      assert_int_equal(built, 0);
      dt__config_free(cfg);
      continue;
    }
    assert_int_equal(built, 1);
    typedef long (*f_t)(double, long, double, double, double, double, double,
                        double, double, long, double);
    f_t f = (f_t)s.tramp;
    double x0 = 0, x7 = 0;
    long n = 0, m = 0;
    assert_int_equal(f(x0, n, 50, 50, 50, 50, 50, 50, x7, m, 50), 1);
    if (k == 0)
      x0 = 11;
    else if (k == 1)
      n = 11;
    else if (k == 2)
      x7 = 11;
    else
      m = 11;
    assert_int_equal(f(x0, n, 50, 50, 50, 50, 50, 50, x7, m, 50), 2);
    dt__config_free(cfg);
  }
}

/* An entry without offload_if gets no trampoline. */
static void test_none(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  dt__stub s = make("[[offload]]\nsignature = \"int f(int a)\"\n", &cfg);
  assert_int_equal(dt__jit_build(&s, 1), 0);
  assert_null(s.tramp);
  assert_ptr_equal(s.code, (void *)goes);
  dt__config_free(cfg);
}

/* A call kept here is counted in s.local, one by one. */
static void test_counts_local(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  dt__stub s = make("[[offload]]\nsignature = \"int f(long a)\"\n"
                    "offload_if = \"a >= 100\"\n",
                    &cfg);
  assert_int_equal(dt__jit_build(&s, 1), 1);
  for (uint64_t i = 0; i < 150; i++)
    (void)((f_u64)s.tramp)(i);
  assert_int_equal(s.local, 100);
  dt__config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_integer_type),
      cmocka_unit_test(test_floating),
      cmocka_unit_test(test_registers),
      cmocka_unit_test(test_none),
      cmocka_unit_test(test_counts_local),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
/* Trampolines are x86-64's only: elsewhere there is nothing to test. */
static void test_not_x86_64(void **state) {
  (void)state;
  skip();
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_not_x86_64)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
