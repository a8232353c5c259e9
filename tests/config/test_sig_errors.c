/* test_sig_errors.c: unit tests of the signature language's errors
 * (sig.c): every error message of the parser with its exact column, from
 * an empty signature, unknown types and C spellings to bare pointers,
 * directions, lengths, names and the parameter list's punctuation
 * (tests/config/sigfx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "config/sig.h"
#include "config/types.h"
#include "testutil.h"
#include "sigfx.h"

/* Parses text and asserts that it fails at column col (line 0) with a
 * message containing phrase.  err is left for further checks. */
#define assert_sig_error_u(text, utypes, nutypes, want_col, phrase)          \
  do {                                                                       \
    dt__sig s_;                                                              \
    memset(&err, 0, sizeof err);                                             \
    int rc_ = dt__sig_parse((text), (utypes), (nutypes), &s_, &err);         \
    if (rc_ != -EINVAL)                                                      \
      fail_msg("\"%s\" parsed with rc %d, expected -EINVAL", (text), rc_);   \
    assert_int_equal(err.line, 0);                                           \
    if (err.col != (want_col))                                               \
      fail_msg("\"%s\": error at column %d, expected %d (%s)", (text),       \
               err.col, (want_col), err.msg);                                \
    assert_contains(err.msg, (phrase));                                      \
  } while (0)

#define assert_sig_error(text, want_col, phrase)                             \
  assert_sig_error_u(text, NULL, 0, want_col, phrase)

/* ------------------------------------------------------------- errors */

static void test_err_empty(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("", 1, "the signature is empty");
  assert_sig_error("   \t ", 1, "the signature is empty");
}

static void test_err_unknown_type_hint(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(doubel x)", 7,
                   "unknown type 'doubel'; did you mean 'double'?");
  assert_sig_error("dobule f(void)", 1,
                   "unknown type 'dobule'; did you mean 'double'?");
  assert_sig_error("int f(in uint63 b[1])", 10,
                   "unknown type 'uint63'; did you mean 'uint64'?");
  assert_sig_error("int f(cstrng s)", 7, "did you mean 'cstring'?");
  /* Declared types are offered too. */
  assert_sig_error_u("int f(out reprot r[1])", utypes, NUTYPES, 11,
                     "unknown type 'reprot'; did you mean 'report'?");
}

static void test_err_unknown_type_no_hint(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in widget w[1])", 10, "unknown type 'widget'");
  assert_contains(err.msg, "declare it under [types] as widget = { size = "
                           "N, align = N }");
  assert_true(strstr(err.msg, "did you mean") == NULL);
  assert_sig_error("quaternion f(void)", 1, "unknown type 'quaternion'");
  assert_true(strstr(err.msg, "did you mean") == NULL);
}

static void test_err_c_spellings(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("unsigned int f(void)", 1,
                   "'unsigned int' is C, not dtask's signature language; "
                   "write uint");
  assert_sig_error("int f(unsigned char c)", 7, "'unsigned char' is C");
  assert_contains(err.msg, "write uchar");
  assert_sig_error("int f(unsigned short c)", 7, "write ushort");
  assert_sig_error("int f(unsigned long c)", 7, "write ulong");
  assert_sig_error("int f(signed char c)", 7, "write schar");
  assert_sig_error("int f(signed int c)", 7, "'signed int' is C");
  assert_sig_error("int f(int a, long long x)", 14,
                   "'long long' is C, not dtask's signature language; write "
                   "llong");
  assert_sig_error("long long f(void)", 1, "write llong");
  assert_sig_error("int f(long int x)", 7, "'long int' is C");
  assert_sig_error("long double f(void)", 1, "long double is not supported");
  assert_sig_error("int f(short int x)", 7, "'short int' is C");
  assert_sig_error("int f(unsigned x)", 7,
                   "'unsigned' alone is C, not dtask's signature language; "
                   "write uint or int");
  assert_sig_error("signed f(void)", 1, "'signed' alone is C");
  assert_sig_error("int f(const char *s)", 7,
                   "'const' is C, not dtask's signature language");
  assert_contains(err.msg, "write cstring");
  assert_sig_error("int f(struct x *p)", 7, "'struct' is C");
  assert_contains(err.msg, "declare it under [types]");
  assert_sig_error("int f(enum color c)", 7, "'enum' is C");
  assert_sig_error("int f(volatile int *p)", 7, "'volatile' is C");
  assert_sig_error("const char *f(void)", 1, "'const' is C");
  /* long and short alone are dtask types. */
  dt__sig sig;
  assert_sig_ok("long f(long x, short y)", &sig);
  assert_int_equal(sig.ret.tag, DT__T_LONG);
  assert_int_equal(sig.params[1].type.tag, DT__T_SHORT);
}

