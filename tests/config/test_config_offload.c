/* test_config_offload.c: unit tests of the config reader's [types] and
 * [[offload]] tables (config.c, offload.c): declared types and the names
 * they may not take, an entry's keys and their kinds, symbols denied,
 * invalid or listed twice, versions and libraries, and signature errors
 * placed at their line and column in the file
 * (tests/config/configfx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "config/config.h"
#include "config/sig.h"
#include "config/types.h"
#include "testutil.h"
#include "configfx.h"

/* --------------------------------------------------------- [types] */

static void test_err_types(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[types]\nint = { size = 4, align = 4 }\n", 2, 1,
                   "type 'int' is built into dtask's signature language; "
                   "give the declared type another name");
  assert_cfg_error("[types]\ncstring = { size = 8, align = 8 }\n", 2, 1,
                   "type 'cstring' is built into");
  assert_cfg_error("[types]\nuint64_t = { size = 8, align = 8 }\n", 2, 1,
                   "type 'uint64_t' is built into");
  assert_cfg_error("[types]\n\"my type\" = { size = 4, align = 4 }\n", 2, 1,
                   "type name 'my type' must be an identifier of at most 63 "
                   "letters, digits and '_'");
  assert_cfg_error("[types]\n2d = { size = 4, align = 4 }\n", 2, 1,
                   "type name '2d' must be an identifier");
  assert_cfg_error("[types]\nreport = 32\n", 2, 10,
                   "type 'report' must be a table; write report = { size = "
                   "32, align = 8 } with its sizeof and _Alignof");
  assert_cfg_error("[types]\nreport = { size = 32 }\n", 2, 10,
                   "type 'report' needs both size and align");
  assert_cfg_error("[types]\nreport = { align = 8 }\n", 2, 10,
                   "type 'report' needs both size and align");
  assert_cfg_error("[types]\nreport = {}\n", 2, 10, "needs both size and "
                                                    "align");
  assert_cfg_error("[types.report]\nsize = 32\n", 1, 1,
                   "type 'report' needs both size and align");
  /*                         12345678901234567890123456789012 */
  assert_cfg_error("[types]\nreport = { size = 32, align = 3 }\n", 2, 31,
                   "align of 'report' is 3, which is not a power of two; "
                   "write the value of _Alignof(report)");
  assert_cfg_error("[types]\nreport = { size = 48, align = 24 }\n", 2, 31,
                   "align of 'report' is 24, which is not a power of two");
  assert_cfg_error("[types]\nreport = { size = 30, align = 8 }\n", 2, 19,
                   "size of 'report' (30) is not a multiple of its align "
                   "(8), which no C type allows");
  assert_cfg_error("[types]\nreport = { size = 0, align = 8 }\n", 2, 19,
                   "'size' in [types] report is 0; it must be between 1 and "
                   "1073741824");
  assert_cfg_error("[types]\nreport = { size = 32, align = 8192 }\n", 2, 31,
                   "'align' in [types] report is 8192; it must be between 1 "
                   "and 4096");
  assert_cfg_error("[types]\nreport = { size = \"32\", align = 8 }\n", 2, 19,
                   "'size' in [types] report must be an integer, not a "
                   "string");
}

/* Words the signature parser reads as C or as a direction before it
 * looks a type up can never be used as a type name, so declaring one
 * must fail at the declaration, not later with "'struct' is C ... for a
 * struct declare it under [types]" at a signature that uses it. */
static void test_err_types_reserved_words(void **state) {
  (void)state;
  dt__error err;
  static const char *const words[] = {"struct", "const", "enum", "volatile",
                                      "unsigned", "signed"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
    char text[256], phrase[64];
    snprintf(text, sizeof text,
             "[types]\n%s = { size = 4, align = 4 }\n", words[i]);
    snprintf(phrase, sizeof phrase, "'%s'", words[i]);
    assert_cfg_error(text, 2, 1, phrase);
  }
}

static void test_err_type_name_too_long(void **state) {
  (void)state;
  dt__error err;
  char text[256], name[70];
  memset(name, 'r', 64);
  name[64] = '\0';
  snprintf(text, sizeof text, "[types]\n%s = { size = 4, align = 4 }\n",
           name);
  assert_cfg_error(text, 2, 1, "must be an identifier of at most 63");
  /* 63 letters are fine. */
  name[63] = '\0';
  snprintf(text, sizeof text, "[types]\n%s = { size = 4, align = 4 }\n",
           name);
  dt__config *cfg = NULL;
  parse_ok(text, &cfg);
  assert_string_equal(cfg->types[0].name, name);
  dt__config_free(cfg);
}

