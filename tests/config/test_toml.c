/* test_toml.c: unit tests for the strict TOML-subset parser (toml.c).
 *
 * Valid documents check values, kinds, nesting and the recorded
 * positions; invalid documents check the exact line and column of the
 * error and a fragment of its sentence.  Texts are string literals, so
 * that sizeof gives their length even when they contain NUL bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/toml.h"

/* ------------------------------------------------------------- helpers */

/* Parses text, failing the test with the parser's message on error. */
static dt__toml *parse_ok(const char *text, size_t len) {
  dt__error err;
  dt__toml *t = NULL;
  int rc;

  memset(&err, 0, sizeof err);
  rc = dt__toml_parse(text, len, &t, &err);
  if (rc != 0)
    fail_msg("parse failed (%d) at %d:%d: %s", rc, err.line, err.col,
             err.msg);
  assert_non_null(t);
  return t;
}

/* Parses text that must fail at line:col with a message containing frag.
 * The result pointer must be left untouched. */
static void parse_bad(const char *text, size_t len, int line, int col,
                      const char *frag) {
  dt__error err;
  dt__toml sentinel, *t = &sentinel;
  int rc;

  memset(&err, 0, sizeof err);
  rc = dt__toml_parse(text, len, &t, &err);
  if (rc == 0) {
    dt__toml_free(t);
    fail_msg("parse of <%s> succeeded; expected an error at %d:%d", text,
             line, col);
  }
  assert_int_equal(rc, -EINVAL);
  assert_ptr_equal(t, &sentinel);
  if (err.line != line || err.col != col || strstr(err.msg, frag) == NULL)
    fail_msg("parse of <%s>: got %d:%d: %s\n  expected %d:%d: ...%s...",
             text, err.line, err.col, err.msg, line, col, frag);
}

#define OK(text) parse_ok(text, sizeof(text) - 1)
#define BAD(text, line, col, frag)                                            \
  parse_bad(text, sizeof(text) - 1, line, col, frag)

/* Follows a dotted path of plain names from t ("a.b.c"). */
static const dt__toml *get(const dt__toml *t, const char *path) {
  char buf[256], *save = NULL, *part;

  snprintf(buf, sizeof buf, "%s", path);
  for (part = strtok_r(buf, ".", &save); part != NULL && t != NULL;
       part = strtok_r(NULL, ".", &save))
    t = dt__toml_get(t, part);
  return t;
}

/* Returns item i of array a. */
static const dt__toml *item(const dt__toml *a, size_t i) {
  assert_non_null(a);
  assert_int_equal(a->kind, DT__TOML_ARRAY);
  assert_true(i < a->u.list.n);
  return a->u.list.items[i];
}

static const dt__toml *want(const dt__toml *t, const char *path,
                            dt__toml_kind kind) {
  const dt__toml *v = get(t, path);
  if (v == NULL)
    fail_msg("no key %s", path);
  if (v->kind != kind)
    fail_msg("%s is a %s, not a %s", path, dt__toml_kind_name(v->kind),
             dt__toml_kind_name(kind));
  return v;
}

static void want_str(const dt__toml *t, const char *path, const char *s) {
  assert_string_equal(want(t, path, DT__TOML_STRING)->u.s, s);
}

static void want_int(const dt__toml *t, const char *path, long long i) {
  const dt__toml *v = want(t, path, DT__TOML_INT);
  if (v->u.i != i)
    fail_msg("%s = %lld, expected %lld", path, v->u.i, i);
}

static void want_float(const dt__toml *t, const char *path, double f) {
  const dt__toml *v = want(t, path, DT__TOML_FLOAT);
  if (v->u.f != f)
    fail_msg("%s = %.17g, expected %.17g", path, v->u.f, f);
}

static void want_bool(const dt__toml *t, const char *path, int b) {
  assert_int_equal(want(t, path, DT__TOML_BOOL)->u.b, b);
}

static void want_pos(const dt__toml *v, int line, int col, int key_line,
                     int key_col) {
  assert_non_null(v);
  if (v->line != line || v->col != col || v->key_line != key_line ||
      v->key_col != key_col)
    fail_msg("position %d:%d key %d:%d, expected %d:%d key %d:%d", v->line,
             v->col, v->key_line, v->key_col, line, col, key_line, key_col);
}

static size_t count(const dt__toml *t) { return t->u.list.n; }

/* ------------------------------------------------------ valid: basics */

static void empty_document(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("");
  assert_int_equal(t->kind, DT__TOML_TABLE);
  assert_int_equal(count(t), 0);
  assert_null(t->key);
  assert_int_equal(t->key_line, 0);
  dt__toml_free(t);
  t = OK("# only a comment\n\n   \t\n# another one");
  assert_int_equal(count(t), 0);
  dt__toml_free(t);
}

static void scalar_positions(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("a = 1\nbb=\"x\"\n  c\t=\ttrue # done\n");
  assert_int_equal(count(t), 3);
  want_int(t, "a", 1);
  want_str(t, "bb", "x");
  want_bool(t, "c", 1);
  want_pos(get(t, "a"), 1, 5, 1, 1);
  want_pos(get(t, "bb"), 2, 4, 2, 1);
  want_pos(get(t, "c"), 3, 7, 3, 3);
  assert_string_equal(t->u.list.items[1]->key, "bb");
  dt__toml_free(t);
}

static void bare_keys(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("key = 1\nbare_key = 2\nbare-key = 3\n1234 = 4\ntrue = 5\n"
         "-_- = 6\nALLCAPS = 7");
  want_int(t, "key", 1);
  want_int(t, "bare_key", 2);
  want_int(t, "bare-key", 3);
  want_int(t, "1234", 4);
  want_int(t, "true", 5);
  want_int(t, "-_-", 6);
  want_int(t, "ALLCAPS", 7);
  dt__toml_free(t);
}

static void quoted_keys(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("\"127.0.0.1\" = 1\n'key two' = 2\n\"\" = 3\n"
         "\"tab\\there\" = 4\n'quoted \"value\"' = 5\n\"\\u00e9\" = 6");
  assert_int_equal(count(t), 6);
  assert_int_equal(dt__toml_get(t, "127.0.0.1")->u.i, 1);
  assert_int_equal(dt__toml_get(t, "key two")->u.i, 2);
  assert_int_equal(dt__toml_get(t, "")->u.i, 3);
  assert_int_equal(dt__toml_get(t, "tab\there")->u.i, 4);
  assert_int_equal(dt__toml_get(t, "quoted \"value\"")->u.i, 5);
  assert_int_equal(dt__toml_get(t, "\xC3\xA9")->u.i, 6);
  want_pos(dt__toml_get(t, "key two"), 2, 13, 2, 1);
  dt__toml_free(t);
}

