/* test_dwarf.c: unit tests of dtask sig's DWARF reader (draft/dwarf.c).
 *
 * The fixtures (tests/fixtures/draftdw/build.sh) are built by the
 * Makefile into the folder draftdw of the directory named by
 * DTASK_FIXTURE_DIR; without it every test fails.  The sizes and
 * alignments the reader finds are compared with this compiler's own,
 * from the fixture's dd.h.  A FIFO and a damaged object are made in a
 * scratch directory that the group teardown removes.  DEBUGINFOD_URLS is
 * unset: no debug file is fetched.  The model's allocation functions
 * come from draft/rules.c, or from tests/draft/model_stub.c when the
 * reader is tested alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "draft/dwarf.h"
#include "testutil.h"

#include "../fixtures/draftdw/dd.h"

typedef struct fixture {
  char dir[PATH_MAX];
  char tmp[PATH_MAX];
} fixture;

static fixture *fx;

static int group_setup(void **state) {
  const char *dir = getenv("DTASK_FIXTURE_DIR");
  if (dir == NULL || dir[0] == '\0') {
    fprintf(stderr, "DTASK_FIXTURE_DIR is not set: build the fixtures with "
                    "tests/fixtures/draftdw/build.sh DIR/draftdw and set "
                    "it to DIR.\n");
    return -1;
  }
  fx = calloc(1, sizeof *fx);
  if (fx == NULL)
    return -1;
  snprintf(fx->dir, sizeof fx->dir, "%s/draftdw", dir);
  snprintf(fx->tmp, sizeof fx->tmp, "/tmp/dtask-dwarf-test-XXXXXX");
  if (mkdtemp(fx->tmp) == NULL) {
    free(fx);
    return -1;
  }
  /* A separate debug file is only ever looked for on this machine. */
  unsetenv("DEBUGINFOD_URLS");
  *state = fx;
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  if (fx != NULL)
    rm_tree(fx->tmp);
  free(fx);
  fx = NULL;
  return 0;
}

/* "DIR/name" in buf (PATH_MAX bytes). */
static const char *in(const char *name, char *buf) {
  if (snprintf(buf, PATH_MAX, "%s/%s", fx->dir, name) >= PATH_MAX)
    fail_msg("the fixture path %s/%s is too long", fx->dir, name);
  return buf;
}

/* The 1-based line of the fixture source file (build.sh copies them
 * beside the objects) that first contains needle, or 0. */
static int line_of(const char *file, const char *needle) {
  char path[PATH_MAX], line[512];
  in(file, path);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    fail_msg("cannot open %s: build.sh copies the sources there", path);
  int n = 0, found = 0;
  while (found == 0 && fgets(line, sizeof line, f) != NULL) {
    n++;
    if (strstr(line, needle) != NULL)
      found = n;
  }
  fclose(f);
  return found;
}

/* Fails unless f->where ends with "file:LINE", LINE being the line of
 * file where needle first occurs. */
static void assert_where(const dt__cfunc *f, const char *file,
                         const char *needle) {
  char want[300];
  snprintf(want, sizeof want, "%s:%d", file, line_of(file, needle));
  size_t lw = strlen(f->where), ln = strlen(want);
  if (lw < ln || strcmp(f->where + lw - ln, want) != 0)
    fail_msg("%s: where is \"%s\", expected it to end with \"%s\"", f->name,
             f->where, want);
}

/* Reads the symbol sym from the fixture file into *f; returns the
 * reader's result. */
static int read1(const char *file, const char *sym, dt__cfunc *f,
                 dt__error *err) {
  char path[PATH_MAX];
  memset(f, 0, sizeof *f);
  snprintf(f->name, sizeof f->name, "%s", sym);
  return dt__draft_dwarf(in(file, path), f, 1, err);
}

/* Reads sym from file, which must succeed and find it; the caller
 * clears *f. */
static void read_found(const char *file, const char *sym, dt__cfunc *f) {
  dt__error err;
  int rc = read1(file, sym, f, &err);
  if (rc != 0)
    fail_msg("reading %s from %s: %d (%s)", sym, file, rc, err.msg);
  if (!f->found)
    fail_msg("%s not found in %s", sym, file);
}

