/* queue.c: opening a queue: the table of backends, and the queue
 * directory that every backend shares.
 *
 * A queue is named by the config's [queue] backend (a backend's
 * dt__queue_ops, found in the table below) and [queue] path: a local
 * directory, 0700 and owned by its user, created and checked here
 * before the backend opens.  It holds the runner's pool lock, the
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
#include "config/config.h"
#include "queue/lmdb.h"
#include "queue/queue.h"

/* The backends, by the name [queue] backend gives. */
static const dt__queue_ops *const backends[] = {
    &dt__queue_lmdb_ops,
};

/* Creates path and its parents with mode 0700 where missing.  Returns 0
 * or a negative errno. */
static int make_dirs(const char *path) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n >= sizeof buf)
    return -ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
      return -errno;
    *p = '/';
  }
  if (mkdir(buf, 0700) != 0 && errno != EEXIST)
    return -errno;
  return 0;
}

/* Refuses a directory another user owns or others can write into: a
 * queue there could be read or fed by someone else.  Returns 0, or a
 * negative errno (-EPERM, -ENOTDIR, lstat's) with a sentence in err
 * that says why and what to do. */
static int check_dir(const char *dir, dt__error *err) {
  struct stat st;
  if (lstat(dir, &st) != 0) {
    int e = errno;
    dt__error_set(err, 0, 0, "queue directory %s: %s", dir, strerror(e));
    return -e;
  }
  if (!S_ISDIR(st.st_mode)) {
    dt__error_set(err, 0, 0,
                  "queue path %s is not a directory; point [queue] path at "
                  "a directory of your own",
                  dir);
    return -ENOTDIR;
  }
  if (st.st_uid != geteuid()) {
    dt__error_set(err, 0, 0,
                  "queue directory %s belongs to uid %u, not to you (uid "
                  "%u): another user could read your calls or feed you "
                  "results; use a directory of your own, e.g. path = "
                  "\"/dev/shm/dtask-$USER/default\"",
                  dir, (unsigned)st.st_uid, (unsigned)geteuid());
    return -EPERM;
  }
  if ((st.st_mode & 077) != 0) {
    dt__error_set(err, 0, 0,
                  "queue directory %s has mode %03o: group or others can "
                  "reach it, so they could read your calls or feed you "
                  "results; run chmod 700 %s",
                  dir, (unsigned)(st.st_mode & 0777), dir);
    return -EPERM;
  }
  /* Every directory above must be yours or root's, and if others can
   * write into it, sticky (as /tmp and /dev/shm are): otherwise someone
   * else could swap the queue directory for one of theirs. */
  char up[PATH_MAX];
  snprintf(up, sizeof up, "%s", dir);
  for (char *slash = strrchr(up, '/'); slash != NULL;
       slash = strrchr(up, '/')) {
    if (slash == up)
      slash[1] = '\0';
    else
      *slash = '\0';
    if (stat(up, &st) != 0)
      break;
    if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
        ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0)) {
      dt__error_set(err, 0, 0,
                    "queue directory %s lies under %s, which %s; another "
                    "user could replace the queue; use a path under a "
                    "directory of your own, e.g. path = "
                    "\"/dev/shm/dtask-$USER/default\"",
                    dir, up,
                    st.st_uid != 0 && st.st_uid != geteuid()
                        ? "belongs to another user"
                        : "others can write into and is not sticky");
      return -EPERM;
    }
    if (slash == up)
      break;
  }
  return 0;
}

/* Opens the queue of one program image under cfg's [queue]: finds the
 * backend, creates the image's directory, PATH/IMAGE (0700, with missing
 * parents; image is dt__image_queue_name's, or NULL for PATH itself) and
 * checks it, then opens the backend there.  Each image has its own
 * queue, so that its calls are only ever served by a pool of the same
 * image, and its own pool (the locks and the log live there too).  The directory must belong to this user and be closed to group
 * and others.  Returns 0 with *out owned by the caller
 * (dt__queue_close); or a negative errno with *out NULL and a sentence
 * in err that says why and what to do: -ENOTSUP for a backend that is
 * not built, -EPERM or -ENOTDIR for the directory, the backend's error
 * otherwise. */
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
  rc = make_dirs(dir);
  if (rc != 0) {
    dt__error_set(err, 0, 0, "cannot create queue directory %s: %s", dir,
                  strerror(-rc));
    return rc;
  }
  /* The configured directory must be closed to others as the image's is:
   * it names which programs use dtask. */
  if (image != NULL && image[0] != '\0') {
    rc = check_dir(cfg->queue_path, err);
    if (rc != 0)
      return rc;
  }
  rc = check_dir(dir, err);
  if (rc != 0)
    return rc;
  rc = ops->open(cfg, dir, &q, err);
  if (rc != 0)
    return rc;
  q->ops = ops;
  q->pid = getpid();
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
  if (q == NULL || q->pid != getpid())
    return;
  q->ops->close(q);
}

/* 1 if q was opened by another process (this one forked since): that
 * process must open its own handle, and leave this one alone. */
int dt__queue_stale(const dt__queue *q) { return q->pid != getpid(); }

/* The queue directory (owned by q): the runner's pool lock, the
 * autostart lock and the autostarted pool's log live there. */
const char *dt__queue_dir(const dt__queue *q) { return q->dir; }

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
