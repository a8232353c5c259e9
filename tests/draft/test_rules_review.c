/* test_rules_review.c: unit tests of dtask sig's rules (draft/rules.c)
 * that hold the bugs a review of the rules found, each failing before
 * its fix.  As in test_rules.c, each test builds the model of
 * draft/draft.h by hand, and every draft it prints is read back
 * (tests/draft/rulesfx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "config/sig.h"
#include "draft/draft.h"
#include "testutil.h"
#include "rulesfx.h"

/* ------------------------------------------- found in review: the rules */

/* A buffer of an integer the language cannot name (__int128 from DWARF,
 * an enum only declared): refused, never "(null)" in the signature. */
static void test_review_unnamed_elem(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_void());
  par(f, "v", ptr(ty(DT__CK_INT, "__int128", 16, true)));
  assert_refused(f, "v points to __int128, which dtask cannot copy");
  f = fn("f", t_void());
  dt__ctype *e = ty(DT__CK_ENUM, "enum later", 0, false);
  e->complete = false;
  par(f, "e", ptr(cn(e)));
  par(f, "n", t_size());
  assert_refused(f, "e points to enum later, which dtask cannot copy");
}

/* 32 unnamed pointers: three notes each, none dropped. */
static void test_review_all_notes_kept(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_void());
  for (int i = 0; i < DT__MAX_PARAMS; i++)
    par(f, "", ptr(t_double()));
  assert_int_equal(draft1(f), 0);
  assert_int_equal(notes_of(), 3 * DT__MAX_PARAMS);
  assert_contains(last_text, "# guessed: arg32 points to one double");
}

/* The longest signature the model allows is printed whole. */
static void test_review_long_signature(void **state) {
  (void)state;
  char tag[64], len[64];
  memset(tag, 't', 63);
  tag[63] = '\0';
  memset(len, 'n', 63);
  len[63] = '\0';
  dt__cfunc *f = fn("f", t_void());
  char name[64];
  for (int i = 0; i < DT__MAX_PARAMS - 1; i++) {
    snprintf(name, sizeof name, "p%02d%.60s", i, tag);
    dt__cparam *p = par(f, name, ptr(rec(tag, 8, 8)));
    p->attr_len = DT__MAX_PARAMS - 1;
  }
  par(f, len, t_size());
  assert_int_equal(draft1(f), 0);
  assert_int_equal(count_of(sig_of(), "["), DT__MAX_PARAMS - 1);
  assert_contains(sig_of(), ", size_t nnnnnnnnnn");
  assert_true(strlen(sig_of()) > 6000);
}

/* A refused entry adds nothing to [types]. */
static void test_review_refused_types(void **state) {
  (void)state;
  dt__draft *d = dt__draft_new("t.h");
  assert_non_null(d);
  dt__cfunc *f = fn("f", t_int());
  par(f, "p", ptr(cn(rec("point", 12, 4))));
  par(f, "ap", ty(DT__CK_VALIST, "va_list", 24, false));
  assert_int_equal(dt__draft_add(d, f), 2);
  fn_free(f);
  f = fn("g", t_int());
  par(f, "p", ptr(cn(rec("point", 16, 8))));
  assert_int_equal(dt__draft_add(d, f), 0);
  fn_free(f);
  char *text = print_draft(d);
  dt__draft_free(d);
  assert_int_equal(count_of(text, "point = {"), 1);
  assert_contains(text, "point = { size = 16, align = 8 }");
  free(text);
}

/* A const char * as a string is an inference, and says so. */
static void test_review_cstring_noted(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_int());
  par(f, "data", ptr(cn(t_char())));
  par(f, "off", td(t_ulong(), "off_t"));
  par(f, "n", t_size());
  assert_draft(f, 0, "int f(cstring data, off_t off, size_t n)");
  assert_contains(last_text, "\n# guessed: data is a NUL-terminated string "
                             "(a const char * with no length beside it)\n");
}

/* A writable char buffer almost never holds one char: LEN?. */
static void test_review_char_buffer(void **state) {
  (void)state;
  dt__cfunc *f = fn("strcpy", ptr(t_char()));
  par(f, "dest", ptr(t_char()));
  par(f, "src", ptr(cn(t_char())));
  assert_draft(f, 1, "cstring strcpy(inout char dest[LEN?], cstring src)");
  assert_contains(last_text, "# todo: dest's length is not in the "
                             "declaration");
  assert_int_equal(count_of(last_text, "points to one"), 0);
  f = fn("f", t_void());
  par(f, "out", ptr(chr("unsigned char", false)));
  assert_draft(f, 1, "void f(inout uint8 out_[LEN?])");
}

