/* test_rules.c: unit tests of dtask sig's rules (draft/rules.c) alone:
 * how each parameter is drafted (scalars, directions, lengths, strings,
 * names).
 *
 * Each test builds the model of draft/draft.h by hand, as a reader would
 * fill it, drafts it and compares the printed text: the exact signature,
 * the notes beside it, the returned level (0 complete, 1 LEN?, 2
 * refused), the [types] it needs.  Every draft a test prints is also
 * read back: each signature without LEN? must parse (config/sig.c) with
 * the [types] printed above it, and each with LEN? must be rejected as a
 * placeholder (the model and the reading back: tests/draft/rulesfx.h).
 * The [types] table and whole drafts: test_rules_output.c; what is
 * refused, and what a function returns: test_rules_refusals.c; the bugs
 * a review of the rules found: test_rules_review.c. */
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

/* -------------------------------------------------------------- scalars */

/* void f(T x): the name dtask gives T by value. */
static void check_value(dt__ctype *t, const char *want) {
  dt__cfunc *f = fn("f", t_void());
  par(f, "x", t);
  char sig[128];
  snprintf(sig, sizeof sig, "void f(%s x)", want);
  assert_draft(f, 0, sig);
  assert_int_equal(notes_of(), 0);
}

/* void f(const T *x, size_t n): the name dtask gives T in a buffer. */
static void check_elem(dt__ctype *t, const char *want) {
  dt__cfunc *f = fn("f", t_void());
  par(f, "x", ptr(cn(t)));
  par(f, "n", t_size());
  char sig[128];
  snprintf(sig, sizeof sig, "void f(in %s x[n], size_t n)", want);
  assert_draft(f, 0, sig);
}

static void test_scalar_chars(void **state) {
  (void)state;
  check_value(t_char(), "char");
  check_value(chr("signed char", true), "schar");
  check_value(chr("unsigned char", false), "uchar");
  check_elem(t_char(), "char");
  check_elem(chr("signed char", true), "int8");
  check_elem(chr("unsigned char", false), "uint8");
  /* zlib's Bytef: unsigned char behind a typedef. */
  check_elem(td(chr("unsigned char", false), "Bytef"), "uint8");
  dt__ctype *b = ty(DT__CK_INT, "_Bool", 1, false);
  b->is_bool = true;
  check_value(b, "bool");
}

static void test_scalar_ints(void **state) {
  (void)state;
  static const struct {
    const char *c, *dt;
    uint64_t size;
    bool is_signed;
  } cases[] = {{"short", "short", 2, true},
               {"unsigned short", "ushort", 2, false},
               {"int", "int", 4, true},
               {"unsigned int", "uint", 4, false},
               {"long", "long", 8, true},
               {"unsigned long", "ulong", 8, false},
               {"long long", "llong", 8, true},
               {"unsigned long long", "ullong", 8, false}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    check_value(ty(DT__CK_INT, cases[i].c, cases[i].size, cases[i].is_signed),
                cases[i].dt);
    check_elem(ty(DT__CK_INT, cases[i].c, cases[i].size, cases[i].is_signed),
               cases[i].dt);
  }
  /* A C name dtask does not spell falls back on its size. */
  check_value(ty(DT__CK_INT, "__int32_like", 4, true), "int32");
  check_value(ty(DT__CK_INT, "wchar_ish", 4, false), "uint32");
  check_value(ty(DT__CK_INT, "odd", 2, true), "int16");
  check_value(ty(DT__CK_INT, "odd", 8, false), "uint64");
  check_value(ty(DT__CK_INT, "odd", 1, true), "int8");
}

