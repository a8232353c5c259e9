/* test_cond.c: unit tests of the comparison grammar (cond.c) shared by
 * retry_if and offload_if, and of offload_if in the config (config.c).
 *
 * dt__cond_parse is fed every operator (the two-character ones must not
 * be read as their first character), spaces or none, every literal kind
 * and the texts it must refuse; dt__cond_misfit is asked about each type
 * class; dt__cond_eval compares values in the wire's form (signed,
 * unsigned with negative literals, float, double, strings against NULL);
 * dt__cond_format must give back text that parses to the same
 * comparison.  offload_if goes through dt__config_parse, as a person
 * writes it: accepted on integer and floating parameters, refused with
 * its line, column and a message that says why. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "config/cond.h"
#include "config/config.h"
#include "config/types.h"
#include "testutil.h"

static dt__error err;

/* Parses text, which must be a comparison. */
static dt__cond ok(const char *text) {
  dt__cond c;
  memset(&c, 0x5a, sizeof c);
  if (dt__cond_parse(text, &c) != 0)
    fail_msg("\"%s\" was refused", text);
  assert_int_equal(c.param, -1);
  assert_int_equal(c.line, 0);
  assert_int_equal(c.col, 0);
  return c;
}

/* Asserts that text is refused. */
static void bad(const char *text) {
  dt__cond c;
  if (dt__cond_parse(text, &c) != -EINVAL)
    fail_msg("\"%s\" was accepted (name '%s', op %d, literal kind %d)", text,
             c.name, (int)c.op, (int)c.lit);
}

