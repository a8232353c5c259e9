/* file.c: owns where the config is looked for and how it is read.
 *
 * The shim, dtask and dtask-runner all look in the same places, in the
 * same order, and read the file the same way: whole, at most
 * MAX_CONFIG_BYTES, into memory the caller frees. */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "config/file.h"

/* A config larger than this is refused (it is surely the wrong file). */
#define MAX_CONFIG_BYTES (4u << 20)

/* The file dtask would use: $DTASK_CONFIG, else ./dtask.toml if it exists,
 * else NULL (meaning "no config": nothing to offload).  The returned
 * string is the environment's or a static literal; it is not owned by
 * the caller. */
const char *dt__config_default_path(void) {
  const char *env = getenv(DT__ENV_CONFIG);
  struct stat st;
  if (env != NULL && env[0] != '\0')
    return env;
  if (stat("dtask.toml", &st) == 0)
    return "dtask.toml";
  return NULL;
}

/* Reads the whole file at path into *text (NUL-terminated, *len bytes
 * without the NUL), which the caller frees with free().  Returns 0,
 * -errno when it cannot be opened or read, -EINVAL past 4 MiB, or
 * -ENOMEM;
 * err gets a sentence in every case.  *text is NULL on failure. */
int dt__config_read(const char *path, char **text, size_t *len,
                    dt__error *err) {
  FILE *f;
  char *buf;
  size_t n;
  int rc = 0;

  *text = NULL;
  *len = 0;
  f = fopen(path, "rb");
  if (f == NULL) {
    rc = -errno;
    dt__error_set(err, 0, 0, "cannot open the config: %s", strerror(-rc));
    return rc;
  }
  /* Sized from the file when it says (a regular file), so that reading a
   * small config touches a few bytes of memory, not 4 MiB of it. */
  struct stat st;
  size_t cap = MAX_CONFIG_BYTES + 1;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
      (uint64_t)st.st_size < MAX_CONFIG_BYTES)
    cap = (size_t)st.st_size + 1;
  buf = malloc(cap + 1);
  if (buf == NULL) {
    fclose(f);
    return -ENOMEM;
  }
  n = fread(buf, 1, cap, f);
  if (n == cap && cap <= MAX_CONFIG_BYTES) {
    /* It grew since fstat: read the rest up to the limit. */
    char *more = realloc(buf, MAX_CONFIG_BYTES + 2);
    if (more == NULL) {
      free(buf);
      fclose(f);
      return -ENOMEM;
    }
    buf = more;
    n += fread(buf + n, 1, MAX_CONFIG_BYTES + 1 - n, f);
  }
  if (ferror(f)) {
    rc = -EIO;
    dt__error_set(err, 0, 0, "cannot read the config");
  } else if (n > MAX_CONFIG_BYTES) {
    rc = dt__error_set(err, 0, 0,
                       "the config is larger than 4 MiB; is this the right "
                       "file?");
  }
  fclose(f);
  if (rc != 0) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}
