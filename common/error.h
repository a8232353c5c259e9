/* error.h: the located diagnostic that carries every error a person must
 * act on (the convention itself is in common/common.h). */
#ifndef DT_ERROR_H
#define DT_ERROR_H

#include "common/common.h"

/* A located diagnostic.  line/col are 1-based; 0 means "not applicable".
 * msg is one or more sentences, without the location prefix. */
typedef struct dt__error {
  int line;
  int col;
  char msg[512];
} dt__error;

int dt__error_set(dt__error *err, int line, int col, const char *fmt, ...)
    DT__PRINTF(4, 5);
char *dt__error_format(const dt__error *err, const char *file, char *out,
                       size_t outsz);

#endif /* DT_ERROR_H */
