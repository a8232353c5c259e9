/* rstring.h: the memory that strings returned by offloaded calls live in
 * (shim/rstring.c).
 *
 * A function declared to return a cstring hands back a pointer that the
 * caller may keep: natively it often points into a static table
 * (strerror-like lookups, version and name strings) and stays valid for
 * the life of the process.  An offloaded call's string comes back as
 * bytes, so the caller's copy must live at least as long.  Each distinct
 * string is interned per symbol: the same bytes from the same symbol
 * return the same pointer, valid until the process exits.  Interning is
 * bounded; past the bounds a new string goes to a per-thread ring and is
 * valid until DT__RSTR_RING more such strings have come back on that
 * thread (and at most until the thread exits). */
#ifndef DT_RSTRING_H
#define DT_RSTRING_H

#include <stddef.h>
#include <stdint.h>

/* Distinct strings kept per symbol. */
#define DT__RSTR_MAX_COUNT 4096u
/* Bytes kept per symbol and per process.  A string counts its length,
 * its NUL and DT__RSTR_OVERHEAD bytes of bookkeeping, rounded up to 8. */
#define DT__RSTR_MAX_SYM_BYTES ((size_t)1 << 20)
#define DT__RSTR_MAX_BYTES ((size_t)32 << 20)
#define DT__RSTR_OVERHEAD 16u
/* Slots of the per-thread ring used past the bounds. */
#define DT__RSTR_RING 16u

int dt__rstr_init(size_t nsyms);
int dt__rstr_keep(uint32_t sym, const char *name, const char *s, size_t len,
                  const char **out);
void dt__rstr_usage(uint32_t sym, size_t *count, size_t *bytes,
                    size_t *total);

#endif /* DT_RSTRING_H */