static void dotted_keys(void **state) {
  dt__toml *t;
  const dt__toml *a;
  (void)state;
  t = OK("a.b.c = 1\na . \"b\" . d = 2\na.'x.y' = 3\nsite.\"google.com\" = "
         "true");
  a = want(t, "a", DT__TOML_TABLE);
  want_pos(a, 1, 1, 1, 1);
  want_pos(get(t, "a.b"), 1, 3, 1, 3);
  want_int(t, "a.b.c", 1);
  want_int(t, "a.b.d", 2);
  want_pos(get(t, "a.b.d"), 2, 15, 2, 11);
  assert_int_equal(dt__toml_get(a, "x.y")->u.i, 3);
  assert_int_equal(dt__toml_get(dt__toml_get(t, "site"), "google.com")->u.b,
                   1);
  assert_int_equal(count(a), 2);
  dt__toml_free(t);
}

/* ----------------------------------------------------- valid: strings */

static void basic_escapes(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("s = \"b\\b t\\t n\\n f\\f r\\r q\\\" bs\\\\ end\"\n"
         "path = \"C:\\\\Users\\\\x\"\ntab = \"a\tb\"");
  want_str(t, "s", "b\b t\t n\n f\f r\r q\" bs\\ end");
  want_str(t, "path", "C:\\Users\\x");
  want_str(t, "tab", "a\tb");
  dt__toml_free(t);
}

static void unicode_escapes(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("a = \"\\u0041\"\nb = \"\\u00E9\"\nc = \"\\u20ac\"\n"
         "d = \"\\U0001F600\"\ne = \"\\U0010FFFF\"\nf = \"\\u007F\\uFFFD\"");
  want_str(t, "a", "A");
  want_str(t, "b", "\xC3\xA9");
  want_str(t, "c", "\xE2\x82\xAC");
  want_str(t, "d", "\xF0\x9F\x98\x80");
  want_str(t, "e", "\xF4\x8F\xBF\xBF");
  want_str(t, "f", "\x7F\xEF\xBF\xBD");
  dt__toml_free(t);
}

static void literal_strings(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("winpath = 'C:\\Users\\nodejs\\templates'\n"
         "quoted = 'Tom \"Dubs\" Preston-Werner'\nregex = '<\\i\\c*\\s*>'\n"
         "empty = ''\ntab = 'a\tb'");
  want_str(t, "winpath", "C:\\Users\\nodejs\\templates");
  want_str(t, "quoted", "Tom \"Dubs\" Preston-Werner");
  want_str(t, "regex", "<\\i\\c*\\s*>");
  want_str(t, "empty", "");
  want_str(t, "tab", "a\tb");
  dt__toml_free(t);
}

static void utf8_text(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("# caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n"
         "s = \"na\xC3\xAFve \xE2\x82\xAC\" # \xE2\x9C\x93\n"
         "\"cl\xC3\xA9\" = 'x\xC3\xA9'\nafter = 1");
  want_str(t, "s", "na\xC3\xAFve \xE2\x82\xAC");
  assert_string_equal(dt__toml_get(t, "cl\xC3\xA9")->u.s, "x\xC3\xA9");
  /* Columns count bytes: the value after a 2-byte character. */
  want_pos(dt__toml_get(t, "cl\xC3\xA9"), 3, 10, 3, 1);
  dt__toml_free(t);
}

static void multiline_basic(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("a = \"\"\"\nRoses are red\nViolets are blue\"\"\"\n"
         "b = \"\"\"one\\ttwo\n\"quoted\" and \"\"two\"\"\"\"\"\n"
         "c = \"\"\"\\\n   The quick \\\n\n   brown \\   \n"
         "\tfox.\\\n   \"\"\"\n"
         "d = \"\"\"x\"\"\"\"\ne = \"\"\"\"\"\"\nf = 1");
  want_str(t, "a", "Roses are red\nViolets are blue");
  want_str(t, "b", "one\ttwo\n\"quoted\" and \"\"two\"\"");
  want_str(t, "c", "The quick brown fox.");
  want_str(t, "d", "x\"");
  want_str(t, "e", "");
  want_int(t, "f", 1);
  /* Lines inside multi-line strings are counted. */
  want_pos(get(t, "b"), 4, 5, 4, 1);
  want_pos(get(t, "c"), 6, 5, 6, 1);
  want_pos(get(t, "d"), 12, 5, 12, 1);
  want_pos(get(t, "f"), 14, 5, 14, 1);
  dt__toml_free(t);
}

static void multiline_literal(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("re = '''I [dw]on't need \\d{2} apples'''\n"
         "lines = '''\nThe first newline is\ntrimmed in raw strings.\n   "
         "All other whitespace\n   is preserved.\n'''\n"
         "q = '''Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"'''\n"
         "ap = ''''That,' she said, 'is still pointless.''''\n"
         "bs = '''a\\\nb'''\nnext = 2");
  want_str(t, "re", "I [dw]on't need \\d{2} apples");
  want_str(t, "lines",
           "The first newline is\ntrimmed in raw strings.\n   All other "
           "whitespace\n   is preserved.\n");
  want_str(t, "q", "Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"");
  want_str(t, "ap", "'That,' she said, 'is still pointless.'");
  want_str(t, "bs", "a\\\nb");
  want_pos(get(t, "next"), 12, 8, 12, 1);
  dt__toml_free(t);
}

static void crlf_line_endings(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("# comment\r\n[t]\r\na = \"\"\"\r\nx\r\ny\"\"\"\r\nb = '''\r\nz\\\r\n"
         "'''\r\nc = \"\"\"p \\\r\n  q\"\"\"\r\nd = [\r\n 1,\r\n 2,\r\n]\r\n");
  want_str(t, "t.a", "x\ny");
  want_str(t, "t.b", "z\\\n");
  want_str(t, "t.c", "p q");
  assert_int_equal(count(get(t, "t.d")), 2);
  want_pos(get(t, "t.d"), 11, 5, 11, 1);
  want_pos(item(get(t, "t.d"), 1), 13, 2, 0, 0);
  dt__toml_free(t);
}

