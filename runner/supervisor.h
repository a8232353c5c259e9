/* supervisor.h: serving calls as a pool of workers
 * (runner/supervisor.c). */
#ifndef DT_SUPERVISOR_H
#define DT_SUPERVISOR_H

#include "config/config.h"
#include "shim/symbol.h"

int dt__runner_serve(const dt__config *cfg, dt__stub *stubs, size_t n);

#endif /* DT_SUPERVISOR_H */
