/* file.h: finding and reading the config file (config/file.c).  Used by
 * the preloaded shim before anything else is loaded, so it needs nothing
 * beyond libc. */
#ifndef DT_FILE_H
#define DT_FILE_H

#include "common/error.h"

const char *dt__config_default_path(void);
int dt__config_read(const char *path, char **text, size_t *len,
                    dt__error *err);

#endif /* DT_FILE_H */