static void empty_strings(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("a = \"\"\nb = ''\nc = \"\"\"\"\"\"\nd = ''''''\ne = \"\"\"\n\"\"\"");
  want_str(t, "a", "");
  want_str(t, "b", "");
  want_str(t, "c", "");
  want_str(t, "d", "");
  want_str(t, "e", "");
  dt__toml_free(t);
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

/* ----------------------------------------------- valid: arrays/inline */

static void arrays(void **state) {
  dt__toml *t;
  const dt__toml *a;
  (void)state;
  t = OK("ints = [ 1, 2, 3 ]\nempty = []\nempty2 = [ ]\n"
         "mixed = [ 1, \"two\", 3.0, true, [4], { five = 5 } ]\n"
         "strs = [\"a\", 'b', \"\"\"c\"\"\", '''d''']\ntrail = [1,2,]");
  a = want(t, "ints", DT__TOML_ARRAY);
  assert_int_equal(count(a), 3);
  assert_int_equal(item(a, 2)->u.i, 3);
  want_pos(a, 1, 8, 1, 1);
  want_pos(item(a, 0), 1, 10, 0, 0);
  assert_null(item(a, 0)->key);
  assert_int_equal(count(want(t, "empty", DT__TOML_ARRAY)), 0);
  assert_int_equal(count(want(t, "empty2", DT__TOML_ARRAY)), 0);
  a = get(t, "mixed");
  assert_int_equal(count(a), 6);
  assert_int_equal(item(a, 0)->kind, DT__TOML_INT);
  assert_string_equal(item(a, 1)->u.s, "two");
  assert_int_equal(item(a, 2)->kind, DT__TOML_FLOAT);
  assert_int_equal(item(a, 3)->kind, DT__TOML_BOOL);
  assert_int_equal(item(item(a, 4), 0)->u.i, 4);
  assert_int_equal(dt__toml_get(item(a, 5), "five")->u.i, 5);
  a = get(t, "strs");
  assert_string_equal(item(a, 2)->u.s, "c");
  assert_string_equal(item(a, 3)->u.s, "d");
  assert_int_equal(count(get(t, "trail")), 2);
  dt__toml_free(t);
}

static void nested_arrays(void **state) {
  dt__toml *t;
  const dt__toml *a;
  (void)state;
  t = OK("n = [ [ 1, 2 ], [\"a\", [ 'b' ] ], [] ]");
  a = get(t, "n");
  assert_int_equal(count(a), 3);
  assert_int_equal(item(item(a, 0), 1)->u.i, 2);
  assert_string_equal(item(item(item(a, 1), 1), 0)->u.s, "b");
  want_pos(item(item(item(a, 1), 1), 0), 1, 25, 0, 0);
  assert_int_equal(count(item(a, 2)), 0);
  dt__toml_free(t);
}

static void multiline_arrays(void **state) {
  dt__toml *t;
  const dt__toml *a;
  (void)state;
  t = OK("a = [ # first comment\n  1, # one\n\n  # a whole-line comment\n"
         "  2\n  , 3 # three\n  ,\n]\nb = [\n\n]\nc = 1");
  a = get(t, "a");
  assert_int_equal(count(a), 3);
  want_pos(item(a, 0), 2, 3, 0, 0);
  want_pos(item(a, 1), 5, 3, 0, 0);
  want_pos(item(a, 2), 6, 5, 0, 0);
  assert_int_equal(count(get(t, "b")), 0);
  want_pos(get(t, "c"), 12, 5, 12, 1);
  dt__toml_free(t);
}

static void inline_tables(void **state) {
  dt__toml *t;
  const dt__toml *v;
  (void)state;
  t = OK("name = { first = \"Tom\", last = \"Preston-Werner\" }\n"
         "point = {x=1,y=2}\nanimal = { type.name = \"pug\", type.legs = 4 }\n"
         "empty = {}\nnest = { a = { b = [ { c = 1 } ] } }\n"
         "multi = { list = [\n  1,\n  2 ] }");
  v = want(t, "name", DT__TOML_TABLE);
  want_pos(v, 1, 8, 1, 1);
  assert_int_equal(count(v), 2);
  want_str(t, "name.first", "Tom");
  want_pos(get(t, "name.last"), 1, 32, 1, 25);
  want_int(t, "point.y", 2);
  want_str(t, "animal.type.name", "pug");
  want_int(t, "animal.type.legs", 4);
  assert_int_equal(count(want(t, "empty", DT__TOML_TABLE)), 0);
  assert_int_equal(
      dt__toml_get(item(get(t, "nest.a.b"), 0), "c")->u.i, 1);
  assert_int_equal(count(get(t, "multi.list")), 2);
  dt__toml_free(t);
}

static void deep_nesting_ok(void **state) {
  char text[256];
  dt__toml *t;
  const dt__toml *v;
  int i, n = 0;
  (void)state;
  n += sprintf(text, "a = ");
  for (i = 0; i < 64; i++)
    text[n++] = '[';
  for (i = 0; i < 64; i++)
    text[n++] = ']';
  text[n] = '\0';
  t = parse_ok(text, (size_t)n);
  v = get(t, "a");
  for (i = 1; i < 64; i++)
    v = item(v, 0);
  assert_int_equal(count(v), 0);
  dt__toml_free(t);
}

/* ------------------------------------------------------ valid: tables */

static void tables(void **state) {
  dt__toml *t;
  const dt__toml *v;
  (void)state;
  t = OK("top = 0\n[table-1]\nkey1 = \"some string\"\nkey2 = 123\n\n"
         "  [ dog . \"tater.man\" ]\n  type.name = \"pug\"\n['lit']\n[\"\"]\n"
         "x = 1");
  want_int(t, "top", 0);
  v = want(t, "table-1", DT__TOML_TABLE);
  want_pos(v, 2, 1, 2, 2);
  want_int(t, "table-1.key2", 123);
  v = dt__toml_get(want(t, "dog", DT__TOML_TABLE), "tater.man");
  assert_non_null(v);
  want_pos(v, 6, 3, 6, 11);
  want_pos(get(t, "dog"), 6, 5, 6, 5);
  assert_string_equal(dt__toml_get(dt__toml_get(v, "type"), "name")->u.s,
                      "pug");
  assert_int_equal(count(want(t, "lit", DT__TOML_TABLE)), 0);
  assert_int_equal(dt__toml_get(dt__toml_get(t, ""), "x")->u.i, 1);
  /* Members keep the order in which they were written. */
  assert_string_equal(t->u.list.items[0]->key, "top");
  assert_string_equal(t->u.list.items[1]->key, "table-1");
  assert_string_equal(t->u.list.items[2]->key, "dog");
  dt__toml_free(t);
}

static void implicit_then_explicit(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("[x.y.z.w]\na = 1\n[x]\nb = 2\n[x.y]\nc = 3\n[x.y.q]");
  want_int(t, "x.y.z.w.a", 1);
  want_int(t, "x.b", 2);
  want_int(t, "x.y.c", 3);
  /* Defined later: positions move to the defining header. */
  want_pos(get(t, "x"), 3, 1, 3, 2);
  want_pos(get(t, "x.y"), 5, 1, 5, 4);
  /* Still implicit: the position of the name in the first header. */
  want_pos(get(t, "x.y.z"), 1, 6, 1, 6);
  dt__toml_free(t);
}

static void dotted_then_subtable(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n\n"
         "[fruit.apple.texture]\nsmooth = true\n[fruit.apple.taste.x]");
  want_str(t, "fruit.apple.color", "red");
  want_bool(t, "fruit.apple.taste.sweet", 1);
  want_bool(t, "fruit.apple.texture.smooth", 1);
  want(t, "fruit.apple.taste.x", DT__TOML_TABLE);
  want_pos(get(t, "fruit.apple.texture"), 5, 1, 5, 14);
  dt__toml_free(t);
}

