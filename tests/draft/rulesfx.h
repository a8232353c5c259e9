/* rulesfx.h: what the tests of dtask sig's rules share (test_rules.c,
 * test_rules_output.c, test_rules_refusals.c and test_rules_review.c in
 * tests/draft/): the model of draft/draft.h built by hand, as a reader
 * would fill it (types, typedef chains, const, pointers, arrays, chars,
 * structs, a function and its parameters), and a draft read back.  Every
 * draft printed through print_draft is checked by check_parses: each
 * signature without LEN? must parse (config/sig.c) with the [types]
 * printed above it, and each with LEN? must be rejected as a
 * placeholder.  draft1 drafts one function alone and leaves its text in
 * last_text, which sig_of, notes_of, assert_draft and assert_refused
 * read.  The functions are static inline, so that a file may leave
 * some unused; print_draft alone is not inlined (see there).  Include it
 * after <cmocka.h>, <errno.h>, <stdio.h>, <string.h>, the headers of
 * common/error.h, config/sig.h and draft/draft.h, and "testutil.h". */
#ifndef DT_TESTS_RULESFX_H
#define DT_TESTS_RULESFX_H

/* ------------------------------------------------------------ the model */

/* A new type of the given kind, C name and size (alignment = size). */
static inline dt__ctype *ty(dt__ckind kind, const char *c_name, uint64_t size,
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
static inline dt__ctype *td(dt__ctype *t, const char *name) {
  assert_true(t->ntypedefs < DT__CTYPE_CHAIN);
  snprintf(t->typedefs[t->ntypedefs++], sizeof t->typedefs[0], "%s", name);
  return t;
}

/* t, const-qualified. */
static inline dt__ctype *cn(dt__ctype *t) {
  t->is_const = true;
  return t;
}

/* A pointer to pointee, which it owns. */
static inline dt__ctype *ptr(dt__ctype *pointee) {
  dt__ctype *t = ty(DT__CK_POINTER, "", 8, false);
  t->pointee = pointee;
  return t;
}

/* A parameter declared T x[count]. */
static inline dt__ctype *arr(dt__ctype *elem, uint64_t count) {
  dt__ctype *t = ty(DT__CK_ARRAY, "", elem->size * count, false);
  t->count = count;
  t->pointee = elem;
  return t;
}

/* A char type: "char", "signed char" or "unsigned char". */
static inline dt__ctype *chr(const char *c_name, bool is_signed) {
  dt__ctype *t = ty(DT__CK_INT, c_name, 1, is_signed);
  t->is_char = true;
  return t;
}

static inline dt__ctype *t_void(void) {
  return ty(DT__CK_VOID, "void", 0, false);
}
static inline dt__ctype *t_int(void) { return ty(DT__CK_INT, "int", 4, true); }
static inline dt__ctype *t_uint(void) {
  return ty(DT__CK_INT, "unsigned int", 4, false);
}
static inline dt__ctype *t_ulong(void) {
  return ty(DT__CK_INT, "unsigned long", 8, false);
}
static inline dt__ctype *t_size(void) { return td(t_ulong(), "size_t"); }
static inline dt__ctype *t_double(void) {
  return ty(DT__CK_REAL, "double", 8, 0);
}
static inline dt__ctype *t_char(void) { return chr("char", true); }

/* A complete struct that holds no pointers. */
static inline dt__ctype *rec(const char *tag, uint64_t size, uint64_t align) {
  dt__ctype *t = ty(DT__CK_RECORD, "", size, false);
  snprintf(t->c_name, sizeof t->c_name, "struct %s", tag);
  snprintf(t->tag, sizeof t->tag, "%s", tag);
  t->align = align;
  return t;
}

/* A function named name returning ret (owned; NULL allowed), declared at
 * t.h:1, with no parameters yet.  Free it with fn_free. */
static inline dt__cfunc *fn(const char *name, dt__ctype *ret) {
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
static inline dt__cparam *par(dt__cfunc *f, const char *name, dt__ctype *t) {
  assert_true(f->nparams < DT__MAX_PARAMS);
  dt__cparam *p = &f->params[f->nparams++];
  snprintf(p->name, sizeof p->name, "%s", name);
  p->type = t;
  p->attr_len = -1;
  return p;
}

static inline void fn_free(dt__cfunc *f) {
  dt__cfunc_clear(f);
  free(f);
}

/* --------------------------------------------------- reading a draft */

/* Counts the occurrences of needle in hay. */
static inline int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p != NULL;
       p = strstr(p + 1, needle))
    n++;
  return n;
}

/* Reads a draft back: every [types] line becomes a dt__utype, and each
 * signature line must parse with them unless it holds LEN?, which must
 * be rejected as a placeholder. */
static inline void check_parses(const char *text) {
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

/* Prints d into a new string (the caller frees it).  Never inlined, as
 * it was not when these tests were one file: inlined into a test, it
 * makes GCC 12 take the pointers count_of walks in the string for
 * pointers to print_draft's own variable text, whose address
 * open_memstream keeps, and -Wdangling-pointer fails the build.  GCC
 * refuses noinline on an inline function, so this one is static, and
 * unused keeps a file that never prints a draft free of warnings. */
__attribute__((noinline, unused)) static char *print_draft(const dt__draft *d) {
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
static inline int draft1(dt__cfunc *f) {
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
static inline const char *sig_of(void) {
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
static inline int notes_of(void) {
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

#endif /* DT_TESTS_RULESFX_H */