static void test_err_bare_pointers(void **state) {
  (void)state;
  dt__error err;
  /* void * is refused as a void parameter, with the way out. */
  assert_sig_error("int f(void *ctx)", 7, "a parameter cannot be void");
  assert_contains(err.msg, "void * needs a real element type");
  /*                1234567890123 */
  assert_sig_error("int f(char *buf)", 12,
                   "a bare pointer cannot be offloaded: dtask never guesses "
                   "the size of memory behind a pointer");
  assert_contains(err.msg, "write 'cstring NAME'");
  assert_contains(err.msg, "'in|out|inout char NAME[LEN]'");
  assert_sig_error("int f(int *p)", 11, "a bare pointer cannot be offloaded");
  assert_contains(err.msg, "write 'in int NAME[LEN]', 'out int NAME[LEN]' or "
                           "'inout int NAME[LEN]'");
  /*                123456789012345678901234 */
  assert_sig_error("int f(size_t n, double *x)", 24,
                   "'in double NAME[LEN]'");
  /* With a direction, a pointer is still bare. */
  assert_sig_error("int f(in char *buf)", 15, "'in char NAME[LEN]'");
  assert_sig_error_u("int f(report *r)", utypes, NUTYPES, 14,
                     "'in report NAME[LEN]'");
}

static void test_err_returned_pointer(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("char *f(void)", 6, "a returned pointer cannot be "
                                       "offloaded as is");
  assert_contains(err.msg, "write 'cstring NAME(...)'");
  assert_sig_error("char*f(void)", 5, "write 'cstring NAME(...)'");
  assert_sig_error("int *f(void)", 5,
                   "a returned pointer cannot be offloaded: it would point "
                   "into the runner's memory");
  assert_sig_error("void *f(void)", 6, "it would point into the runner's "
                                       "memory");
  assert_sig_error("double *f(void)", 8, "return types are void, a scalar or "
                                         "cstring");
}

static void test_err_user_type_by_value(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error_u("int f(report r)", utypes, NUTYPES, 7,
                     "type 'report' is declared under [types] and can only "
                     "travel in a buffer");
  assert_contains(err.msg, "write 'in report r[1]'");
  assert_sig_error_u("int f(int a, point p)", utypes, NUTYPES, 14,
                     "write 'in point p[1]'");
  assert_sig_error_u("report f(void)", utypes, NUTYPES, 1,
                     "a function cannot return 'report' by value");
  assert_sig_error_u("  point f(void)", utypes, NUTYPES, 3,
                     "return types are void, a scalar or cstring");
}

static void test_err_void_param(void **state) {
  (void)state;
  dt__error err;
  /*                12345678901234 */
  assert_sig_error("int f(int a, void)", 14, "a parameter cannot be void");
  assert_contains(err.msg, "write f() or f(void)");
  assert_sig_error("int f(void x)", 7, "a parameter cannot be void");
  assert_sig_error("int f(void, int a)", 7, "a parameter cannot be void");
  assert_sig_error("int f(in void b[4])", 10, "a parameter cannot be void");
}

static void test_err_variadic(void **state) {
  (void)state;
  dt__error err;
  /*                12345678901234567890 */
  assert_sig_error("int f(cstring fmt, ...)", 20,
                   "variadic functions cannot be offloaded");
  assert_contains(err.msg, "offload a fixed-argument variant instead");
  assert_sig_error("int f(...)", 7, "variadic functions cannot be offloaded");
}

