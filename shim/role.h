/* role.h: the runner role's entry into the shim's start-up.
 *
 * Declared here, in shim/, so that the constructor (shim/shim.c) needs
 * no header of runner/; defined by runner/runner.c, which the shim
 * links. */
#ifndef DT_ROLE_H
#define DT_ROLE_H

#include <stdint.h>

#include "shim/stub.h"

int dt__runner_setup(const dt__config *cfg, dt__stub *stubs, size_t n,
                     uintptr_t self_base);

#endif /* DT_ROLE_H */
