/* jit.h: offload_if trampolines, decided before any stub runs
 * (shim/jit.c). */
#ifndef DT_JIT_H
#define DT_JIT_H

#include <stddef.h>

#include "shim/symbol.h"

int dt__jit_build(dt__stub *stubs, size_t n);

#endif /* DT_JIT_H */
