/* test_sig.c: unit tests of the signature language (sig.c).
 *
 * Every scalar type (size, alignment, tag, libffi type), every direction,
 * every length form, user types, dt__sig_describe, and every error
 * message of the parser with its exact column. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/common.h"
#include "config/sig.h"
#include "shim/ffitype.h"
#include "config/types.h"
#include "testutil.h"


/* Parses text and asserts that it fails at column col (line 0) with a
 * message containing phrase.  err is left for further checks. */
#define assert_sig_error_u(text, utypes, nutypes, want_col, phrase)          \
  do {                                                                       \
    dt__sig s_;                                                              \
    memset(&err, 0, sizeof err);                                             \
    int rc_ = dt__sig_parse((text), (utypes), (nutypes), &s_, &err);         \
    if (rc_ != -EINVAL)                                                      \
      fail_msg("\"%s\" parsed with rc %d, expected -EINVAL", (text), rc_);   \
    assert_int_equal(err.line, 0);                                           \
    if (err.col != (want_col))                                               \
      fail_msg("\"%s\": error at column %d, expected %d (%s)", (text),       \
               err.col, (want_col), err.msg);                                \
    assert_contains(err.msg, (phrase));                                      \
  } while (0)

#define assert_sig_error(text, want_col, phrase)                             \
  assert_sig_error_u(text, NULL, 0, want_col, phrase)

/* Parses text, which must be valid. */
#define assert_sig_ok_u(text, utypes, nutypes, sig)                          \
  do {                                                                       \
    dt__error e_ = {0, 0, ""};                                               \
    int rc_ = dt__sig_parse((text), (utypes), (nutypes), (sig), &e_);        \
    if (rc_ != 0)                                                            \
      fail_msg("\"%s\" failed (rc %d) at column %d: %s", (text), rc_,        \
               e_.col, e_.msg);                                              \
  } while (0)

#define assert_sig_ok(text, sig) assert_sig_ok_u(text, NULL, 0, sig)

static const dt__utype utypes[] = {
    {"report", 32, 8, 3},
    {"point", 12, 4, 4},
};
#define NUTYPES (sizeof utypes / sizeof *utypes)

/* The libffi integer type of a given width and signedness. */
/* The libffi types the engine gives sig (shim/ffitype.c): its return, and
 * parameter i. */
static ffi_type *F_RET(const dt__sig *sig) {
  ffi_type *r, *a[DT__MAX_PARAMS];
  dt__sig_ffi(sig, &r, a);
  return r;
}

static ffi_type *F_ARG(const dt__sig *sig, int i) {
  ffi_type *r, *a[DT__MAX_PARAMS];
  dt__sig_ffi(sig, &r, a);
  return a[i];
}

static ffi_type *ffi_int_type(size_t size, int is_signed) {
  switch (size) {
  case 1:
    return is_signed ? &ffi_type_sint8 : &ffi_type_uint8;
  case 2:
    return is_signed ? &ffi_type_sint16 : &ffi_type_uint16;
  case 4:
    return is_signed ? &ffi_type_sint32 : &ffi_type_uint32;
  case 8:
    return is_signed ? &ffi_type_sint64 : &ffi_type_uint64;
  }
  return NULL;
}

/* One row of the expected scalar table. */
typedef struct want_scalar {
  const char *name;
  dt__tag tag;
  size_t size, align;
  ffi_type *ffi; /* filled in by expected_scalars() (not constant) */
  int is_integer, is_signed;
} want_scalar;

#define W(n, t, ctype, integer, sgn)                                         \
  {n, t, sizeof(ctype), _Alignof(ctype), NULL, integer, sgn}

static want_scalar wanted[] = {
    W("bool", DT__T_BOOL, _Bool, 1, 0),
    W("char", DT__T_CHAR, char, 1, CHAR_MIN < 0),
    W("schar", DT__T_SCHAR, signed char, 1, 1),
    W("uchar", DT__T_UCHAR, unsigned char, 1, 0),
    W("short", DT__T_SHORT, short, 1, 1),
    W("ushort", DT__T_USHORT, unsigned short, 1, 0),
    W("int", DT__T_INT, int, 1, 1),
    W("uint", DT__T_UINT, unsigned int, 1, 0),
    W("long", DT__T_LONG, long, 1, 1),
    W("ulong", DT__T_ULONG, unsigned long, 1, 0),
    W("llong", DT__T_LLONG, long long, 1, 1),
    W("ullong", DT__T_ULLONG, unsigned long long, 1, 0),
    W("int8", DT__T_INT8, int8_t, 1, 1),
    W("int16", DT__T_INT16, int16_t, 1, 1),
    W("int32", DT__T_INT32, int32_t, 1, 1),
    W("int64", DT__T_INT64, int64_t, 1, 1),
    W("uint8", DT__T_UINT8, uint8_t, 1, 0),
    W("uint16", DT__T_UINT16, uint16_t, 1, 0),
    W("uint32", DT__T_UINT32, uint32_t, 1, 0),
    W("uint64", DT__T_UINT64, uint64_t, 1, 0),
    W("int8_t", DT__T_INT8, int8_t, 1, 1),
    W("int16_t", DT__T_INT16, int16_t, 1, 1),
    W("int32_t", DT__T_INT32, int32_t, 1, 1),
    W("int64_t", DT__T_INT64, int64_t, 1, 1),
    W("uint8_t", DT__T_UINT8, uint8_t, 1, 0),
    W("uint16_t", DT__T_UINT16, uint16_t, 1, 0),
    W("uint32_t", DT__T_UINT32, uint32_t, 1, 0),
    W("uint64_t", DT__T_UINT64, uint64_t, 1, 0),
    W("size_t", DT__T_SIZE, size_t, 1, 0),
    W("ssize_t", DT__T_SSIZE, ssize_t, 1, 1),
    W("off_t", DT__T_OFF, off_t, 1, 1),
    W("intptr", DT__T_INTPTR, intptr_t, 1, 1),
    W("uintptr", DT__T_UINTPTR, uintptr_t, 1, 0),
    W("intptr_t", DT__T_INTPTR, intptr_t, 1, 1),
    W("uintptr_t", DT__T_UINTPTR, uintptr_t, 1, 0),
    W("float", DT__T_FLOAT, float, 0, 0),
    W("double", DT__T_DOUBLE, double, 0, 0),
    W("cstring", DT__T_CSTRING, const char *, 0, 0),
};
#undef W
#define NWANTED (sizeof wanted / sizeof *wanted)

