/* types.c: the types a signature can name, and their scalar values.
 *
 * This file owns the table of scalar types (every spelling, with the size
 * and alignment of its C type on this host), the lookup that also finds
 * the plain-data types declared under [types] (shim/ffitype.c maps them
 * onto libffi's), and the two questions asked of a tag
 * everywhere (is it an integer, is it signed).
 *
 * It also owns the one "wire form" of a scalar's value (config/types.h):
 * a uint64_t that holds an integer widened by its signedness, or a
 * float's or double's IEEE bits.  Task and result records (queue/), the
 * comparisons of retry_if and offload_if (config/cond.c), the failure
 * policy's return values (config/policy.c), fan-out's counts and
 * aggregates (config/split.c) and the trace line (shim/stub.c) all read
 * and write scalars through the functions below, in two places a value
 * can sit: an argument as libffi passes it (in its own width, at the
 * start of its storage) and libffi's return buffer (integers narrower
 * than ffi_arg widened to ffi_arg or ffi_sarg).  Every read and write
 * goes through memcpy, so the memory may have any alignment.
 *
 * There is no state; every function may be called from any thread, and
 * none allocates (the shim's call path uses them). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <ffi.h> /* ffi_arg only (a type): the width of a return buffer */

#include "common/common.h"
#include "config/types.h"

/* ------------------------------------------------------------ the types */

/* One spelling of a scalar type: its tag, and the size and alignment of
 * the C type it stands for on this host. */
typedef struct scalar {
  const char *name;
  dt__tag tag;
  size_t size, align;
} scalar;

#define S(n, t, ctype) {n, t, sizeof(ctype), _Alignof(ctype)}
static const scalar scalars[] = {
    {"void", DT__T_VOID, 0, 1},
    S("bool", DT__T_BOOL, _Bool),
    S("char", DT__T_CHAR, char),
    S("schar", DT__T_SCHAR, signed char),
    S("uchar", DT__T_UCHAR, unsigned char),
    S("short", DT__T_SHORT, short),
    S("ushort", DT__T_USHORT, unsigned short),
    S("int", DT__T_INT, int),
    S("uint", DT__T_UINT, unsigned int),
    S("long", DT__T_LONG, long),
    S("ulong", DT__T_ULONG, unsigned long),
    S("llong", DT__T_LLONG, long long),
    S("ullong", DT__T_ULLONG, unsigned long long),
    S("int8", DT__T_INT8, int8_t),
    S("int16", DT__T_INT16, int16_t),
    S("int32", DT__T_INT32, int32_t),
    S("int64", DT__T_INT64, int64_t),
    S("uint8", DT__T_UINT8, uint8_t),
    S("uint16", DT__T_UINT16, uint16_t),
    S("uint32", DT__T_UINT32, uint32_t),
    S("uint64", DT__T_UINT64, uint64_t),
    S("int8_t", DT__T_INT8, int8_t),
    S("int16_t", DT__T_INT16, int16_t),
    S("int32_t", DT__T_INT32, int32_t),
    S("int64_t", DT__T_INT64, int64_t),
    S("uint8_t", DT__T_UINT8, uint8_t),
    S("uint16_t", DT__T_UINT16, uint16_t),
    S("uint32_t", DT__T_UINT32, uint32_t),
    S("uint64_t", DT__T_UINT64, uint64_t),
    S("size_t", DT__T_SIZE, size_t),
    S("ssize_t", DT__T_SSIZE, ssize_t),
    S("off_t", DT__T_OFF, off_t),
    S("intptr", DT__T_INTPTR, intptr_t),
    S("uintptr", DT__T_UINTPTR, uintptr_t),
    S("intptr_t", DT__T_INTPTR, intptr_t),
    S("uintptr_t", DT__T_UINTPTR, uintptr_t),
    S("float", DT__T_FLOAT, float),
    S("double", DT__T_DOUBLE, double),
    S("cstring", DT__T_CSTRING, const char *),
    {NULL, DT__T_VOID, 0, 0}};
#undef S

/* The names offered in "did you mean" hints for an unknown type
 * (config/sig.c), NULL-terminated. */
const char *const dt__type_names[] = {
    "void",   "bool",   "char",    "schar",   "uchar",  "short",
    "ushort", "int",    "uint",    "long",    "ulong",  "llong",
    "ullong", "int8",   "int16",   "int32",   "int64",  "uint8",
    "uint16", "uint32", "uint64",  "size_t",  "ssize_t", "off_t",
    "intptr", "uintptr", "float",  "double",  "cstring", NULL};

/* Fills t for the scalar type name, or for a name declared in utypes.
 * Returns 0 or -ENOENT.
 *
 * Scalars first, then the declared user types. */
