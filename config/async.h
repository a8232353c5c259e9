/* async.h: async = true, calls whose caller does not wait
 * (config/async.c). */
#ifndef DT_ASYNC_H
#define DT_ASYNC_H

#include "common/error.h"
#include "config/sig.h"
#include "config/split.h"
#include "config/toml.h"

int dt__async_read(const dt__toml *t, const char *section,
                   const dt__sig *sig, const dt__split *split, int *async,
                   dt__error *err);

#endif /* DT_ASYNC_H */