static void array_of_tables(void **state) {
  dt__toml *t;
  const dt__toml *a;
  (void)state;
  t = OK("[[products]]\nname = \"Hammer\"\nsku = 738594937\n\n"
         "[[products]]  # empty\n\n[[products]]\nname = \"Nail\"\n"
         "color = \"gray\"");
  a = want(t, "products", DT__TOML_ARRAY);
  assert_int_equal(count(a), 3);
  want_pos(a, 1, 1, 1, 3);
  want_pos(item(a, 0), 1, 1, 1, 3);
  want_pos(item(a, 1), 5, 1, 5, 3);
  assert_null(item(a, 1)->key);
  assert_int_equal(item(a, 1)->kind, DT__TOML_TABLE);
  assert_int_equal(count(item(a, 1)), 0);
  assert_string_equal(dt__toml_get(item(a, 0), "name")->u.s, "Hammer");
  assert_string_equal(dt__toml_get(item(a, 2), "color")->u.s, "gray");
  dt__toml_free(t);
}

static void array_of_tables_subtables(void **state) {
  dt__toml *t;
  const dt__toml *f, *v;
  (void)state;
  t = OK("[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n"
         "[[fruits.varieties]]\nname = \"red delicious\"\n"
         "[[fruits.varieties]]\nname = \"granny smith\"\n"
         "[[fruits]]\nname = \"banana\"\n[fruits.physical]\ncolor = "
         "\"yellow\"\n[[fruits.varieties]]\nname = \"plantain\"\n"
         "[a.b]\n[[a.c]]\n[a]");
  f = want(t, "fruits", DT__TOML_ARRAY);
  assert_int_equal(count(f), 2);
  v = dt__toml_get(item(f, 0), "varieties");
  assert_int_equal(count(v), 2);
  assert_string_equal(dt__toml_get(item(v, 1), "name")->u.s,
                      "granny smith");
  assert_string_equal(
      dt__toml_get(dt__toml_get(item(f, 1), "physical"), "color")->u.s,
      "yellow");
  assert_int_equal(count(dt__toml_get(item(f, 1), "varieties")), 1);
  want(t, "a.b", DT__TOML_TABLE);
  assert_int_equal(count(want(t, "a.c", DT__TOML_ARRAY)), 1);
  want_pos(get(t, "a"), 17, 1, 17, 2);
  dt__toml_free(t);
}

static void aot_in_inline_array(void **state) {
  dt__toml *t;
  const dt__toml *a;
  (void)state;
  t = OK("points = [ { x = 1, y = 2 },\n           { x = 7, y = 8 } ]");
  a = get(t, "points");
  assert_int_equal(count(a), 2);
  assert_int_equal(dt__toml_get(item(a, 1), "x")->u.i, 7);
  want_pos(item(a, 1), 2, 12, 0, 0);
  dt__toml_free(t);
}

static void dtask_config(void **state) {
  static const char text[] =
      "# dtask.toml: what to offload\n"
      "[queue]\n"
      "backend  = \"lmdb\"                     # embedded default\n"
      "path     = \"/dev/shm/dtask-$USER/default\"\n"
      "map_size = \"1GiB\"\n"
      "\n"
      "[runner]\n"
      "workers   = 4\n"
      "autostart = true\n"
      "idle_exit = \"10s\"\n"
      "\n"
      "[types]\n"
      "report = { size = 32, align = 8 }     # plain data\n"
      "\n"
      "[[offload]]\n"
      "symbol    = \"build_report\"\n"
      "signature = \"int build_report(cstring period, out report r[1])\"\n"
      "\n"
      "[[offload]]\n"
      "symbol    = \"crc32\"\n"
      "signature = \"ulong crc32(ulong crc, in uint8 buf[len], uint len)\"\n"
      "library   = 'libz.so.1'\n"
      "required  = false\n";
  dt__toml *t;
  const dt__toml *o, *r;
  (void)state;
  t = OK(text);
  assert_int_equal(count(t), 4);
  want_str(t, "queue.backend", "lmdb");
  want_str(t, "queue.path", "/dev/shm/dtask-$USER/default");
  want_pos(get(t, "queue.path"), 4, 12, 4, 1);
  want_int(t, "runner.workers", 4);
  want_bool(t, "runner.autostart", 1);
  r = want(t, "types.report", DT__TOML_TABLE);
  want_pos(r, 13, 10, 13, 1);
  want_int(t, "types.report.size", 32);
  want_int(t, "types.report.align", 8);
  want_pos(get(t, "types.report.align"), 13, 31, 13, 23);
  o = want(t, "offload", DT__TOML_ARRAY);
  assert_int_equal(count(o), 2);
  want_pos(item(o, 0), 15, 1, 15, 3);
  want_pos(item(o, 1), 19, 1, 19, 3);
  assert_string_equal(dt__toml_get(item(o, 0), "symbol")->u.s,
                      "build_report");
  assert_string_equal(dt__toml_get(item(o, 1), "signature")->u.s,
                      "ulong crc32(ulong crc, in uint8 buf[len], uint len)");
  want_pos(dt__toml_get(item(o, 1), "signature"), 21, 13, 21, 1);
  assert_int_equal(dt__toml_get(item(o, 1), "required")->u.b, 0);
  assert_string_equal(dt__toml_get(item(o, 1), "library")->u.s,
                      "libz.so.1");
  dt__toml_free(t);
}

/* ------------------------------------------------- valid: odds and ends */

static void no_final_newline(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("a = 1");
  want_int(t, "a", 1);
  dt__toml_free(t);
  t = OK("[t]");
  want(t, "t", DT__TOML_TABLE);
  dt__toml_free(t);
  t = OK("a = 'x' # trailing comment without newline");
  want_str(t, "a", "x");
  dt__toml_free(t);
}