static void test_scalar_typedefs(void **state) {
  (void)state;
  static const struct {
    const char *td, *c, *dt;
    uint64_t size;
    bool is_signed;
  } cases[] = {{"size_t", "unsigned long", "size_t", 8, false},
               {"ssize_t", "long", "ssize_t", 8, true},
               {"off_t", "long", "off_t", 8, true},
               {"intptr_t", "long", "intptr", 8, true},
               {"uintptr_t", "unsigned long", "uintptr", 8, false},
               {"int8_t", "signed char", "int8", 1, true},
               {"int16_t", "short", "int16", 2, true},
               {"int32_t", "int", "int32", 4, true},
               {"int64_t", "long", "int64", 8, true},
               {"uint8_t", "unsigned char", "uint8", 1, false},
               {"uint16_t", "unsigned short", "uint16", 2, false},
               {"uint32_t", "unsigned int", "uint32", 4, false},
               {"uint64_t", "unsigned long", "uint64", 8, false},
               {"__uint32_t", "unsigned int", "uint32", 4, false},
               {"__off_t", "long", "off_t", 8, true},
               {"__ssize_t", "long", "ssize_t", 8, true}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    dt__ctype *t = ty(DT__CK_INT, cases[i].c, cases[i].size,
                      cases[i].is_signed);
    t->is_char = cases[i].size == 1;
    check_value(td(t, cases[i].td), cases[i].dt);
  }
  /* A typedef of a known typedef: the known name, wherever it is. */
  check_value(td(td(t_uint(), "my_u32"), "__uint32_t"), "uint32");
  check_value(td(td(t_ulong(), "uLongf"), "uLong"), "ulong");
  /* As buffer elements too. */
  check_elem(td(t_uint(), "uint32_t"), "uint32");
}

static void test_scalar_enums(void **state) {
  (void)state;
  static const struct {
    uint64_t size;
    bool is_signed;
    const char *dt;
  } cases[] = {{1, true, "int8"},    {1, false, "uint8"},
               {2, true, "int16"},   {2, false, "uint16"},
               {4, true, "int"},     {4, false, "uint"},
               {8, true, "int64"},   {8, false, "uint64"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    dt__ctype *t = ty(DT__CK_ENUM, "enum level", cases[i].size,
                      cases[i].is_signed);
    snprintf(t->tag, sizeof t->tag, "level");
    check_value(t, cases[i].dt);
  }
}

static void test_scalar_reals(void **state) {
  (void)state;
  check_value(ty(DT__CK_REAL, "float", 4, false), "float");
  check_value(t_double(), "double");
  check_elem(ty(DT__CK_REAL, "float", 4, false), "float");
  check_elem(t_double(), "double");

  dt__cfunc *f = fn("f", t_void());
  par(f, "x", ty(DT__CK_REAL, "long double", 16, false));
  assert_refused(f, "# refused: f (t.h:1): x is long double, which dtask "
                    "cannot pass");
  f = fn("f", ty(DT__CK_REAL, "long double", 16, false));
  assert_refused(f, "it returns long double, which dtask cannot pass");
  f = fn("f", t_void());
  par(f, "x", ptr(cn(ty(DT__CK_REAL, "long double", 16, false))));
  par(f, "n", t_size());
  assert_refused(f, "x points to long double, which dtask cannot copy");
}

/* ----------------------------------------------------------- directions */

static void test_dir_const_and_guess(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_void());
  par(f, "src", ptr(cn(t_double())));
  par(f, "len", t_size());
  assert_draft(f, 0, "void f(in double src[len], size_t len)");
  assert_contains(last_text, "\n# guessed: src holds len elements (the "
                             "parameter after it is named like a length)\n");
  assert_int_equal(notes_of(), 1);

  f = fn("f", t_void());
  par(f, "dst", ptr(t_double()));
  par(f, "len", t_size());
  assert_draft(f, 0, "void f(inout double dst[len], size_t len)");
  assert_contains(last_text, "\n# guessed: dst is inout (not const; write "
                             "out if f only writes it, in if it only reads "
                             "it)\n");
  assert_int_equal(notes_of(), 2);
}

