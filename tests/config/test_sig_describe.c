/* test_sig_describe.c: unit tests of dt__sig_describe (sig.c): a
 * signature as the parser understood it, then what it returns and each
 * parameter's direction, size and length, one line each
 * (tests/config/sigfx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/sig.h"
#include "config/types.h"
#include "testutil.h"
#include "sigfx.h"

/* -------------------------------------------------------- description */

/* Runs dt__sig_describe into a malloc'ed string. */
static char *describe(const dt__sig *sig) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  dt__sig_describe(sig, f);
  assert_int_equal(fclose(f), 0);
  return buf;
}

/* Returns line i (0-based) of text in buf, or "" when there is none. */
static const char *line_of(const char *text, int i, char *buf, size_t bufsz) {
  const char *p = text;
  for (; i > 0 && p != NULL; i--) {
    p = strchr(p, '\n');
    if (p != NULL)
      p++;
  }
  if (p == NULL)
    return "";
  size_t n = strcspn(p, "\n");
  if (n >= bufsz)
    n = bufsz - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
  return buf;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void test_describe(void **state) {
  (void)state;
  dt__sig sig;
  char lb[512];
  assert_sig_ok_u("int f(in double x[n], size_t n, out int r[n*4], "
                  "cstring s, inout report q[2], out uint8 m[n*k], int k)",
                  utypes, NUTYPES, &sig);
  char *d = describe(&sig);
  assert_int_equal(count_lines(d), 2 + 7);
  /* The signature as understood (n*4 normalized as 4*n). */
  assert_contains(line_of(d, 0, lb, sizeof lb),
                  "int f(in double x[n], size_t n, out int r[4*n], cstring "
                  "s, inout report q[2], out uint8 m[n*k], int k)");
  assert_contains(line_of(d, 1, lb, sizeof lb), "returns  int (4 bytes)");

  line_of(d, 2, lb, sizeof lb);
  assert_contains(lb, "arg 1");
  assert_contains(lb, " x ");
  assert_contains(lb, "in     double[n]");
  assert_contains(lb, "8 bytes per element");
  assert_contains(lb, "length from arg 2 (n)");
  assert_contains(lb, "NULL passes as NULL");

  line_of(d, 3, lb, sizeof lb);
  assert_contains(lb, "arg 2");
  assert_contains(lb, "value  size_t (8 bytes)");

  line_of(d, 4, lb, sizeof lb);
  assert_contains(lb, "arg 3");
  assert_contains(lb, "out    int[4*n]");
  assert_contains(lb, "4 bytes per element");
  assert_contains(lb, "length from 4 * arg 2 (n)");

  line_of(d, 5, lb, sizeof lb);
  assert_contains(lb, "arg 4");
  assert_contains(lb, "in     cstring, NUL-terminated");

  line_of(d, 6, lb, sizeof lb);
  assert_contains(lb, "arg 5");
  assert_contains(lb, "inout  report[2]");
  assert_contains(lb, "32 bytes per element");
  assert_contains(lb, "length constant (64 bytes)");

  line_of(d, 7, lb, sizeof lb);
  assert_contains(lb, "arg 6");
  assert_contains(lb, "out    uint8[n*k]");
  assert_contains(lb, "1 bytes per element");
  assert_contains(lb, "length from arg 2 (n) * arg 7 (k)");

  line_of(d, 8, lb, sizeof lb);
  assert_contains(lb, "arg 7");
  assert_contains(lb, "value  int (4 bytes)");
  free(d);
}

static void test_describe_returns(void **state) {
  (void)state;
  dt__sig sig;
  assert_sig_ok("void f(void)", &sig);
  char *d = describe(&sig);
  assert_int_equal(count_lines(d), 2);
  assert_contains(d, "void f()\n");
  assert_contains(d, "returns  nothing");
  free(d);

  assert_sig_ok("cstring name_of(int code)", &sig);
  d = describe(&sig);
  assert_int_equal(count_lines(d), 3);
  assert_contains(d, "cstring name_of(int code)\n");
  assert_contains(d, "returns  cstring, copied back into memory the shim "
                     "owns");
  assert_contains(d, "value  int (4 bytes)");
  free(d);

  assert_sig_ok("double mean(in double xs[2*3])", &sig);
  d = describe(&sig);
  assert_contains(d, "double mean(in double xs[6])\n");
  assert_contains(d, "returns  double (8 bytes)");
  assert_contains(d, "length constant (48 bytes)");
  free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_describe),
      cmocka_unit_test(test_describe_returns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