static void assert_int(const dt__ctype *t, const char *c_name, uint64_t size,
                       bool is_signed) {
  assert_non_null(t);
  assert_int_equal(t->kind, DT__CK_INT);
  assert_string_equal(t->c_name, c_name);
  assert_int_equal(t->size, size);
  assert_int_equal(t->align, size);
  assert_int_equal(t->is_signed, is_signed);
}

static void assert_param(const dt__cfunc *f, int i, const char *name,
                         dt__ckind kind) {
  assert_true(i < f->nparams);
  assert_string_equal(f->params[i].name, name);
  assert_non_null(f->params[i].type);
  assert_int_equal(f->params[i].type->kind, kind);
  assert_int_equal(f->params[i].doc_dir, DT__PD_NONE);
  assert_int_equal(f->params[i].attr_dir, DT__PD_NONE);
  assert_int_equal(f->params[i].attr_len, -1);
}

/* dd_crc: an abstract instance (inlined into dd_crc_twice) read whole;
 * a typedef return, const unsigned char *. */
static void test_typedef_and_const_buffer(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_crc", &f);
  assert_string_equal(f.library, "libdd.so");
  assert_where(&f, "ddlib.c", "dd_uLong dd_crc(dd_uLong crc");
  assert_false(f.variadic);
  assert_false(f.too_many);
  assert_int_equal(f.nparams, 3);
  assert_int(f.ret, "unsigned long", 8, false);
  assert_int_equal(f.ret->ntypedefs, 1);
  assert_string_equal(f.ret->typedefs[0], "dd_uLong");
  assert_false(f.ret->is_const);

  assert_param(&f, 0, "crc", DT__CK_INT);
  assert_string_equal(f.params[0].type->typedefs[0], "dd_uLong");

  assert_param(&f, 1, "buf", DT__CK_POINTER);
  const dt__ctype *p = f.params[1].type;
  assert_string_equal(p->c_name, "const unsigned char *");
  assert_int_equal(p->size, 8);
  assert_int_equal(p->ntypedefs, 0);
  assert_false(p->is_const);
  assert_int(p->pointee, "unsigned char", 1, false);
  assert_true(p->pointee->is_const);
  assert_true(p->pointee->is_char);
  assert_false(p->pointee->is_bool);
  assert_null(p->pointee->pointee);

  assert_param(&f, 2, "len", DT__CK_INT);
  assert_int(f.params[2].type, "unsigned int", 4, false);
  assert_int_equal(f.params[2].type->ntypedefs, 0);
  dt__cfunc_clear(&f);
}

/* dd_compress: typedef chains outermost first, behind pointers. */
static void test_typedef_chain(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_compress", &f);
  assert_int_equal(f.nparams, 4);
  assert_int(f.ret, "int", 4, true);
  assert_param(&f, 0, "dest", DT__CK_POINTER);
  const dt__ctype *t = f.params[0].type->pointee;
  assert_int(t, "unsigned char", 1, false);
  assert_true(t->is_char);
  assert_false(t->is_const);
  assert_int_equal(t->ntypedefs, 1);
  assert_string_equal(t->typedefs[0], "dd_Byte");
  assert_string_equal(f.params[0].type->c_name, "dd_Byte *");

  assert_param(&f, 1, "destLen", DT__CK_POINTER);
  t = f.params[1].type->pointee;
  assert_int(t, "unsigned long", 8, false);
  assert_int_equal(t->ntypedefs, 2);
  assert_string_equal(t->typedefs[0], "dd_uLongf");
  assert_string_equal(t->typedefs[1], "dd_uLong");

  assert_param(&f, 2, "source", DT__CK_POINTER);
  t = f.params[2].type->pointee;
  assert_true(t->is_const);
  assert_string_equal(t->typedefs[0], "dd_Byte");
  assert_string_equal(f.params[2].type->c_name, "const dd_Byte *");
  assert_param(&f, 3, "sourceLen", DT__CK_INT);
  dt__cfunc_clear(&f);
}

