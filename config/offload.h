/* offload.h: the [[offload]] entries of the config (config/offload.c). */
#ifndef DT_OFFLOAD_H
#define DT_OFFLOAD_H

#include <stddef.h>

#include "common/error.h"
#include "config/config.h"
#include "config/toml.h"

extern const char *const dt__offload_keys[];

int dt__offload_read(const char *text, size_t len, const dt__toml *a,
                     dt__config *cfg, dt__error *err);

#endif /* DT_OFFLOAD_H */