static void test_parse_operators(void **state) {
  (void)state;
  static const struct {
    const char *text;
    dt__cmp op;
  } cases[] = {
      {"n == 5", DT__CMP_EQ}, {"n != 5", DT__CMP_NE}, {"n < 5", DT__CMP_LT},
      {"n <= 5", DT__CMP_LE}, {"n > 5", DT__CMP_GT},  {"n >= 5", DT__CMP_GE},
      /* Without spaces: "<=" is not "<" followed by "=5". */
      {"n==5", DT__CMP_EQ},   {"n!=5", DT__CMP_NE},   {"n<5", DT__CMP_LT},
      {"n<=5", DT__CMP_LE},   {"n>5", DT__CMP_GT},    {"n>=5", DT__CMP_GE},
      /* Leading, trailing and repeated spaces. */
      {"   n   >=   5   ", DT__CMP_GE},
      {"n <=5", DT__CMP_LE},  {"n>= 5", DT__CMP_GE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    dt__cond c = ok(cases[i].text);
    if (c.op != cases[i].op)
      fail_msg("\"%s\": op %d, expected %d", cases[i].text, (int)c.op,
               (int)cases[i].op);
    assert_string_equal(c.name, "n");
    assert_int_equal(c.lit, DT__LIT_INT);
    assert_int_equal(c.i, 5);
  }
  /* An operator followed by a negative number. */
  dt__cond c = ok("n<=-5");
  assert_int_equal(c.op, DT__CMP_LE);
  assert_int_equal(c.i, -5);
  c = ok("n<-5");
  assert_int_equal(c.op, DT__CMP_LT);
  assert_int_equal(c.i, -5);
  c = ok("n>=-0");
  assert_int_equal(c.op, DT__CMP_GE);
  assert_int_equal(c.i, 0);
}

static void test_parse_names_and_literals(void **state) {
  (void)state;
  dt__cond c = ok("rows_2 > 100");
  assert_string_equal(c.name, "rows_2");
  assert_int_equal(c.op, DT__CMP_GT);
  c = ok("_n > 1");
  assert_string_equal(c.name, "_n");
  /* Integers: decimal, hexadecimal, negative, the long long range. */
  c = ok("n == 0x1F");
  assert_int_equal(c.lit, DT__LIT_INT);
  assert_int_equal(c.i, 31);
  c = ok("n == -0x10");
  assert_int_equal(c.i, -16);
  c = ok("ret < -1");
  assert_int_equal(c.lit, DT__LIT_INT);
  assert_int_equal(c.i, -1);
  c = ok("n >= 9223372036854775807");
  assert_int_equal(c.lit, DT__LIT_INT);
  assert_true(c.i == 9223372036854775807ll);
  c = ok("n >= -9223372036854775808");
  assert_true(c.i == -9223372036854775807ll - 1);
  c = ok("n == 0");
  assert_int_equal(c.lit, DT__LIT_INT);
  assert_int_equal(c.i, 0);
  /* Floats. */
  c = ok("x < 1.5");
  assert_int_equal(c.lit, DT__LIT_FLOAT);
  assert_true(c.d == 1.5);
  c = ok("x >= -2.25e3");
  assert_int_equal(c.lit, DT__LIT_FLOAT);
  assert_true(c.d == -2250.0);
  c = ok("x > .5");
  assert_int_equal(c.lit, DT__LIT_FLOAT);
  assert_true(c.d == 0.5);
  c = ok("x > 1e-3");
  assert_int_equal(c.lit, DT__LIT_FLOAT);
  assert_true(c.d == 1e-3);
  /* true, false, NULL. */
  c = ok("ok == true");
  assert_int_equal(c.lit, DT__LIT_BOOL);
  assert_int_equal(c.i, 1);
  c = ok("ok != false");
  assert_int_equal(c.lit, DT__LIT_BOOL);
  assert_int_equal(c.op, DT__CMP_NE);
  assert_int_equal(c.i, 0);
  c = ok("ret == NULL");
  assert_int_equal(c.lit, DT__LIT_NULL);
  assert_int_equal(c.op, DT__CMP_EQ);
  c = ok("ret!=NULL");
  assert_int_equal(c.lit, DT__LIT_NULL);
  assert_int_equal(c.op, DT__CMP_NE);
  /* The longest name that fits (63 characters). */
  char name[200];
  memset(name, 'a', 63);
  snprintf(name + 63, sizeof name - 63, " > 1");
  c = ok(name);
  assert_int_equal(strlen(c.name), 63);
}

/* A literal written as an integer is an integer, or refused: never a
 * float.  Otherwise offload_if = "n >= 08" on a size_t is refused with
 * "an integer must be compared with an integer", and so is
 * "n <= 18446744073709551615" (SIZE_MAX), which is an integer. */
static void test_parse_integers_stay_integers(void **state) {
  (void)state;
  static const char *const texts[] = {
      "n >= 08", "n >= 09", "n >= 0099", "n <= 18446744073709551615",
      "n > 9223372036854775808", "n > -9223372036854775809"};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    dt__cond c;
    int rc = dt__cond_parse(texts[i], &c);
    if (rc == 0 && c.lit != DT__LIT_INT)
      fail_msg("\"%s\" parses to a literal of kind %d (%.17g), not an "
               "integer (%d)",
               texts[i], (int)c.lit, c.d, (int)DT__LIT_INT);
  }
}

static void test_parse_refusals(void **state) {
  (void)state;
  bad("");
  bad("   ");
  bad("n");
  bad("n 5");       /* no operator */
  bad("n = 5");     /* not an operator */
  bad("n => 5");
  bad("n <> 5");
  bad("n =< 5");
  bad("n ! 5");
  bad("n >=");      /* no literal */
  bad("n >=   ");
  bad("n < = 5");   /* "=" is no literal */
  bad("n >= 5 6");  /* trailing junk */
  bad("n >= 5 x");
  bad("n >= 5x");
  bad("n >= 1.5.2");
  bad("n >= 0x");
  bad("n >= abc");
  bad("n >= nan");  /* not finite */
  bad("n >= inf");
  bad("n >= -inf");
  bad("n >= True"); /* literals are case-sensitive */
  bad("n >= null");
  bad("1n > 0");    /* a name starts with a letter or '_' */
  bad("9 > n");
  bad("> 5");
  bad("-n > 5");
  bad("n-1 > 5");
  bad("n.x > 5");
  bad("n\t> 5");    /* only spaces separate */
  bad("n >= \"5\"");
  /* A name of 64 characters does not fit. */
  char name[200];
  memset(name, 'a', 64);
  snprintf(name + 64, sizeof name - 64, " > 1");
  bad(name);
  memset(name, 'b', 150);
  snprintf(name + 150, sizeof name - 150, " > 1");
  bad(name);
  /* A literal of 64 characters or more does not fit either. */
  char lit[200];
  snprintf(lit, sizeof lit, "n > 1%s",
           "000000000000000000000000000000000000000000000000000000000000000");
  bad(lit);
}

