/* queue.c: opening a queue: the table of backends, and the queue
 * directory that every backend shares.
 *
 * A queue is named by the config's [queue] backend (a backend's
 * dt__queue_ops, found in the table below) and [queue] path: a local
 * directory, 0700 and owned by its user, reached, created and checked
 * by queue/qdir.c (a walk that follows no name another user could
 * plant) before the backend opens, and kept open as a descriptor: every
 * file in it is opened relative to that descriptor
 * (dt__queue_open_file).  It holds the runner's pool lock, the
 * autostart lock and the autostarted pool's log whatever the backend,
 * and the backend's own files if it has any.  This file owns that
 * directory check and the generic part of every handle (struct
 * dt__queue: its operations, the opening process, the directory); the
 * backends own the rest.  Adding a backend is its own files plus one
 * line in the table. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/pid.h"
#include "config/config.h"
#include "queue/lmdb.h"
#include "queue/redis.h"
#include "queue/qdir.h"
#include "queue/queue.h"

/* The backends, by the name [queue] backend gives. */
static const dt__queue_ops *const backends[] = {
    &dt__queue_lmdb_ops,
    &dt__queue_redis_ops,
};

/* Opens the queue of one program image under cfg's [queue]: finds the
 * backend, reaches and checks the image's directory, PATH/IMAGE
 * (dt__qdir_open: created 0700 with its missing parents; image is
 * dt__image_queue_name's, or NULL for PATH itself), then opens the
 * backend there through the directory's descriptor, which the handle
 * keeps.  Each image has its own
 * queue, so that its calls are only ever served by a pool of the same
 * image, and its own pool (the locks and the log live there too).  The directory must belong to this user and be closed to group
 * and others.  Returns 0 with *out owned by the caller
 * (dt__queue_close); or a negative errno with *out NULL and a sentence
 * in err that says why and what to do: -ENOTSUP for a backend that is
 * not built, -EPERM, -ENOTDIR or -EINVAL for the directory (another
 * user's, open to others, reached through another user's link, or
 * relative), the backend's error otherwise. */
int dt__queue_open_image(const dt__config *cfg, const char *image,
                         dt__queue **out, dt__error *err) {
  const dt__queue_ops *ops = NULL;
  char dir[PATH_MAX];
  dt__queue *q = NULL;
  int rc;

  *out = NULL;
  for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
    if (strcmp(backends[i]->name, cfg->backend) == 0)
      ops = backends[i];
  if (ops == NULL) {
    char names[256] = "";
    size_t n = 0;
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
      if (n < sizeof names)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s\"%s\"",
                              i > 0 ? ", " : "", backends[i]->name);
    dt__error_set(err, 0, 0,
                  "queue backend \"%s\" is not built; the backends built "
                  "are: %s",
                  cfg->backend, names);
    return -ENOTSUP;
  }
  if (image != NULL && image[0] != '\0')
    rc = snprintf(dir, sizeof dir, "%s/%s", cfg->queue_path, image);
  else
    rc = snprintf(dir, sizeof dir, "%s", cfg->queue_path);
  if (rc < 0 || (size_t)rc >= sizeof dir) {
    dt__error_set(err, 0, 0, "queue path %s/%s is too long", cfg->queue_path,
                  image != NULL ? image : "");
    return -ENAMETOOLONG;
  }
  /* Both the configured directory and the image's must be closed to
   * others: the first names which programs use dtask. */
  int dirfd;
  rc = dt__qdir_open(cfg->queue_path, image, &dirfd, err);
  if (rc != 0)
    return rc;
  rc = ops->open(cfg, dir, dirfd, &q, err);
  if (rc != 0) {
    close(dirfd);
    return rc;
  }
  q->ops = ops;
  q->pid = dt__pid();
  q->dirfd = dirfd;
  snprintf(q->dir, sizeof q->dir, "%s", dir);
  *out = q;
  return 0;
}

/* The queue at cfg's [queue] path itself, not an image's (tests and
 * tools): dt__queue_open_image with no image. */
int dt__queue_open(const dt__config *cfg, dt__queue **out, dt__error *err) {
  return dt__queue_open_image(cfg, NULL, out, err);
}

/* Closes q and frees it (NULL is allowed).  In a child of the opening
 * process the handle is abandoned instead, so that the parent's
 * resources stay as they are (its mapping is small and bounded: one per
 * fork). */
void dt__queue_close(dt__queue *q) {
  if (q == NULL || q->pid != dt__pid())
    return;
  int dirfd = q->dirfd;
  q->ops->close(q);
  close(dirfd);
}

/* 1 if q was opened by another process (this one forked since): that
 * process must open its own handle, and leave this one alone. */
int dt__queue_stale(const dt__queue *q) { return q->pid != dt__pid(); }

/* The queue directory (owned by q): the runner's pool lock, the
 * autostart lock and the autostarted pool's log live there. */
const char *dt__queue_dir(const dt__queue *q) { return q->dir; }

/* Opens the file name of q's directory through the directory's
 * descriptor (dt__qdir_openat: no link followed, created 0600 with
 * O_EXCL under O_CREAT, refused unless a regular file of the user that
 * others cannot write).  Returns 0 with *fd owned by the caller, or a
 * negative errno with a sentence in err. */
int dt__queue_open_file(const dt__queue *q, const char *name, int flags,
                        int *fd, dt__error *err) {
  return dt__qdir_openat(q->dirfd, q->dir, name, flags, fd, err);
}

/* The entries of q's tasks, claims and results (dt__queue_stat, for the
 * runner's idle check).  Returns 0, or a negative errno with the counts
 * untouched. */
int dt__queue_counts(dt__queue *q, size_t *tasks, size_t *claims,
                     size_t *results) {
  dt__queue_stats st;
  int rc = q->ops->stat(q, &st);
  if (rc == 0) {
    *tasks = st.tasks;
    *claims = st.claims;
    *results = st.results;
  }
  return rc;
}

/* The images of cfg's queue that its backend knows beyond the queue
 * directory's subdirectories (its images operation): fn with each name.
 * Returns fn's first nonzero answer, 0 (also for a backend that has no
 * such operation, or that is not built), or a negative errno. */
int dt__queue_images(const dt__config *cfg,
                     int (*fn)(void *ctx, const char *image), void *ctx) {
  for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
    if (strcmp(backends[i]->name, cfg->backend) == 0 &&
        backends[i]->images != NULL)
      return backends[i]->images(cfg, fn, ctx);
  return 0;
}