/* The libffi type each row must map to, written out per tag. */
static ffi_type *expected_ffi(dt__tag tag) {
  switch (tag) {
  case DT__T_VOID:
    return &ffi_type_void;
  case DT__T_BOOL:
    return ffi_int_type(sizeof(_Bool), 0);
  case DT__T_CHAR:
    return CHAR_MIN < 0 ? &ffi_type_sint8 : &ffi_type_uint8;
  case DT__T_SCHAR:
  case DT__T_INT8:
    return &ffi_type_sint8;
  case DT__T_UCHAR:
  case DT__T_UINT8:
    return &ffi_type_uint8;
  case DT__T_SHORT:
  case DT__T_INT16:
    return &ffi_type_sint16;
  case DT__T_USHORT:
  case DT__T_UINT16:
    return &ffi_type_uint16;
  case DT__T_INT:
  case DT__T_INT32:
    return &ffi_type_sint32;
  case DT__T_UINT:
  case DT__T_UINT32:
    return &ffi_type_uint32;
  case DT__T_LONG:
    return ffi_int_type(sizeof(long), 1);
  case DT__T_ULONG:
    return ffi_int_type(sizeof(unsigned long), 0);
  case DT__T_LLONG:
  case DT__T_INT64:
    return &ffi_type_sint64;
  case DT__T_ULLONG:
  case DT__T_UINT64:
    return &ffi_type_uint64;
  case DT__T_SIZE:
    return ffi_int_type(sizeof(size_t), 0);
  case DT__T_SSIZE:
    return ffi_int_type(sizeof(ssize_t), 1);
  case DT__T_OFF:
    return ffi_int_type(sizeof(off_t), 1);
  case DT__T_INTPTR:
    return ffi_int_type(sizeof(intptr_t), 1);
  case DT__T_UINTPTR:
    return ffi_int_type(sizeof(uintptr_t), 0);
  case DT__T_FLOAT:
    return &ffi_type_float;
  case DT__T_DOUBLE:
    return &ffi_type_double;
  case DT__T_CSTRING:
    return &ffi_type_pointer;
  case DT__T_USER:
    return NULL;
  }
  return NULL;
}

/* ------------------------------------------------------------ the types */

static void test_type_lookup_every_scalar(void **state) {
  (void)state;
  for (size_t i = 0; i < NWANTED; i++) {
    dt__type t;
    memset(&t, 0xa5, sizeof t);
    if (dt__type_lookup(wanted[i].name, NULL, 0, &t) != 0)
      fail_msg("type '%s' is not known", wanted[i].name);
    if (t.tag != wanted[i].tag || t.size != wanted[i].size ||
        t.align != wanted[i].align)
      fail_msg("type '%s': tag %d size %zu align %zu, expected tag %d size "
               "%zu align %zu",
               wanted[i].name, (int)t.tag, t.size, t.align,
               (int)wanted[i].tag, wanted[i].size, wanted[i].align);
    assert_string_equal(t.name, wanted[i].name);
    assert_null(t.utype);
  }
}

static void test_type_lookup_void(void **state) {
  (void)state;
  dt__type t;
  assert_int_equal(dt__type_lookup("void", NULL, 0, &t), 0);
  assert_int_equal(t.tag, DT__T_VOID);
  assert_int_equal(t.size, 0);
  assert_string_equal(t.name, "void");
}

static void test_type_sizes_on_this_abi(void **state) {
  (void)state;
  /* The widths the wire format depends on, stated plainly for x86-64. */
  dt__type t;
  assert_int_equal(dt__type_lookup("size_t", NULL, 0, &t), 0);
  assert_int_equal(t.size, sizeof(void *));
  assert_int_equal(dt__type_lookup("long", NULL, 0, &t), 0);
  assert_int_equal(t.size, sizeof(long));
  assert_int_equal(dt__type_lookup("cstring", NULL, 0, &t), 0);
  assert_int_equal(t.size, sizeof(char *));
  assert_int_equal(t.align, _Alignof(char *));
  assert_int_equal(dt__type_lookup("bool", NULL, 0, &t), 0);
  assert_int_equal(t.size, 1);
  assert_int_equal(dt__type_lookup("int64_t", NULL, 0, &t), 0);
  assert_int_equal(t.size, 8);
  assert_int_equal(t.tag, DT__T_INT64);
}

static void test_type_lookup_unknown_and_user(void **state) {
  (void)state;
  dt__type t;
  assert_int_equal(dt__type_lookup("widget", NULL, 0, &t), -ENOENT);
  assert_int_equal(dt__type_lookup("report", NULL, 0, &t), -ENOENT);
  assert_int_equal(dt__type_lookup("Int", NULL, 0, &t), -ENOENT);
  assert_int_equal(dt__type_lookup("unsigned", NULL, 0, &t), -ENOENT);
  assert_int_equal(dt__type_lookup("", NULL, 0, &t), -ENOENT);

  assert_int_equal(dt__type_lookup("point", utypes, NUTYPES, &t), 0);
  assert_int_equal(t.tag, DT__T_USER);
  assert_int_equal(t.size, 12);
  assert_int_equal(t.align, 4);
  assert_ptr_equal(t.utype, &utypes[1]);
  assert_string_equal(t.name, "point");

  /* A scalar name is always the scalar, even if also declared. */
  static const dt__utype shadow[] = {{"int", 64, 8, 1}};
  assert_int_equal(dt__type_lookup("int", shadow, 1, &t), 0);
  assert_int_equal(t.tag, DT__T_INT);
  assert_int_equal(t.size, sizeof(int));
}

static void test_type_ffi_every_tag(void **state) {
  (void)state;
  for (int tag = DT__T_VOID; tag <= DT__T_USER; tag++) {
    ffi_type *got = dt__type_ffi((dt__tag)tag);
    if (got != expected_ffi((dt__tag)tag))
      fail_msg("dt__type_ffi(%d) is the wrong libffi type", tag);
  }
  /* The ones where a mistake would be silent, spelled out. */
  assert_ptr_equal(dt__type_ffi(DT__T_VOID), &ffi_type_void);
  assert_ptr_equal(dt__type_ffi(DT__T_BOOL), &ffi_type_uint8);
#if CHAR_MIN < 0
  assert_ptr_equal(dt__type_ffi(DT__T_CHAR), &ffi_type_sint8);
#else
  assert_ptr_equal(dt__type_ffi(DT__T_CHAR), &ffi_type_uint8);
#endif
  assert_ptr_equal(dt__type_ffi(DT__T_SCHAR), &ffi_type_sint8);
  assert_ptr_equal(dt__type_ffi(DT__T_UCHAR), &ffi_type_uint8);
  assert_ptr_equal(dt__type_ffi(DT__T_SIZE), &ffi_type_uint64);
  assert_ptr_equal(dt__type_ffi(DT__T_SSIZE), &ffi_type_sint64);
  assert_ptr_equal(dt__type_ffi(DT__T_OFF), &ffi_type_sint64);
  assert_ptr_equal(dt__type_ffi(DT__T_LONG), &ffi_type_sint64);
  assert_ptr_equal(dt__type_ffi(DT__T_ULONG), &ffi_type_uint64);
  assert_ptr_equal(dt__type_ffi(DT__T_INTPTR), &ffi_type_sint64);
  assert_ptr_equal(dt__type_ffi(DT__T_UINTPTR), &ffi_type_uint64);
  assert_ptr_equal(dt__type_ffi(DT__T_FLOAT), &ffi_type_float);
  assert_ptr_equal(dt__type_ffi(DT__T_DOUBLE), &ffi_type_double);
  assert_ptr_equal(dt__type_ffi(DT__T_CSTRING), &ffi_type_pointer);
  assert_null(dt__type_ffi(DT__T_USER));
}