static dt__type type_of(const char *name) {
  dt__type t;
  memset(&t, 0, sizeof t);
  if (strcmp(name, "cstring") == 0) {
    t.tag = DT__T_CSTRING;
    t.name = "cstring";
    t.size = t.align = sizeof(char *);
    return t;
  }
  if (dt__type_lookup(name, NULL, 0, &t) != 0)
    fail_msg("no type %s", name);
  return t;
}

/* The misfit phrase of text against type name, or NULL. */
static const char *misfit(const char *text, const char *type) {
  dt__cond c = ok(text);
  dt__type t = type_of(type);
  return dt__cond_misfit(&c, &t);
}

static void test_misfit(void **state) {
  (void)state;
  /* Integers, signed and unsigned, and bool: integer and bool literals. */
  static const char *const ints[] = {"int",    "size_t", "int8",  "uint64",
                                     "ssize_t", "bool",  "uchar", "off_t"};
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
    assert_null(misfit("n >= 100", ints[i]));
    assert_null(misfit("n < -1", ints[i]));
    assert_null(misfit("n == true", ints[i]));
    const char *m = misfit("n >= 1.5", ints[i]);
    assert_non_null(m);
    assert_string_equal(m, "an integer must be compared with an integer");
    m = misfit("n == NULL", ints[i]);
    assert_non_null(m);
    assert_string_equal(m, "only a string (cstring) can be compared with NULL");
  }
  /* Floating types: any number. */
  assert_null(misfit("x > 0.5", "double"));
  assert_null(misfit("x > 2", "double"));
  assert_null(misfit("x <= -1e9", "float"));
  assert_null(misfit("x != 3", "float"));
  assert_string_equal(misfit("x == NULL", "double"),
                      "only a string (cstring) can be compared with NULL");
  assert_string_equal(misfit("x != NULL", "float"),
                      "only a string (cstring) can be compared with NULL");
  /* Strings: NULL with == or != only. */
  assert_null(misfit("s == NULL", "cstring"));
  assert_null(misfit("s != NULL", "cstring"));
  assert_string_equal(misfit("s < NULL", "cstring"),
                      "a string can only be compared with NULL, with == or "
                      "!=");
  assert_string_equal(misfit("s == 0", "cstring"),
                      "a string can only be compared with NULL, with == or "
                      "!=");
  assert_non_null(misfit("s == 1.5", "cstring"));
  assert_non_null(misfit("s == false", "cstring"));
  /* void has no value. */
  assert_string_equal(misfit("ret == 0", "void"),
                      "void has no value to compare");
}

/* Whether text holds for the wire value v of type name. */
static int holds(const char *text, const char *type, uint64_t v) {
  dt__cond c = ok(text);
  dt__type t = type_of(type);
  assert_null(dt__cond_misfit(&c, &t));
  return dt__cond_eval(&c, &t, v);
}

static uint64_t dbits(double d) {
  uint64_t v;
  memcpy(&v, &d, sizeof v);
  return v;
}