static void byte_order_mark(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("\xEF\xBB\xBF" "a = 1\n");
  want_int(t, "a", 1);
  want_pos(get(t, "a"), 1, 5, 1, 1);
  dt__toml_free(t);
}

static void not_nul_terminated(void **state) {
  static const char text[] = "a = 12345";
  char *copy = malloc(7);
  dt__toml *t;
  (void)state;
  assert_non_null(copy);
  memcpy(copy, text, 7); /* "a = 123", no terminator */
  t = parse_ok(copy, 7);
  want_int(t, "a", 123);
  dt__toml_free(t);
  memcpy(copy, "s = \"ab", 7);
  parse_bad(copy, 7, 1, 5, "never closed");
  memcpy(copy, "x = tru", 7);
  parse_bad(copy, 7, 1, 5, "not a valid value");
  memcpy(copy, "x = 1_", 6);
  parse_bad(copy, 6, 1, 6, "underscore");
  memcpy(copy, "x = +", 5);
  parse_bad(copy, 5, 1, 6, "expected a decimal digit");
  free(copy);
}

static void get_and_kind_name(void **state) {
  dt__toml *t;
  (void)state;
  t = OK("a = 1\nb = [1]");
  assert_null(dt__toml_get(NULL, "a"));
  assert_null(dt__toml_get(t, "missing"));
  assert_null(dt__toml_get(t, NULL));
  assert_null(dt__toml_get(get(t, "a"), "a"));
  assert_null(dt__toml_get(get(t, "b"), "a"));
  assert_string_equal(dt__toml_kind_name(DT__TOML_TABLE), "table");
  assert_string_equal(dt__toml_kind_name(DT__TOML_ARRAY), "array");
  assert_string_equal(dt__toml_kind_name(DT__TOML_STRING), "string");
  assert_string_equal(dt__toml_kind_name(DT__TOML_INT), "integer");
  assert_string_equal(dt__toml_kind_name(DT__TOML_FLOAT), "float");
  assert_string_equal(dt__toml_kind_name(DT__TOML_BOOL), "boolean");
  dt__toml_free(t);
  dt__toml_free(NULL);
}

static void error_without_err(void **state) {
  dt__toml *t = NULL;
  (void)state;
  assert_int_equal(dt__toml_parse("a = ", 4, &t, NULL), -EINVAL);
  assert_null(t);
  assert_int_equal(dt__toml_parse(NULL, 0, &t, NULL), 0);
  assert_non_null(t);
  dt__toml_free(t);
}

static void many_members(void **state) {
  char *text = malloc(20000);
  dt__toml *t;
  size_t n = 0;
  int i;
  (void)state;
  assert_non_null(text);
  for (i = 0; i < 1000; i++)
    n += (size_t)sprintf(text + n, "k%d = [%d, %d]\n", i, i, -i);
  t = parse_ok(text, n);
  assert_int_equal(count(t), 1000);
  assert_int_equal(item(get(t, "k999"), 1)->u.i, -999);
  want_pos(get(t, "k500"), 501, 8, 501, 1);
  dt__toml_free(t);
  free(text);
}

/* Parses documents with floats and errors from several threads at once:
 * the parser has no shared state. */
static void *parse_loop(void *arg) {
  static const char good[] =
      "[t]\nf = 1.5e3\ns = \"\\u00e9\"\n[[a]]\nx = [1, 2]";
  static const char bad[] = "[t]\nf = 1.5\n[t]";
  long ok = 0;
  int i;
  (void)arg;
  for (i = 0; i < 300; i++) {
    dt__toml *t = NULL;
    dt__error err;
    if (dt__toml_parse(good, sizeof good - 1, &t, &err) == 0 &&
        get(t, "t.f")->u.f == 1500.0)
      ok++;
    dt__toml_free(t);
    if (dt__toml_parse(bad, sizeof bad - 1, &t, &err) == -EINVAL &&
        err.line == 3 && err.col == 2)
      ok++;
  }
  return (void *)ok;
}

static void concurrent_parses(void **state) {
  pthread_t th[4];
  int i;
  (void)state;
  for (i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, parse_loop, NULL), 0);
  for (i = 0; i < 4; i++) {
    void *ok;
    assert_int_equal(pthread_join(th[i], &ok), 0);
    assert_int_equal((long)ok, 600);
  }
}

/* -------------------------------------------- invalid: unsupported */

static void reject_dates(void **state) {
  (void)state;
  BAD("d = 1979-05-27", 1, 5, "dates and times are not supported");
  BAD("x = 1\nd = 1979-05-27T07:32:00Z", 2, 5, "write the value as a string");
  BAD("d = 1979-05-27 07:32:00", 1, 5, "dates and times");
  BAD("t = 07:32:00", 1, 5, "dates and times");
  BAD("a = [1, 2000-01-01]", 1, 9, "dates and times");
}

static void reject_bad_words(void **state) {
  (void)state;
  BAD("a = True", 1, 5, "'True' is not a valid value");
  BAD("a = truex", 1, 5, "not a valid value");
  BAD("a = hello", 1, 5, "strings must be quoted, e.g. \"hello\"");
  BAD("a = infinity", 1, 5, "not a valid value");
  BAD("a = _1", 1, 5, "not a valid value");
}

/* ----------------------------------------------- invalid: duplicates */

static void duplicate_keys(void **state) {
  (void)state;
  BAD("a = 1\na = 2", 2, 1,
      "duplicate key 'a' (first defined at line 1); remove one of them");
  BAD("a = 1\n\"a\" = 2", 2, 1, "duplicate key 'a'");
  BAD("'a' = 1\n  a = 2", 2, 3, "duplicate key 'a'");
  BAD("[t]\nx = 1\ny = 2\nx = 3", 4, 1,
      "duplicate key 'x' (first defined at line 2)");
  BAD("\"\" = 1\n'' = 2", 2, 1, "duplicate key ''");
}

static void duplicate_dotted_keys(void **state) {
  (void)state;
  BAD("a.b = 1\na.b = 2", 2, 3,
      "duplicate key 'a.b' (first defined at line 1)");
  BAD("a.b = 1\na = 2", 2, 1, "duplicate key 'a'");
  BAD("a.b.c = 1\na . b = 2", 2, 5, "duplicate key 'a.b'");
  BAD("x = { a = 1, a = 2 }", 1, 14, "duplicate key 'a'");
  BAD("x = { a.b = 1, a.b = 2 }", 1, 18, "duplicate key 'a.b'");
  BAD("x = { a = {}, a.b = 1 }", 1, 15, "inline table");
}