/* -------------------------------------------------------- [[offload]] */

static void test_err_offload_not_array(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[offload]\nsignature = \"int f(int a)\"\n", 1, 1,
                   "'offload' must be an array of tables: write [[offload]] "
                   "(double brackets) once per function");
  assert_cfg_error("offload = \"int f(int a)\"\n", 1, 11,
                   "'offload' must be an array of tables");
  assert_cfg_error("offload = [1, 2]\n", 1, 12,
                   "offload entries must be tables; write [[offload]] "
                   "followed by symbol = ... and signature = ...");
}

static void test_err_offload_missing_signature(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsymbol = \"crc32\"\n", 1, 1,
                   "[[offload]] #1 crc32 has no signature; write for example "
                   "signature = \"int crc32(in double x[n], size_t n)\"");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\n\n"
                   "  [[offload]]\nrequired = true\n",
                   4, 3,
                   "[[offload]] #2 has no signature; write for example "
                   "signature = \"int f(in double x[n], size_t n)\"");
}

static void test_err_offload_wrong_kinds(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsignature = 5\n", 2, 13,
                   "'signature' in [[offload]] #1 must be a string, not an "
                   "integer");
  assert_cfg_error("[[offload]]\nsymbol = 5\nsignature = \"int f()\"\n", 2,
                   10, "'symbol' in [[offload]] #1 must be a string");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nversion = 2\n", 3,
                   11, "'version' in [[offload]] #1 must be a string");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nlibrary = []\n", 3,
                   11, "'library' in [[offload]] #1 must be a string, not an "
                       "array");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nrequired = "
                   "\"yes\"\n",
                   3, 12,
                   "'required' in [[offload]] #1 must be a boolean, not a "
                   "string; write for example: required = true");
}

static void test_err_symbol_signature_mismatch(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsymbol = \"crc32\"\n"
                   "signature = \"ulong crc(ulong c)\"\n",
                   3, 14,
                   "[[offload]] #1: the signature names 'crc' but symbol is "
                   "'crc32'; write the same name in both");
}

static void test_err_denied_symbol(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsymbol = \"malloc\"\n"
                   "signature = \"int malloc(size_t n)\"\n",
                   2, 10,
                   "'malloc' cannot be offloaded: dtask itself depends on it "
                   "(the allocator)");
  assert_contains(err.msg, "remove this [[offload]] entry");
  /* Without symbol, the signature's name is checked, at the signature. */
  assert_cfg_error("[[offload]]\nsignature = \"void free(in uint8 p[1])\"\n",
                   2, 13, "'free' cannot be offloaded");
  assert_cfg_error("[[offload]]\nsignature = \"int pthread_mutex_lock(in "
                   "uint8 m[40])\"\n",
                   2, 13, "(threads and locks)");
}

static void test_err_invalid_symbol(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsymbol = \"build report\"\n"
                   "signature = \"int f()\"\n",
                   2, 10, "symbol \"build report\" is not a C identifier");
  assert_cfg_error("[[offload]]\nsymbol = \"crypt@XCRYPT_2.0\"\n"
                   "signature = \"cstring crypt(cstring k, cstring s)\"\n",
                   2, 10,
                   "(without @VERSION: put the version in version = "
                   "\"...\")");
  assert_cfg_error("[[offload]]\nsymbol = \"\"\nsignature = \"int f()\"\n", 2,
                   10, "symbol \"\" is not a C identifier");
  assert_cfg_error("[[offload]]\nsymbol = \"9f\"\nsignature = \"int f()\"\n",
                   2, 10, "is not a C identifier");
}

static void test_err_duplicate_symbol(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\n"
                   "signature = \"int f(int a)\"\n"
                   "\n"
                   "[[offload]]\n"
                   "symbol = \"f\"\n"
                   "signature = \"int f(int b)\"\n",
                   4, 1,
                   "'f' is listed twice (first at line 1); keep one "
                   "[[offload]] entry per symbol");
  assert_cfg_error("[[offload]]\n"
                   "signature = \"int f(int a)\"\n"
                   "version = \"V_1\"\n"
                   "[[offload]]\n"
                   "signature = \"int g(int a)\"\n"
                   "[[offload]]\n"
                   "signature = \"int f(int a)\"\n"
                   "version = \"V_1\"\n",
                   6, 1, "'f'@V_1 is listed twice (first at line 1)");
}