static uint64_t fbits(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

/* The wire form of an int argument, as the shim reads it. */
static uint64_t wire_int(const char *type, long long x) {
  dt__type t = type_of(type);
  unsigned char arg[8] = {0};
  int8_t i8 = (int8_t)x;
  int16_t i16 = (int16_t)x;
  int32_t i32 = (int32_t)x;
  int64_t i64 = (int64_t)x;
  switch (t.size) {
  case 1:
    memcpy(arg, &i8, 1);
    break;
  case 2:
    memcpy(arg, &i16, 2);
    break;
  case 4:
    memcpy(arg, &i32, 4);
    break;
  default:
    memcpy(arg, &i64, 8);
  }
  uint64_t v;
  assert_int_equal(dt__scalar_get(&t, arg, &v), 0);
  return v;
}

static void test_eval_signed(void **state) {
  (void)state;
  static const char *const types[] = {"int", "int8", "short", "long",
                                      "ssize_t", "int64"};
  for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
    const char *t = types[k];
    uint64_t m5 = wire_int(t, -5), z = wire_int(t, 0), p5 = wire_int(t, 5);
    /* Every operator at, below and above the literal. */
    assert_true(holds("n == -5", t, m5));
    assert_false(holds("n == -5", t, p5));
    assert_true(holds("n != -5", t, z));
    assert_false(holds("n != -5", t, m5));
    assert_true(holds("n < 0", t, m5));
    assert_false(holds("n < 0", t, z));
    assert_false(holds("n < 0", t, p5));
    assert_true(holds("n <= 0", t, m5));
    assert_true(holds("n <= 0", t, z));
    assert_false(holds("n <= 0", t, p5));
    assert_false(holds("n > 0", t, m5));
    assert_false(holds("n > 0", t, z));
    assert_true(holds("n > 0", t, p5));
    assert_false(holds("n >= 0", t, m5));
    assert_true(holds("n >= 0", t, z));
    assert_true(holds("n >= 0", t, p5));
    assert_true(holds("n > -6", t, m5));
    assert_false(holds("n > -5", t, m5));
    assert_true(holds("n == true", t, wire_int(t, 1)));
    assert_false(holds("n == true", t, p5));
  }
  /* The extremes of 64 bits. */
  assert_true(holds("n < -9223372036854775807", "long",
                    (uint64_t)(-9223372036854775807ll - 1)));
  assert_true(holds("n == 9223372036854775807", "int64",
                    (uint64_t)9223372036854775807ll));
  /* int8's -1 is below 0, not 255. */
  assert_true(holds("n < 0", "int8", wire_int("int8", -1)));
  assert_false(holds("n > 100", "int8", wire_int("int8", -1)));
}

static void test_eval_unsigned(void **state) {
  (void)state;
  static const char *const types[] = {"size_t", "uint", "uint8", "ulong",
                                      "uint64", "ushort"};
  for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
    const char *t = types[k];
    assert_true(holds("n >= 100", t, 100));
    assert_false(holds("n >= 100", t, 99));
    assert_true(holds("n > 99", t, 100));
    assert_false(holds("n > 100", t, 100));
    assert_true(holds("n <= 100", t, 100));
    assert_false(holds("n < 100", t, 100));
    assert_true(holds("n < 100", t, 0));
    assert_true(holds("n == 0", t, 0));
    assert_true(holds("n != 0", t, 1));
    /* A negative literal is below every value, even the largest. */
    uint64_t top = wire_int(t, -1);
    assert_true(top != 0);
    assert_true(holds("n > -1", t, 0));
    assert_true(holds("n > -1", t, top));
    assert_true(holds("n >= -1", t, 0));
    assert_true(holds("n != -1", t, top));
    assert_false(holds("n < -1", t, 0));
    assert_false(holds("n < -1", t, top));
    assert_false(holds("n <= -1", t, 0));
    assert_false(holds("n == -1", t, 0));
    assert_false(holds("n <= -9223372036854775808", t, 0));
  }
  /* Above 2^63: compared as unsigned, not as a negative number. */
  uint64_t big = (uint64_t)1 << 63;
  assert_true(holds("n > 100", "uint64", big));
  assert_true(holds("n >= 9223372036854775807", "size_t", big));
  assert_false(holds("n < 100", "size_t", UINT64_MAX));
  /* uint's largest value is 4294967295, not -1. */
  assert_true(holds("n > 4294967294", "uint", wire_int("uint", -1)));
}

