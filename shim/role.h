/* role.h: the runner role's entry into the engine's start-up.
 *
 * Declared here, in shim/, so that the engine's start (shim/shim.c)
 * needs no header of runner/; defined by runner/runner.c, which the
 * engine (libdtask_engine.so) links. */
#ifndef DT_ROLE_H
#define DT_ROLE_H

#include <stdint.h>

#include "shim/symbol.h"

int dt__runner_setup(const dt__config *cfg, dt__stub *stubs, size_t n,
                     uintptr_t self_base);

#endif /* DT_ROLE_H */