int dt__type_lookup(const char *name, const dt__utype *utypes, size_t nutypes,
                    dt__type *t) {
  for (const scalar *s = scalars; s->name != NULL; s++) {
    if (strcmp(s->name, name) == 0) {
      t->tag = s->tag;
      t->name = s->name;
      t->size = s->size;
      t->align = s->align;
      t->utype = NULL;
      return 0;
    }
  }
  for (size_t i = 0; i < nutypes; i++) {
    if (strcmp(utypes[i].name, name) == 0) {
      t->tag = DT__T_USER;
      t->name = utypes[i].name;
      t->size = utypes[i].size;
      t->align = utypes[i].align;
      t->utype = &utypes[i];
      return 0;
    }
  }
  return -ENOENT;
}


/* 1 for the integer tags (bool and char included), 0 otherwise. */
int dt__tag_is_integer(dt__tag tag) {
  return tag >= DT__T_BOOL && tag <= DT__T_UINTPTR;
}

/* 1 if an integer tag is signed. */
int dt__tag_is_signed(dt__tag tag) {
  switch (tag) {
  case DT__T_CHAR:
    return CHAR_MIN < 0;
  case DT__T_SCHAR:
  case DT__T_SHORT:
  case DT__T_INT:
  case DT__T_LONG:
  case DT__T_LLONG:
  case DT__T_INT8:
  case DT__T_INT16:
  case DT__T_INT32:
  case DT__T_INT64:
  case DT__T_SSIZE:
  case DT__T_OFF:
  case DT__T_INTPTR:
    return 1;
  default:
    return 0;
  }
}

/* ------------------------------------------------------ the scalar values */

