/* call.h: the caller's side of an offloaded call (shim/call.c). */
#ifndef DT_CALL_H
#define DT_CALL_H

#include "shim/symbol.h"

void dt__offload_init(const dt__config *cfg, dt__stub *stubs, size_t n);
void dt__offload_call(dt__stub *s, void *ret, void **args);
void dt__offload_fini(void);

#endif /* DT_CALL_H */
