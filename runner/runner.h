/* runner.h: the shim in runner role, a pool of workers that serve calls
 * (runner/runner.c). */
#ifndef DT_RUNNER_H
#define DT_RUNNER_H

#include "shim/stub.h"

int dt__runner_setup(const dt__config *cfg, dt__stub *stubs, size_t n,
                     uintptr_t self_base);
int dt__runner_serve(const dt__config *cfg, dt__stub *stubs, size_t n);

#endif /* DT_RUNNER_H */