/* True for the integer sizes the wire form knows. */
static bool int_size_ok(size_t size) {
  return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Reads an integer of the given width from p (any alignment) and widens it
 * to 64 bits by its signedness. */
static uint64_t load_int(const void *p, size_t size, bool is_signed) {
  switch (size) {
  case 1: {
    uint8_t u;
    memcpy(&u, p, 1);
    return is_signed ? (uint64_t)(int64_t)(int8_t)u : u;
  }
  case 2: {
    uint16_t u;
    memcpy(&u, p, 2);
    return is_signed ? (uint64_t)(int64_t)(int16_t)u : u;
  }
  case 4: {
    uint32_t u;
    memcpy(&u, p, 4);
    return is_signed ? (uint64_t)(int64_t)(int32_t)u : u;
  }
  default: {
    uint64_t u;
    memcpy(&u, p, 8);
    return u;
  }
  }
}

/* Writes the low size bytes' worth of v at p, host-endian, as an integer
 * of that width (which is what libffi reads for an argument). */
static void store_int(void *p, size_t size, uint64_t v) {
  switch (size) {
  case 1: {
    uint8_t u = (uint8_t)v;
    memcpy(p, &u, 1);
    break;
  }
  case 2: {
    uint16_t u = (uint16_t)v;
    memcpy(p, &u, 2);
    break;
  }
  case 4: {
    uint32_t u = (uint32_t)v;
    memcpy(p, &u, 4);
    break;
  }
  default:
    memcpy(p, &v, 8);
    break;
  }
}

/* Truncates v to size bytes and widens it back by signedness. */
static uint64_t extend(uint64_t v, size_t size, bool is_signed) {
  if (size >= 8)
    return v;
  unsigned bits = (unsigned)size * 8;
  uint64_t mask = ((uint64_t)1 << bits) - 1;
  v &= mask;
  if (is_signed && (v >> (bits - 1)) != 0)
    v |= ~mask;
  return v;
}

/* The wire form of a scalar argument as libffi passes it (arg points at
 * the value, in its own width; any alignment).  A bool reads as 0 or 1.
 * Returns 0, or -EINVAL for a type that has no scalar value (void,
 * cstring, a user type). */
int dt__scalar_get(const dt__type *t, const void *arg, uint64_t *v) {
  if (t->tag == DT__T_FLOAT) {
    uint32_t bits;
    memcpy(&bits, arg, sizeof bits);
    *v = bits;
    return 0;
  }
  if (t->tag == DT__T_DOUBLE) {
    memcpy(v, arg, sizeof *v);
    return 0;
  }
  if (t->tag == DT__T_BOOL) {
    uint8_t b;
    memcpy(&b, arg, 1);
    *v = b != 0;
    return 0;
  }
  if (dt__tag_is_integer(t->tag) && int_size_ok(t->size)) {
    *v = load_int(arg, t->size, dt__tag_is_signed(t->tag));
    return 0;
  }
  return -EINVAL;
}

/* Stores a valid wire value v (dt__scalar_valid) at arg as the argument
 * libffi will read: integers and floats in their own width at the start
 * of arg, which must have room for t->size bytes (8 for a double). */
void dt__scalar_set(const dt__type *t, uint64_t v, void *arg) {
  if (t->tag == DT__T_DOUBLE)
    memcpy(arg, &v, sizeof v);
  else if (t->tag == DT__T_FLOAT)
    store_int(arg, 4, v);
  else
    store_int(arg, t->size, v);
}

/* 1 if v is a wire value a scalar of type t can hold: an integer in
 * range (narrowing it to t loses nothing), a float with the upper 32
 * bits clear, a bool of 0 or 1, and 0 for void and cstring (a result's
 * ret field carries nothing for them); 0 otherwise. */
int dt__scalar_valid(const dt__type *t, uint64_t v) {
  switch (t->tag) {
  case DT__T_VOID:
  case DT__T_CSTRING:
    return v == 0;
  case DT__T_BOOL:
    return v <= 1;
  case DT__T_FLOAT:
    return v <= UINT32_MAX;
  case DT__T_DOUBLE:
    return 1;
  default:
    return dt__tag_is_integer(t->tag) && int_size_ok(t->size) &&
           extend(v, t->size, dt__tag_is_signed(t->tag)) == v;
  }
}

/* The wire form of a function's return value, read from libffi's return
 * buffer ret, which holds an ffi_arg for integers narrower than one.
 * void and cstring read as 0.  Returns 0, or -EINVAL for a type that is
 * never returned (a user type). */
int dt__scalar_ret_get(const dt__type *t, const void *ret, uint64_t *v) {
  switch (t->tag) {
  case DT__T_VOID:
  case DT__T_CSTRING:
    *v = 0;
    return 0;
  case DT__T_FLOAT:
  case DT__T_DOUBLE:
    return dt__scalar_get(t, ret, v);
  default:
    break;
  }
  if (!dt__tag_is_integer(t->tag) || !int_size_ok(t->size))
    return -EINVAL;
  bool is_signed = dt__tag_is_signed(t->tag);
  if (t->size < sizeof(ffi_arg)) {
    ffi_arg a;
    memcpy(&a, ret, sizeof a);
    *v = extend((uint64_t)a, t->size, is_signed);
    if (t->tag == DT__T_BOOL)
      *v = *v != 0;
  } else {
    *v = load_int(ret, t->size, is_signed);
  }
  return 0;
}

/* Writes a valid wire value v into libffi's return buffer ret (at least
 * sizeof(ffi_arg) bytes) as a closure returns it: integers narrower than
 * ffi_arg widened to ffi_arg or ffi_sarg; nothing for void and cstring
 * (a returned string is the caller's business). */
void dt__scalar_ret_set(const dt__type *t, uint64_t v, void *ret) {
  switch (t->tag) {
  case DT__T_VOID:
  case DT__T_CSTRING:
    return;
  case DT__T_FLOAT:
  case DT__T_DOUBLE:
    dt__scalar_set(t, v, ret);
    return;
  default:
    break;
  }
  if (t->size < sizeof(ffi_arg)) {
    if (dt__tag_is_signed(t->tag)) {
      ffi_sarg s = (ffi_sarg)(int64_t)v;
      memcpy(ret, &s, sizeof s);
    } else {
      ffi_arg a = (ffi_arg)v;
      memcpy(ret, &a, sizeof a);
    }
  } else {
    store_int(ret, t->size, v);
  }
}

/* Reads the integer argument arg of type t (as libffi passes it, in its
 * own width) as an unsigned count: an element count or a length factor.
 * Returns 0 and *n, -ERANGE when the value is negative, or -EINVAL for a
 * type that is not an integer of 1, 2, 4 or 8 bytes.  A bool is read as
 * its byte. */
int dt__scalar_count(const dt__type *t, const void *arg, uint64_t *n) {
  if (!dt__tag_is_integer(t->tag) || !int_size_ok(t->size))
    return -EINVAL;
  bool is_signed = dt__tag_is_signed(t->tag);
  uint64_t v = load_int(arg, t->size, is_signed);
  if (is_signed && (int64_t)v < 0)
    return -ERANGE;
  *n = v;
  return 0;
}

/* Narrows a 64-bit value to t's width, as C arithmetic in that type would
 * wrap, then widens it back to the wire form (an integer type; a value
 * of 8 bytes is returned as it is). */
uint64_t dt__scalar_wrap(const dt__type *t, uint64_t v) {
  return extend(v, t->size, dt__tag_is_signed(t->tag));
}

/* The wire value v of a float or double as a double. */
double dt__scalar_real(const dt__type *t, uint64_t v) {
  if (t->tag == DT__T_FLOAT) {
    uint32_t bits = (uint32_t)v;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
  }
  double d;
  memcpy(&d, &v, sizeof d);
  return d;
}

/* The wire form of d as a value of t, a float (rounded to it) or a
 * double. */
uint64_t dt__scalar_from_real(const dt__type *t, double d) {
  if (t->tag == DT__T_FLOAT) {
    float f = (float)d;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
  }
  uint64_t v;
  memcpy(&v, &d, sizeof v);
  return v;
}