static void test_type_ffi_matches_size(void **state) {
  (void)state;
  /* Every scalar's libffi type has the scalar's size. */
  for (size_t i = 0; i < NWANTED; i++) {
    ffi_type *f = dt__type_ffi(wanted[i].tag);
    assert_non_null(f);
    if (f->size != wanted[i].size)
      fail_msg("type '%s' is %zu bytes but its ffi type is %zu",
               wanted[i].name, wanted[i].size, (size_t)f->size);
  }
}

static void test_tag_integer_and_signed(void **state) {
  (void)state;
  for (size_t i = 0; i < NWANTED; i++) {
    if (dt__tag_is_integer(wanted[i].tag) != wanted[i].is_integer)
      fail_msg("dt__tag_is_integer('%s') is %d", wanted[i].name,
               dt__tag_is_integer(wanted[i].tag));
    if (wanted[i].is_integer &&
        dt__tag_is_signed(wanted[i].tag) != wanted[i].is_signed)
      fail_msg("dt__tag_is_signed('%s') is %d", wanted[i].name,
               dt__tag_is_signed(wanted[i].tag));
  }
  assert_int_equal(dt__tag_is_integer(DT__T_VOID), 0);
  assert_int_equal(dt__tag_is_integer(DT__T_USER), 0);
  assert_int_equal(dt__tag_is_signed(DT__T_CHAR), CHAR_MIN < 0);
  assert_int_equal(dt__tag_is_signed(DT__T_BOOL), 0);
}

/* Every scalar parses as a return type, a parameter and a buffer element,
 * and lands in ffi_ret/ffi_args as dt__type_ffi says. */
static void test_parse_every_scalar(void **state) {
  (void)state;
  for (size_t i = 0; i < NWANTED; i++) {
    char text[256];
    dt__sig sig;
    const char *n = wanted[i].name;
    snprintf(text, sizeof text, "%s f_%s(%s a, in %s b[2], size_t k)", n, n,
             n, wanted[i].tag == DT__T_CSTRING ? "char" : n);
    assert_sig_ok(text, &sig);
    char fname[64];
    snprintf(fname, sizeof fname, "f_%s", n);
    assert_string_equal(sig.name, fname);
    assert_int_equal(sig.ret.tag, wanted[i].tag);
    assert_int_equal(sig.ret.size, wanted[i].size);
    assert_ptr_equal(F_RET(&sig), expected_ffi(wanted[i].tag));
    assert_int_equal(sig.nparams, 3);
    assert_int_equal(sig.params[0].type.tag, wanted[i].tag);
    assert_int_equal(sig.params[0].dir, DT__DIR_VALUE);
    assert_int_equal(sig.params[0].is_buffer, 0);
    assert_ptr_equal(F_ARG(&sig, 0), expected_ffi(wanted[i].tag));
    assert_int_equal(sig.params[1].dir, DT__DIR_IN);
    assert_int_equal(sig.params[1].is_buffer, 1);
    assert_ptr_equal(F_ARG(&sig, 1), &ffi_type_pointer);
    assert_int_equal(sig.params[1].len.constant, 2);
    assert_int_equal(sig.params[1].len.nfactors, 0);
    if (wanted[i].tag != DT__T_CSTRING) {
      assert_int_equal(sig.params[1].type.tag, wanted[i].tag);
      assert_int_equal(sig.params[1].type.size, wanted[i].size);
    }
    assert_ptr_equal(F_ARG(&sig, 2), ffi_int_type(sizeof(size_t), 0));
  }
}

/* ------------------------------------------------- valid signatures */

static void test_void_return_and_empty_lists(void **state) {
  (void)state;
  dt__sig sig;
  static const char *const texts[] = {"void f()", "void f(void)",
                                      "void f( void )", "  void\tf ( ) ",
                                      "void\nf(\nvoid\n)"};
  for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
    memset(&sig, 0x5a, sizeof sig);
    assert_sig_ok(texts[i], &sig);
    assert_string_equal(sig.name, "f");
    assert_int_equal(sig.ret.tag, DT__T_VOID);
    assert_string_equal(sig.ret.name, "void");
    assert_int_equal(sig.nparams, 0);
    assert_ptr_equal(F_RET(&sig), &ffi_type_void);
  }
}

static void test_cstring_param_and_return(void **state) {
  (void)state;
  dt__sig sig;
  assert_sig_ok("cstring describe_code(int code, cstring lang)", &sig);
  assert_string_equal(sig.name, "describe_code");
  assert_int_equal(sig.ret.tag, DT__T_CSTRING);
  assert_ptr_equal(F_RET(&sig), &ffi_type_pointer);
  assert_int_equal(sig.nparams, 2);
  assert_string_equal(sig.params[0].name, "code");
  assert_int_equal(sig.params[0].type.tag, DT__T_INT);
  assert_ptr_equal(F_ARG(&sig, 0), &ffi_type_sint32);
  assert_string_equal(sig.params[1].name, "lang");
  assert_int_equal(sig.params[1].type.tag, DT__T_CSTRING);
  assert_int_equal(sig.params[1].dir, DT__DIR_VALUE);
  assert_int_equal(sig.params[1].is_buffer, 0);
  assert_int_equal(sig.params[1].type.size, sizeof(char *));
  assert_ptr_equal(F_ARG(&sig, 1), &ffi_type_pointer);
}