static void assert_record(const dt__ctype *t, const char *tag, uint64_t size,
                          uint64_t align, bool has_pointers) {
  assert_non_null(t);
  assert_int_equal(t->kind, DT__CK_RECORD);
  assert_string_equal(t->tag, tag);
  assert_true(t->complete);
  assert_int_equal(t->size, size);
  assert_int_equal(t->align, align);
  assert_int_equal(t->has_pointers, has_pointers);
}

/* Records by value and behind pointers: sizes and alignments as this
 * compiler lays them out, pointers found at any depth. */
static void test_records(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_plain_sum", &f);
  assert_int_equal(f.ret->kind, DT__CK_REAL);
  assert_string_equal(f.ret->c_name, "double");
  assert_int_equal(f.ret->size, 8);
  assert_param(&f, 0, "p", DT__CK_RECORD);
  assert_record(f.params[0].type, "dd_plain", sizeof(struct dd_plain),
                _Alignof(struct dd_plain), false);
  assert_string_equal(f.params[0].type->c_name, "struct dd_plain");
  assert_false(f.params[0].type->is_union);
  assert_param(&f, 1, "n", DT__CK_RECORD);
  assert_record(f.params[1].type, "dd_num", sizeof(union dd_num),
                _Alignof(union dd_num), false);
  assert_string_equal(f.params[1].type->c_name, "union dd_num");
  assert_true(f.params[1].type->is_union);
  dt__cfunc_clear(&f);

  read_found("libdd.so", "dd_outer_count", &f);
  assert_int(f.ret, "unsigned long", 8, false);
  assert_string_equal(f.ret->typedefs[0], "size_t");
  assert_param(&f, 0, "o", DT__CK_POINTER);
  const dt__ctype *t = f.params[0].type->pointee;
  assert_record(t, "dd_outer", sizeof(struct dd_outer),
                _Alignof(struct dd_outer), true);
  assert_true(t->is_const);
  assert_param(&f, 1, "a", DT__CK_POINTER);
  assert_record(f.params[1].type->pointee, "dd_aligned",
                sizeof(struct dd_aligned), _Alignof(struct dd_aligned), false);
  assert_int_equal(f.params[1].type->pointee->align, 32);
  assert_param(&f, 2, "pk", DT__CK_POINTER);
  assert_record(f.params[2].type->pointee, "dd_packed",
                sizeof(struct dd_packed), _Alignof(struct dd_packed), false);
  assert_int_equal(f.params[2].type->pointee->align, 1);
  dt__cfunc_clear(&f);

  /* FILE: glibc's struct _IO_FILE, complete, full of pointers. */
  read_found("libdd.so", "dd_fputs", &f);
  assert_param(&f, 1, "f", DT__CK_POINTER);
  t = f.params[1].type->pointee;
  assert_record(t, "_IO_FILE", sizeof(FILE), _Alignof(FILE), true);
  assert_string_equal(t->c_name, "struct _IO_FILE");
  assert_int_equal(t->ntypedefs, 1);
  assert_string_equal(t->typedefs[0], "FILE");
  assert_string_equal(f.params[1].type->c_name, "FILE *");
  dt__cfunc_clear(&f);
}

/* An incomplete struct handle, and enums signed and not. */
static void test_handle_and_enums(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_handle_use", &f);
  assert_param(&f, 0, "h", DT__CK_POINTER);
  const dt__ctype *t = f.params[0].type->pointee;
  assert_int_equal(t->kind, DT__CK_RECORD);
  assert_string_equal(t->tag, "dd_handle");
  assert_string_equal(t->c_name, "struct dd_handle");
  assert_false(t->complete);
  assert_int_equal(t->size, 0);
  assert_int_equal(t->align, 0);
  assert_false(t->has_pointers);

  assert_param(&f, 1, "lvl", DT__CK_ENUM);
  t = f.params[1].type;
  assert_string_equal(t->tag, "dd_level");
  assert_string_equal(t->c_name, "enum dd_level");
  assert_true(t->complete);
  assert_true(t->is_signed);
  assert_int_equal(t->size, sizeof(enum dd_level));
  assert_param(&f, 2, "col", DT__CK_ENUM);
  assert_false(f.params[2].type->is_signed);
  assert_int_equal(f.params[2].type->size, sizeof(enum dd_color));
  dt__cfunc_clear(&f);

  /* The unit that defines the struct sees it complete. */
  read_found("libdd.so", "dd_handle_new", &f);
  assert_int_equal(f.nparams, 0);
  assert_false(f.variadic);
  assert_int_equal(f.ret->kind, DT__CK_POINTER);
  assert_true(f.ret->pointee->complete);
  assert_true(f.ret->pointee->has_pointers);
  assert_int_equal(f.ret->pointee->size, 16);
  dt__cfunc_clear(&f);
}

