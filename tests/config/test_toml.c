/* test_toml.c: unit tests for the strict TOML-subset parser (toml.c):
 * keys, arrays and inline tables, whole documents and the parser's
 * interface, and the errors of syntax, of unsupported values, of arrays
 * and inline tables, and of limits.
 *
 * Valid documents check values, kinds, nesting and the recorded
 * positions; invalid documents check the exact line and column of the
 * error and a fragment of its sentence.  Texts are string literals, so
 * that sizeof gives their length even when they contain NUL bytes
 * (tests/config/tomlfx.h, the helpers the four files share).  Strings:
 * test_toml_strings.c; numbers and booleans: test_toml_numbers.c; tables
 * and keys defined twice: test_toml_tables.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/toml.h"
#include "tomlfx.h"

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
      cmocka_unit_test(arrays),
      cmocka_unit_test(nested_arrays),
      cmocka_unit_test(multiline_arrays),
      cmocka_unit_test(inline_tables),
      cmocka_unit_test(deep_nesting_ok),
      cmocka_unit_test(no_final_newline),
      cmocka_unit_test(byte_order_mark),
      cmocka_unit_test(not_nul_terminated),
      cmocka_unit_test(get_and_kind_name),
      cmocka_unit_test(error_without_err),
      cmocka_unit_test(many_members),
      cmocka_unit_test(concurrent_parses),
      cmocka_unit_test(reject_dates),
      cmocka_unit_test(reject_bad_words),
      cmocka_unit_test(missing_equals),
      cmocka_unit_test(missing_value),
      cmocka_unit_test(empty_keys),
      cmocka_unit_test(newline_after_value),
      cmocka_unit_test(header_syntax),
      cmocka_unit_test(multiline_key),
      cmocka_unit_test(array_syntax),
      cmocka_unit_test(inline_table_syntax),
      cmocka_unit_test(nesting_limit),
      cmocka_unit_test(no_partial_result_on_late_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