static void test_buffers_every_direction(void **state) {
  (void)state;
  dt__sig sig;
  assert_sig_ok("int f(in uint8 a[16], out double b[3], inout int32 c[1])",
                &sig);
  assert_int_equal(sig.nparams, 3);
  assert_int_equal(sig.ret.tag, DT__T_INT);
  assert_ptr_equal(F_RET(&sig), &ffi_type_sint32);

  assert_string_equal(sig.params[0].name, "a");
  assert_int_equal(sig.params[0].dir, DT__DIR_IN);
  assert_int_equal(sig.params[0].is_buffer, 1);
  assert_int_equal(sig.params[0].type.tag, DT__T_UINT8);
  assert_int_equal(sig.params[0].type.size, 1);
  assert_int_equal(sig.params[0].len.constant, 16);
  assert_int_equal(sig.params[0].len.nfactors, 0);

  assert_string_equal(sig.params[1].name, "b");
  assert_int_equal(sig.params[1].dir, DT__DIR_OUT);
  assert_int_equal(sig.params[1].is_buffer, 1);
  assert_int_equal(sig.params[1].type.tag, DT__T_DOUBLE);
  assert_int_equal(sig.params[1].type.size, 8);
  assert_int_equal(sig.params[1].len.constant, 3);
  assert_int_equal(sig.params[1].len.nfactors, 0);

  assert_string_equal(sig.params[2].name, "c");
  assert_int_equal(sig.params[2].dir, DT__DIR_INOUT);
  assert_int_equal(sig.params[2].is_buffer, 1);
  assert_int_equal(sig.params[2].type.tag, DT__T_INT32);
  assert_int_equal(sig.params[2].len.constant, 1);
  assert_int_equal(sig.params[2].len.nfactors, 0);

  for (int i = 0; i < 3; i++)
    assert_ptr_equal(F_ARG(&sig, i), &ffi_type_pointer);
}

static void test_param_columns(void **state) {
  (void)state;
  dt__sig sig;
  /*                 1234567890123456789012345678 */
  assert_sig_ok("int f(int a, in double b[a],   cstring s)", &sig);
  assert_int_equal(sig.params[0].col, 7);
  assert_int_equal(sig.params[1].col, 14);
  assert_int_equal(sig.params[2].col, 32);
}

static void test_length_names_parameter(void **state) {
  (void)state;
  dt__sig sig;
  /* The design's example: the length names a later parameter. */
  assert_sig_ok("ulong crc32(ulong crc, in uint8 buf[len], uint len)", &sig);
  assert_string_equal(sig.name, "crc32");
  assert_int_equal(sig.nparams, 3);
  assert_int_equal(sig.params[1].len.constant, 1);
  assert_int_equal(sig.params[1].len.nfactors, 1);
  assert_int_equal(sig.params[1].len.factors[0], 2);
  assert_ptr_equal(F_RET(&sig), ffi_int_type(sizeof(unsigned long), 0));
  assert_ptr_equal(F_ARG(&sig, 0), ffi_int_type(sizeof(unsigned long), 0));
  assert_ptr_equal(F_ARG(&sig, 1), &ffi_type_pointer);
  assert_ptr_equal(F_ARG(&sig, 2), &ffi_type_uint32);

  /* An earlier parameter works as well. */
  assert_sig_ok("void g(size_t n, out double r[n])", &sig);
  assert_int_equal(sig.params[1].len.nfactors, 1);
  assert_int_equal(sig.params[1].len.factors[0], 0);

  /* Any integer parameter, including char and bool. */
  assert_sig_ok("void h(char c, bool b, out int r[c*b])", &sig);
  assert_int_equal(sig.params[2].len.nfactors, 2);
  assert_int_equal(sig.params[2].len.factors[0], 0);
  assert_int_equal(sig.params[2].len.factors[1], 1);
}

static void test_length_products(void **state) {
  (void)state;
  dt__sig sig;
  assert_sig_ok("void f(in int a[n*4], in int b[4*n], out int c[n*m], "
                "inout int d[2*n*3], size_t n, int m, in int e[2*3], "
                "in int g[ n * m * 2 ])",
                &sig);
  assert_int_equal(sig.nparams, 8);
  /* a: n*4 */
  assert_int_equal(sig.params[0].len.constant, 4);
  assert_int_equal(sig.params[0].len.nfactors, 1);
  assert_int_equal(sig.params[0].len.factors[0], 4);
  /* b: 4*n */
  assert_int_equal(sig.params[1].len.constant, 4);
  assert_int_equal(sig.params[1].len.nfactors, 1);
  assert_int_equal(sig.params[1].len.factors[0], 4);
  /* c: n*m */
  assert_int_equal(sig.params[2].len.constant, 1);
  assert_int_equal(sig.params[2].len.nfactors, 2);
  assert_int_equal(sig.params[2].len.factors[0], 4);
  assert_int_equal(sig.params[2].len.factors[1], 5);
  /* d: 2*n*3 */
  assert_int_equal(sig.params[3].len.constant, 6);
  assert_int_equal(sig.params[3].len.nfactors, 1);
  assert_int_equal(sig.params[3].len.factors[0], 4);
  /* e: 2*3 */
  assert_int_equal(sig.params[6].len.constant, 6);
  assert_int_equal(sig.params[6].len.nfactors, 0);
  /* g: n * m * 2, with spaces */
  assert_int_equal(sig.params[7].len.constant, 2);
  assert_int_equal(sig.params[7].len.nfactors, 2);
  assert_int_equal(sig.params[7].len.factors[0], 4);
  assert_int_equal(sig.params[7].len.factors[1], 5);
}

static void test_length_four_factors(void **state) {
  (void)state;
  dt__sig sig;
  assert_sig_ok("void f(in int buf[a*b*c*d], int a, int b, int c, int d)",
                &sig);
  assert_int_equal(sig.params[0].len.nfactors, 4);
  for (int k = 0; k < 4; k++)
    assert_int_equal(sig.params[0].len.factors[k], k + 1);
}

static void test_length_max_constant(void **state) {
  (void)state;
  dt__sig sig;
  assert_sig_ok("void f(in uint8 b[18446744073709551615])", &sig);
  assert_true(sig.params[0].len.constant == UINT64_MAX);
  assert_sig_ok("void f(in uint8 b[4294967296*4294967295])", &sig);
  assert_true(sig.params[0].len.constant == 4294967296ull * 4294967295ull);
}

