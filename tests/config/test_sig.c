/* test_sig.c: unit tests of the signature language (sig.c): its types
 * and the signatures it accepts.
 *
 * Every scalar type (size, alignment, tag, libffi type), every direction,
 * every length form and user types.  Every error message of the parser
 * with its exact column: test_sig_errors.c; dt__sig_describe:
 * test_sig_describe.c; what the three share: sigfx.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "common/common.h"
#include "config/sig.h"
#include "shim/ffitype.h"
#include "config/types.h"
#include "sigfx.h"

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

/* The libffi integer type of a given width and signedness. */
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
