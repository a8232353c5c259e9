/* test_toml_numbers.c: unit tests of the TOML parser's numbers and
 * booleans (toml.c): decimal and prefixed integers and their limits,
 * floats and their special values, and their errors: leading zeros,
 * misplaced underscores and signs, integers that overflow and floats out
 * of range, each at its exact line and column (tests/config/tomlfx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "config/toml.h"
#include "tomlfx.h"

/* ------------------------------------------------------------- helpers */

static void want_float(const dt__toml *t, const char *path, double f) {
  const dt__toml *v = want(t, path, DT__TOML_FLOAT);
  if (v->u.f != f)
    fail_msg("%s = %.17g, expected %.17g", path, v->u.f, f);
}

/* ---------------------------------------------------- valid: numbers */

static void decimal_integers(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("a = 0\nb = +0\nc = -0\nd = 42\ne = +17\nf = -17\ng = 1_000\n"
         "h = 5_349_221\ni = 1_2_3_4_5");
  want_int(t, "a", 0);
  want_int(t, "b", 0);
  want_int(t, "c", 0);
  want_int(t, "d", 42);
  want_int(t, "e", 17);
  want_int(t, "f", -17);
  want_int(t, "g", 1000);
  want_int(t, "h", 5349221);
  want_int(t, "i", 12345);
  dt__toml_free(t);
}

static void integer_limits(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("max = 9223372036854775807\nmin = -9223372036854775808\n"
         "hmax = 0x7fff_ffff_ffff_ffff\nlead = 0x0000000000000000001");
  want_int(t, "max", INT64_MAX);
  want_int(t, "min", INT64_MIN);
  want_int(t, "hmax", INT64_MAX);
  want_int(t, "lead", 1);
  dt__toml_free(t);
}

static void prefixed_integers(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("h1 = 0xDEADBEEF\nh2 = 0xdeadbeef\nh3 = 0xdead_beef\nh4 = 0x0\n"
         "o1 = 0o01234567\no2 = 0o755\nb1 = 0b11010110\nb2 = 0b1_0\n"
         "b3 = 0b0");
  want_int(t, "h1", 0xDEADBEEF);
  want_int(t, "h2", 0xDEADBEEF);
  want_int(t, "h3", 0xDEADBEEF);
  want_int(t, "h4", 0);
  want_int(t, "o1", 01234567);
  want_int(t, "o2", 0755);
  want_int(t, "b1", 214);
  want_int(t, "b2", 2);
  want_int(t, "b3", 0);
  dt__toml_free(t);
}

static void floats(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("a = +1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\n"
         "f = -2E-2\ng = 6.626e-34\nh = 224_617.445_991_228\ni = 0.0\n"
         "j = -0.0\nk = 0e0\nl = 1e1_0\nm = 9_9.5E-0_1");
  want_float(t, "a", 1.0);
  want_float(t, "b", 3.1415);
  want_float(t, "c", -0.01);
  want_float(t, "d", 5e22);
  want_float(t, "e", 1e6);
  want_float(t, "f", -2e-2);
  want_float(t, "g", 6.626e-34);
  want_float(t, "h", 224617.445991228);
  want_float(t, "i", 0.0);
  want_float(t, "j", 0.0);
  assert_true(signbit(get(t, "j")->u.f));
  want_float(t, "k", 0.0);
  want_float(t, "l", 1e10);
  want_float(t, "m", 9.95);
  dt__toml_free(t);
}

static void float_specials(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan\n"
         "g = [inf, -nan]");
  assert_true(isinf(want(t, "a", DT__TOML_FLOAT)->u.f));
  assert_true(get(t, "a")->u.f > 0);
  assert_true(get(t, "b")->u.f > 0 && isinf(get(t, "b")->u.f));
  assert_true(get(t, "c")->u.f < 0 && isinf(get(t, "c")->u.f));
  assert_true(isnan(want(t, "d", DT__TOML_FLOAT)->u.f));
  assert_true(isnan(want(t, "e", DT__TOML_FLOAT)->u.f));
  assert_true(isnan(want(t, "f", DT__TOML_FLOAT)->u.f));
  assert_true(isinf(item(get(t, "g"), 0)->u.f));
  assert_true(isnan(item(get(t, "g"), 1)->u.f));
  dt__toml_free(t);
}

