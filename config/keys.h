/* keys.h: checks shared by the config's tables: allowed keys, integers
 * in range, identifiers (config/keys.c). */
#ifndef DT_KEYS_H
#define DT_KEYS_H

#include <stdbool.h>

#include "common/error.h"
#include "config/toml.h"

int dt__keys_check(const dt__toml *t, const char *const *allowed,
                   const char *const *extra, const char *const *extra2,
                   const char *section, dt__error *err);
int dt__keys_int(const dt__toml *v, const char *section, long long lo,
                 long long hi, const char *example, long long *out,
                 dt__error *err);
bool dt__keys_identifier(const char *s);

#endif /* DT_KEYS_H */
