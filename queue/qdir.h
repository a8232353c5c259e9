/* qdir.h: the queue directory, reached and trusted without following a
 * name that another user could swap (queue/qdir.c).
 *
 * dt__qdir_open walks [queue] path from / one component at a time and
 * keeps a descriptor of the directory; every file of the queue (bell,
 * data.mdb, lock.mdb, runner.lock, autostart.lock, runner.log, the
 * arena.SLOT files) is then
 * opened relative to that descriptor with dt__qdir_openat, which checks
 * the file as well.  Both return 0 or a negative errno, with a sentence
 * in err that names the path, what was found and what to do. */
#ifndef DT_QUEUE_QDIR_H
#define DT_QUEUE_QDIR_H

#include "common/error.h"

/* Links followed in one walk, as the kernel's own limit. */
#define DT__QDIR_MAX_LINKS 40

int dt__qdir_open(const char *path, const char *sub, int *dirfd,
                  dt__error *err);
int dt__qdir_openat(int dirfd, const char *dir, const char *name, int flags,
                    int *fd, dt__error *err);
int dt__qdir_proc_path(int dirfd, char *buf, size_t size);

#endif /* DT_QUEUE_QDIR_H */