static void test_eval_floating(void **state) {
  (void)state;
  assert_true(holds("x > 0.5", "double", dbits(0.75)));
  assert_false(holds("x > 0.5", "double", dbits(0.5)));
  assert_true(holds("x >= 0.5", "double", dbits(0.5)));
  assert_true(holds("x < 0.5", "double", dbits(-1e300)));
  assert_true(holds("x <= -2", "double", dbits(-2.0)));
  assert_true(holds("x == 3", "double", dbits(3.0)));
  assert_true(holds("x != 3", "double", dbits(3.0000000001)));
  assert_true(holds("x == 0", "double", dbits(-0.0))); /* -0.0 == 0 */
  assert_false(holds("x < 0", "double", dbits(-0.0)));
  /* NaN satisfies only != . */
  assert_false(holds("x == 0", "double", dbits(NAN)));
  assert_false(holds("x < 1e308", "double", dbits(NAN)));
  assert_false(holds("x >= -1e308", "double", dbits(NAN)));
  assert_true(holds("x != 0", "double", dbits(NAN)));
  assert_true(holds("x > 1e308", "double", dbits(INFINITY)));
  /* float: the value is read as a float (its 32 bits), not a double. */
  assert_true(holds("x > 1.25", "float", fbits(1.5f)));
  assert_false(holds("x > 1.5", "float", fbits(1.5f)));
  assert_true(holds("x >= 1.5", "float", fbits(1.5f)));
  assert_true(holds("x < 0", "float", fbits(-3.0f)));
  assert_true(holds("x == 16777216", "float", fbits(16777216.0f)));
  /* 0.1f is not 0.1: compared in double, as C compares x > 0.1. */
  assert_true(holds("x > 0.1", "float", fbits(0.1f)));
  /* The float's bits as the shim reads an argument. */
  dt__type ft = type_of("float");
  float f = 2.5f;
  uint64_t v;
  assert_int_equal(dt__scalar_get(&ft, &f, &v), 0);
  assert_true(holds("x == 2.5", "float", v));
  dt__type dt = type_of("double");
  double d = -7.5;
  assert_int_equal(dt__scalar_get(&dt, &d, &v), 0);
  assert_true(holds("x < -7", "double", v));
}

static void test_eval_cstring(void **state) {
  (void)state;
  /* A cstring's value is 0 when NULL. */
  assert_true(holds("s == NULL", "cstring", 0));
  assert_false(holds("s == NULL", "cstring", 1));
  assert_false(holds("s != NULL", "cstring", 0));
  assert_true(holds("s != NULL", "cstring", 1));
  assert_true(holds("s != NULL", "cstring", 0x7fff12345678ull));
}

/* text, formatted, parses back to the same comparison; want is the
 * formatted text. */
static void round_trip(const char *text, const char *want) {
  dt__cond a = ok(text), b;
  char out[256];
  dt__cond_format(&a, out, sizeof out);
  if (want != NULL && strcmp(out, want) != 0)
    fail_msg("\"%s\" formats as \"%s\", expected \"%s\"", text, out, want);
  if (dt__cond_parse(out, &b) != 0)
    fail_msg("\"%s\" formats as \"%s\", which does not parse", text, out);
  /* A float literal that is a whole number may come back as an integer
   * (for the floating parameter it can only be compared with, the same
   * comparison); its value must not change. */
  bool same_value =
      a.lit == b.lit ? a.i == b.i && memcmp(&a.d, &b.d, sizeof a.d) == 0
      : a.lit == DT__LIT_FLOAT && b.lit == DT__LIT_INT
          ? (double)b.i == a.d
          : false;
  if (strcmp(a.name, b.name) != 0 || a.op != b.op || !same_value)
    fail_msg("\"%s\" formats as \"%s\", which parses to another comparison "
             "(literal %lld / %.17g, then %lld / %.17g)",
             text, out, a.i, a.d, b.i, b.d);
}

static void test_format_round_trip(void **state) {
  (void)state;
  round_trip("n >= 100", "n >= 100");
  round_trip("n<=5", "n <= 5");
  round_trip("  n   <  5 ", "n < 5");
  round_trip("n==0x10", "n == 16");
  round_trip("n != -3", "n != -3");
  round_trip("n > -9223372036854775808", "n > -9223372036854775808");
  round_trip("n > 9223372036854775807", "n > 9223372036854775807");
  round_trip("ret == NULL", "ret == NULL");
  round_trip("ret != NULL", "ret != NULL");
  round_trip("ok == true", "ok == true");
  round_trip("ok != false", "ok != false");
  round_trip("x < 1.5", "x < 1.5");
  round_trip("x >= -0.25", "x >= -0.25");
  round_trip("x > 0.1", NULL);
  round_trip("x > 1e-300", NULL);
  round_trip("x > 2.0", NULL);
  round_trip("x < 1e20", NULL);
  /* A short buffer is cut, never overrun. */
  dt__cond c = ok("n >= 100");
  char tiny[5];
  memset(tiny, 'x', sizeof tiny);
  dt__cond_format(&c, tiny, sizeof tiny);
  assert_string_equal(tiny, "n >=");
}

