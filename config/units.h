/* units.h: the words of the config that are not TOML's own: sizes,
 * durations, paths with variables, and "did you mean" (config/units.c). */
#ifndef DT_UNITS_H
#define DT_UNITS_H

#include "common/error.h"

int dt__parse_size(const char *s, uint64_t *out, dt__error *err);
int dt__parse_duration(const char *s, uint64_t *ns, dt__error *err);
int dt__expand_path(const char *path, char *out, size_t outsz,
                    dt__error *err);
const char *dt__did_you_mean(const char *word, const char *const *candidates);

#endif /* DT_UNITS_H */
