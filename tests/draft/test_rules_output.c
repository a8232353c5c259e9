/* test_rules_output.c: unit tests of the drafts dtask sig's rules
 * (draft/rules.c) print as a whole: the [types] table (each struct or
 * union once, named by its tag or else its innermost typedef, a name
 * taken by a type of another size refused, at most 64 types), the
 * library line, and a mixed draft of complete entries, placeholders,
 * refusals and types.  As in test_rules.c, each test builds the model of
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

/* ---------------------------------------------------------------- types */

static void test_types(void **state) {
  (void)state;
  dt__draft *d = dt__draft_new("t.h");
  assert_non_null(d);
  dt__cfunc *f = fn("f", t_int());
  par(f, "a", ptr(cn(rec("point", 12, 4))));
  par(f, "b", ptr(rec("point", 12, 4)));
  assert_int_equal(dt__draft_add(d, f), 0);
  fn_free(f);
  f = fn("g", t_void());
  par(f, "r", ptr(rec("report", 32, 8)));
  par(f, "count", t_int());
  assert_int_equal(dt__draft_add(d, f), 0);
  fn_free(f);
  /* Another point, of another size: refused. */
  f = fn("h", t_void());
  par(f, "p", ptr(rec("point", 16, 8)));
  assert_int_equal(dt__draft_add(d, f), 2);
  fn_free(f);
  char *text = print_draft(d);
  dt__draft_free(d);
  assert_int_equal(count_of(text, "point = {"), 1);
  assert_contains(text, "\n[types]\n"
                        "point = { size = 12, align = 4 } # struct point, "
                        "holds no pointers\n"
                        "report = { size = 32, align = 8 } # struct report, "
                        "holds no pointers\n");
  assert_contains(text, "signature = \"int f(in point a[1], inout point "
                        "b[1])\"\n");
  assert_contains(text, "signature = \"void g(inout report r[count], int "
                        "count)\"\n");
  assert_contains(text, "\n# refused: h (t.h:1): p points to struct point, "
                        "whose name another type of another size already "
                        "took in this draft\n");
  /* [types] comes before the first entry. */
  assert_true(strstr(text, "[types]") < strstr(text, "[[offload]]"));
  assert_true(strncmp(text, "# Drafted by dtask sig from t.h.\n", 33) == 0);
  free(text);
}

static void test_types_names(void **state) {
  (void)state;
  /* No tag: the innermost typedef names it. */
  dt__ctype *r = rec("", 8, 4);
  snprintf(r->c_name, sizeof r->c_name, "struct (anonymous)");
  td(td(r, "pair_alias"), "pair_t");
  dt__cfunc *f = fn("f", t_void());
  par(f, "p", ptr(r));
  assert_draft(f, 0, "void f(inout pair_t p[1])");
  assert_contains(last_text, "pair_t = { size = 8, align = 4 }");
  assert_contains(last_text, "# guessed: p points to one pair_alias");

  /* A tag beats the typedefs. */
  f = fn("f", t_void());
  par(f, "p", ptr(td(rec("pair_s", 8, 4), "pair_t")));
  assert_draft(f, 0, "void f(inout pair_s p[1])");

  /* Anonymous all the way: refused. */
  r = rec("", 8, 4);
  f = fn("f", t_void());
  par(f, "p", ptr(r));
  assert_refused(f, "p points to an anonymous struct: give it a tag or a "
                    "typedef to declare it under [types]");

  /* A union is a type like a struct. */
  r = rec("u", 8, 8);
  r->is_union = true;
  snprintf(r->c_name, sizeof r->c_name, "union u");
  f = fn("f", t_void());
  par(f, "p", ptr(cn(r)));
  assert_draft(f, 0, "void f(in u p[1])");
  assert_contains(last_text, "u = { size = 8, align = 8 } # union u");
}

