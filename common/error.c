/* error.c: located diagnostics (dt__error).
 *
 * Every parser in dtask reports a problem the same way: a line, a column
 * and a sentence that says what to write instead.  This file owns filling
 * and printing those records, so that the format of a message is decided
 * in one place. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"

/* Fills err (if not NULL) and returns -EINVAL.  The message is formatted
 * into err->msg and truncated to its size. */
int dt__error_set(dt__error *err, int line, int col, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    err->line = line;
    err->col = col;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return -EINVAL;
}

/* Renders "FILE:LINE:COL: MSG" into out.  Parts that are unknown (NULL
 * file, zero line or column) are omitted.  out is always NUL-terminated. */
char *dt__error_format(const dt__error *err, const char *file, char *out,
                       size_t outsz) {
  char loc[4200] = "";
  size_t n = 0;

  if (outsz == 0)
    return out;
  if (file != NULL && file[0] != '\0')
    n += (size_t)snprintf(loc + n, sizeof loc - n, "%s:", file);
  if (err->line > 0 && n < sizeof loc)
    n += (size_t)snprintf(loc + n, sizeof loc - n, "%d:", err->line);
  if (err->line > 0 && err->col > 0 && n < sizeof loc)
    n += (size_t)snprintf(loc + n, sizeof loc - n, "%d:", err->col);
  snprintf(out, outsz, "%s%s%s", loc, n > 0 ? " " : "", err->msg);
  return out;
}