static void test_user_types_in_buffers(void **state) {
  (void)state;
  dt__sig sig;
  assert_sig_ok_u("int build_report(cstring period, out report r[1], "
                  "in point pts[n], size_t n)",
                  utypes, NUTYPES, &sig);
  assert_string_equal(sig.name, "build_report");
  assert_int_equal(sig.nparams, 4);
  assert_int_equal(sig.params[1].type.tag, DT__T_USER);
  assert_string_equal(sig.params[1].type.name, "report");
  assert_ptr_equal(sig.params[1].type.utype, &utypes[0]);
  assert_int_equal(sig.params[1].type.size, 32);
  assert_int_equal(sig.params[1].type.align, 8);
  assert_int_equal(sig.params[1].dir, DT__DIR_OUT);
  assert_int_equal(sig.params[1].len.constant, 1);
  assert_ptr_equal(F_ARG(&sig, 1), &ffi_type_pointer);
  assert_int_equal(sig.params[2].type.tag, DT__T_USER);
  assert_ptr_equal(sig.params[2].type.utype, &utypes[1]);
  assert_int_equal(sig.params[2].type.size, 12);
  assert_int_equal(sig.params[2].dir, DT__DIR_IN);
  assert_int_equal(sig.params[2].len.nfactors, 1);
  assert_int_equal(sig.params[2].len.factors[0], 3);
  assert_ptr_equal(F_ARG(&sig, 2), &ffi_type_pointer);
}

static void test_max_params_32(void **state) {
  (void)state;
  char text[1024];
  size_t n = (size_t)snprintf(text, sizeof text, "void f(");
  for (int i = 0; i < DT__MAX_PARAMS; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "%sint p%d",
                          i ? ", " : "", i);
  snprintf(text + n, sizeof text - n, ")");
  dt__sig sig;
  assert_sig_ok(text, &sig);
  assert_int_equal(sig.nparams, 32);
  assert_string_equal(sig.params[31].name, "p31");
}

static void test_long_names_at_limit(void **state) {
  (void)state;
  char text[512];
  char fname[128], pname[64];
  memset(fname, 'f', 127);
  fname[127] = '\0';
  memset(pname, 'p', 63);
  pname[63] = '\0';
  snprintf(text, sizeof text, "int %s(int %s)", fname, pname);
  dt__sig sig;
  assert_sig_ok(text, &sig);
  assert_string_equal(sig.name, fname);
  assert_string_equal(sig.params[0].name, pname);
}

/* ------------------------------------------------------------- errors */

static void test_err_empty(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("", 1, "the signature is empty");
  assert_sig_error("   \t ", 1, "the signature is empty");
}

static void test_err_unknown_type_hint(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(doubel x)", 7,
                   "unknown type 'doubel'; did you mean 'double'?");
  assert_sig_error("dobule f(void)", 1,
                   "unknown type 'dobule'; did you mean 'double'?");
  assert_sig_error("int f(in uint63 b[1])", 10,
                   "unknown type 'uint63'; did you mean 'uint64'?");
  assert_sig_error("int f(cstrng s)", 7, "did you mean 'cstring'?");
  /* Declared types are offered too. */
  assert_sig_error_u("int f(out reprot r[1])", utypes, NUTYPES, 11,
                     "unknown type 'reprot'; did you mean 'report'?");
}

static void test_err_unknown_type_no_hint(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in widget w[1])", 10, "unknown type 'widget'");
  assert_contains(err.msg, "declare it under [types] as widget = { size = "
                           "N, align = N }");
  assert_true(strstr(err.msg, "did you mean") == NULL);
  assert_sig_error("quaternion f(void)", 1, "unknown type 'quaternion'");
  assert_true(strstr(err.msg, "did you mean") == NULL);
}

static void test_err_c_spellings(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("unsigned int f(void)", 1,
                   "'unsigned int' is C, not dtask's signature language; "
                   "write uint");
  assert_sig_error("int f(unsigned char c)", 7, "'unsigned char' is C");
  assert_contains(err.msg, "write uchar");
  assert_sig_error("int f(unsigned short c)", 7, "write ushort");
  assert_sig_error("int f(unsigned long c)", 7, "write ulong");
  assert_sig_error("int f(signed char c)", 7, "write schar");
  assert_sig_error("int f(signed int c)", 7, "'signed int' is C");
  assert_sig_error("int f(int a, long long x)", 14,
                   "'long long' is C, not dtask's signature language; write "
                   "llong");
  assert_sig_error("long long f(void)", 1, "write llong");
  assert_sig_error("int f(long int x)", 7, "'long int' is C");
  assert_sig_error("long double f(void)", 1, "long double is not supported");
  assert_sig_error("int f(short int x)", 7, "'short int' is C");
  assert_sig_error("int f(unsigned x)", 7,
                   "'unsigned' alone is C, not dtask's signature language; "
                   "write uint or int");
  assert_sig_error("signed f(void)", 1, "'signed' alone is C");
  assert_sig_error("int f(const char *s)", 7,
                   "'const' is C, not dtask's signature language");
  assert_contains(err.msg, "write cstring");
  assert_sig_error("int f(struct x *p)", 7, "'struct' is C");
  assert_contains(err.msg, "declare it under [types]");
  assert_sig_error("int f(enum color c)", 7, "'enum' is C");
  assert_sig_error("int f(volatile int *p)", 7, "'volatile' is C");
  assert_sig_error("const char *f(void)", 1, "'const' is C");
  /* long and short alone are dtask types. */
  dt__sig sig;
  assert_sig_ok("long f(long x, short y)", &sig);
  assert_int_equal(sig.ret.tag, DT__T_LONG);
  assert_int_equal(sig.params[1].type.tag, DT__T_SHORT);
}

static void test_err_bare_pointers(void **state) {
  (void)state;
  dt__error err;
  /* void * is refused as a void parameter, with the way out. */
  assert_sig_error("int f(void *ctx)", 7, "a parameter cannot be void");
  assert_contains(err.msg, "void * needs a real element type");
  /*                1234567890123 */
  assert_sig_error("int f(char *buf)", 12,
                   "a bare pointer cannot be offloaded: dtask never guesses "
                   "the size of memory behind a pointer");
  assert_contains(err.msg, "write 'cstring NAME'");
  assert_contains(err.msg, "'in|out|inout char NAME[LEN]'");
  assert_sig_error("int f(int *p)", 11, "a bare pointer cannot be offloaded");
  assert_contains(err.msg, "write 'in int NAME[LEN]', 'out int NAME[LEN]' or "
                           "'inout int NAME[LEN]'");
  /*                123456789012345678901234 */
  assert_sig_error("int f(size_t n, double *x)", 24,
                   "'in double NAME[LEN]'");
  /* With a direction, a pointer is still bare. */
  assert_sig_error("int f(in char *buf)", 15, "'in char NAME[LEN]'");
  assert_sig_error_u("int f(report *r)", utypes, NUTYPES, 14,
                     "'in report NAME[LEN]'");
}

static void test_err_returned_pointer(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("char *f(void)", 6, "a returned pointer cannot be "
                                       "offloaded as is");
  assert_contains(err.msg, "write 'cstring NAME(...)'");
  assert_sig_error("char*f(void)", 5, "write 'cstring NAME(...)'");
  assert_sig_error("int *f(void)", 5,
                   "a returned pointer cannot be offloaded: it would point "
                   "into the runner's memory");
  assert_sig_error("void *f(void)", 6, "it would point into the runner's "
                                       "memory");
  assert_sig_error("double *f(void)", 8, "return types are void, a scalar or "
                                         "cstring");
}

