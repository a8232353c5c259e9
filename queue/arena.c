/* arena.c: owns the arena files of a queue directory (queue/arena.h has
 * what they are for).
 *
 * A file arena.SLOT is made by the thread that holds waiter slot SLOT, at
 * its first call with big buffers, and replaces whatever a thread that
 * held the slot before left there (unlinked first: a worker that still
 * maps the old one keeps its pages, and the new one starts zeroed).  Its
 * pages are allocated when it is made or grown (fallocate), so that a
 * full tmpfs is an error then, never a SIGBUS in the middle of a copy.
 * It grows to a power of two and never shrinks while its thread lives;
 * the thread unlinks it when it exits, and a pool's sweep unlinks those
 * of threads that died.
 *
 * The header (little-endian, the host's; nothing here crosses hosts):
 *   "DTA1" u32 slot u64 stamp u32 owner pid u32 owner tid
 * A task names its arena by slot and stamp; a worker maps the file and
 * serves the task only when the header says that stamp, so that a file
 * made since by another thread is never read as this task's.
 *
 * A worker keeps at most VIEWS arenas mapped (least recently used out),
 * without a descriptor: mapped, the file needs none.  It lets go of
 * those whose file is gone or replaced when it has nothing to do
 * (dt__arena_views_tidy), so that a dead caller's pages are freed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "queue/arena.h"
#include "queue/proc.h"
#include "queue/qdir.h"

static const uint8_t arena_magic[4] = {'D', 'T', 'A', '1'};
/* The header's fields: magic, slot, stamp, owner pid and tid. */
#define OFF_SLOT 4
#define OFF_STAMP 8
#define OFF_PID 16
#define OFF_TID 20
#define HEAD_USED 24
/* The smallest data area made: a call just over the threshold should
 * not grow it again at once. */
#define ARENA_FIRST ((uint64_t)1 << 20)
/* The views a worker keeps mapped. */
#define VIEWS 8
/* A file whose header was never written (its maker died at once) is
 * unlinked by the sweep once it is this old. */
#define UNWRITTEN_S 60

/* Writes the name of slot's arena into buf (at least 24 bytes). */
static void arena_name(char *buf, size_t size, uint32_t slot) {
  snprintf(buf, size, "arena.%u", (unsigned)slot);
}

/* A stamp no other arena of the directory has had: random, never 0. */
static uint64_t new_stamp(void) {
  uint64_t s = 0;
  if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
    s = dt__now_ns() ^ (uint64_t)getpid() << 32 ^
        (uint64_t)syscall(SYS_gettid) * 0x9e3779b97f4a7c15ull;
  return s != 0 ? s : 1;
}

/* The file size that holds need data bytes: a power of two of at least
 * ARENA_FIRST, and at least twice the last one (old, 0: none). */
static uint64_t arena_len(uint64_t need, uint64_t old) {
  uint64_t d = ARENA_FIRST;
  while (d < need || d <= old)
    d <<= 1;
  if (d > DT__ARENA_MAX)
    d = DT__ARENA_MAX;
  return DT__ARENA_HEAD + d;
}

/* Gives fd len bytes of allocated pages (fallocate), so that a full
 * filesystem says ENOSPC now, never SIGBUS in a copy later.  Returns 0
 * or a negative errno: -EOPNOTSUPP where the filesystem cannot allocate
 * ahead (the call's buffers then go in its record). */
static int arena_size(int fd, uint64_t len) {
  return fallocate(fd, 0, 0, (off_t)len) == 0 ? 0 : -errno;
}

/* Makes sure the calling thread's arena a, for waiter slot slot of the
 * queue directory dirfd (path dir, for messages), has at least need data
 * bytes: made when a has none (or one of another slot, which it lets go
 * of; or one its process's parent made, never mapped here), grown when
 * smaller.  a is the
 * thread's own; a file made here belongs to it until dt__arena_drop.
 * Returns 0, -E2BIG (need past DT__ARENA_MAX), or the errno of a file
 * that cannot be made, grown or mapped (-ENOSPC: the filesystem is
 * full), with a sentence in err; a keeps what it had then. */
