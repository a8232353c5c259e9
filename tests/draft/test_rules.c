/* test_rules.c: unit tests of dtask sig's rules (draft/rules.c) alone.
 *
 * Each test builds the model of draft/draft.h by hand, as a reader would
 * fill it, drafts it and compares the printed text: the exact signature,
 * the notes beside it, the returned level (0 complete, 1 LEN?, 2
 * refused), the [types] it needs.  Every draft a test prints is also
 * read back: each signature without LEN? must parse (config/sig.c) with
 * the [types] printed above it, and each with LEN? must be rejected as a
 * placeholder.  The test_review_ tests hold the bugs a review of the
 * rules found, each failing before its fix. */
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

/* ------------------------------------------------------------ the model */

/* A new type of the given kind, C name and size (alignment = size). */
static dt__ctype *ty(dt__ckind kind, const char *c_name, uint64_t size,
                     bool is_signed) {
  dt__ctype *t = dt__ctype_new(kind);
  assert_non_null(t);
  snprintf(t->c_name, sizeof t->c_name, "%s", c_name);
  t->size = size;
  t->align = size;
  t->is_signed = is_signed;
  t->complete = true;
  return t;
}

/* Adds the typedef name to t's chain (call outermost first). */
static dt__ctype *td(dt__ctype *t, const char *name) {
  assert_true(t->ntypedefs < DT__CTYPE_CHAIN);
  snprintf(t->typedefs[t->ntypedefs++], sizeof t->typedefs[0], "%s", name);
  return t;
}

/* t, const-qualified. */
static dt__ctype *cn(dt__ctype *t) {
  t->is_const = true;
  return t;
}

/* A pointer to pointee, which it owns. */
static dt__ctype *ptr(dt__ctype *pointee) {
  dt__ctype *t = ty(DT__CK_POINTER, "", 8, false);
  t->pointee = pointee;
  return t;
}

/* A parameter declared T x[count]. */
static dt__ctype *arr(dt__ctype *elem, uint64_t count) {
  dt__ctype *t = ty(DT__CK_ARRAY, "", elem->size * count, false);
  t->count = count;
  t->pointee = elem;
  return t;
}

/* A char type: "char", "signed char" or "unsigned char". */
static dt__ctype *chr(const char *c_name, bool is_signed) {
  dt__ctype *t = ty(DT__CK_INT, c_name, 1, is_signed);
  t->is_char = true;
  return t;
}

static dt__ctype *t_void(void) { return ty(DT__CK_VOID, "void", 0, false); }
static dt__ctype *t_int(void) { return ty(DT__CK_INT, "int", 4, true); }
static dt__ctype *t_uint(void) {
  return ty(DT__CK_INT, "unsigned int", 4, false);
}
static dt__ctype *t_ulong(void) {
  return ty(DT__CK_INT, "unsigned long", 8, false);
}
static dt__ctype *t_size(void) { return td(t_ulong(), "size_t"); }
static dt__ctype *t_double(void) { return ty(DT__CK_REAL, "double", 8, 0); }
static dt__ctype *t_char(void) { return chr("char", true); }

/* A complete struct that holds no pointers. */
static dt__ctype *rec(const char *tag, uint64_t size, uint64_t align) {
  dt__ctype *t = ty(DT__CK_RECORD, "", size, false);
  snprintf(t->c_name, sizeof t->c_name, "struct %s", tag);
  snprintf(t->tag, sizeof t->tag, "%s", tag);
  t->align = align;
  return t;
}

/* A function named name returning ret (owned; NULL allowed), declared at
 * t.h:1, with no parameters yet.  Free it with fn_free. */
static dt__cfunc *fn(const char *name, dt__ctype *ret) {
  dt__cfunc *f = calloc(1, sizeof *f);
  assert_non_null(f);
  snprintf(f->name, sizeof f->name, "%s", name);
  dt__cfunc_clear(f);
  f->found = true;
  snprintf(f->where, sizeof f->where, "t.h:1");
  f->ret = ret;
  return f;
}

/* Adds a parameter (name "" for an unnamed one) of type t (owned). */
static dt__cparam *par(dt__cfunc *f, const char *name, dt__ctype *t) {
  assert_true(f->nparams < DT__MAX_PARAMS);
  dt__cparam *p = &f->params[f->nparams++];
  snprintf(p->name, sizeof p->name, "%s", name);
  p->type = t;
  p->attr_len = -1;
  return p;
}

static void fn_free(dt__cfunc *f) {
  dt__cfunc_clear(f);
  free(f);
}

/* --------------------------------------------------- reading a draft */

/* Counts the occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p != NULL;
       p = strstr(p + 1, needle))
    n++;
  return n;
}

/* Reads a draft back: every [types] line becomes a dt__utype, and each
 * signature line must parse with them unless it holds LEN?, which must
 * be rejected as a placeholder. */