static void test_err_user_type_by_value(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error_u("int f(report r)", utypes, NUTYPES, 7,
                     "type 'report' is declared under [types] and can only "
                     "travel in a buffer");
  assert_contains(err.msg, "write 'in report r[1]'");
  assert_sig_error_u("int f(int a, point p)", utypes, NUTYPES, 14,
                     "write 'in point p[1]'");
  assert_sig_error_u("report f(void)", utypes, NUTYPES, 1,
                     "a function cannot return 'report' by value");
  assert_sig_error_u("  point f(void)", utypes, NUTYPES, 3,
                     "return types are void, a scalar or cstring");
}

static void test_err_void_param(void **state) {
  (void)state;
  dt__error err;
  /*                12345678901234 */
  assert_sig_error("int f(int a, void)", 14, "a parameter cannot be void");
  assert_contains(err.msg, "write f() or f(void)");
  assert_sig_error("int f(void x)", 7, "a parameter cannot be void");
  assert_sig_error("int f(void, int a)", 7, "a parameter cannot be void");
  assert_sig_error("int f(in void b[4])", 10, "a parameter cannot be void");
}

static void test_err_variadic(void **state) {
  (void)state;
  dt__error err;
  /*                12345678901234567890 */
  assert_sig_error("int f(cstring fmt, ...)", 20,
                   "variadic functions cannot be offloaded");
  assert_contains(err.msg, "offload a fixed-argument variant instead");
  assert_sig_error("int f(...)", 7, "variadic functions cannot be offloaded");
}

static void test_err_missing_param_name(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(int)", 10,
                   "expected a parameter name after 'int', found ')'; every "
                   "parameter needs a name");
  assert_sig_error("int f(int, int b)", 10,
                   "expected a parameter name after 'int', found ','");
  assert_sig_error("int f(in double [4])", 17,
                   "expected a parameter name after 'double', found '['");
  assert_sig_error("int f(size_t", 13,
                   "expected a parameter name after 'size_t', found the end "
                   "of the signature");
}

static void test_err_direction_as_name(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(int out)", 11,
                   "'out' is a direction; it goes before the type");
  assert_sig_error("int f(double in)", 14, "'in' is a direction");
  assert_sig_error("int f(in int inout[4])", 14, "'inout' is a direction");
}

static void test_err_missing_bracket(void **state) {
  (void)state;
  dt__error err;
  /*                12345678901234567 */
  assert_sig_error("int f(in int b[4)", 17,
                   "expected ']' to close the length opened at column 15, "
                   "found ')'");
  assert_sig_error("int f(in int b[n", 17,
                   "expected ']' to close the length opened at column 15, "
                   "found the end of the signature");
  assert_sig_error("int f(in int b[n m], int n, int m)", 18,
                   "found 'm'");
  assert_sig_error("int f(in int b[n+1], int n)", 17,
                   "expected ']' to close the length opened at column 15, "
                   "found '+'");
}

static void test_err_missing_length(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[])", 16,
                   "expected a length: a number, an integer parameter's "
                   "name, or a product such as n*4");
  assert_sig_error("int f(in int b[n*], int n)", 18, "expected a length");
  assert_sig_error("int f(in int b[", 16, "expected a length");
}

static void test_err_bad_length_token(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[-1])", 16, "unexpected '-' in a length");
  assert_sig_error("int f(in int b[4n])", 16, "unexpected '4n' in a length");
  assert_sig_error("int f(in int b[*4])", 16, "unexpected '*' in a length");
  assert_sig_error("int f(in int b[n*(m)])", 18, "unexpected '(' in a length");
}

/* dtask sig's placeholder is refused with its own message, also inside a
 * product, and a parameter that happens to be named LEN still works. */
static void test_err_length_placeholder(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(out uint8 d[LEN?], ulong n)", 19,
                   "LEN? is a placeholder left by dtask sig: write the "
                   "buffer's length");
  assert_sig_error("int f(out uint8 d[n*LEN?], ulong n)", 21,
                   "LEN? is a placeholder");
  dt__sig sig;
  assert_int_equal(dt__sig_parse("int f(out uint8 d[LEN], ulong LEN)", NULL,
                                 0, &sig, &err),
                   0);
}

static void test_err_length_zero(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[0])", 16,
                   "a buffer of length 0 carries nothing; give it a length "
                   "of at least 1");
  assert_sig_error("int f(in int b[n*0], int n)", 18,
                   "a buffer of length 0 carries nothing");
  assert_sig_error("int f(in int b[000])", 16, "length 0");
}

static void test_err_length_too_large(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[18446744073709551616])", 16,
                   "length is too large");
  assert_sig_error("int f(in int b[99999999999999999999999])", 16,
                   "length is too large");
  /*                12345678901234567890123456789 */
  assert_sig_error("int f(in int b[4294967296*4294967296])", 27,
                   "length is too large");
}

/* A constant length whose size in bytes does not fit in 64 bits is
 * accepted: 2^62 ints are 2^64 bytes, and dt__sig_describe then reports
 * "constant (0 bytes)".  The length check should count bytes. */
static void test_err_length_bytes_overflow(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[4611686018427387904])", 16,
                   "length is too large");
  assert_sig_error("int f(in double b[18446744073709551615])", 19,
                   "length is too large");
}

static void test_err_length_too_many_factors(void **state) {
  (void)state;
  dt__error err;
  /*                12345678901234567890123456 */
  assert_sig_error("int f(in int buf[a*b*c*d*e])", 26,
                   "a length may name at most 4 parameters");
}

static void test_err_length_names_missing(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in int b[m], size_t n, int k, double d, cstring s,"
                   " out int r[4])",
                   16,
                   "length of 'b' names 'm', which is not a parameter; "
                   "integer parameters are: n, k");
  assert_true(strstr(err.msg, "d,") == NULL);
  assert_sig_error("int f(in int b[m])", 16,
                   "length of 'b' names 'm', which is not a parameter; this "
                   "function has no integer parameter, so write a constant "
                   "length");
  assert_sig_error("int f(double x, in int b[N], int n)", 26,
                   "names 'N', which is not a parameter; integer parameters "
                   "are: n");
  /* The second factor of a product. */
  assert_sig_error("int f(in int b[n*q], int n)", 18,
                   "length of 'b' names 'q'");
}