static void test_dir_precedence(void **state) {
  (void)state;
  /* The access attribute beats Doxygen, which beats const. */
  dt__cfunc *f = fn("f", t_void());
  dt__cparam *p = par(f, "buf", ptr(cn(t_double())));
  p->doc_dir = DT__PD_INOUT;
  p->attr_dir = DT__PD_OUT;
  par(f, "len", t_size());
  assert_draft(f, 0, "void f(out double buf[len], size_t len)");
  assert_contains(last_text, "\n# from the header: buf is out (GCC access "
                             "attribute)\n");
  assert_contains(last_text, "\n# guessed: f writes all of buf (an out "
                             "buffer comes back whole, so bytes it leaves "
                             "become 0 in the caller; write inout to keep "
                             "them)\n");

  f = fn("f", t_void());
  p = par(f, "buf", ptr(cn(t_double())));
  p->doc_dir = DT__PD_INOUT;
  par(f, "len", t_size());
  assert_draft(f, 0, "void f(inout double buf[len], size_t len)");
  assert_contains(last_text, "\n# from the header: buf is inout (Doxygen "
                             "@param)\n");
  assert_int_equal(count_of(last_text, "writes all of"), 0);

  /* Doxygen in on a non-const pointer: in, without the inout guess. */
  f = fn("f", t_void());
  p = par(f, "buf", ptr(t_double()));
  p->doc_dir = DT__PD_IN;
  par(f, "len", t_size());
  assert_draft(f, 0, "void f(in double buf[len], size_t len)");
  assert_contains(last_text, "\n# from the header: buf is in (Doxygen "
                             "@param)\n");
  assert_int_equal(count_of(last_text, "is inout (not const"), 0);

  /* access(none, ...) reads as nothing said: Doxygen decides. */
  f = fn("f", t_void());
  p = par(f, "buf", ptr(t_double()));
  p->attr_dir = DT__PD_NONE;
  p->doc_dir = DT__PD_OUT;
  par(f, "len", t_size());
  assert_draft(f, 0, "void f(out double buf[len], size_t len)");
  assert_contains(last_text, "buf is out (Doxygen @param)");
  assert_contains(last_text, "# guessed: f writes all of buf");

  /* Doxygen out on a struct pointer: one struct, out. */
  f = fn("f", t_int());
  p = par(f, "r", ptr(rec("report", 32, 8)));
  p->doc_dir = DT__PD_OUT;
  assert_draft(f, 0, "int f(out report r[1])");
  assert_contains(last_text, "\n# guessed: r points to one struct report "
                             "(no length given)\n");
}

/* -------------------------------------------------------------- lengths */

static void test_len_array_and_attr(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_void());
  par(f, "m", arr(cn(t_double()), 16));
  par(f, "len", t_size()); /* a fact beats a guess */
  assert_draft(f, 0, "void f(in double m[16], size_t len)");
  assert_int_equal(notes_of(), 0);

  f = fn("f", t_void());
  dt__cparam *p = par(f, "buf", ptr(cn(t_double())));
  p->attr_len = 2;
  par(f, "flags", t_int());
  par(f, "cnt", t_size());
  assert_draft(f, 0, "void f(in double buf[cnt], int flags, size_t cnt)");
  assert_contains(last_text, "\n# from the header: buf holds cnt elements "
                             "(GCC access attribute)\n");

  /* attr_len naming a non-integer falls through to the next rules. */
  f = fn("f", t_void());
  p = par(f, "buf", ptr(cn(t_double())));
  p->attr_len = 1;
  par(f, "len", t_double());
  assert_draft(f, 1, "void f(in double buf[LEN?], double len)");
  assert_contains(last_text, "\n# todo: buf's length is not in the "
                             "declaration: replace LEN? with a number, an "
                             "integer parameter's name, or a product such as "
                             "n*4\n");
  f = fn("f", t_void());
  p = par(f, "buf", ptr(cn(t_double())));
  p->attr_len = 1;
  par(f, "opts", ptr(cn(t_char())));
  assert_draft(f, 1, "void f(in double buf[LEN?], cstring opts)");
  /* ... and so does an index past the end. */
  f = fn("f", t_void());
  p = par(f, "buf", ptr(t_int()));
  p->attr_len = 7;
  assert_draft(f, 0, "void f(inout int buf[1])");
}