int dt__arena_reserve(dt__arena *a, int dirfd, const char *dir,
                      uint32_t slot, uint64_t need, dt__error *err) {
  int pid = getpid();
  char name[24];
  int fd = -1, rc;

  if (need > DT__ARENA_MAX) {
    dt__error_set(err, 0, 0, "a call's buffers take %llu bytes, more than "
                  "an arena holds", (unsigned long long)need);
    return -E2BIG;
  }
  if (a->map != NULL && a->pid != pid)
    memset(a, 0, sizeof *a); /* the parent's, not mapped here: see below */
  else if (a->map != NULL && a->slot != slot)
    dt__arena_drop(a, dirfd);
  if (a->map != NULL && a->len - DT__ARENA_HEAD >= need)
    return 0;
  arena_name(name, sizeof name, slot);
  bool fresh = a->map == NULL;
  if (fresh && unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) {
    rc = -errno;
    dt__error_set(err, 0, 0, "cannot replace %s/%s: %s", dir, name,
                  strerror(-rc));
    return rc;
  }
  rc = dt__qdir_openat(dirfd, dir, name, fresh ? O_RDWR | O_CREAT : O_RDWR,
                       &fd, err);
  if (rc != 0)
    return rc;
  uint64_t len = arena_len(need, fresh ? 0 : a->len - DT__ARENA_HEAD);
  rc = arena_size(fd, len);
  void *m = MAP_FAILED;
  if (rc == 0) {
    m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
      rc = -errno;
  }
  close(fd);
  if (rc != 0) {
    dt__error_set(err, 0, 0, "cannot give %s/%s %llu bytes: %s%s", dir, name,
                  (unsigned long long)len, strerror(-rc),
                  rc == -ENOSPC ? " (the filesystem holding the queue is "
                                  "full)"
                                : "");
    if (fresh)
      unlinkat(dirfd, name, 0);
    return rc;
  }
  /* A child of fork does not inherit it: it would keep the pages of a
   * file its parent's thread unlinks alive for its whole life. */
  (void)madvise(m, (size_t)len, MADV_DONTFORK);
  uint8_t *p = m;
  if (fresh) {
    uint64_t stamp = new_stamp();
    uint32_t tid = (uint32_t)syscall(SYS_gettid), upid = (uint32_t)pid;
    memcpy(p + OFF_SLOT, &slot, 4);
    memcpy(p + OFF_STAMP, &stamp, 8);
    memcpy(p + OFF_PID, &upid, 4);
    memcpy(p + OFF_TID, &tid, 4);
    memcpy(p, arena_magic, sizeof arena_magic); /* last: the header is whole */
    a->stamp = stamp;
    a->slot = slot;
    a->pid = pid;
  } else {
    munmap(a->map, (size_t)a->len);
  }
  a->map = p;
  a->len = len;
  return 0;
}

/* The calling thread lets go of its arena a for good (its thread exits,
 * or a worker may still write into it: a call given up): unlinks its
 * file from the queue directory dirfd, when it is still a's, and unmaps
 * it; an arena of this process's parent is only forgotten.  a is then
 * empty.  A worker mapping it keeps its pages until it
 * lets go too. */
void dt__arena_drop(dt__arena *a, int dirfd) {
  if (a->map == NULL)
    return;
  if (a->pid != getpid()) {
    memset(a, 0, sizeof *a); /* the parent's: never mapped here */
    return;
  }
  char name[24];
  uint8_t head[HEAD_USED];
  arena_name(name, sizeof name, a->slot);
  struct stat st;
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0) {
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
        memcmp(&head[OFF_STAMP], &a->stamp, 8) == 0)
      unlinkat(dirfd, name, 0);
    close(fd);
  }
  dt__arena_forget(a);
}

/* Unmaps a without touching its file.  a is then empty. */
void dt__arena_forget(dt__arena *a) {
  if (a->map != NULL)
    munmap(a->map, (size_t)a->len);
  memset(a, 0, sizeof *a);
}

/* ----------------------------------------------------------- the worker */

typedef struct view {
  uint8_t *map; /* NULL: free */
  uint64_t len;
  uint64_t stamp;
  uint32_t slot;
  dev_t dev;
  ino_t ino;
  uint64_t used; /* a tick: least recently used out */
} view;

/* One process's views (a worker serves one call at a time: no lock). */
static view s_views[VIEWS];
static uint64_t s_tick;

static void view_drop(view *v) {
  if (v->map != NULL)
    munmap(v->map, (size_t)v->len);
  memset(v, 0, sizeof *v);
}

/* Gives *data the data area of slot's arena in the queue directory
 * dirfd (path dir, for messages) as the task that names it with stamp
 * sees it, with at least need bytes: a view this process keeps mapped,
 * or a new one (the file opened as dt__qdir_openat checks it: the user's
 * own, regular, not a link; its header must say slot and stamp).  The
 * data stays mapped until a later call here or dt__arena_views_tidy
 * lets go of it: use it for one call.  Returns 0, -ESTALE (no such
 * arena: its thread let go of it, or made another), -EPROTO (smaller
 * than need), or the errno of an open or mmap, with a sentence in err. */