static void test_err_missing_param_name(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(int)", 10,
                   "expected a parameter name after 'int', found ')'; every "
                   "parameter needs a name");
  assert_sig_error("int f(int, int b)", 10,
                   "expected a parameter name after 'int', found ','");
  assert_sig_error("int f(in double [4])", 17,
                   "expected a parameter name after 'double', found '['");
  assert_sig_error("int f(size_t", 13,
                   "expected a parameter name after 'size_t', found the end "
                   "of the signature");
}

static void test_err_direction_as_name(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(int out)", 11,
                   "'out' is a direction; it goes before the type");
  assert_sig_error("int f(double in)", 14, "'in' is a direction");
  assert_sig_error("int f(in int inout[4])", 14, "'inout' is a direction");
}

static void test_err_missing_bracket(void **state) {
  (void)state;
  dt__error err;
  /*                12345678901234567 */
  assert_sig_error("int f(in int b[4)", 17,
                   "expected ']' to close the length opened at column 15, "
                   "found ')'");
  assert_sig_error("int f(in int b[n", 17,
                   "expected ']' to close the length opened at column 15, "
                   "found the end of the signature");
  assert_sig_error("int f(in int b[n m], int n, int m)", 18,
                   "found 'm'");
  assert_sig_error("int f(in int b[n+1], int n)", 17,
                   "expected ']' to close the length opened at column 15, "
                   "found '+'");
}

static void test_err_missing_length(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[])", 16,
                   "expected a length: a number, an integer parameter's "
                   "name, or a product such as n*4");
  assert_sig_error("int f(in int b[n*], int n)", 18, "expected a length");
  assert_sig_error("int f(in int b[", 16, "expected a length");
}

static void test_err_bad_length_token(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[-1])", 16, "unexpected '-' in a length");
  assert_sig_error("int f(in int b[4n])", 16, "unexpected '4n' in a length");
  assert_sig_error("int f(in int b[*4])", 16, "unexpected '*' in a length");
  assert_sig_error("int f(in int b[n*(m)])", 18, "unexpected '(' in a length");
}

/* dtask sig's placeholder is refused with its own message, also inside a
 * product, and a parameter that happens to be named LEN still works. */
static void test_err_length_placeholder(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(out uint8 d[LEN?], ulong n)", 19,
                   "LEN? is a placeholder left by dtask sig: write the "
                   "buffer's length");
  assert_sig_error("int f(out uint8 d[n*LEN?], ulong n)", 21,
                   "LEN? is a placeholder");
  dt__sig sig;
  assert_int_equal(dt__sig_parse("int f(out uint8 d[LEN], ulong LEN)", NULL,
                                 0, &sig, &err),
                   0);
}

static void test_err_length_zero(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[0])", 16,
                   "a buffer of length 0 carries nothing; give it a length "
                   "of at least 1");
  assert_sig_error("int f(in int b[n*0], int n)", 18,
                   "a buffer of length 0 carries nothing");
  assert_sig_error("int f(in int b[000])", 16, "length 0");
}

static void test_err_length_too_large(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[18446744073709551616])", 16,
                   "length is too large");
  assert_sig_error("int f(in int b[99999999999999999999999])", 16,
                   "length is too large");
  /*                12345678901234567890123456789 */
  assert_sig_error("int f(in int b[4294967296*4294967296])", 27,
                   "length is too large");
}

/* A constant length whose size in bytes does not fit in 64 bits is
 * accepted: 2^62 ints are 2^64 bytes, and dt__sig_describe then reports
 * "constant (0 bytes)".  The length check should count bytes. */
static void test_err_length_bytes_overflow(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[4611686018427387904])", 16,
                   "length is too large");
  assert_sig_error("int f(in double b[18446744073709551615])", 19,
                   "length is too large");
}

static void test_err_length_too_many_factors(void **state) {
  (void)state;
  dt__error err;
  /*                12345678901234567890123456 */
  assert_sig_error("int f(in int buf[a*b*c*d*e])", 26,
                   "a length may name at most 4 parameters");
}

static void test_err_length_names_missing(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[m], size_t n, int k, double d, cstring s,"
                   " out int r[4])",
                   16,
                   "length of 'b' names 'm', which is not a parameter; "
                   "integer parameters are: n, k");
  assert_true(strstr(err.msg, "d,") == NULL);
  assert_sig_error("int f(in int b[m])", 16,
                   "length of 'b' names 'm', which is not a parameter; this "
                   "function has no integer parameter, so write a constant "
                   "length");
  assert_sig_error("int f(double x, in int b[N], int n)", 26,
                   "names 'N', which is not a parameter; integer parameters "
                   "are: n");
  /* The second factor of a product. */
  assert_sig_error("int f(in int b[n*q], int n)", 18,
                   "length of 'b' names 'q'");
}

