/* dlpath.h: the file a dlopen of a bare name opens for its real caller
 * (shim/dlpath.c). */
#ifndef DT_DLPATH_H
#define DT_DLPATH_H

#include <stddef.h>

const char *dt__dlopen_path(const char *file, int mode, void *caller,
                            char *buf, size_t bufsz,
                            void *(*real_dlopen)(const char *, int));

#endif /* DT_DLPATH_H */