/* Variadic functions and va_list, by value and behind a pointer. */
static void test_variadic_and_va_list(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_printf", &f);
  assert_true(f.variadic);
  assert_int_equal(f.nparams, 1);
  assert_param(&f, 0, "fmt", DT__CK_POINTER);
  assert_string_equal(f.params[0].type->c_name, "const char *");
  assert_true(f.params[0].type->pointee->is_char);
  assert_true(f.params[0].type->pointee->is_signed);
  dt__cfunc_clear(&f);

  read_found("libdd.so", "dd_vprintf", &f);
  assert_false(f.variadic);
  assert_int_equal(f.nparams, 2);
  assert_param(&f, 1, "ap", DT__CK_VALIST);
  assert_null(f.params[1].type->pointee);
  dt__cfunc_clear(&f);

  read_found("libdd.so", "dd_vptr", &f);
  assert_param(&f, 0, "app", DT__CK_POINTER);
  const dt__ctype *t = f.params[0].type->pointee;
  assert_int_equal(t->kind, DT__CK_VALIST);
  assert_int_equal(t->ntypedefs, 1);
  assert_string_equal(t->typedefs[0], "va_list");
  /* An old-style definition has no prototype; the others have one. */
  assert_false(f.no_prototype);
  dt__cfunc_clear(&f);
  read_found("libdd.so", "dd_kr", &f);
  assert_true(f.no_prototype);
  assert_int_equal(f.nparams, 1);
  dt__cfunc_clear(&f);
  read_found("libdd.so", "dd_printf", &f);
  assert_false(f.no_prototype);
  dt__cfunc_clear(&f);
}

/* Function pointers (spelled and through a typedef), void *, void. */
static void test_function_pointers(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_sort", &f);
  assert_int_equal(f.ret->kind, DT__CK_VOID);
  assert_int_equal(f.nparams, 5);
  assert_param(&f, 0, "base", DT__CK_POINTER);
  assert_int_equal(f.params[0].type->pointee->kind, DT__CK_VOID);
  assert_false(f.params[0].type->pointee->is_const);
  assert_string_equal(f.params[0].type->c_name, "void *");
  assert_param(&f, 1, "n", DT__CK_INT);
  assert_string_equal(f.params[1].type->typedefs[0], "size_t");
  assert_param(&f, 3, "cmp", DT__CK_POINTER);
  const dt__ctype *t = f.params[3].type;
  assert_int_equal(t->pointee->kind, DT__CK_FUNCTION);
  assert_string_equal(t->pointee->c_name, "a function");
  assert_string_equal(t->c_name, "a function pointer");
  assert_param(&f, 4, "cmp2", DT__CK_POINTER);
  t = f.params[4].type;
  assert_int_equal(t->ntypedefs, 1);
  assert_string_equal(t->typedefs[0], "dd_cmp");
  assert_int_equal(t->pointee->kind, DT__CK_FUNCTION);
  dt__cfunc_clear(&f);

  read_found("libdd.so", "dd_reset", &f);
  assert_int_equal(f.ret->kind, DT__CK_VOID);
  assert_string_equal(f.ret->c_name, "void");
  assert_int_equal(f.nparams, 0);
  assert_false(f.variadic);
  assert_false(f.too_many);
  dt__cfunc_clear(&f);
}

