/* loader.h: resolving the listed symbols, patching GOT slots, and the
 * dynamic loader's interposers (shim/loader.c). */
#ifndef DT_LOADER_H
#define DT_LOADER_H

#include <stdint.h>

#include "shim/stub.h"

void dt__loader_init(void);
int dt__loader_table(dt__stub *stubs, size_t n, uintptr_t self_base);
int dt__loader_find(void);
int dt__loader_resolve(dt__stub *s);
void *dt__loader_dlopen(const char *file, int mode);
int dt__loader_activate(size_t *slots);

#endif /* DT_LOADER_H */
