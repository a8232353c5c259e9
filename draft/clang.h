/* clang.h: dtask sig's header reader, libclang loaded with dlopen
 * (draft/clang.c). */
#ifndef DT_DRAFT_CLANG_H
#define DT_DRAFT_CLANG_H

#include <stddef.h>

#include "common/error.h"
#include "draft/draft.h"

/* The most compiler arguments dt__draft_clang passes on. */
#define DT__CLANG_MAX_OPTS 128

/* Reads funcs[0..n) (each .name set) from header, a path or "<zlib.h>",
 * parsed as C with the compiler arguments opts[0..nopts) ("-I", "DIR",
 * "-D", "NAME=VALUE"; at most DT__CLANG_MAX_OPTS are passed on).
 * Returns 0 with funcs[i].found saying which were declared, or a negative
 * errno with err saying what to do: -ELIBACC when libclang cannot be
 * loaded, -ENOENT when the header cannot be found, -EINVAL when it does
 * not parse.  The first parse errors are printed to stderr. */
int dt__draft_clang(const char *header, const char *const *opts, int nopts,
                    dt__cfunc *funcs, size_t n, dt__error *err);

#endif /* DT_DRAFT_CLANG_H */
