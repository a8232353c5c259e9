/* ffitype.c: owns the mapping of dtask's types onto libffi's, for the
 * engine's stubs and the runner's calls.
 *
 * The config language (config/) knows nothing of libffi, so that the
 * preloaded door can read and check a config without loading it; the
 * engine, which calls through libffi, maps a signature here. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shim/ffitype.h"

/* Picks the ffi integer type of a given width and signedness. */
static ffi_type *ffi_int(size_t size, bool is_signed) {
  switch (size) {
  case 1:
    return is_signed ? &ffi_type_sint8 : &ffi_type_uint8;
  case 2:
    return is_signed ? &ffi_type_sint16 : &ffi_type_uint16;
  case 4:
    return is_signed ? &ffi_type_sint32 : &ffi_type_uint32;
  default:
    return is_signed ? &ffi_type_sint64 : &ffi_type_uint64;
  }
}

/* Maps a tag to its libffi type (&ffi_type_pointer for cstring and
 * buffers, NULL for DT__T_USER which is never passed by value): the one
 * switch from type tags to libffi types. */
ffi_type *dt__type_ffi(dt__tag tag) {
  switch (tag) {
  case DT__T_VOID:
    return &ffi_type_void;
  case DT__T_BOOL:
    return ffi_int(sizeof(_Bool), false);
  case DT__T_CHAR:
    return ffi_int(1, CHAR_MIN < 0);
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
    return ffi_int(sizeof(long), true);
  case DT__T_ULONG:
    return ffi_int(sizeof(long), false);
  case DT__T_LLONG:
  case DT__T_INT64:
    return &ffi_type_sint64;
  case DT__T_ULLONG:
  case DT__T_UINT64:
    return &ffi_type_uint64;
  case DT__T_SIZE:
    return ffi_int(sizeof(size_t), false);
  case DT__T_SSIZE:
    return ffi_int(sizeof(ssize_t), true);
  case DT__T_OFF:
    return ffi_int(sizeof(off_t), true);
  case DT__T_INTPTR:
    return ffi_int(sizeof(intptr_t), true);
  case DT__T_UINTPTR:
    return ffi_int(sizeof(uintptr_t), false);
  case DT__T_FLOAT:
    return &ffi_type_float;
  case DT__T_DOUBLE:
    return &ffi_type_double;
  case DT__T_CSTRING:
    return &ffi_type_pointer;
  case DT__T_USER:
    break;
  }
  return NULL;
}

/* Fills *ret and args[0 .. sig->nparams) with the libffi types of sig's
 * return value and parameters (a buffer is a pointer).  args has room for
 * DT__MAX_PARAMS entries; nothing is allocated. */
void dt__sig_ffi(const dt__sig *sig, ffi_type **ret, ffi_type **args) {
  *ret = dt__type_ffi(sig->ret.tag);
  for (int i = 0; i < sig->nparams; i++)
    args[i] = sig->params[i].is_buffer ? &ffi_type_pointer
                                       : dt__type_ffi(sig->params[i].type.tag);
}