static void test_err_length_names_wrong_kind(void **state) {
  (void)state;
  dt__error err;
  /*                123456789012345678901234567890 */
  assert_sig_error("int f(in int a[4], out int b[a])", 30,
                   "length of 'b' names 'a', which is a buffer; a length "
                   "must name an integer parameter passed by value");
  assert_sig_error("int f(cstring s, in int b[s])", 27,
                   "length of 'b' names 's', which is a cstring");
  assert_sig_error("int f(double d, in int b[d])", 26,
                   "length of 'b' names 'd', which is not an integer");
  assert_sig_error("int f(float d, in int b[2*d])", 27,
                   "which is not an integer");
  assert_sig_error("int f(in int b[b])", 16,
                   "length of 'b' names 'b', which is the buffer itself");
}

static void test_err_cstring_direction_or_length(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(in cstring s)", 7,
                   "cstring is always a NUL-terminated input passed by "
                   "value: write 'cstring s'");
  assert_contains(err.msg, "write 'out char s[LEN]'");
  assert_sig_error("int f(int a, out cstring name[8])", 14,
                   "write 'cstring name'");
  /*                123456789012345 */
  assert_sig_error("int f(cstring s[4])", 15,
                   "cstring is always a NUL-terminated input");
}

static void test_err_buffer_without_direction(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(int b[4])", 7,
                   "buffer 'b' needs a direction: write 'in', 'out' or "
                   "'inout' before its type, e.g. 'in int b[...]'");
  assert_sig_error("int f(size_t n, double xs[n])", 17,
                   "e.g. 'in double xs[...]'");
  assert_sig_error_u("int f(report r[1])", utypes, NUTYPES, 7,
                     "buffer 'r' needs a direction");
}

static void test_err_buffer_without_length(void **state) {
  (void)state;
  dt__error err;
  /*                1234567890123456789 */
  assert_sig_error("int f(out double r)", 19,
                   "buffer 'r' needs a length: write 'r[LEN]'");
  assert_sig_error("int f(in uint8 data, size_t n)", 20,
                   "buffer 'data' needs a length: write 'data[LEN]'");
  assert_sig_error_u("int f(inout report rep)", utypes, NUTYPES, 23,
                     "buffer 'rep' needs a length");
}

static void test_err_duplicate_names(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f(int a, int a)", 14,
                   "parameter name 'a' is used twice; give each parameter its "
                   "own name");
  assert_sig_error("int f(int n, cstring s, out int n[2])", 25,
                   "parameter name 'n' is used twice");
}

static void test_err_too_many_params(void **state) {
  (void)state;
  dt__error err;
  char text[1024];
  size_t n = (size_t)snprintf(text, sizeof text, "void f(");
  for (int i = 0; i < DT__MAX_PARAMS + 1; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "%sint p%d",
                          i ? ", " : "", i);
  snprintf(text + n, sizeof text - n, ")");
  int col = (int)(strstr(text, "int p32") - text) + 1;
  assert_sig_error(text, col,
                   "more than 32 parameters; dtask supports at most 32");
}

static void test_err_trailing_tokens(void **state) {
  (void)state;
  dt__error err;
  /*                123456789012 */
  assert_sig_error("int f(void);", 12,
                   "unexpected ';' after the closing ')'; a signature ends "
                   "with its parameter list (no ';')");
  assert_sig_error("int f(int a) const", 14, "unexpected 'const' after the "
                                             "closing ')'");
  assert_sig_error("int f() )", 9, "unexpected ')' after the closing ')'");
}

static void test_err_missing_parens(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int f", 6,
                   "expected '(' after the function name 'f', found the end "
                   "of the signature");
  assert_sig_error("int f int a)", 7,
                   "expected '(' after the function name 'f', found 'int'");
  assert_sig_error("int f[4](void)", 6, "found '['");
  /*                123456789012 */
  assert_sig_error("int f(int a", 12,
                   "expected ',' or ')' after parameter 'a', found the end of "
                   "the signature");
  assert_sig_error("int f(int a int b)", 13,
                   "expected ',' or ')' after parameter 'a', found 'int'");
  assert_sig_error("int f(int a; int b)", 12, "found ';'");
  assert_sig_error("int f(", 7,
                   "expected a parameter type, found the end of the "
                   "signature");
  assert_sig_error("int f(int a,)", 13,
                   "expected a parameter type, found ')'");
}

static void test_err_missing_function_name(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("int (void)", 5,
                   "expected the function's name after the return type, "
                   "found '('");
  assert_sig_error("int", 4,
                   "expected the function's name after the return type, "
                   "found the end of the signature");
  assert_sig_error("int 9lives(void)", 5, "found '9lives'");
}

static void test_err_expected_type(void **state) {
  (void)state;
  dt__error err;
  assert_sig_error("(void)", 1, "expected a return type, found '('");
  assert_sig_error("5 f(void)", 1, "expected a return type, found '5'");
  assert_sig_error("int f(in 5 b[1])", 10,
                   "expected a parameter type, found '5'");
  assert_sig_error("int f(out)", 10, "expected a parameter type, found ')'");
  assert_sig_error("int f(int a, @)", 14,
                   "expected a parameter type, found '@'");
}

static void test_err_names_too_long(void **state) {
  (void)state;
  dt__error err;
  char text[512], word[200];

  memset(word, 't', 64);
  word[64] = '\0';
  snprintf(text, sizeof text, "int f(%s x)", word);
  assert_sig_error(text, 7, "type name 'tttt");
  assert_contains(err.msg, "is longer than 63 characters");

  memset(word, 'p', 64);
  word[64] = '\0';
  snprintf(text, sizeof text, "int f(int %s)", word);
  assert_sig_error(text, 11, "parameter name 'pppp");
  assert_contains(err.msg, "is longer than 63 characters");

  memset(word, 'f', 128);
  word[128] = '\0';
  snprintf(text, sizeof text, "int %s(void)", word);
  assert_sig_error(text, 5, "function name 'ffff");
  assert_contains(err.msg, "is longer than 127 characters");
}

static void test_err_null_err_is_allowed(void **state) {
  (void)state;
  dt__sig sig;
  assert_int_equal(dt__sig_parse("int f(int *p)", NULL, 0, &sig, NULL),
                   -EINVAL);
}

/* -------------------------------------------------------- description */

/* Runs dt__sig_describe into a malloc'ed string. */
static char *describe(const dt__sig *sig) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  dt__sig_describe(sig, f);
  assert_int_equal(fclose(f), 0);
  return buf;
}