static void test_len_names(void **state) {
  (void)state;
  static const char *const like[] = {
      "n",       "len",   "Len",     "LEN",      "__n",     "__len",
      "size",    "count", "num",     "nbytes",   "nmemb",   "nelem",
      "destLen", "sourceLen", "buflen", "length", "bufsize",
      "destSize", "item_count", "max_count", "NumBytes"};
  for (size_t i = 0; i < sizeof like / sizeof *like; i++) {
    dt__cfunc *f = fn("f", t_void());
    par(f, "p", ptr(cn(chr("unsigned char", false))));
    par(f, like[i], t_size());
    char want[160];
    snprintf(want, sizeof want, "void f(in uint8 p[%s], size_t %s)", like[i],
             like[i]);
    assert_draft(f, 0, want);
  }
  static const char *const unlike[] = {"flags", "mode", "fd", "level",
                                       "offset", "lenient", "sizes", "x",
                                       "nn", "counter"};
  for (size_t i = 0; i < sizeof unlike / sizeof *unlike; i++) {
    dt__cfunc *f = fn("f", t_void());
    par(f, "p", ptr(cn(chr("unsigned char", false))));
    par(f, unlike[i], t_size());
    char want[160];
    snprintf(want, sizeof want, "void f(in uint8 p[LEN?], size_t %s)",
             unlike[i]);
    assert_draft(f, 1, want);
  }
  /* A length-like name that is not an integer is no length. */
  dt__cfunc *f = fn("f", t_void());
  par(f, "p", ptr(cn(t_double())));
  par(f, "len", t_double());
  assert_draft(f, 1, "void f(in double p[LEN?], double len)");
  f = fn("f", t_void());
  par(f, "p", ptr(cn(t_double())));
  dt__ctype *b = ty(DT__CK_INT, "_Bool", 1, false);
  b->is_bool = true;
  par(f, "count", b);
  assert_draft(f, 1, "void f(in double p[LEN?], bool count)");
}

static void test_len_guesses(void **state) {
  (void)state;
  /* A length behind a pointer: LEN? and what to write. */
  dt__cfunc *f = fn("compress2", t_int());
  par(f, "dest", ptr(td(chr("unsigned char", false), "Bytef")));
  par(f, "destLen", ptr(td(td(t_ulong(), "uLongf"), "uLong")));
  par(f, "source", ptr(cn(td(chr("unsigned char", false), "Bytef"))));
  par(f, "sourceLen", td(t_ulong(), "uLong"));
  par(f, "level", t_int());
  assert_draft(f, 1,
               "int compress2(inout uint8 dest[LEN?], inout ulong "
               "destLen[1], in uint8 source[sourceLen], ulong sourceLen, "
               "int level)");
  assert_contains(last_text, "\n# todo: dest's length is *destLen, behind a "
                             "pointer, which the signature language cannot "
                             "say: replace LEN? with a fixed upper bound of "
                             "dest's size, or keep compress2 local\n");
  assert_contains(last_text, "\n# guessed: destLen points to one uLongf (no "
                             "length given)\n");

  /* A const pointer to a scalar without a length: LEN?. */
  f = fn("f", t_void());
  par(f, "v", ptr(cn(t_int())));
  assert_draft(f, 1, "void f(in int v[LEN?])");
  assert_contains(last_text, "# todo: v's length is not in the declaration");

  /* A non-const pointer to a scalar: one, guessed. */
  f = fn("f", t_void());
  par(f, "v", ptr(t_int()));
  assert_draft(f, 0, "void f(inout int v[1])");
  assert_contains(last_text, "\n# guessed: v points to one int (no length "
                             "given)\n");

  /* A struct pointer: one, guessed, const or not. */
  f = fn("f", t_void());
  par(f, "pt", ptr(cn(rec("point", 12, 4))));
  assert_draft(f, 0, "void f(in point pt[1])");
  assert_contains(last_text, "\n# guessed: pt points to one struct point "
                             "(no length given)\n");

  /* void *: bytes. */
  f = fn("f", t_void());
  par(f, "buf", ptr(cn(t_void())));
  par(f, "size", t_size());
  assert_draft(f, 0, "void f(in uint8 buf[size], size_t size)");
  assert_contains(last_text, "\n# guessed: buf holds size elements (the "
                             "parameter after it is named like a length), "
                             "counted in bytes (void *)\n");
  f = fn("f", t_void());
  par(f, "buf", ptr(t_void()));
  assert_draft(f, 1, "void f(inout uint8 buf[LEN?])");
}

