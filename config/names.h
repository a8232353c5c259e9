/* names.h: the names of a config's [[offload]] entries, read without the
 * config parser (config/names.c), for the preloaded shim. */
#ifndef DT_NAMES_H
#define DT_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* One entry's names; the sizes are dt__offload's. */
typedef struct dt__name {
  char symbol[128];
  char version[64];
  char library[256];
  uint8_t imported; /* the door's: some loaded object refers to it */
  uint8_t defined;  /* the door's: some loaded object defines it */
} dt__name;

/* dt__names_read's "the full parser must decide". */
#define DT__NAMES_ASK 1

int dt__names_map(const char *path, const char **text, size_t *len);
size_t dt__names_bound(const char *text, size_t len);
int dt__names_read(const char *text, size_t len, dt__name *out, size_t max,
                   size_t *n);

#endif /* DT_NAMES_H */
