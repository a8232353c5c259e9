/* types.h: the types a signature can name, and their values
 * (config/types.c).
 *
 * A type is a tag; one switch (shim/ffitype.c) maps tags to libffi.  A
 * scalar's value travels in one "wire form" everywhere (task records,
 * retry_if and offload_if comparisons, aggregates): a uint64_t holding an
 * integer widened by its signedness, or a float's or double's IEEE bits. */
#ifndef DT_TYPES_H
#define DT_TYPES_H

#include "common/common.h"

typedef enum dt__tag {
  DT__T_VOID,
  DT__T_BOOL,
  DT__T_CHAR,
  DT__T_SCHAR,
  DT__T_UCHAR,
  DT__T_SHORT,
  DT__T_USHORT,
  DT__T_INT,
  DT__T_UINT,
  DT__T_LONG,
  DT__T_ULONG,
  DT__T_LLONG,
  DT__T_ULLONG,
  DT__T_INT8,
  DT__T_INT16,
  DT__T_INT32,
  DT__T_INT64,
  DT__T_UINT8,
  DT__T_UINT16,
  DT__T_UINT32,
  DT__T_UINT64,
  DT__T_SIZE,
  DT__T_SSIZE,
  DT__T_OFF,
  DT__T_INTPTR,
  DT__T_UINTPTR,
  DT__T_FLOAT,
  DT__T_DOUBLE,
  DT__T_CSTRING, /* const char *, NUL-terminated, NULL allowed */
  DT__T_USER     /* a plain-data type declared under [types] */
} dt__tag;

/* A user type from [types]: copied byte for byte, never passed by value. */
typedef struct dt__utype {
  char name[64];
  size_t size;
  size_t align;
  int line; /* where it was declared in the config */
} dt__utype;

typedef struct dt__type {
  dt__tag tag;
  const char *name;        /* the spelling used in signatures */
  size_t size, align;      /* element size/alignment (pointer size for
                              cstring) */
  const dt__utype *utype;  /* for DT__T_USER */
} dt__type;

/* The types. */
extern const char *const dt__type_names[];
int dt__type_lookup(const char *name, const dt__utype *utypes, size_t nutypes,
                    dt__type *t);
int dt__tag_is_integer(dt__tag tag);
int dt__tag_is_signed(dt__tag tag);

/* Scalars in the wire form: an argument as libffi passes it. */
int dt__scalar_get(const dt__type *t, const void *arg, uint64_t *v);
void dt__scalar_set(const dt__type *t, uint64_t v, void *arg);
int dt__scalar_count(const dt__type *t, const void *arg, uint64_t *n);
/* A return value in libffi's return buffer. */
int dt__scalar_ret_get(const dt__type *t, const void *ret, uint64_t *v);
void dt__scalar_ret_set(const dt__type *t, uint64_t v, void *ret);
/* Wire values themselves. */
int dt__scalar_valid(const dt__type *t, uint64_t v);
uint64_t dt__scalar_wrap(const dt__type *t, uint64_t v);
double dt__scalar_real(const dt__type *t, uint64_t v);
uint64_t dt__scalar_from_real(const dt__type *t, double d);

#endif /* DT_TYPES_H */
