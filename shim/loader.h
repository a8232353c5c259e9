/* loader.h: resolving the listed symbols, patching GOT slots, and the
 * dlsym interposers (shim/loader.c, in the engine). */
#ifndef DT_LOADER_H
#define DT_LOADER_H

#include <stdint.h>

#include "shim/door.h"
#include "shim/symbol.h"

void dt__loader_init(void);
int dt__loader_table(dt__stub *stubs, size_t n, uintptr_t self_base,
                     uintptr_t door_base);
int dt__loader_find(const dt__door *door);
void dt__loader_loaded(void *handle);
int dt__loader_resolve(dt__stub *s, void *handle);
void *dt__loader_dlopen(const char *file, int mode);
void *dt__loader_sym(void *handle, const char *name, const char *version);
int dt__loader_activate(size_t *slots);

#endif /* DT_LOADER_H */
