/* dwarf.h: dtask sig's reader of function prototypes from DWARF debug
 * info (draft/dwarf.c), for `dtask sig --binary PROG SYMBOL...`. */
#ifndef DT_DRAFT_DWARF_H
#define DT_DRAFT_DWARF_H

#include <stddef.h>

#include "common/error.h"
#include "draft/draft.h"

int dt__draft_dwarf(const char *path, dt__cfunc *funcs, size_t n,
                    dt__error *err);

#endif /* DT_DRAFT_DWARF_H */