static void duplicate_key_vs_table(void **state) {
  (void)state;
  BAD("[a.b]\n[a]\nb = 1", 3, 1, "duplicate key 'b' (first defined at line 1)");
  BAD("[a]\nb = 1\n[a.b]", 3, 4,
      "key 'a.b' already holds an integer (line 2), so it cannot also be a "
      "table");
  BAD("[[a]]\nb.c = 1\nb = 2", 3, 1, "duplicate key 'b'");
}

static void table_defined_twice(void **state) {
  (void)state;
  BAD("[a]\n[a]", 2, 2, "table [a] is defined twice (first at line 1)");
  BAD("[a]\nx = 1\n[b]\n[a]", 4, 2, "defined twice");
  BAD("[a]\n[a.b]\n[a . \"b\"]", 3, 6, "table [a.b] is defined twice");
  BAD("[x.y]\n[x]\n[x]", 3, 2, "table [x] is defined twice (first at line 2)");
  BAD("[[t]]\n[t.s]\n[t.s]", 3, 4, "defined twice");
}

static void table_defined_by_dotted_keys(void **state) {
  (void)state;
  BAD("a.b = 1\n[a]", 2, 2,
      "table [a] was already defined with dotted keys at line 1");
  BAD("[fruit]\napple.color = 'red'\n[fruit.apple]", 3, 8,
      "table [fruit.apple] was already defined with dotted keys");
  BAD("[fruit]\napple.taste.sweet = true\n[fruit.apple.taste]", 3, 14,
      "dotted keys");
}

static void dotted_into_header_table(void **state) {
  (void)state;
  BAD("[a.b.c]\nz = 9\n[a]\nb.c.t = 1", 4, 1,
      "table 'b' was made by the [header] at line 1");
  BAD("[a.b.c.d]\n[a]\nb.c.d.k.t = 1", 3, 1, "made by the [header]");
  BAD("[a.b]\n[a]\nb.x = 1", 3, 1,
      "dotted keys cannot add to a table that a header made");
}

static void extend_inline_table(void **state) {
  (void)state;
  BAD("a = {}\n[a]", 2, 2,
      "table [a] was already written as an inline table at line 1");
  BAD("a = { b = 1 }\n[a.c]", 2, 2,
      "table 'a' was written as an inline table at line 1 and is sealed");
  BAD("a = { b = 1 }\na.c = 2", 2, 1, "is sealed");
  BAD("a = { b = { c = 1 } }\n[a.b.d]", 2, 2, "inline table");
  BAD("a = { b.c = 1 }\n[a.b]", 2, 2, "inline table");
  BAD("a = {}\n[[a]]", 2, 3,
      "[[a]] conflicts with table 'a' (line 1); a key cannot be both");
  BAD("[t]\na = { x = 1 }\n[t.a]", 3, 4, "inline table at line 2");
}

static void extend_static_array(void **state) {
  (void)state;
  BAD("a = [1]\n[[a]]", 2, 3,
      "cannot append to 'a' with [[a]]: it is a static array (line 1)");
  BAD("a = [{ x = 1 }]\n[[a]]", 2, 3, "static array");
  BAD("a = []\n[a.b]", 2, 2, "key 'a' holds an array (line 1)");
  BAD("a = [{}]\na.b = 1", 2, 1, "so dotted keys cannot add to it");
  BAD("a = []\n[a]", 2, 2, "key 'a' already holds an array (line 1)");
}

static void value_used_as_table(void **state) {
  (void)state;
  BAD("a = 1\na.b = 2", 2, 1,
      "key 'a' already holds an integer (line 1), so it cannot also be a "
      "table");
  BAD("a = 1\n[a]", 2, 2, "key 'a' already holds an integer (line 1)");
  BAD("a = \"x\"\n[a.b]", 2, 2, "key 'a' already holds a string");
  BAD("a = 1.5\n[[a]]", 2, 3,
      "key 'a' already holds a float (line 1), so it cannot also be an array "
      "of tables");
  BAD("t.a = true\n[t.a.b]", 2, 4, "key 't.a' already holds a boolean");
}

static void aot_vs_table(void **state) {
  (void)state;
  BAD("[[a]]\n[a]", 2, 2,
      "'a' is an array of tables (line 1); write [[a]] to add an element");
  BAD("[a]\n[[a]]", 2, 3, "[[a]] conflicts with table 'a' (line 1)");
  BAD("[a.b]\n[[a]]", 2, 3, "conflicts with table 'a'");
  BAD("[[a.b]]\n[[a]]", 2, 3, "conflicts with table 'a'");
}

/* ------------------------------------------------- invalid: syntax */

static void missing_equals(void **state) {
  (void)state;
  BAD("a 1", 1, 3, "expected '=' after the key 'a', found '1'");
  BAD("a", 1, 2, "found the end of the text");
  BAD("[t]\nname\nx = 1", 2, 5, "expected '=' after the key 'name', found "
                                "the end of the line");
  BAD("a.b : 1", 1, 5, "expected '=' after the key 'a.b'");
  BAD("key with spaces = 1", 1, 5, "expected '='");
}

static void missing_value(void **state) {
  (void)state;
  BAD("a =", 1, 4, "expected a value");
  BAD("a = \nb = 1", 1, 5, "expected a value (a string, number, boolean, "
                           "array or inline table), found the end of the "
                           "line");
  BAD("a = # comment", 1, 5, "expected a value");
  BAD("a = ]", 1, 5, "found ']'");
}

static void empty_keys(void **state) {
  (void)state;
  BAD("= 1", 1, 1, "expected a key");
  BAD("a. = 1", 1, 4, "expected a key");
  BAD("a..b = 1", 1, 3, "expected a key");
  BAD(".a = 1", 1, 1, "expected a key");
  BAD("[]", 1, 2, "expected a key");
  BAD("[a.]", 1, 4, "expected a key");
  BAD("x = { = 1 }", 1, 7, "expected a key");
  BAD("\xC3\xA9 = 1", 1, 1, "expected a key");
}

static void newline_after_value(void **state) {
  (void)state;
  BAD("a = 1 b = 2", 1, 7,
      "expected a newline or a comment after the value, found 'b'; put each "
      "key = value pair on its own line");
  BAD("a = \"x\" \"y\"", 1, 9, "after the value");
  BAD("a = [1] [2]", 1, 9, "after the value");
  BAD("a = { } x", 1, 9, "after the value");
  BAD("[t] x = 1", 1, 5, "after the table header");
  BAD("[[t]] # ok\n[[t]] ]", 2, 7, "after the table header");
  BAD("a = 1.5.3", 1, 8, "unexpected character '.' in a number");
}

