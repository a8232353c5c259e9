/* ffitype.h: dtask's types as libffi's (shim/ffitype.c). */
#ifndef DT_FFITYPE_H
#define DT_FFITYPE_H

#include <ffi.h>

#include "config/sig.h"

ffi_type *dt__type_ffi(dt__tag tag);
void dt__sig_ffi(const dt__sig *sig, ffi_type **ret, ffi_type **args);

#endif /* DT_FFITYPE_H */
