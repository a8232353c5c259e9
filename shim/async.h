/* async.h: calls no caller waits for, async = true (shim/async.c). */
#ifndef DT_SHIM_ASYNC_H
#define DT_SHIM_ASYNC_H

#include "shim/call.h"
#include "shim/symbol.h"

dt__where dt__async_call(dt__stub *s, void *ret, void **args);
void dt__async_drain(void);

#endif /* DT_SHIM_ASYNC_H */