static void test_err_length_names_wrong_kind(void **state) {
  (void)state;
  dt__error err;
  /*                123456789012345678901234567890 */
  assert_sig_error("int f(in int a[4], out int b[a])", 30,
                   "length of 'b' names 'a', which is a buffer; a length "
                   "must name an integer parameter passed by value");
  assert_sig_error("int f(cstring s, in int b[s])", 27,
                   "length of 'b' names 's', which is a cstring");
  assert_sig_error("int f(double d, in int b[d])", 26,
                   "length of 'b' names 'd', which is not an integer");
  assert_sig_error("int f(float d, in int b[2*d])", 27,
                   "which is not an integer");
  assert_sig_error("int f(in int b[b])", 16,
                   "length of 'b' names 'b', which is the buffer itself");
}

static void test_err_cstring_direction_or_length(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in cstring s)", 7,
                   "cstring is always a NUL-terminated input passed by "
                   "value: write 'cstring s'");
  assert_contains(err.msg, "write 'out char s[LEN]'");
  assert_sig_error("int f(int a, out cstring name[8])", 14,
                   "write 'cstring name'");
  /*                123456789012345 */
  assert_sig_error("int f(cstring s[4])", 15,
                   "cstring is always a NUL-terminated input");
}

static void test_err_buffer_without_direction(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(int b[4])", 7,
                   "buffer 'b' needs a direction: write 'in', 'out' or "
                   "'inout' before its type, e.g. 'in int b[...]'");
  assert_sig_error("int f(size_t n, double xs[n])", 17,
                   "e.g. 'in double xs[...]'");
  assert_sig_error_u("int f(report r[1])", utypes, NUTYPES, 7,
                     "buffer 'r' needs a direction");
}

static void test_err_buffer_without_length(void **state) {
  (void)state;
  dt__error err;
  /*                1234567890123456789 */
  assert_sig_error("int f(out double r)", 19,
                   "buffer 'r' needs a length: write 'r[LEN]'");
  assert_sig_error("int f(in uint8 data, size_t n)", 20,
                   "buffer 'data' needs a length: write 'data[LEN]'");
  assert_sig_error_u("int f(inout report rep)", utypes, NUTYPES, 23,
                     "buffer 'rep' needs a length");
}

static void test_err_duplicate_names(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(int a, int a)", 14,
                   "parameter name 'a' is used twice; give each parameter its "
                   "own name");
  assert_sig_error("int f(int n, cstring s, out int n[2])", 25,
                   "parameter name 'n' is used twice");
}

static void test_err_too_many_params(void **state) {
  (void)state;
  dt__error err;
  char text[1024];
  size_t n = (size_t)snprintf(text, sizeof text, "void f(");
  for (int i = 0; i < DT__MAX_PARAMS + 1; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "%sint p%d",
                          i ? ", " : "", i);
  snprintf(text + n, sizeof text - n, ")");
  int col = (int)(strstr(text, "int p32") - text) + 1;
  assert_sig_error(text, col,
                   "more than 32 parameters; dtask supports at most 32");
}

static void test_err_trailing_tokens(void **state) {
  (void)state;
  dt__error err;
  /*                123456789012 */
  assert_sig_error("int f(void);", 12,
                   "unexpected ';' after the closing ')'; a signature ends "
                   "with its parameter list (no ';')");
  assert_sig_error("int f(int a) const", 14, "unexpected 'const' after the "
                                             "closing ')'");
  assert_sig_error("int f() )", 9, "unexpected ')' after the closing ')'");
}