/* Every significant digit of a float literal survives: `dtask check`
 * prints offload_if with dt__cond_format ("offloaded only when ..."),
 * and the text must say what the config says, not a rounding of it. */
static void test_format_keeps_every_digit(void **state) {
  (void)state;
  round_trip("x >= 1234567.5", NULL);
  round_trip("x < 0.3333333333333333", NULL);
  round_trip("x > 100000.25", NULL);
}

/* ------------------------------------------------------- offload_if */


static void test_offload_if_valid(void **state) {
  (void)state;
  dt__config *cfg = parse_one("[[offload]]\n"
                        "signature = \"int f(in double x[n], size_t n, out "
                        "double y[n])\"\n"
                        "offload_if = \"n >= 100\"\n");
  const dt__offload *o = &cfg->offloads[0];
  assert_int_equal(o->has_offload_if, 1);
  assert_int_equal(o->offload_if.param, 1);
  assert_string_equal(o->offload_if.name, "n");
  assert_int_equal(o->offload_if.op, DT__CMP_GE);
  assert_int_equal(o->offload_if.lit, DT__LIT_INT);
  assert_int_equal(o->offload_if.i, 100);
  assert_int_equal(o->offload_if.line, 3);
  assert_int_equal(o->offload_if.col, 14);
  dt__config_free(cfg);

  cfg = parse_one("[[offload]]\nsignature = \"int g(cstring name, int k, in char "
            "b[k])\"\noffload_if = \"k<-1\"\n");
  o = &cfg->offloads[0];
  assert_int_equal(o->offload_if.param, 1);
  assert_int_equal(o->offload_if.op, DT__CMP_LT);
  assert_int_equal(o->offload_if.i, -1);
  dt__config_free(cfg);

  cfg = parse_one("[[offload]]\nsignature = \"void s(inout double m[rows*cols], "
            "size_t rows, size_t cols, double k)\"\n"
            "offload_if = \"k > 0.5\"\n");
  o = &cfg->offloads[0];
  assert_int_equal(o->offload_if.param, 3);
  assert_int_equal(o->offload_if.lit, DT__LIT_FLOAT);
  assert_true(o->offload_if.d == 0.5);
  dt__config_free(cfg);

  /* An integer literal against a double, a float parameter, a bool. */
  cfg = parse_one("[[offload]]\nsignature = \"int h(float t, bool big)\"\n"
            "offload_if = \"t >= 2\"\n");
  assert_int_equal(cfg->offloads[0].offload_if.param, 0);
  assert_int_equal(cfg->offloads[0].offload_if.lit, DT__LIT_INT);
  dt__config_free(cfg);
  cfg = parse_one("[[offload]]\nsignature = \"int h(float t, bool big)\"\n"
            "offload_if = \"big == true\"\n");
  assert_int_equal(cfg->offloads[0].offload_if.param, 1);
  dt__config_free(cfg);

  /* Without the key, every call goes. */
  cfg = parse_one("[[offload]]\nsignature = \"int f(size_t n)\"\n");
  assert_int_equal(cfg->offloads[0].has_offload_if, 0);
  dt__config_free(cfg);

  /* Split and offload_if together. */
  cfg = parse_one("[[offload]]\nsignature = \"int f(in double x[n], size_t n)\"\n"
            "offload_if = \"n > 1000\"\nsplit = { over = \"n\", chunk = 64 }\n"
            "aggregate = \"sum\"\n");
  assert_int_equal(cfg->offloads[0].has_offload_if, 1);
  assert_int_equal(cfg->offloads[0].split.enabled, 1);
  dt__config_free(cfg);
}

