/* test_toml_strings.c: unit tests of the TOML parser's strings (toml.c):
 * basic and literal strings, escapes, UTF-8 text, multi-line strings and
 * line endings, and their errors: strings never closed, invalid escapes,
 * control characters, bare carriage returns, invalid UTF-8 and NUL
 * bytes, each at its exact line and column (tests/config/tomlfx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/common.h"
#include "config/toml.h"
#include "tomlfx.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(basic_escapes),
      cmocka_unit_test(unicode_escapes),
      cmocka_unit_test(literal_strings),
      cmocka_unit_test(utf8_text),
      cmocka_unit_test(multiline_basic),
      cmocka_unit_test(multiline_literal),
      cmocka_unit_test(crlf_line_endings),
      cmocka_unit_test(empty_strings),
      cmocka_unit_test(unterminated_strings),
      cmocka_unit_test(invalid_escapes),
      cmocka_unit_test(invalid_unicode_escapes),
      cmocka_unit_test(control_characters),
      cmocka_unit_test(bare_carriage_return),
      cmocka_unit_test(invalid_utf8),
      cmocka_unit_test(nul_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