static void test_err_version_and_library(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\n"
                   "version = \"f@V_1\"\n",
                   3, 11,
                   "version \"f@V_1\" must be a version name such as "
                   "\"XCRYPT_2.0\", without '@'");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\n"
                   "version = \"@@V_1\"\n",
                   3, 11, "without '@'");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nversion = \"\"\n",
                   3, 11, "version \"\" must be a version name");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nlibrary = \"\"\n",
                   3, 11,
                   "library must name a shared object, e.g. \"libm.so.6\"");
}

/* A signature error is moved into the file: line of the string, column of
 * the opening quote + the column inside the signature. */
static void test_err_signature_column(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\n"
                   "symbol = \"f\"\n"
                   "signature = \"int f(int *p)\"\n",
                   3, 24,
                   "[[offload]] #1 (f), signature column 11: a bare pointer "
                   "cannot be offloaded");
  /* Without symbol the entry is named by the word before '('. */
  assert_cfg_error("[[offload]]\n"
                   "signature = \"int g(int a)\"\n"
                   "[[offload]]\n"
                   "  signature   =   \"void h(in double x[n])\"\n",
                   4, 39,
                   "[[offload]] #2 (h), signature column 20: length of 'x' "
                   "names 'n', which is not a parameter");
  assert_cfg_error("[[offload]]\nsignature = \"int  h2 (int *p)\"\n", 2,
                   27, "[[offload]] #1 (h2), signature column 14: a bare "
                       "pointer");
  /* and by '?' when there is no such word. */
  assert_cfg_error("[[offload]]\nsignature = \"int\"\n", 2, 17,
                   "[[offload]] #1 (?), signature column 4: expected the "
                   "function's name after the return type");
  /* A literal string maps the same way. */
  assert_cfg_error("[[offload]]\n"
                   "signature = 'int f(int *p)'\n",
                   2, 24, "signature column 11: a bare pointer");
  assert_cfg_error("[[offload]]\nsymbol = \"e\"\nsignature = \"\"\n", 3, 14,
                   "[[offload]] #1 (e), signature column 1: the signature is "
                   "empty");
  /* Declared types are known to signatures; undeclared ones are not. */
  assert_cfg_error("[types]\nreport = { size = 32, align = 8 }\n"
                   "[[offload]]\n"
                   "signature = \"int f(out reprot r[1])\"\n",
                   4, 24,
                   "signature column 11: unknown type 'reprot'; did you mean "
                   "'report'?");
  assert_cfg_error("[types]\nreport = { size = 32, align = 8 }\n"
                   "[[offload]]\n"
                   "signature = \"int f(report r)\"\n",
                   4, 20, "can only travel in a buffer");
}

/* In a multi-line string the signature does not start at the opening
 * quote + 1: with """ on the same line it starts 3 columns after the
 * quote, and when the string starts with a newline (which TOML drops) the
 * signature is on the next line. */
static void test_err_signature_column_multiline_string(void **state) {
  (void)state;
  dt__error err;
  /* '*' is column 11 of the signature; the signature's first character is
   * at file column 16 (after `signature = """`), so '*' is at 26. */
  assert_cfg_error("[[offload]]\n"
                   "signature = \"\"\"int f(int *p)\"\"\"\n",
                   2, 26, "signature column 11: a bare pointer");
  /* The signature is on line 3, starting at column 1. */
  assert_cfg_error("[[offload]]\n"
                   "signature = \"\"\"\n"
                   "int f(int *p)\"\"\"\n",
                   3, 11, "signature column 11: a bare pointer");
}

/* An escape takes more columns in the file than characters in the
 * signature; the column must still point at the offending character. */
static void test_err_signature_column_escapes(void **state) {
  (void)state;
  dt__error err;
  /* signature = "int f(int\t*p)": '*' is column 11 of the signature and
   * column 25 of the line (the \t escape takes two columns). */
  assert_cfg_error("[[offload]]\n"
                   "signature = \"int f(int\\t*p)\"\n",
                   2, 25, "signature column 11: a bare pointer");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_err_types),
      cmocka_unit_test(test_err_types_reserved_words),
      cmocka_unit_test(test_err_type_name_too_long),
      cmocka_unit_test(test_err_offload_not_array),
      cmocka_unit_test(test_err_offload_missing_signature),
      cmocka_unit_test(test_err_offload_wrong_kinds),
      cmocka_unit_test(test_err_symbol_signature_mismatch),
      cmocka_unit_test(test_err_denied_symbol),
      cmocka_unit_test(test_err_invalid_symbol),
      cmocka_unit_test(test_err_duplicate_symbol),
      cmocka_unit_test(test_err_version_and_library),
      cmocka_unit_test(test_err_signature_column),
      cmocka_unit_test(test_err_signature_column_multiline_string),
      cmocka_unit_test(test_err_signature_column_escapes),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