static void header_syntax(void **state) {
  (void)state;
  BAD("[a", 1, 3, "expected ']' to close the table header");
  BAD("[a\nb = 1", 1, 3, "expected ']'");
  BAD("[a b]", 1, 4, "expected ']'");
  BAD("[[a]", 1, 5, "expected ']]' to close the array-of-tables header");
  BAD("[[a] ]", 1, 5, "']]'");
  BAD("[[a]]]", 1, 6, "after the table header");
  BAD("[\"\"\"a\"\"\"]", 1, 2, "a multi-line string cannot be a key");
}

static void multiline_key(void **state) {
  (void)state;
  BAD("\"\"\"a\"\"\" = 1", 1, 1, "a multi-line string cannot be a key");
  BAD("x.'''a''' = 1", 1, 3, "multi-line string");
}

/* ------------------------------------------------- invalid: strings */

static void unterminated_strings(void **state) {
  (void)state;
  BAD("a = \"abc", 1, 5, "this string is never closed; add a closing \"");
  BAD("a = \"abc\nb = 1", 1, 5, "never closed");
  BAD("a = 'abc\nb = 1", 1, 5, "add a closing '");
  BAD("x = 1\na = \"\"\"abc\n\ndef\"\"", 2, 5,
      "this multi-line string is never closed; add \"\"\"");
  BAD("a = '''abc\n''", 1, 5, "add '''");
  BAD("a = \"abc\\", 1, 5, "never closed");
  BAD("a = \"\"\"abc\\", 1, 5, "multi-line string is never closed");
  BAD("[\"abc]", 1, 2, "never closed");
}

static void invalid_escapes(void **state) {
  (void)state;
  BAD("a = \"x\\qy\"", 1, 7,
      "invalid escape: a backslash followed by 'q'; the valid escapes are");
  BAD("a = \"\\x41\"", 1, 6, "followed by 'x'");
  BAD("a = \"\\e\"", 1, 6, "followed by 'e'");
  BAD("a = \"\\ \"", 1, 6, "followed by ' '");
  BAD("a = \"abc\\\ndef\"", 1, 9, "followed by the end of the line");
  BAD("a = \"\"\"ok\n  \\ x\"\"\"", 2, 3, "invalid escape");
  BAD("\"k\\z\" = 1", 1, 3, "invalid escape");
}

static void invalid_unicode_escapes(void **state) {
  (void)state;
  BAD("a = \"\\u12\"", 1, 6, "\\u must be followed by exactly 4 hexadecimal");
  BAD("a = \"\\U1234567\"", 1, 6, "\\U must be followed by exactly 8");
  BAD("a = \"\\uD800\"", 1, 6, "\\uD800 is not a Unicode scalar value");
  BAD("a = \"x\\uDFFF\"", 1, 7, "not a Unicode scalar value");
  BAD("a = \"\\U00110000\"", 1, 6, "\\U00110000 is not a Unicode scalar");
  BAD("a = \"\\u12G4\"", 1, 6, "4 hexadecimal digits");
  BAD("a = \"\\u0000\"", 1, 6, "(NUL) is not allowed");
  BAD("a = \"\\U00000000\"", 1, 6, "(NUL) is not allowed");
}

static void control_characters(void **state) {
  (void)state;
  BAD("a = \"x\x01y\"", 1, 7,
      "control character U+0001 is not allowed in a string; write it as "
      "the escape \\u0001");
  BAD("a = 'x\x1f'", 1, 7, "control character U+001F");
  BAD("a = \"x\x7f\"", 1, 7, "U+007F");
  BAD("a = \"\"\"x\n\x0b\"\"\"", 2, 1, "U+000B");
  BAD("a = '''\x08'''", 1, 8, "U+0008");
  BAD("a = 1 # bad \x07 here", 1, 13,
      "control character U+0007 is not allowed in a comment");
  BAD("# \x7f\na = 1", 1, 3, "in a comment");
  BAD("a = \x01", 1, 5, "control character U+0001 is not allowed here");
}

static void bare_carriage_return(void **state) {
  (void)state;
  BAD("a = 1\rb = 2", 1, 6, "carriage return (CR) without a line feed");
  BAD("a = \"\"\"x\ry\"\"\"", 1, 9, "carriage return");
  BAD("a = '''x\r'''", 1, 9, "carriage return");
  BAD("a = \"x\ry\"", 1, 5, "never closed");
  BAD("# c\r\n# d\r", 2, 4, "carriage return");
  BAD("a = [1,\r2]", 1, 8, "carriage return");
  BAD("\r", 1, 1, "carriage return");
  BAD("a = \"\"\"x\\\r\"\"\"", 1, 10, "carriage return");
}

static void invalid_utf8(void **state) {
  (void)state;
  BAD("a = \"\xC3\x28\"", 1, 6,
      "invalid UTF-8 sequence starting with byte 0xC3");
  BAD("a = 'ok \xFF'", 1, 9, "byte 0xFF");
  BAD("a = \"\xC0\xAF\"", 1, 6, "invalid UTF-8"); /* overlong '/' */
  BAD("a = \"\xED\xA0\x80\"", 1, 6, "invalid UTF-8"); /* a surrogate */
  BAD("a = \"\xF4\x90\x80\x80\"", 1, 6, "invalid UTF-8"); /* > U+10FFFF */
  BAD("a = \"\xE2\x82\"", 1, 6, "invalid UTF-8"); /* truncated */
  BAD("# \xE2\x82\na = 1", 1, 3, "invalid UTF-8");
  BAD("a = 1\n\x80 = 2", 2, 1, "invalid UTF-8");
  BAD("a = \"\xF0\x9F\x98\"", 1, 6, "0xF0");
}

static void nul_bytes(void **state) {
  (void)state;
  BAD("a = 1\0", 1, 6, "NUL byte");
  BAD("a = \"x\0y\"", 1, 7, "NUL byte");
  BAD("# x\0\na = 1", 1, 4, "NUL byte");
  BAD("\0", 1, 1, "NUL byte");
  BAD("a = [\0]", 1, 6, "NUL byte");
}

/* -------------------------------------------- invalid: arrays/inline */

static void array_syntax(void **state) {
  (void)state;
  BAD("a = [1, 2", 1, 5, "this array is never closed; add ']'");
  BAD("a = [1,\n2,\n# c\n", 1, 5, "never closed");
  BAD("a = [1 2]", 1, 8, "expected ',' or ']' after an array item, found '2'");
  BAD("a = [,]", 1, 6, "expected a value");
  BAD("a = [1,,2]", 1, 8, "expected a value");
  BAD("x = 0\na = [\n  1,\n  ,\n]", 4, 3, "expected a value");
  BAD("a = [1 # c\n 2]", 2, 2, "expected ',' or ']'");
}