/* Pointers to pointers, a const pointer, a const typedef. */
static void test_pointer_levels(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_split", &f);
  assert_param(&f, 1, "out", DT__CK_POINTER);
  const dt__ctype *t = f.params[1].type;
  assert_string_equal(t->c_name, "char ***");
  assert_int_equal(t->pointee->kind, DT__CK_POINTER);
  assert_int_equal(t->pointee->pointee->kind, DT__CK_POINTER);
  assert_int(t->pointee->pointee->pointee, "char", 1, true);
  assert_param(&f, 2, "tail", DT__CK_POINTER);
  assert_true(f.params[2].type->is_const);
  assert_false(f.params[2].type->pointee->is_const);
  assert_param(&f, 3, "cc", DT__CK_POINTER);
  t = f.params[3].type->pointee;
  assert_true(t->is_const);
  assert_true(t->is_char);
  assert_string_equal(t->typedefs[0], "dd_cchar");
  dt__cfunc_clear(&f);
}

/* Arrays behind typedefs, one and two dimensions; const void *. */
static void test_arrays(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_vec", &f);
  assert_int_equal(f.ret->kind, DT__CK_POINTER);
  assert_int_equal(f.ret->pointee->kind, DT__CK_VOID);
  assert_true(f.ret->pointee->is_const);
  assert_string_equal(f.ret->c_name, "const void *");
  assert_param(&f, 0, "v", DT__CK_POINTER);
  const dt__ctype *t = f.params[0].type->pointee;
  assert_int_equal(t->kind, DT__CK_ARRAY);
  assert_string_equal(t->typedefs[0], "dd_vec3");
  assert_int_equal(t->count, 3);
  assert_int_equal(t->size, sizeof(dd_vec3));
  assert_int(t->pointee, "int", 4, true);
  assert_param(&f, 1, "m", DT__CK_POINTER);
  t = f.params[1].type->pointee;
  assert_int_equal(t->kind, DT__CK_ARRAY);
  assert_string_equal(t->typedefs[0], "dd_mat");
  assert_string_equal(t->c_name, "double [2][3]");
  assert_int_equal(t->count, 2);
  assert_int_equal(t->size, sizeof(dd_mat));
  assert_int_equal(t->pointee->kind, DT__CK_ARRAY);
  assert_int_equal(t->pointee->count, 3);
  assert_int_equal(t->pointee->pointee->kind, DT__CK_REAL);
  dt__cfunc_clear(&f);
}

/* Base types by encoding and size. */
static void test_base_kinds(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_kinds", &f);
  assert_int_equal(f.nparams, 8);
  assert_int_equal(f.ret->kind, DT__CK_INT);
  assert_true(f.ret->is_bool);
  assert_int_equal(f.ret->size, 1);
  assert_param(&f, 0, "b", DT__CK_INT);
  assert_true(f.params[0].type->is_bool);
  assert_false(f.params[0].type->is_char);
  assert_param(&f, 1, "f", DT__CK_REAL);
  assert_string_equal(f.params[1].type->c_name, "float");
  assert_int_equal(f.params[1].type->size, 4);
  assert_param(&f, 2, "ld", DT__CK_REAL);
  assert_string_equal(f.params[2].type->c_name, "long double");
  assert_int_equal(f.params[2].type->size, 16);
  assert_param(&f, 3, "sc", DT__CK_INT);
  assert_int(f.params[3].type, "signed char", 1, true);
  assert_true(f.params[3].type->is_char);
  assert_param(&f, 4, "c", DT__CK_INT);
  assert_int(f.params[4].type, "char", 1, true);
  assert_true(f.params[4].type->is_char);
  assert_param(&f, 5, "z", DT__CK_OTHER);
  assert_param(&f, 6, "us", DT__CK_INT);
  assert_int(f.params[6].type, "unsigned short", 2, false);
  assert_param(&f, 7, "ll", DT__CK_INT);
  assert_int(f.params[7].type, "long long", 8, true);
  dt__cfunc_clear(&f);
}

/* 33 parameters: the first DT__MAX_PARAMS, and too_many. */
static void test_too_many(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_many", &f);
  assert_int_equal(f.nparams, DT__MAX_PARAMS);
  assert_true(f.too_many);
  assert_string_equal(f.params[0].name, "p0");
  assert_string_equal(f.params[DT__MAX_PARAMS - 1].name, "p31");
  assert_int(f.params[DT__MAX_PARAMS - 1].type, "int", 4, true);
  dt__cfunc_clear(&f);
}