static void booleans(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("yes = true\nno = false\nboth = [true, false]");
  want_bool(t, "yes", 1);
  want_bool(t, "no", 0);
  assert_int_equal(item(get(t, "both"), 0)->u.b, 1);
  assert_int_equal(item(get(t, "both"), 1)->u.b, 0);
  dt__toml_free(t);
}

/* ------------------------------------------------- invalid: numbers */

static void bad_integers(void **state) {
  (void)state;
  BAD("a = 007", 1, 5, "leading zeros are not allowed");
  BAD("a = -01", 1, 6, "leading zeros");
  BAD("a = 0_1", 1, 5, "leading zeros");
  BAD("a = 1__000", 1, 6, "an underscore in a number must sit between two");
  BAD("a = 1_", 1, 6, "underscore");
  BAD("a = 1_000_", 1, 10, "underscore");
  BAD("a = +", 1, 6, "expected a decimal digit here, found the end");
  BAD("a = -_1", 1, 6, "expected a decimal digit here, found '_'");
  BAD("a = 12a", 1, 7, "unexpected character 'a' in a number");
  BAD("a = 1-2", 1, 6, "unexpected character '-'");
}

static void bad_prefixed_integers(void **state) {
  (void)state;
  BAD("a = -0x1", 1, 5, "a sign is not allowed on a hexadecimal");
  BAD("a = +0b1", 1, 5, "a sign is not allowed");
  BAD("a = 0X1F", 1, 6, "unexpected character 'X' in a number");
  BAD("a = 0x", 1, 7, "expected a hexadecimal digit here");
  BAD("a = 0xg", 1, 7, "expected a hexadecimal digit here, found 'g'");
  BAD("a = 0x1g", 1, 8, "unexpected character 'g' in a hexadecimal integer");
  BAD("a = 0o8", 1, 7, "expected an octal digit");
  BAD("a = 0o17_", 1, 9, "underscore");
  BAD("a = 0b102", 1, 9, "unexpected character '2' in a binary integer");
  BAD("a = 0x_1", 1, 7, "expected a hexadecimal digit");
  BAD("a = 0x1.5", 1, 8, "unexpected character '.'");
}

static void integer_overflow(void **state) {
  (void)state;
  BAD("a = 9223372036854775808", 1, 5,
      "integer 9223372036854775808 does not fit in 64 bits");
  BAD("a = -9223372036854775809", 1, 5, "does not fit in 64 bits");
  BAD("a = 99999999999999999999999", 1, 5, "does not fit");
  BAD("x = 1\n  a = 0x8000000000000000", 2, 7, "does not fit");
  BAD("a = 0xffff_ffff_ffff_ffff", 1, 5, "does not fit");
  BAD("a = 0o1000000000000000000000", 1, 5, "does not fit");
  {
    char text[80];
    int n = sprintf(text, "a = 0b1");
    memset(text + n, '0', 63); /* 2 to the 63rd */
    parse_bad(text, (size_t)n + 63, 1, 5, "does not fit");
  }
}

static void bad_floats(void **state) {
  (void)state;
  BAD("a = .5", 1, 5, "expected a decimal digit here, found '.'");
  BAD("a = 1.", 1, 7, "expected a decimal digit here, found the end");
  BAD("a = 1.e5", 1, 7, "found 'e'");
  BAD("a = 1e", 1, 7, "expected a decimal digit");
  BAD("a = 1e+", 1, 8, "expected a decimal digit");
  BAD("a = 01.5", 1, 5, "leading zeros");
  BAD("a = 1_.5", 1, 6, "underscore");
  BAD("a = 1._5", 1, 7, "found '_'");
  BAD("a = 1e400", 1, 5, "float 1e400 is out of the range of a double");
  BAD("a = -1.5e999", 1, 5, "out of the range");
  BAD("a = 1.5 e3", 1, 9, "after the value");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(decimal_integers),
      cmocka_unit_test(integer_limits),
      cmocka_unit_test(prefixed_integers),
      cmocka_unit_test(floats),
      cmocka_unit_test(float_specials),
      cmocka_unit_test(booleans),
      cmocka_unit_test(bad_integers),
      cmocka_unit_test(bad_prefixed_integers),
      cmocka_unit_test(integer_overflow),
      cmocka_unit_test(bad_floats),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
