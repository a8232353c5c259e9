/* tripfile.c: owns the callers' round-trip counts kept as the file
 * "trips" of a queue directory, the trips_add, trips_list and
 * trips_reset operations of the "lmdb" backend.
 *
 * The file is a header and up to DT__TRIPS_SYMBOLS slots, each a
 * dt__trips as it lies in memory (the same machine writes and reads
 * it), filled in order:
 *
 *     "dtask-trips 2\n", zero-padded to HEAD bytes (2: with the cache's
 *                             hits and misses)
 *     slot 0, slot 1, ...     symbol "" ends the list
 *
 * Every access holds flock on the file: a caller adding its counts
 * (once a second at most, shim/tripstat.c) takes it without waiting and
 * leaves its counts for later when another holds it, so a stopped
 * process never stalls a call; a reader waits for it at most a second.
 * The file is read with pread, never mapped, so that one truncated
 * under a caller costs it a short read, not a SIGBUS.  Whatever the
 * file holds is checked before use: a slot whose symbol is not a name is
 * skipped, a file without the header is started again.  A reset removes
 * the file; a caller that opened it just before adds to the removed
 * one, which loses counts older than the pool that reset them. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue/tripfile.h"

#define NAME "trips"
#define HEAD 64
static const char MAGIC[] = "dtask-trips 2\n";

/* The offset of slot i. */
static off_t slot_off(int i) {
  return (off_t)HEAD + (off_t)i * (off_t)sizeof(dt__trips);
}

/* Reads exactly n bytes at off; 0, -ENODATA past the end, or -errno. */
static int read_at(int fd, void *buf, size_t n, off_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -errno;
    if (r == 0)
      return -ENODATA;
    got += (size_t)r;
  }
  return 0;
}

/* Writes exactly n bytes at off; 0 or -errno. */
static int write_at(int fd, const void *buf, size_t n, off_t off) {
  size_t put = 0;
  while (put < n) {
    ssize_t w = pwrite(fd, (const char *)buf + put, n - put, off + (off_t)put);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return w < 0 ? -errno : -EIO;
    put += (size_t)w;
  }
  return 0;
}

/* Whether name (cap bytes) is a symbol, NUL-terminated. */
static bool is_symbol(const char *name, size_t cap) {
  size_t n = strnlen(name, cap);
  return n < cap && dt__trips_symbol_ok(name, n);
}

/* Opens the file (flags O_RDONLY, or O_RDWR | O_CREAT) through the
 * directory's descriptor and locks it (how: LOCK_SH or LOCK_EX), trying
 * for at most wait_ms (0: once).  Returns the descriptor, or -EAGAIN
 * when another process holds the lock, -ENOENT, or -errno. */
static int open_locked(dt__queue *q, int flags, int how, int wait_ms) {
  /* O_NONBLOCK: a FIFO planted under the name must not block the open. */
  int fd = openat(q->dirfd, NAME, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                  0600);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -EPROTO;
  }
  for (int tries = 0;; tries++) {
    if (flock(fd, how | LOCK_NB) == 0)
      return fd;
    if (errno != EWOULDBLOCK || tries >= wait_ms) {
      int e = errno == EWOULDBLOCK ? EAGAIN : errno;
      close(fd);
      return -e;
    }
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
}

/* Whether fd starts with the header; writes it (after emptying the
 * file) when it does not.  0 or -errno. */
static int ensure_head(int fd) {
  char head[HEAD];
  if (read_at(fd, head, sizeof head, 0) == 0 &&
      memcmp(head, MAGIC, sizeof MAGIC - 1) == 0)
    return 0;
  if (ftruncate(fd, 0) != 0)
    return -errno;
  memset(head, 0, sizeof head);
  memcpy(head, MAGIC, sizeof MAGIC - 1);
  return write_at(fd, head, sizeof head, 0);
}

/* Adds d to the slot of its symbol in fd, taking the first free slot
 * when it has none.  tmp is a dt__trips to work in.  0, -ENOSPC when
 * every slot is taken, or -errno. */