static void test_offload_if_errors(void **state) {
  (void)state;
  const char *head = "[[offload]]\nsignature = \"int f(in double x[n], "
                     "size_t n, cstring s, double w, int k)\"\n";
  char text[512];
#define WITH(line) (snprintf(text, sizeof text, "%s%s\n", head, line), text)
  assert_cfg_error(WITH("offload_if = \"x > 0\""), 3, 14,
                   "[[offload]] #1 (f): offload_if compares 'x', which is a "
                   "buffer; name an integer or floating-point parameter "
                   "passed by value");
  assert_cfg_error(WITH("offload_if = \"s != NULL\""), 3, 14,
                   "offload_if compares 's', which is a string; name an "
                   "integer or floating-point parameter");
  assert_cfg_error(WITH("offload_if = \"m >= 100\""), 3, 14,
                   "offload_if names 'm', which is not a parameter of f");
  assert_cfg_error(WITH("offload_if = \"ret >= 100\""), 3, 14,
                   "offload_if names 'ret', which is not a parameter of f");
  assert_cfg_error(WITH("offload_if = \"n >= 1.5\""), 3, 14,
                   "offload_if = \"n >= 1.5\": 'n' is size_t, and an integer "
                   "must be compared with an integer");
  assert_cfg_error(WITH("offload_if = \"k < 0.5\""), 3, 14,
                   "'k' is int, and an integer must be compared with an "
                   "integer");
  assert_cfg_error(WITH("offload_if = \"w == NULL\""), 3, 14,
                   "'w' is double, and only a string (cstring) can be "
                   "compared with NULL");
  assert_cfg_error(WITH("offload_if = \"n == NULL\""), 3, 14,
                   "only a string (cstring) can be compared with NULL");
  assert_cfg_error(WITH("offload_if = 100"), 3, 14,
                   "'offload_if' in [[offload]] #1 (f) must be a string");
  assert_cfg_error(WITH("offload_if = 100"), 3, 14,
                   "offload_if = \"n >= 1000\"");
  assert_cfg_error(WITH("offload_if = true"), 3, 14, "must be a string");
  assert_cfg_error(WITH("offload_if = [\"n > 1\"]"), 3, 14,
                   "must be a string");
  assert_cfg_error(WITH("offload_if = \"n >>= 3\""), 3, 14,
                   "offload_if = \"n >>= 3\" is not a comparison of a "
                   "parameter; write for example offload_if = \"n >= "
                   "1000\"");
  assert_cfg_error(WITH("offload_if = \"n\""), 3, 14, "is not a comparison");
  assert_cfg_error(WITH("offload_if = \"\""), 3, 14, "is not a comparison");
  assert_cfg_error(WITH("offload_if = \"n >= 100 or k > 1\""), 3, 14,
                   "is not a comparison");
  assert_cfg_error(WITH("offload_if = \"2 <= n\""), 3, 14,
                   "is not a comparison");
  /* The column is the value's, wherever it is on its line. */
  assert_cfg_error(WITH("offload_if   =   \"x > 0\""), 3, 18, "a buffer");
  assert_cfg_error(WITH("offlaod_if = \"n > 1\""), 3, 1,
                   "did you mean 'offload_if'?");
#undef WITH
  /* A parameter of a void function, named as written. */
  assert_cfg_error("[[offload]]\nsymbol = \"g\"\nsignature = \"void g(inout "
                   "int v[len], uint len)\"\n"
                   "offload_if = \"count > 10\"\n",
                   4, 14,
                   "[[offload]] #1 (g): offload_if names 'count', which is "
                   "not a parameter of g");
  /* offload_if is an entry's own: [defaults] does not take it. */
  assert_cfg_error("[defaults]\noffload_if = \"n > 1\"\n"
                   "[[offload]]\nsignature = \"int f(size_t n)\"\n",
                   2, 1, "unknown key 'offload_if' in [defaults]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_operators),
      cmocka_unit_test(test_parse_names_and_literals),
      cmocka_unit_test(test_parse_integers_stay_integers),
      cmocka_unit_test(test_parse_refusals),
      cmocka_unit_test(test_misfit),
      cmocka_unit_test(test_eval_signed),
      cmocka_unit_test(test_eval_unsigned),
      cmocka_unit_test(test_eval_floating),
      cmocka_unit_test(test_eval_cstring),
      cmocka_unit_test(test_format_round_trip),
      cmocka_unit_test(test_format_keeps_every_digit),
      cmocka_unit_test(test_offload_if_valid),
      cmocka_unit_test(test_offload_if_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
