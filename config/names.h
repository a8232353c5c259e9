/* names.h: the names of a config's [[offload]] entries, read without the
 * config parser (config/names.c), for the preloaded shim. */
#ifndef DT_NAMES_H
#define DT_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* One entry's names (never NULL; "" when not given), pointing into the
 * pool dt__names_read was given. */
typedef struct dt__name {
  const char *symbol;
  const char *version;
  const char *library;
  uint8_t imported; /* the door's: some loaded object refers to it */
  uint8_t defined;  /* the door's: some loaded object defines it */
} dt__name;

/* A config's names as dt__names_load reads them: one mapping. */
typedef struct dt__names {
  void *map;         /* the mapping, mapsz bytes */
  size_t mapsz;
  char *room;        /* the caller's zeroed room, 16-aligned */
  dt__name *entries; /* n entries */
  size_t n;
} dt__names;

/* The pool dt__names_read needs for len bytes of text and max entries. */
#define DT__NAMES_POOL(len, max) ((len) + 3 * (max))

/* dt__names_read's "the full parser must decide". */
#define DT__NAMES_ASK 1

size_t dt__names_bound(const char *text, size_t len);
int dt__names_read(const char *text, size_t len, dt__name *out, size_t max,
                   char *pool, size_t *n);
int dt__names_load(const char *path, size_t fixed, size_t per_entry,
                   dt__names *out);

#endif /* DT_NAMES_H */