/* --------------------------------------------------------------- cstring */

static void test_cstring(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_int());
  par(f, "path", ptr(cn(t_char())));
  par(f, "flags", t_int());
  assert_draft(f, 0, "int f(cstring path, int flags)");

  /* Behind a typedef of char too (GLib's gchar). */
  f = fn("f", t_int());
  par(f, "s", ptr(cn(td(t_char(), "gchar"))));
  assert_draft(f, 0, "int f(cstring s)");

  /* Followed by a length: a buffer of chars. */
  f = fn("f", t_int());
  par(f, "s", ptr(cn(t_char())));
  par(f, "len", t_size());
  assert_draft(f, 0, "int f(in char s[len], size_t len)");

  /* unsigned char and signed char are bytes, never strings. */
  f = fn("f", t_int());
  par(f, "s", ptr(cn(chr("unsigned char", false))));
  assert_draft(f, 1, "int f(in uint8 s[LEN?])");
  f = fn("f", t_int());
  par(f, "s", ptr(cn(chr("signed char", true))));
  assert_draft(f, 1, "int f(in int8 s[LEN?])");

  /* An out direction from the header: not a string. */
  f = fn("f", t_int());
  dt__cparam *p = par(f, "s", ptr(cn(t_char())));
  p->attr_dir = DT__PD_OUT;
  assert_draft(f, 1, "int f(out char s[LEN?])");
  f = fn("f", t_int());
  p = par(f, "s", ptr(cn(t_char())));
  p->doc_dir = DT__PD_OUT;
  assert_draft(f, 1, "int f(out char s[LEN?])");

  /* A const char s[8] has its length. */
  f = fn("f", t_int());
  par(f, "s", arr(cn(t_char()), 8));
  assert_draft(f, 0, "int f(in char s[8])");
}

/* ------------------------------------------------------------ the names */

static void test_param_names(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_int());
  par(f, "", t_int());
  par(f, "", ptr(t_double()));
  assert_draft(f, 0, "int f(int arg1, inout double arg2[1])");
  assert_contains(last_text, "\n# guessed: the declaration names no "
                             "parameter 1; called arg1 here\n");
  assert_contains(last_text, "\n# guessed: the declaration names no "
                             "parameter 2; called arg2 here\n");

  f = fn("f", t_int());
  par(f, "in", ptr(cn(t_double())));
  par(f, "out", ptr(t_double()));
  par(f, "inout", t_size());
  dt__cparam *p = par(f, "x", ptr(cn(t_double())));
  p->attr_len = 2;
  assert_draft(f, 1,
               "int f(in double in_[LEN?], inout double out_[1], "
               "size_t inout_, in double x[inout_])");
}

static void test_param_names_renamed_notes(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_int());
  par(f, "out", ptr(t_double()));
  par(f, "n", t_size());
  assert_draft(f, 0, "int f(inout double out_[n], size_t n)");
  assert_contains(last_text, "\n# renamed: parameter out is out_ here (out "
                             "is a direction word in signatures)\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scalar_chars),
      cmocka_unit_test(test_scalar_ints),
      cmocka_unit_test(test_scalar_typedefs),
      cmocka_unit_test(test_scalar_enums),
      cmocka_unit_test(test_scalar_reals),
      cmocka_unit_test(test_dir_const_and_guess),
      cmocka_unit_test(test_dir_precedence),
      cmocka_unit_test(test_len_array_and_attr),
      cmocka_unit_test(test_len_names),
      cmocka_unit_test(test_len_guesses),
      cmocka_unit_test(test_cstring),
      cmocka_unit_test(test_param_names),
      cmocka_unit_test(test_param_names_renamed_notes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