static void inline_table_syntax(void **state) {
  (void)state;
  BAD("a = { b = 1, }", 1, 12,
      "a trailing comma is not allowed in an inline table");
  BAD("a = { b = 1,\n c = 2 }", 1, 13,
      "an inline table must be written on one line");
  BAD("a = {\n}", 1, 6, "on one line");
  BAD("a = { b = 1 # c\n}", 1, 13, "comments are not allowed inside an "
                                   "inline table");
  BAD("a = { b = 1", 1, 5, "this inline table is never closed");
  BAD("a = { b = 1 c = 2 }", 1, 13, "expected ',' or '}'");
  BAD("a = { b }", 1, 9, "expected '=' after the key 'b'");
  BAD("a = { b = }", 1, 11, "expected a value");
  BAD("a = { b =\n1 }", 1, 10, "found the end of the line");
  BAD("a = {,}", 1, 6, "expected a key");
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

/* ---------------------------------------------------- invalid: limits */

static void nesting_limit(void **state) {
  char text[1024];
  int i, n;
  (void)state;
  n = sprintf(text, "a = ");
  for (i = 0; i < 65; i++)
    text[n++] = '[';
  for (i = 0; i < 65; i++)
    text[n++] = ']';
  parse_bad(text, (size_t)n, 1, 69, "nested deeper than 64 levels");
  n = sprintf(text, "a = ");
  for (i = 0; i < 65; i++)
    n += sprintf(text + n, "{b=");
  n += sprintf(text + n, "1");
  for (i = 0; i < 65; i++)
    text[n++] = '}';
  parse_bad(text, (size_t)n, 1, 5 + 64 * 3, "tables nested deeper than 64");
  n = 0;
  for (i = 0; i < 65; i++)
    n += sprintf(text + n, "k.");
  n += sprintf(text + n, "x = 1");
  parse_bad(text, (size_t)n, 1, 129, "keys nested deeper than 64");
  n = sprintf(text, "[");
  for (i = 0; i < 64; i++)
    n += sprintf(text + n, "t.");
  n += sprintf(text + n, "x]");
  parse_bad(text, (size_t)n, 1, 130, "tables nested deeper than 64");
}

static void no_partial_result_on_late_error(void **state) {
  (void)state;
  /* Many nodes are built before the error: ASan/LSan check the clean-up. */
  BAD("[a]\nx = [1, 'two', { y = [\"\"\"z\"\"\"] }]\n[[b]]\nc.d.e = {f=1}\n"
      "[[b]]\n[a.g]\nh = [[1], [2, [3, {i = 'j'}]]]\n[a.g]",
      8, 4, "table [a.g] is defined twice (first at line 6)");
  BAD("a = [1, { b = [2, 3, {c = 'x\x01'}] }]", 1, 29, "control character");
  BAD("a = { b = [ { c = 1 }, { d = 9223372036854775808 } ] }", 1, 30,
      "does not fit");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(empty_document),
      cmocka_unit_test(scalar_positions),
      cmocka_unit_test(bare_keys),
      cmocka_unit_test(quoted_keys),
      cmocka_unit_test(dotted_keys),
      cmocka_unit_test(basic_escapes),
      cmocka_unit_test(unicode_escapes),
      cmocka_unit_test(literal_strings),
      cmocka_unit_test(utf8_text),
      cmocka_unit_test(multiline_basic),
      cmocka_unit_test(multiline_literal),
      cmocka_unit_test(crlf_line_endings),
      cmocka_unit_test(empty_strings),
      cmocka_unit_test(decimal_integers),
      cmocka_unit_test(integer_limits),
      cmocka_unit_test(prefixed_integers),
      cmocka_unit_test(floats),
      cmocka_unit_test(float_specials),
      cmocka_unit_test(booleans),
      cmocka_unit_test(arrays),
      cmocka_unit_test(nested_arrays),
      cmocka_unit_test(multiline_arrays),
      cmocka_unit_test(inline_tables),
      cmocka_unit_test(deep_nesting_ok),
      cmocka_unit_test(tables),
      cmocka_unit_test(implicit_then_explicit),
      cmocka_unit_test(dotted_then_subtable),
      cmocka_unit_test(array_of_tables),
      cmocka_unit_test(array_of_tables_subtables),
      cmocka_unit_test(aot_in_inline_array),
      cmocka_unit_test(dtask_config),
      cmocka_unit_test(no_final_newline),
      cmocka_unit_test(byte_order_mark),
      cmocka_unit_test(not_nul_terminated),
      cmocka_unit_test(get_and_kind_name),
      cmocka_unit_test(error_without_err),
      cmocka_unit_test(many_members),
      cmocka_unit_test(concurrent_parses),
      cmocka_unit_test(reject_dates),
      cmocka_unit_test(reject_bad_words),
      cmocka_unit_test(duplicate_keys),
      cmocka_unit_test(duplicate_dotted_keys),
      cmocka_unit_test(duplicate_key_vs_table),
      cmocka_unit_test(table_defined_twice),
      cmocka_unit_test(table_defined_by_dotted_keys),
      cmocka_unit_test(dotted_into_header_table),
      cmocka_unit_test(extend_inline_table),
      cmocka_unit_test(extend_static_array),
      cmocka_unit_test(value_used_as_table),
      cmocka_unit_test(aot_vs_table),
      cmocka_unit_test(missing_equals),
      cmocka_unit_test(missing_value),
      cmocka_unit_test(empty_keys),
      cmocka_unit_test(newline_after_value),
      cmocka_unit_test(header_syntax),
      cmocka_unit_test(multiline_key),
      cmocka_unit_test(unterminated_strings),
      cmocka_unit_test(invalid_escapes),
      cmocka_unit_test(invalid_unicode_escapes),
      cmocka_unit_test(control_characters),
      cmocka_unit_test(bare_carriage_return),
      cmocka_unit_test(invalid_utf8),
      cmocka_unit_test(nul_bytes),
      cmocka_unit_test(array_syntax),
      cmocka_unit_test(inline_table_syntax),
      cmocka_unit_test(bad_integers),
      cmocka_unit_test(bad_prefixed_integers),
      cmocka_unit_test(integer_overflow),
      cmocka_unit_test(bad_floats),
      cmocka_unit_test(nesting_limit),
      cmocka_unit_test(no_partial_result_on_late_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