static void test_types_too_many(void **state) {
  (void)state;
  dt__draft *d = dt__draft_new("t.h");
  assert_non_null(d);
  for (int i = 0; i < 65; i++) {
    char name[32];
    snprintf(name, sizeof name, "s%d", i);
    dt__cfunc *f = fn(name, t_void());
    par(f, "p", ptr(cn(rec(name, 8, 8))));
    int level = dt__draft_add(d, f);
    fn_free(f);
    assert_int_equal(level, i < 64 ? 0 : 2);
  }
  char *text = print_draft(d);
  dt__draft_free(d);
  assert_int_equal(count_of(text, " = { size = 8, align = 8 }"), 64);
  assert_contains(text, "\n# refused: s64 (t.h:1): too many struct types in "
                        "one draft\n");
  assert_int_equal(count_of(text, "s64 = {"), 0);
  free(text);
}

/* --------------------------------------------------------- the output */

static void test_library_line(void **state) {
  (void)state;
  dt__cfunc *f = fn("f", t_int());
  assert_draft(f, 0, "int f()");
  assert_int_equal(count_of(last_text, "library ="), 0);
  f = fn("f", t_int());
  snprintf(f->library, sizeof f->library, "libz.so.1");
  assert_draft(f, 0, "int f()");
  assert_contains(last_text, "\n[[offload]]\n# f, t.h:1\nsignature = \"int "
                             "f()\"\nlibrary = \"libz.so.1\"\n");
}

/* A mixed draft: complete entries, placeholders, refusals and types, all
 * read back by check_parses (in print_draft). */
static void test_mixed_draft(void **state) {
  (void)state;
  dt__draft *d = dt__draft_new("<zlib.h>");
  assert_non_null(d);
  int want[8], got[8], n = 0;

  dt__cfunc *f = fn("crc32", td(t_ulong(), "uLong"));
  par(f, "crc", td(t_ulong(), "uLong"));
  par(f, "buf", ptr(cn(td(chr("unsigned char", false), "Bytef"))));
  par(f, "len", td(t_uint(), "uInt"));
  want[n] = 0;
  got[n++] = dt__draft_add(d, f);
  fn_free(f);

  f = fn("uncompress", t_int());
  par(f, "dest", ptr(td(chr("unsigned char", false), "Bytef")));
  par(f, "destLen", ptr(td(t_ulong(), "uLongf")));
  par(f, "source", ptr(cn(td(chr("unsigned char", false), "Bytef"))));
  par(f, "sourceLen", td(t_ulong(), "uLong"));
  want[n] = 1;
  got[n++] = dt__draft_add(d, f);
  fn_free(f);

  f = fn("build_report", t_int());
  par(f, "period", ptr(cn(t_char())));
  dt__cparam *p = par(f, "r", ptr(rec("report", 32, 8)));
  p->doc_dir = DT__PD_OUT;
  want[n] = 0;
  got[n++] = dt__draft_add(d, f);
  fn_free(f);

  f = fn("deflate", t_int());
  dt__ctype *z = td(rec("z_stream_s", 112, 8), "z_stream");
  z->has_pointers = true;
  par(f, "strm", ptr(z));
  par(f, "flush", t_int());
  want[n] = 2;
  got[n++] = dt__draft_add(d, f);
  fn_free(f);

  f = fn("scale", t_void());
  par(f, "m", ptr(t_double()));
  par(f, "count", t_size());
  par(f, "k", t_double());
  par(f, "in", ptr(cn(rec("point", 12, 4))));
  want[n] = 0;
  got[n++] = dt__draft_add(d, f);
  fn_free(f);

  for (int i = 0; i < n; i++)
    assert_int_equal(got[i], want[i]);
  char *text = print_draft(d);
  dt__draft_free(d);
  assert_int_equal(count_of(text, "[[offload]]"), 4);
  assert_int_equal(count_of(text, "\n# refused: "), 1);
  assert_int_equal(count_of(text, "signature = "), 4);
  assert_int_equal(count_of(text, "LEN?]"), 1);
  assert_contains(text, "# Drafted by dtask sig from <zlib.h>.\n");
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_types_names),
      cmocka_unit_test(test_types_too_many),
      cmocka_unit_test(test_library_line),
      cmocka_unit_test(test_mixed_draft),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