static void test_err_missing_parens(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f", 6,
                   "expected '(' after the function name 'f', found the end "
                   "of the signature");
  assert_sig_error("int f int a)", 7,
                   "expected '(' after the function name 'f', found 'int'");
  assert_sig_error("int f[4](void)", 6, "found '['");
  /*                123456789012 */
  assert_sig_error("int f(int a", 12,
                   "expected ',' or ')' after parameter 'a', found the end of "
                   "the signature");
  assert_sig_error("int f(int a int b)", 13,
                   "expected ',' or ')' after parameter 'a', found 'int'");
  assert_sig_error("int f(int a; int b)", 12, "found ';'");
  assert_sig_error("int f(", 7,
                   "expected a parameter type, found the end of the "
                   "signature");
  assert_sig_error("int f(int a,)", 13,
                   "expected a parameter type, found ')'");
}

static void test_err_missing_function_name(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int (void)", 5,
                   "expected the function's name after the return type, "
                   "found '('");
  assert_sig_error("int", 4,
                   "expected the function's name after the return type, "
                   "found the end of the signature");
  assert_sig_error("int 9lives(void)", 5, "found '9lives'");
}

static void test_err_expected_type(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("(void)", 1, "expected a return type, found '('");
  assert_sig_error("5 f(void)", 1, "expected a return type, found '5'");
  assert_sig_error("int f(in 5 b[1])", 10,
                   "expected a parameter type, found '5'");
  assert_sig_error("int f(out)", 10, "expected a parameter type, found ')'");
  assert_sig_error("int f(int a, @)", 14,
                   "expected a parameter type, found '@'");
}

static void test_err_names_too_long(void **state) {
  (void)state;
  dt__error err;
  char text[512], word[200];

  memset(word, 't', 64);
  word[64] = '\0';
  snprintf(text, sizeof text, "int f(%s x)", word);
  assert_sig_error(text, 7, "type name 'tttt");
  assert_contains(err.msg, "is longer than 63 characters");

  memset(word, 'p', 64);
  word[64] = '\0';
  snprintf(text, sizeof text, "int f(int %s)", word);
  assert_sig_error(text, 11, "parameter name 'pppp");
  assert_contains(err.msg, "is longer than 63 characters");

  memset(word, 'f', 128);
  word[128] = '\0';
  snprintf(text, sizeof text, "int %s(void)", word);
  assert_sig_error(text, 5, "function name 'ffff");
  assert_contains(err.msg, "is longer than 127 characters");
}

static void test_err_null_err_is_allowed(void **state) {
  (void)state;
  dt__sig sig;
  assert_int_equal(dt__sig_parse("int f(int *p)", NULL, 0, &sig, NULL),
                   -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_err_empty),
      cmocka_unit_test(test_err_unknown_type_hint),
      cmocka_unit_test(test_err_unknown_type_no_hint),
      cmocka_unit_test(test_err_c_spellings),
      cmocka_unit_test(test_err_bare_pointers),
      cmocka_unit_test(test_err_returned_pointer),
      cmocka_unit_test(test_err_user_type_by_value),
      cmocka_unit_test(test_err_void_param),
      cmocka_unit_test(test_err_variadic),
      cmocka_unit_test(test_err_missing_param_name),
      cmocka_unit_test(test_err_direction_as_name),
      cmocka_unit_test(test_err_missing_bracket),
      cmocka_unit_test(test_err_missing_length),
      cmocka_unit_test(test_err_bad_length_token),
      cmocka_unit_test(test_err_length_placeholder),
      cmocka_unit_test(test_err_length_zero),
      cmocka_unit_test(test_err_length_too_large),
      cmocka_unit_test(test_err_length_bytes_overflow),
      cmocka_unit_test(test_err_length_too_many_factors),
      cmocka_unit_test(test_err_length_names_missing),
      cmocka_unit_test(test_err_length_names_wrong_kind),
      cmocka_unit_test(test_err_cstring_direction_or_length),
      cmocka_unit_test(test_err_buffer_without_direction),
      cmocka_unit_test(test_err_buffer_without_length),
      cmocka_unit_test(test_err_duplicate_names),
      cmocka_unit_test(test_err_too_many_params),
      cmocka_unit_test(test_err_trailing_tokens),
      cmocka_unit_test(test_err_missing_parens),
      cmocka_unit_test(test_err_missing_function_name),
      cmocka_unit_test(test_err_expected_type),
      cmocka_unit_test(test_err_names_too_long),
      cmocka_unit_test(test_err_null_err_is_allowed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