static int add_one(int fd, const dt__trips *d, dt__trips *tmp) {
  int i;
  for (i = 0; i < DT__TRIPS_SYMBOLS; i++) {
    char name[sizeof tmp->symbol];
    int rc = read_at(fd, name, sizeof name, slot_off(i));
    if (rc == -ENODATA || (rc == 0 && name[0] == '\0'))
      break; /* the first free slot */
    if (rc != 0)
      return rc;
    if (strncmp(name, d->symbol, sizeof name) == 0)
      break;
  }
  if (i == DT__TRIPS_SYMBOLS)
    return -ENOSPC;
  int rc = read_at(fd, tmp, sizeof *tmp, slot_off(i));
  if (rc == -ENODATA || (rc == 0 && tmp->symbol[0] == '\0')) {
    memset(tmp, 0, sizeof *tmp);
    memcpy(tmp->symbol, d->symbol, sizeof tmp->symbol);
  } else if (rc != 0) {
    return rc;
  }
  tmp->calls += d->calls;
  tmp->retries += d->retries;
  tmp->hits += d->hits;
  tmp->misses += d->misses;
  for (int b = 0; b < DT__HIST_BUCKETS; b++)
    tmp->hist[b] += d->hist[b];
  return write_at(fd, tmp, sizeof *tmp, slot_off(i));
}

/* The trips_add operation: adds d[0, n) to the file, created when
 * missing.  slot is not used.  Returns 0, -EAGAIN when another process
 * holds the file (nothing added), -ENOSPC when some symbol found no
 * slot (the others were added), or -errno. */
int dt__tripfile_add(dt__queue *q, uint32_t slot, const dt__trips *d,
                     size_t n) {
  (void)slot;
  if (n == 0)
    return 0;
  dt__trips *tmp = malloc(sizeof *tmp);
  if (tmp == NULL)
    return -ENOMEM;
  int fd = open_locked(q, O_RDWR | O_CREAT, LOCK_EX, 0);
  int rc = fd < 0 ? fd : ensure_head(fd);
  int full = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (!is_symbol(d[i].symbol, sizeof d[i].symbol))
      continue;
    rc = add_one(fd, &d[i], tmp);
    if (rc == -ENOSPC) {
      full = rc;
      rc = 0;
    }
  }
  if (fd >= 0)
    close(fd); /* and the lock */
  free(tmp);
  return rc != 0 ? rc : full;
}

/* The trips_list operation: fn with each slot that holds a symbol, in
 * the file's order.  Returns fn's first nonzero answer, 0 (also when
 * there is no file yet), -EAGAIN when another process held the file for
 * a second, or -errno. */
int dt__tripfile_list(dt__queue *q,
                      int (*fn)(void *ctx, const dt__trips *t), void *ctx) {
  int fd = open_locked(q, O_RDONLY, LOCK_SH, 1000);
  if (fd == -ENOENT)
    return 0;
  if (fd < 0)
    return fd;
  dt__trips *t = malloc(sizeof *t);
  char head[HEAD];
  int rc = t == NULL ? -ENOMEM : 0;
  /* A file without the header (not of this version) lists nothing. */
  bool ours = rc == 0 && read_at(fd, head, sizeof head, 0) == 0 &&
              memcmp(head, MAGIC, sizeof MAGIC - 1) == 0;
  for (int i = 0; ours && rc == 0 && i < DT__TRIPS_SYMBOLS; i++) {
    int r = read_at(fd, t, sizeof *t, slot_off(i));
    if (r != 0 || t->symbol[0] == '\0')
      break;
    if (is_symbol(t->symbol, sizeof t->symbol))
      rc = fn(ctx, t);
  }
  close(fd);
  free(t);
  return rc;
}

/* The trips_reset operation: removes the file.  0 or -errno. */
int dt__tripfile_reset(dt__queue *q) {
  return unlinkat(q->dirfd, NAME, 0) == 0 || errno == ENOENT ? 0 : -errno;
}