/* Several at once; an absent symbol and a static function are not
 * found, and the call still succeeds. */
static void test_not_found(void **state) {
  (void)state;
  dt__cfunc fs[3];
  char path[PATH_MAX];
  dt__error err;
  memset(fs, 0, sizeof fs);
  snprintf(fs[0].name, sizeof fs[0].name, "dd_nosuch");
  snprintf(fs[1].name, sizeof fs[1].name, "dd_hidden");
  snprintf(fs[2].name, sizeof fs[2].name, "dd_reset");
  assert_int_equal(dt__draft_dwarf(in("libdd.so", path), fs, 3, 
                                   &err), 0);
  assert_false(fs[0].found);
  assert_null(fs[0].ret);
  assert_string_equal(fs[0].where, "");
  assert_false(fs[1].found);
  assert_true(fs[2].found);
  for (int i = 0; i < 3; i++)
    dt__cfunc_clear(&fs[i]);
}

/* ddlib.c declares dd_other (no names) before ddother.c defines it: the
 * definition wins. */
static void test_definition_preferred(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_other", &f);
  assert_where(&f, "ddother.c", "int dd_other(int a");
  assert_int_equal(f.nparams, 2);
  assert_string_equal(f.params[0].name, "a");
  assert_string_equal(f.params[1].name, "b");
  dt__cfunc_clear(&f);
}

/* dd_alias is a symbol only (an alias of dd_impl): read through the
 * address of its code. */
static void test_alias(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd.so", "dd_alias", &f);
  assert_where(&f, "ddlib.c", "int dd_impl(int x");
  assert_int_equal(f.nparams, 2);
  assert_string_equal(f.params[0].name, "x");
  assert_string_equal(f.params[1].name, "y");
  dt__cfunc_clear(&f);
}

/* A program: its own function, and a library function it only declares
 * (types without names, the header's place), there being nothing
 * better. */
static void test_program(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("ddprog", "prog_add", &f);
  assert_string_equal(f.library, "");
  assert_where(&f, "ddprog.c", "int prog_add(int x, int y) {");
  assert_string_equal(f.params[0].name, "x");
  assert_string_equal(f.params[1].name, "y");
  dt__cfunc_clear(&f);

  read_found("ddprog", "dd_crc", &f);
  assert_string_equal(f.library, "");
  assert_where(&f, "dd.h", "dd_uLong dd_crc(");
  assert_int_equal(f.nparams, 3);
  for (int i = 0; i < 3; i++)
    assert_string_equal(f.params[i].name, "");
  assert_string_equal(f.params[0].type->typedefs[0], "dd_uLong");
  assert_int_equal(f.params[1].type->kind, DT__CK_POINTER);
  assert_true(f.params[1].type->pointee->is_const);
  assert_int(f.ret, "unsigned long", 8, false);
  dt__cfunc_clear(&f);

  read_found("ddprog", "dd_printf", &f);
  assert_true(f.variadic);
  assert_int_equal(f.nparams, 1);
  dt__cfunc_clear(&f);
}

/* Debug info split off into a file found through .gnu_debuglink. */
static void test_split_debug(void **state) {
  (void)state;
  dt__cfunc f;
  read_found("libdd_split.so", "dd_crc", &f);
  assert_string_equal(f.library, "libdd.so");
  assert_where(&f, "ddlib.c", "dd_uLong dd_crc(dd_uLong crc");
  assert_int_equal(f.nparams, 3);
  assert_string_equal(f.params[1].name, "buf");
  dt__cfunc_clear(&f);
}

/* Failures: each says what is wrong, and leaves funcs cleared. */
static void test_stripped(void **state) {
  (void)state;
  dt__cfunc f;
  char path[PATH_MAX];
  dt__error err;
  read_found("libdd.so", "dd_crc", &f); /* filled, then read again */
  assert_int_equal(dt__draft_dwarf(in("libdd_stripped.so", path), &f, 1, 
                                   &err), -ENODATA);
  assert_contains(err.msg, path);
  assert_contains(err.msg, "rebuild it with -g");
  assert_null(strchr(err.msg, '\n'));
  assert_false(f.found);
  assert_null(f.ret);
  assert_int_equal(f.nparams, 0);
  assert_string_equal(f.name, "dd_crc");
}

