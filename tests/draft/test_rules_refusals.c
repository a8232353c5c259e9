/* test_rules_refusals.c: unit tests of what dtask sig's rules
 * (draft/rules.c) refuse, and of what a function returns: functions whose
 * calls cannot be described (variadic, without a prototype, with too
 * many parameters; the first reason wins), parameters dtask cannot pass
 * or copy (va_list, __int128, structs by value, function pointers,
 * pointers to pointers, FILE *, handles, structs that hold pointers),
 * and the return types it drafts or refuses.  A refusal is printed as
 * one comment line and no entry.  As in test_rules.c, each test builds
 * the model of draft/draft.h by hand, and every draft it prints is read
 * back (tests/draft/rulesfx.h). */
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

/* ------------------------------------------------------------- refusals */

static void test_refusals_function(void **state) {
  (void)state;
  dt__cfunc *f = fn("printf", t_int());
  par(f, "fmt", ptr(cn(t_char())));
  f->variadic = true;
  assert_refused(f, "\n# refused: printf (t.h:1): it is variadic: its "
                    "arguments cannot be described\n");
  f = fn("old", t_int());
  f->no_prototype = true;
  assert_refused(f, "\n# refused: old (t.h:1): it is declared without a "
                    "prototype (old()): its parameters are unknown\n");
  f = fn("wide", t_int());
  for (int i = 0; i < DT__MAX_PARAMS; i++) {
    char name[16];
    snprintf(name, sizeof name, "a%d", i);
    par(f, name, t_int());
  }
  f->too_many = true;
  assert_refused(f, "it takes more than 32 parameters");
  /* The first reason wins: variadic, though it also returns a struct. */
  f = fn("f", rec("big", 64, 8));
  f->variadic = true;
  par(f, "x", ty(DT__CK_REAL, "long double", 16, false));
  assert_refused(f, "it is variadic");
  assert_int_equal(count_of(last_text, "by value"), 0);
  /* ... and the first parameter refused. */
  f = fn("f", t_int());
  par(f, "cb", ptr(ty(DT__CK_FUNCTION, "int (int)", 0, false)));
  par(f, "ap", ty(DT__CK_VALIST, "va_list", 24, false));
  assert_refused(f, "cb is a function pointer");
  assert_int_equal(count_of(last_text, "va_list"), 0);
}

static void test_refusals_params(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_int());
  par(f, "x", NULL);
  assert_refused(f, "parameter x has no type dtask can read");
  f = fn("f", t_int());
  par(f, "", t_void());
  assert_refused(f, "parameter arg1 has no type dtask can read");
  f = fn("f", t_int());
  par(f, "ap", ty(DT__CK_VALIST, "va_list", 24, false));
  assert_refused(f, "ap is a va_list: its arguments live on the caller's "
                    "stack");
  f = fn("f", t_int());
  par(f, "x", ty(DT__CK_INT, "__int128", 16, true));
  assert_refused(f, "x is __int128, which dtask cannot pass");
  f = fn("f", t_int());
  par(f, "p", td(rec("point", 12, 4), "point_t"));
  assert_refused(f, "p passes point_t by value: dtask passes structs only "
                    "in buffers");
  f = fn("f", t_int());
  par(f, "z", ty(DT__CK_OTHER, "_Complex double", 16, false));
  assert_refused(f, "z is _Complex double, which dtask cannot pass");
  f = fn("f", t_int());
  par(f, "p", ptr(NULL));
  assert_refused(f, "p points to a type dtask cannot copy");
  f = fn("f", t_int());
  par(f, "p", ptr(ty(DT__CK_OTHER, "...", 0, false)));
  assert_refused(f, "p points to a type dtask cannot copy");
  f = fn("f", t_int());
  par(f, "cb", ptr(ty(DT__CK_FUNCTION, "a function", 0, false)));
  assert_refused(f, "cb is a function pointer: code addresses do not "
                    "travel to another process");
  f = fn("f", t_int());
  par(f, "argv", ptr(ptr(t_char())));
  assert_refused(f, "argv is a pointer to a pointer: dtask copies one level "
                    "of memory, never what it points to");
  f = fn("f", t_int());
  par(f, "ap", ptr(ty(DT__CK_VALIST, "va_list", 24, false)));
  assert_refused(f, "ap is a pointer to a pointer");
  f = fn("f", t_int());
  par(f, "fp", ptr(rec("_IO_FILE", 216, 8))); /* the tag alone */
  assert_refused(f, "fp is a FILE *: a stdio stream cannot cross processes");
  f = fn("f", t_int());
  dt__ctype *file = td(rec("_IO_FILE", 216, 8), "FILE");
  file->has_pointers = true;
  par(f, "fp", ptr(file));
  assert_refused(f, "fp is a FILE *: a stdio stream cannot cross processes");
  f = fn("f", t_int());
  dt__ctype *md = td(rec("evp_md_st", 0, 0), "EVP_MD");
  md->complete = false;
  par(f, "md", ptr(cn(md)));
  assert_refused(f, "md is a handle to an incomplete type (EVP_MD): its "
                    "memory is not the caller's to copy");
  f = fn("deflate", t_int());
  dt__ctype *z = td(rec("z_stream_s", 112, 8), "z_stream");
  z->has_pointers = true;
  par(f, "strm", ptr(z));
  par(f, "flush", t_int());
  assert_refused(f, "\n# refused: deflate (t.h:1): strm points to z_stream, "
                    "which holds pointers: dtask copies plain data only\n");
}

static void test_returns(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", NULL);
  assert_draft(f, 0, "void f()");
  f = fn("f", t_void());
  assert_draft(f, 0, "void f()");
  f = fn("f", td(t_ulong(), "uLong"));
  assert_draft(f, 0, "ulong f()");
  f = fn("f", t_double());
  assert_draft(f, 0, "double f()");
  dt__ctype *e = ty(DT__CK_ENUM, "enum level", 4, false);
  f = fn("f", e);
  assert_draft(f, 0, "uint f()");

  f = fn("strerror", ptr(t_char()));
  par(f, "errnum", t_int());
  assert_draft(f, 0, "cstring strerror(int errnum)");
  assert_contains(last_text, "\n# guessed: the char * it returns is a "
                             "NUL-terminated string (copied back, each "
                             "distinct string kept once)");

  f = fn("f", ptr(chr("unsigned char", false)));
  assert_refused(f, "it returns a pointer (unsigned char *): memory in the "
                    "worker is not the caller's");
  f = fn("f", ptr(t_void()));
  assert_refused(f, "it returns a pointer (void *)");
  f = fn("f", ptr(NULL));
  assert_refused(f, "it returns a pointer (? *)");
  f = fn("div", td(rec("", 8, 4), "div_t"));
  assert_refused(f, "it returns div_t by value, which dtask cannot pass");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refusals_function),
      cmocka_unit_test(test_refusals_params),
      cmocka_unit_test(test_returns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