int dt__arena_view(int dirfd, const char *dir, uint32_t slot, uint64_t stamp,
                   uint64_t need, uint8_t **data, dt__error *err) {
  char name[24];
  view *v = NULL, *lru = &s_views[0];
  struct stat st;
  int fd = -1, rc;

  if (need > DT__ARENA_MAX) {
    dt__error_set(err, 0, 0, "the task asks for %llu bytes of its arena, "
                  "more than an arena holds", (unsigned long long)need);
    return -EPROTO;
  }
  for (int i = 0; i < VIEWS; i++) {
    view *w = &s_views[i];
    if (w->map != NULL && w->slot == slot && w->stamp == stamp &&
        w->len - DT__ARENA_HEAD >= need) {
      w->used = ++s_tick;
      *data = w->map + DT__ARENA_HEAD;
      return 0;
    }
    if (w->map != NULL && w->slot == slot)
      v = w; /* replaced below: an older or smaller view of the slot */
    if (lru->map != NULL && (w->map == NULL || w->used < lru->used))
      lru = w; /* a free view, or else the least recently used */
  }
  if (v == NULL)
    v = lru;
  arena_name(name, sizeof name, slot);
  rc = dt__qdir_openat(dirfd, dir, name, O_RDWR, &fd, err);
  if (rc == -ENOENT) {
    dt__error_set(err, 0, 0, "the caller's arena %s/%s is gone (its thread "
                  "let go of it)", dir, name);
    return -ESTALE;
  }
  if (rc != 0)
    return rc;
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    close(fd);
    dt__error_set(err, 0, 0, "%s/%s: %s", dir, name, strerror(-rc));
    return rc;
  }
  uint64_t len = (uint64_t)st.st_size;
  if (len < DT__ARENA_HEAD + need || len > DT__ARENA_HEAD + DT__ARENA_MAX) {
    close(fd);
    dt__error_set(err, 0, 0, "the caller's arena %s/%s has %llu bytes, not "
                  "the %llu the task names", dir, name,
                  (unsigned long long)len,
                  (unsigned long long)(DT__ARENA_HEAD + need));
    return -EPROTO;
  }
  void *m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  rc = m == MAP_FAILED ? -errno : 0;
  close(fd);
  if (rc != 0) {
    dt__error_set(err, 0, 0, "cannot map %s/%s: %s", dir, name,
                  strerror(-rc));
    return rc;
  }
  const uint8_t *h = m;
  uint32_t hslot;
  uint64_t hstamp;
  memcpy(&hslot, h + OFF_SLOT, 4);
  memcpy(&hstamp, h + OFF_STAMP, 8);
  if (memcmp(h, arena_magic, sizeof arena_magic) != 0 || hslot != slot ||
      hstamp != stamp) {
    munmap(m, (size_t)len);
    dt__error_set(err, 0, 0, "the caller's arena %s/%s is another thread's "
                  "now (its stamp is not the task's)", dir, name);
    return -ESTALE;
  }
  view_drop(v);
  v->map = m;
  v->len = len;
  v->stamp = stamp;
  v->slot = slot;
  v->dev = st.st_dev;
  v->ino = st.st_ino;
  v->used = ++s_tick;
  *data = v->map + DT__ARENA_HEAD;
  return 0;
}

/* Lets go of every view whose file is no longer in the queue directory
 * dirfd under its name (its thread exited, or made another): its pages
 * are freed once no one maps them.  A worker calls it when idle. */
void dt__arena_views_tidy(int dirfd) {
  for (int i = 0; i < VIEWS; i++) {
    view *v = &s_views[i];
    if (v->map == NULL)
      continue;
    char name[24];
    struct stat st;
    arena_name(name, sizeof name, v->slot);
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        st.st_dev != v->dev || st.st_ino != v->ino)
      view_drop(v);
  }
}

/* Lets go of every view (a worker that stops). */
void dt__arena_views_drop(void) {
  for (int i = 0; i < VIEWS; i++)
    view_drop(&s_views[i]);
}

/* ------------------------------------------------------------ the sweep */

/* Calls fn with the name of every arena file of the queue directory
 * dirfd ("arena." and a decimal slot); stops at fn's first nonzero
 * answer, which it returns.  Returns 0, fn's answer, or a negative errno
 * when the directory cannot be read. */
static int each_arena(int dirfd, int (*fn)(int dirfd, const char *name,
                                           void *ctx),
                      void *ctx) {
  int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return -errno;
  DIR *d = fdopendir(dfd);
  if (d == NULL) {
    int rc = -errno;
    close(dfd);
    return rc;
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    char *end;
    if (strncmp(e->d_name, "arena.", 6) != 0 || e->d_name[6] < '0' ||
        e->d_name[6] > '9')
      continue;
    unsigned long slot = strtoul(e->d_name + 6, &end, 10);
    if (*end == '\0' && slot <= UINT32_MAX)
      rc = fn(dirfd, e->d_name, ctx);
  }
  closedir(d);
  return rc;
}