/* Returns line i (0-based) of text in buf, or "" when there is none. */
static const char *line_of(const char *text, int i, char *buf, size_t bufsz) {
  const char *p = text;
  for (; i > 0 && p != NULL; i--) {
    p = strchr(p, '\n');
    if (p != NULL)
      p++;
  }
  if (p == NULL)
    return "";
  size_t n = strcspn(p, "\n");
  if (n >= bufsz)
    n = bufsz - 1;
  memcpy(buf, p, n);
  buf[n] = '\0';
  return buf;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void test_describe(void **state) {
  (void)state;
  dt__sig sig;
  char lb[512];
  assert_sig_ok_u("int f(in double x[n], size_t n, out int r[n*4], "
                  "cstring s, inout report q[2], out uint8 m[n*k], int k)",
                  utypes, NUTYPES, &sig);
  char *d = describe(&sig);
  assert_int_equal(count_lines(d), 2 + 7);
  /* The signature as understood (n*4 normalized as 4*n). */
  assert_contains(line_of(d, 0, lb, sizeof lb),
                  "int f(in double x[n], size_t n, out int r[4*n], cstring "
                  "s, inout report q[2], out uint8 m[n*k], int k)");
  assert_contains(line_of(d, 1, lb, sizeof lb), "returns  int (4 bytes)");

  line_of(d, 2, lb, sizeof lb);
  assert_contains(lb, "arg 1");
  assert_contains(lb, " x ");
  assert_contains(lb, "in     double[n]");
  assert_contains(lb, "8 bytes per element");
  assert_contains(lb, "length from arg 2 (n)");
  assert_contains(lb, "NULL passes as NULL");

  line_of(d, 3, lb, sizeof lb);
  assert_contains(lb, "arg 2");
  assert_contains(lb, "value  size_t (8 bytes)");

  line_of(d, 4, lb, sizeof lb);
  assert_contains(lb, "arg 3");
  assert_contains(lb, "out    int[4*n]");
  assert_contains(lb, "4 bytes per element");
  assert_contains(lb, "length from 4 * arg 2 (n)");

  line_of(d, 5, lb, sizeof lb);
  assert_contains(lb, "arg 4");
  assert_contains(lb, "in     cstring, NUL-terminated");

  line_of(d, 6, lb, sizeof lb);
  assert_contains(lb, "arg 5");
  assert_contains(lb, "inout  report[2]");
  assert_contains(lb, "32 bytes per element");
  assert_contains(lb, "length constant (64 bytes)");

  line_of(d, 7, lb, sizeof lb);
  assert_contains(lb, "arg 6");
  assert_contains(lb, "out    uint8[n*k]");
  assert_contains(lb, "1 bytes per element");
  assert_contains(lb, "length from arg 2 (n) * arg 7 (k)");

  line_of(d, 8, lb, sizeof lb);
  assert_contains(lb, "arg 7");
  assert_contains(lb, "value  int (4 bytes)");
  free(d);
}

static void test_describe_returns(void **state) {
  (void)state;
  dt__sig sig;
  assert_sig_ok("void f(void)", &sig);
  char *d = describe(&sig);
  assert_int_equal(count_lines(d), 2);
  assert_contains(d, "void f()\n");
  assert_contains(d, "returns  nothing");
  free(d);

  assert_sig_ok("cstring name_of(int code)", &sig);
  d = describe(&sig);
  assert_int_equal(count_lines(d), 3);
  assert_contains(d, "cstring name_of(int code)\n");
  assert_contains(d, "returns  cstring, copied back into memory the shim "
                     "owns");
  assert_contains(d, "value  int (4 bytes)");
  free(d);

  assert_sig_ok("double mean(in double xs[2*3])", &sig);
  d = describe(&sig);
  assert_contains(d, "double mean(in double xs[6])\n");
  assert_contains(d, "returns  double (8 bytes)");
  assert_contains(d, "length constant (48 bytes)");
  free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_type_lookup_every_scalar),
      cmocka_unit_test(test_type_lookup_void),
      cmocka_unit_test(test_type_sizes_on_this_abi),
      cmocka_unit_test(test_type_lookup_unknown_and_user),
      cmocka_unit_test(test_type_ffi_every_tag),
      cmocka_unit_test(test_type_ffi_matches_size),
      cmocka_unit_test(test_tag_integer_and_signed),
      cmocka_unit_test(test_parse_every_scalar),
      cmocka_unit_test(test_void_return_and_empty_lists),
      cmocka_unit_test(test_cstring_param_and_return),
      cmocka_unit_test(test_buffers_every_direction),
      cmocka_unit_test(test_param_columns),
      cmocka_unit_test(test_length_names_parameter),
      cmocka_unit_test(test_length_products),
      cmocka_unit_test(test_length_four_factors),
      cmocka_unit_test(test_length_max_constant),
      cmocka_unit_test(test_user_types_in_buffers),
      cmocka_unit_test(test_max_params_32),
      cmocka_unit_test(test_long_names_at_limit),
      cmocka_unit_test(test_err_empty),
      cmocka_unit_test(test_err_unknown_type_hint),
      cmocka_unit_test(test_err_unknown_type_no_hint),
      cmocka_unit_test(test_err_c_spellings),
      cmocka_unit_test(test_err_bare_pointers),
      cmocka_unit_test(test_err_returned_pointer),
      cmocka_unit_test(test_err_user_type_by_value),
      cmocka_unit_test(test_err_void_param),
      cmocka_unit_test(test_err_variadic),
      cmocka_unit_test(test_err_missing_param_name),
      cmocka_unit_test(test_err_direction_as_name),
      cmocka_unit_test(test_err_missing_bracket),
      cmocka_unit_test(test_err_missing_length),
      cmocka_unit_test(test_err_bad_length_token),
      cmocka_unit_test(test_err_length_placeholder),
      cmocka_unit_test(test_err_length_zero),
      cmocka_unit_test(test_err_length_too_large),
      cmocka_unit_test(test_err_length_bytes_overflow),
      cmocka_unit_test(test_err_length_too_many_factors),
      cmocka_unit_test(test_err_length_names_missing),
      cmocka_unit_test(test_err_length_names_wrong_kind),
      cmocka_unit_test(test_err_cstring_direction_or_length),
      cmocka_unit_test(test_err_buffer_without_direction),
      cmocka_unit_test(test_err_buffer_without_length),
      cmocka_unit_test(test_err_duplicate_names),
      cmocka_unit_test(test_err_too_many_params),
      cmocka_unit_test(test_err_trailing_tokens),
      cmocka_unit_test(test_err_missing_parens),
      cmocka_unit_test(test_err_missing_function_name),
      cmocka_unit_test(test_err_expected_type),
      cmocka_unit_test(test_err_names_too_long),
      cmocka_unit_test(test_err_null_err_is_allowed),
      cmocka_unit_test(test_describe),
      cmocka_unit_test(test_describe_returns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
