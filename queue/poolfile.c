/* poolfile.c: owns pool records kept as files of a queue directory
 * ("pool.PID"), the pool_put and pool_list operations of the "lmdb"
 * backend.
 *
 * A supervisor rewrites its file every tick: written to "pool.PID.tmp"
 * and renamed over the old one, so that a reader sees a whole record or
 * the previous one.  Every name is opened relative to the directory's
 * descriptor (queue/qdir.h), never through a path, with O_NOFOLLOW.  A
 * file whose process is gone (a pool killed with SIGKILL) is removed by
 * the next listing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pid.h"
#include "queue/poolfile.h"
#include "queue/proc.h"

/* The most a record file may hold (poolstat.h's DT__POOLREC_MAX). */
#define POOLFILE_MAX (2u << 20)

/* The pool_put operation: text (n bytes) as this process's record; n 0
 * removes it.  Returns 0 or a negative errno. */
int dt__poolfile_put(dt__queue *q, const char *text, size_t n) {
  char name[32], tmp[40];
  snprintf(name, sizeof name, "pool.%d", dt__pid());
  if (n == 0)
    return unlinkat(q->dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
  snprintf(tmp, sizeof tmp, "%s.tmp", name);
  int fd = openat(q->dirfd, tmp,
                  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, text + off, n - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int e = w < 0 ? errno : EIO;
      close(fd);
      unlinkat(q->dirfd, tmp, 0);
      return -e;
    }
    off += (size_t)w;
  }
  close(fd);
  return renameat(q->dirfd, tmp, q->dirfd, name) == 0 ? 0 : -errno;
}

/* Reads the regular file name of the directory (at most POOLFILE_MAX
 * bytes) into a malloc'd buffer *out of *n bytes.  0 or a negative
 * errno. */
static int slurp(int dirfd, const char *name, char **out, size_t *n) {
  /* O_NONBLOCK: a FIFO planted under the name must not block the open. */
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (uint64_t)st.st_size > POOLFILE_MAX) {
    close(fd);
    return -EPROTO;
  }
  FILE *f = fdopen(fd, "r");
  char *buf = malloc((size_t)st.st_size + 1);
  if (f == NULL || buf == NULL) {
    free(buf);
    if (f != NULL)
      fclose(f);
    else
      close(fd);
    return -ENOMEM;
  }
  *n = fread(buf, 1, (size_t)st.st_size, f); /* a file that shrank: less */
  fclose(f);
  *out = buf;
  return 0;
}

/* The pool_list operation: fn for each pool.PID file of a live process;
 * those of processes that are gone are removed.  Returns fn's first
 * nonzero answer, 0, or a negative errno. */
int dt__poolfile_list(dt__queue *q,
                      int (*fn)(void *ctx, const char *text, size_t n),
                      void *ctx) {
  int fd = openat(q->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return -errno;
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    char *end;
    if (strncmp(e->d_name, "pool.", 5) != 0)
      continue;
    long pid = strtol(e->d_name + 5, &end, 10);
    if (*end != '\0' || pid <= 0 || pid > 0x7fffffff)
      continue;
    if (!dt__proc_alive((int)pid)) {
      unlinkat(q->dirfd, e->d_name, 0);
      continue;
    }
    char *text = NULL;
    size_t n = 0;
    if (slurp(q->dirfd, e->d_name, &text, &n) == 0) {
      rc = fn(ctx, text, n);
      free(text);
    }
  }
  closedir(d);
  return rc;
}