static void check_parses(const char *text) {
  dt__utype ut[80];
  size_t nut = 0;
  const char *p = strstr(text, "\n[types]\n");
  if (p != NULL) {
    p += strlen("\n[types]\n");
    char name[64];
    unsigned long long size, align;
    int used = 0;
    while (sscanf(p, "%63[A-Za-z0-9_] = { size = %llu, align = %llu }%n",
                  name, &size, &align, &used) == 3 && used > 0) {
      assert_true(nut < sizeof ut / sizeof *ut);
      snprintf(ut[nut].name, sizeof ut[nut].name, "%s", name);
      ut[nut].size = size;
      ut[nut].align = align;
      ut[nut].line = 0;
      nut++;
      p = strchr(p, '\n');
      if (p == NULL)
        break;
      p++;
      used = 0;
    }
  }
  const char *key = "\nsignature = \"";
  for (const char *s = strstr(text, key); s != NULL; s = strstr(s, key)) {
    s += strlen(key);
    const char *end = strchr(s, '"');
    assert_non_null(end);
    char sig[8192];
    assert_true((size_t)(end - s) < sizeof sig);
    memcpy(sig, s, (size_t)(end - s));
    sig[end - s] = '\0';
    dt__sig parsed;
    dt__error err = {0, 0, ""};
    int rc = dt__sig_parse(sig, ut, nut, &parsed, &err);
    if (strstr(sig, "LEN?") != NULL) {
      if (rc != -EINVAL)
        fail_msg("\"%s\" holds LEN? but parsed", sig);
      assert_contains(err.msg, "LEN? is a placeholder");
    } else if (rc != 0) {
      fail_msg("\"%s\" does not parse: column %d: %s", sig, err.col,
               err.msg);
    }
  }
}

/* Prints d into a new string (the caller frees it). */
static char *print_draft(const dt__draft *d) {
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  assert_non_null(m);
  assert_int_equal(dt__draft_print(d, m), 0);
  assert_int_equal(fclose(m), 0);
  check_parses(text);
  return text;
}

static char last_text[65536];

/* Drafts f alone (and frees it): returns the level, and leaves the
 * printed draft in last_text. */
static int draft1(dt__cfunc *f) {
  dt__draft *d = dt__draft_new("t.h");
  assert_non_null(d);
  int level = dt__draft_add(d, f);
  char *text = print_draft(d);
  snprintf(last_text, sizeof last_text, "%s", text);
  free(text);
  dt__draft_free(d);
  fn_free(f);
  return level;
}

/* The first signature of last_text, or "" when there is none. */
static const char *sig_of(void) {
  static char sig[8192];
  sig[0] = '\0';
  const char *s = strstr(last_text, "\nsignature = \"");
  if (s != NULL) {
    s += strlen("\nsignature = \"");
    const char *end = strchr(s, '"');
    snprintf(sig, sizeof sig, "%.*s", (int)(end - s), s);
  }
  return sig;
}

/* The number of notes ("# guessed:", "# todo:", "# from the header:",
 * "# renamed:") in last_text. */
static int notes_of(void) {
  return count_of(last_text, "\n# guessed: ") +
         count_of(last_text, "\n# todo: ") +
         count_of(last_text, "\n# from the header: ") +
         count_of(last_text, "\n# renamed: ");
}

/* Asserts f drafts at level want_level with signature want_sig. */
#define assert_draft(f, want_level, want_sig)                                \
  do {                                                                       \
    int l_ = draft1(f);                                                      \
    if (l_ != (want_level) || strcmp(sig_of(), (want_sig)) != 0)             \
      fail_msg("level %d, expected %d; draft:\n%s\nexpected signature "     \
               "\"%s\"",                                                     \
               l_, (want_level), last_text, (want_sig));                     \
  } while (0)

/* Asserts f is refused with a reason containing phrase, printed as one
 * comment line and no entry. */
#define assert_refused(f, phrase)                                            \
  do {                                                                       \
    int l_ = draft1(f);                                                      \
    if (l_ != 2)                                                             \
      fail_msg("level %d, expected 2; draft:\n%s", l_, last_text);          \
    assert_int_equal(count_of(last_text, "\n# refused: "), 1);              \
    assert_int_equal(count_of(last_text, "[[offload]]"), 0);                \
    assert_int_equal(count_of(last_text, "signature ="), 0);                \
    assert_contains(last_text, (phrase));                                    \
  } while (0)

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

/* -------------------------------------------------------------- scalars */

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
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_types_names),
      cmocka_unit_test(test_types_too_many),
      cmocka_unit_test(test_refusals_function),
      cmocka_unit_test(test_refusals_params),
      cmocka_unit_test(test_returns),
      cmocka_unit_test(test_library_line),
      cmocka_unit_test(test_mixed_draft),
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