static void test_missing_and_not_elf(void **state) {
  (void)state;
  dt__cfunc f;
  dt__error err;
  assert_int_equal(read1("no-such-file.so", "dd_crc", &f, &err),
                   -ENOENT);
  assert_contains(err.msg, "no-such-file.so");
  assert_false(f.found);
  assert_int_equal(read1("notelf.txt", "dd_crc", &f, &err),
                   -ENOEXEC);
  assert_contains(err.msg, "not an ELF object");
  /* err may be NULL, as everywhere (common/common.h). */
  assert_int_equal(read1("notelf.txt", "dd_crc", &f, NULL), -ENOEXEC);
}

/* A FIFO is refused at once, not read (which would wait for a writer);
 * so is a folder. */
static void test_fifo_and_folder(void **state) {
  (void)state;
  dt__cfunc f;
  char fifo[PATH_MAX + 8];
  dt__error err;
  snprintf(fifo, sizeof fifo, "%s/fifo", fx->tmp);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  memset(&f, 0, sizeof f);
  snprintf(f.name, sizeof f.name, "dd_crc");
  alarm(10); /* a hang fails the test instead of the whole run */
  assert_int_equal(dt__draft_dwarf(fifo, &f, 1, &err), -ENOEXEC);
  assert_contains(err.msg, "not a regular file");
  assert_int_equal(dt__draft_dwarf(fx->tmp, &f, 1, &err),
                   -ENOEXEC);
  alarm(0);
}

/* The number of descriptors this process holds. */
static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL)
    return -1;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n;
}

/* Reads, successful or not, leave no descriptor open; a damaged ELF
 * object (its first 100 bytes) is refused. */
static void test_no_descriptor_left(void **state) {
  (void)state;
  dt__cfunc f;
  char path[PATH_MAX], cut[PATH_MAX + 8], head[100];
  dt__error err;
  snprintf(cut, sizeof cut, "%s/cut.so", fx->tmp);
  FILE *src = fopen(in("libdd.so", path), "rb");
  FILE *dst = fopen(cut, "wb");
  assert_non_null(src);
  assert_non_null(dst);
  assert_int_equal(fread(head, 1, sizeof head, src), sizeof head);
  assert_int_equal(fwrite(head, 1, sizeof head, dst), sizeof head);
  fclose(src);
  fclose(dst);
  int before = open_fds();
  memset(&f, 0, sizeof f);
  snprintf(f.name, sizeof f.name, "dd_crc");
  int rc = dt__draft_dwarf(cut, &f, 1, &err);
  assert_int_equal(rc, -ENOEXEC);
  assert_contains(err.msg, cut);
  assert_contains(err.msg, "cannot read");
  read_found("libdd.so", "dd_crc", &f);
  dt__cfunc_clear(&f);
  read_found("libdd_split.so", "dd_crc", &f);
  dt__cfunc_clear(&f);
  assert_int_equal(read1("libdd_stripped.so", "dd_crc", &f, &err),
                   -ENODATA);
  assert_int_equal(read1("notelf.txt", "dd_crc", &f, &err),
                   -ENOEXEC);
  assert_int_equal(open_fds(), before);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_typedef_and_const_buffer),
      cmocka_unit_test(test_typedef_chain),
      cmocka_unit_test(test_records),
      cmocka_unit_test(test_handle_and_enums),
      cmocka_unit_test(test_variadic_and_va_list),
      cmocka_unit_test(test_function_pointers),
      cmocka_unit_test(test_pointer_levels),
      cmocka_unit_test(test_arrays),
      cmocka_unit_test(test_base_kinds),
      cmocka_unit_test(test_too_many),
      cmocka_unit_test(test_not_found),
      cmocka_unit_test(test_definition_preferred),
      cmocka_unit_test(test_alias),
      cmocka_unit_test(test_program),
      cmocka_unit_test(test_split_debug),
      cmocka_unit_test(test_stripped),
      cmocka_unit_test(test_missing_and_not_elf),
      cmocka_unit_test(test_fifo_and_folder),
      cmocka_unit_test(test_no_descriptor_left),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
