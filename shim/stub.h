/* stub.h: the libffi closures that stand in for offloaded functions
 * (shim/stub.c). */
#ifndef DT_STUB_H
#define DT_STUB_H

#include <stdbool.h>

#include "shim/symbol.h"

/* Prepares the closures of stubs[0..n) from their config entries (0, or a
 * negative errno with *bad the entry that failed). */
int dt__stub_init(dt__stub *stubs, size_t n, size_t *bad);
/* Writes into out (outsz bytes) how s's definition was built; returns out. */
const char *dt__stub_build(const dt__stub *s, char *out, size_t outsz);

/* How intercepted calls run: inline (DTASK_MODE=sync) or through the
 * queue (the default).  Set once by the engine's start (shim/shim.c). */
enum { DT__MODE_OFFLOAD, DT__MODE_SYNC };
extern int dt__mode;
/* Sync mode with nothing traced: a stub would only forward each call, so
 * the program's slots get the real functions instead (set at start-up,
 * before anything is patched). */
extern bool dt__direct;

#endif /* DT_STUB_H */