/* A pointer to an array is refused as what it is. */
static void test_review_pointer_to_array(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_void());
  par(f, "m", ptr(arr(t_double(), 3)));
  par(f, "n", t_size());
  assert_refused(f, "m points to an array (a T (*)[N]): write a wrapper "
                    "that takes the elements as a T * and a length");
  assert_int_equal(count_of(last_text, "pointer to a pointer"), 0);
}

/* A struct whose name [types] cannot take, or of no size, is refused. */
static void test_review_type_names(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_void());
  par(f, "s", ptr(td(rec("", 16, 1), "cstring")));
  assert_refused(f, "s points to cstring, whose name is a word of the "
                    "signature language: [types] cannot declare it");
  f = fn("f", t_void());
  par(f, "s", ptr(cn(rec("out", 16, 1))));
  assert_refused(f, "whose name is a word of the signature language");
  f = fn("f", t_void());
  par(f, "s", ptr(rec("empty", 0, 1)));
  assert_refused(f, "s points to struct empty, which has no size");
}

/* A length counted in bytes is no count of wider elements. */
static void test_review_bytes_len(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_void());
  par(f, "vals", ptr(cn(t_int())));
  par(f, "nbytes", t_size());
  assert_draft(f, 1, "void f(in int vals[LEN?], size_t nbytes)");
  assert_contains(last_text, "\n# todo: nbytes counts bytes and vals's "
                             "elements are 4 bytes each, which the signature "
                             "language cannot divide: replace LEN? with the "
                             "number of elements (a number, or an integer "
                             "parameter that counts them)\n");
  f = fn("f", t_void());
  par(f, "buf", ptr(cn(t_void())));
  par(f, "nbytes", t_size());
  assert_draft(f, 0, "void f(in uint8 buf[nbytes], size_t nbytes)");
}

/* A length-like name on a parameter that is no integer does not stop a
 * const char * from being a string. */
static void test_review_cstring_beside_non_length(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_int());
  par(f, "font", ptr(cn(t_char())));
  par(f, "size", t_double());
  assert_draft(f, 0, "int f(cstring font, double size)");
}

/* A returned char * that is not const may be the caller's to free. */
static void test_review_return_freed(void **state) {
  (void)state;
  dt__cfunc *f = fn("strdup", ptr(t_char()));
  par(f, "s", ptr(cn(t_char())));
  assert_draft(f, 0, "cstring strdup(cstring s)");
  assert_contains(last_text, "not const: if the caller frees it (as after "
                             "strdup), keep strdup local");
  f = fn("strerror", ptr(cn(t_char())));
  par(f, "errnum", t_int());
  assert_draft(f, 0, "cstring strerror(int errnum)");
  assert_int_equal(count_of(last_text, "frees it"), 0);
}

/* Two parameters drafted under one name are refused, not printed. */
static void test_review_name_clash(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_int());
  par(f, "in", t_int());
  par(f, "in_", t_int());
  assert_refused(f, "parameters 1 and 2 would both be called in_");
  f = fn("f", t_int());
  par(f, "", t_int());
  par(f, "arg1", t_int());
  assert_refused(f, "parameters 1 and 2 would both be called arg1");
}

/* What the readers copy from files stays inside its comment or string. */
static void test_review_text_escaped(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_int());
  snprintf(f->where, sizeof f->where, "a\n[[offload]]\nb.h:3");
  snprintf(f->library, sizeof f->library, "lib\"q\\.so");
  assert_int_equal(draft1(f), 0);
  assert_int_equal(count_of(last_text, "\n[[offload]]"), 1);
  assert_contains(last_text, "\n# f, a?[[offload]]?b.h:3\n");
  assert_contains(last_text, "\nlibrary = \"lib\\\"q\\\\.so\"\n");
  f = fn("f", t_int());
  snprintf(f->where, sizeof f->where, "x.h:1\r\nsignature = \"void g()\"");
  f->variadic = true;
  assert_int_equal(draft1(f), 2);
  assert_int_equal(count_of(last_text, "\nsignature"), 0);
  dt__draft *d = dt__draft_new("h\n[types]\nx = 1");
  assert_non_null(d);
  char *text = print_draft(d);
  dt__draft_free(d);
  assert_contains(text, "# Drafted by dtask sig from h?[types]?x = 1.\n");
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_review_unnamed_elem),
      cmocka_unit_test(test_review_all_notes_kept),
      cmocka_unit_test(test_review_long_signature),
      cmocka_unit_test(test_review_refused_types),
      cmocka_unit_test(test_review_cstring_noted),
      cmocka_unit_test(test_review_char_buffer),
      cmocka_unit_test(test_review_pointer_to_array),
      cmocka_unit_test(test_review_type_names),
      cmocka_unit_test(test_review_bytes_len),
      cmocka_unit_test(test_review_cstring_beside_non_length),
      cmocka_unit_test(test_review_return_freed),
      cmocka_unit_test(test_review_name_clash),
      cmocka_unit_test(test_review_text_escaped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