/* each_arena's fn for dt__arena_usage: counts the regular file name
 * (ctx: two counters). */
static int count_one(int dirfd, const char *name, void *ctx) {
  uint64_t *c = ctx;
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISREG(st.st_mode)) {
    c[0]++;
    c[1] += (uint64_t)st.st_blocks * 512; /* allocated, as fallocate made */
  }
  return 0;
}

/* How many arena files the queue directory dirfd holds (*files), and the
 * bytes allocated to them (*bytes).  Returns 0 or a negative errno (both
 * 0 then). */
int dt__arena_usage(int dirfd, size_t *files, uint64_t *bytes) {
  uint64_t c[2] = {0, 0};
  int rc = each_arena(dirfd, count_one, c);
  *files = rc == 0 ? (size_t)c[0] : 0;
  *bytes = rc == 0 ? c[1] : 0;
  return rc;
}

/* Whether process pid maps the file dev:ino (its /proc/PID/maps says so):
 * false when it cannot be read (the process is gone). */
static bool maps_file(int pid, dev_t dev, ino_t ino) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return false;
  bool found = false;
  while (!found && fgets(line, sizeof line, f) != NULL) {
    unsigned maj, min;
    unsigned long long in;
    if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &in) == 3)
      found = in == (unsigned long long)ino && maj == major(dev) &&
              min == minor(dev);
    while (strchr(line, '\n') == NULL && fgets(line, sizeof line, f))
      ; /* the rest of a long line */
  }
  fclose(f);
  return found;
}

/* Reads the header of the arena file name (opened as fd, whose stat is
 * st): whether its owner is gone, as dt__arena_sweep says. */
static bool owner_gone(int fd, const struct stat *st) {
  uint8_t h[HEAD_USED];
  if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
      memcmp(h, arena_magic, sizeof arena_magic) != 0)
    return time(NULL) - st->st_mtime > UNWRITTEN_S;
  uint32_t pid, tid;
  memcpy(&pid, h + OFF_PID, 4);
  memcpy(&tid, h + OFF_TID, 4);
  return pid == 0 || pid > 0x7fffffffu || tid > 0x7fffffffu ||
         !dt__proc_thread_alive((int)pid, (int)tid) ||
         !maps_file((int)pid, st->st_dev, st->st_ino);
}

/* each_arena's fn for dt__arena_sweep: unlinks name when its owner is
 * gone, and counts it (ctx: an int). */
static int sweep_one(int dirfd, const char *name, void *ctx) {
  /* Never blocking on what is not a regular file (a FIFO's open would
   * wait for a writer): such a name is left alone. */
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return 0;
  struct stat st, now;
  bool gone = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              owner_gone(fd, &st);
  close(fd);
  /* The name may have been given to a new arena meanwhile (its slot's
   * next thread unlinks and makes one): only the file read goes. */
  if (gone && fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
      now.st_dev == st.st_dev && now.st_ino == st.st_ino &&
      unlinkat(dirfd, name, 0) == 0)
    (*(int *)ctx)++;
  return 0;
}

/* each_arena's fn for dt__arena_drop_process: unlinks name when its
 * header names this process. */
static int drop_mine(int dirfd, const char *name, void *ctx) {
  (void)ctx;
  uint8_t h[HEAD_USED];
  struct stat st;
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return 0;
  uint32_t pid = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      pread(fd, h, sizeof h, 0) == (ssize_t)sizeof h &&
      memcmp(h, arena_magic, sizeof arena_magic) == 0)
    memcpy(&pid, h + OFF_PID, 4);
  close(fd);
  if (pid == (uint32_t)getpid())
    unlinkat(dirfd, name, 0);
  return 0;
}

/* The process exits: unlinks every arena file of the queue directory
 * dirfd that a thread of this process made (threads still running keep
 * their mappings, and a call of theirs in flight is refused by its
 * worker and runs inline).  Returns 0 or a negative errno. */
int dt__arena_drop_process(int dirfd) {
  return each_arena(dirfd, drop_mine, NULL);
}

/* Unlinks, in the queue directory dirfd, every arena file whose owner
 * thread is gone or whose owner process no longer maps it (it exec'd, or
 * its pid is another process's now), and any whose header was never
 * written and that is older than UNWRITTEN_S; a name that is not a
 * regular file is left alone.  A worker that maps one keeps its pages
 * until it tidies.  Returns how many it unlinked, or a negative errno
 * when the directory cannot be read. */
int dt__arena_sweep(int dirfd) {
  int n = 0;
  int rc = each_arena(dirfd, sweep_one, &n);
  return rc < 0 ? rc : n;
}
