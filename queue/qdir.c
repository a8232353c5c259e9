/* qdir.c: owns the trust placed in the queue directory and in the files
 * inside it, whatever the backend.
 *
 * A queue directory carries a user's calls and results, so a name on
 * the way to it that another user could plant or swap would hand them
 * the queue.  The directory is therefore never reached by a path string
 * that the kernel resolves in one go: dt__qdir_open walks [queue] path
 * from / one component at a time with openat(O_PATH | O_DIRECTORY |
 * O_NOFOLLOW), checks each directory through its descriptor (fstat, so
 * what is checked is what is used), creates a missing one (mkdirat 0700)
 * only once its parent has passed, and follows a symbolic link only when
 * root or the user owns it (a link of another user is refused, whatever
 * fs.protected_symlinks says).  The directories above the queue must
 * belong to root or the user and be closed to others' writes unless
 * sticky (as /tmp and /dev/shm are); the queue directory itself must
 * belong to the user and be closed to group and others.
 *
 * The caller keeps the descriptor (queue.c, in the handle) and opens
 * every file of the queue relative to it with dt__qdir_openat: without
 * following a link, created with O_EXCL, and refused unless it is a
 * regular file of the user that others cannot write.  A library that
 * takes only a path (LMDB) is given /proc/self/fd/N (dt__qdir_proc_path),
 * which names the checked directory itself and no name anyone could
 * swap. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "queue/qdir.h"

/* Descriptor flags of a directory on the way: enough to look up names
 * in it and fstat it, with search permission only. */
#define DIR_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* Root and the user are trusted owners of what lies above a queue. */
static bool trusted(uid_t uid) { return uid == 0 || uid == geteuid(); }

/* Checks a directory on the way to the queue (shown: its path as
 * walked) for conf, the configured path.  Returns 0, or -EPERM with a
 * sentence in err. */
static int check_parent(const struct stat *st, const char *shown,
                        const char *conf, dt__error *err) {
  if (!trusted(st->st_uid)) {
    dt__error_set(err, 0, 0,
                  "queue directory %s lies under %s, which belongs to "
                  "another user (uid %u): they could read your calls or "
                  "replace the queue; remove it (as uid %u or root: rm -rf "
                  "%s) or set [queue] path to a directory you own",
                  conf, shown, (unsigned)st->st_uid, (unsigned)st->st_uid,
                  shown);
    return -EPERM;
  }
  if ((st->st_mode & 022) != 0 && (st->st_mode & S_ISVTX) == 0) {
    dt__error_set(err, 0, 0,
                  "queue directory %s lies under %s, which others can write "
                  "into and is not sticky (mode %03o); another user could "
                  "replace the queue; set [queue] path to a directory under "
                  "one of your own, e.g. path = "
                  "\"/dev/shm/dtask-$USER/default\"",
                  conf, shown, (unsigned)(st->st_mode & 07777));
    return -EPERM;
  }
  return 0;
}

/* Checks the queue directory itself (shown: its path as walked).
 * Returns 0, or -ENOTDIR / -EPERM with a sentence in err that says what
 * was found and what to do. */
static int check_private(const struct stat *st, const char *shown,
                         dt__error *err) {
  if (!S_ISDIR(st->st_mode)) {
    dt__error_set(err, 0, 0,
                  "queue path %s is not a directory; point [queue] path at "
                  "a directory of your own",
                  shown);
    return -ENOTDIR;
  }
  if (st->st_uid != geteuid()) {
    dt__error_set(err, 0, 0,
                  "queue directory %s belongs to uid %u, not to you (uid "
                  "%u): another user could read your calls or feed you "
                  "results; remove it (as uid %u or root: rm -rf %s) or "
                  "set [queue] path to a directory you own",
                  shown, (unsigned)st->st_uid, (unsigned)geteuid(),
                  (unsigned)st->st_uid, shown);
    return -EPERM;
  }
  if ((st->st_mode & 077) != 0) {
    dt__error_set(err, 0, 0,
                  "queue directory %s has mode %03o: group or others can "
                  "reach it, so they could read your calls or feed you "
                  "results; run chmod 700 %s",
                  shown, (unsigned)(st->st_mode & 0777), shown);
    return -EPERM;
  }
  return 0;
}

/* Appends "/name" to the walked path shown (size PATH_MAX), or takes its
 * last component off for "..". */
static void shown_step(char *shown, const char *name) {
  size_t n = strlen(shown);
  if (strcmp(name, "..") == 0) {
    char *slash = strrchr(shown, '/');
    if (slash != NULL)
      *slash = '\0';
    return;
  }
  snprintf(shown + n, PATH_MAX - n, "/%s", name);
}

/* Looks up name in the directory cur, creating it (0700) when it is
 * missing and create is set.  Returns 0 with *next a directory
 * descriptor (DIR_FLAGS, the caller's to close); 1 when name is a
 * symbolic link, with *lst its lstat; or a negative errno with a
 * sentence in err (shown: the path of name). */
static int step(int cur, const char *name, bool create, const char *shown,
                int *next, struct stat *lst, dt__error *err) {
  for (int tries = 0;; tries++) {
    int fd = openat(cur, name, DIR_FLAGS);
    if (fd >= 0) {
      *next = fd;
      return 0;
    }
    int e = errno;
    if (e == ENOENT && create && tries < 3) {
      if (mkdirat(cur, name, 0700) == 0 || errno == EEXIST)
        continue;
      e = errno;
      dt__error_set(err, 0, 0, "cannot create queue directory %s: %s", shown,
                    strerror(e));
      return -e;
    }
    if ((e == ELOOP || e == ENOTDIR) &&
        fstatat(cur, name, lst, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(lst->st_mode))
        return 1;
      dt__error_set(err, 0, 0,
                    "queue path %s is not a directory; point [queue] path "
                    "at a directory of your own",
                    shown);
      return -ENOTDIR;
    }
    dt__error_set(err, 0, 0, "queue directory %s: %s", shown, strerror(e));
    return -e;
  }
}

/* Walks the absolute path conf from /, creating what is missing, as the
 * file's comment says.  Returns 0 with *out the queue directory's
 * descriptor (the caller's to close), or a negative errno with a
 * sentence in err. */
static int walk(const char *conf, int *out, dt__error *err) {
  char rest[PATH_MAX], shown[PATH_MAX] = "", target[PATH_MAX];
  int links = 0, rc = 0;
  struct stat st;

  if (snprintf(rest, sizeof rest, "%s", conf) >= (int)sizeof rest) {
    dt__error_set(err, 0, 0, "queue path %s is too long", conf);
    return -ENAMETOOLONG;
  }
  int cur = open("/", DIR_FLAGS);
  if (cur < 0) {
    rc = -errno;
    dt__error_set(err, 0, 0, "cannot open /: %s", strerror(-rc));
    return rc;
  }
  for (;;) {
    char *p = rest;
    while (*p == '/')
      p++;
    if (*p == '\0')
      break;
    size_t n = strcspn(p, "/");
    char name[NAME_MAX + 1];
    if (n > NAME_MAX) {
      dt__error_set(err, 0, 0, "queue path %s has a name too long", conf);
      rc = -ENAMETOOLONG;
      break;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    memmove(rest, p + n, strlen(p + n) + 1);
    if (strcmp(name, ".") == 0)
      continue;
    bool last = rest[strspn(rest, "/")] == '\0';
    char here[PATH_MAX];
    snprintf(here, sizeof here, "%s", shown);
    shown_step(here, name);
    int next = -1;
    rc = step(cur, name, true, here[0] ? here : "/", &next, &st, err);
    if (rc == 1) {
      /* A link: followed only when root or the user owns it (it lies in
       * a directory that has passed, so nobody else can swap it). */
      if (!trusted(st.st_uid)) {
        dt__error_set(err, 0, 0,
                      "queue path %s: %s is a symbolic link of another user "
                      "(uid %u), which dtask does not follow: they could "
                      "point it at a tree of theirs; remove it (as uid %u or "
                      "root: rm %s) or set [queue] path to a directory you "
                      "own",
                      conf, here, (unsigned)st.st_uid, (unsigned)st.st_uid,
                      here);
        rc = -EPERM;
        break;
      }
      ssize_t t = readlinkat(cur, name, target, sizeof target - 1);
      if (++links > DT__QDIR_MAX_LINKS || t <= 0 ||
          (size_t)t + strlen(rest) + 2 > sizeof rest) {
        dt__error_set(err, 0, 0, "queue path %s: cannot follow the link %s",
                      conf, here);
        rc = -ELOOP;
        break;
      }
      target[t] = '\0';
      memmove(rest + t + 1, rest, strlen(rest) + 1);
      memcpy(rest, target, (size_t)t);
      rest[t] = '/';
      if (target[0] == '/') {
        close(cur);
        shown[0] = '\0';
        cur = open("/", DIR_FLAGS);
        if (cur < 0) {
          rc = -errno;
          dt__error_set(err, 0, 0, "cannot open /: %s", strerror(-rc));
          return rc;
        }
      }
      continue;
    }
    if (rc != 0)
      break;
    close(cur);
    cur = next;
    snprintf(shown, sizeof shown, "%s", here);
    if (fstat(cur, &st) != 0) {
      rc = -errno;
      dt__error_set(err, 0, 0, "queue directory %s: %s", shown,
                    strerror(-rc));
      break;
    }
    /* The queue directory itself is checked once the walk ends. */
    if (!last && (rc = check_parent(&st, shown, conf, err)) != 0)
      break;
  }
  if (rc == 0 && fstat(cur, &st) != 0) {
    rc = -errno;
    dt__error_set(err, 0, 0, "queue directory %s: %s", conf, strerror(-rc));
  }
  if (rc == 0)
    rc = check_private(&st, shown[0] ? shown : "/", err);
  if (rc != 0) {
    close(cur);
    return rc;
  }
  *out = cur;
  return 0;
}

/* Opens the queue directory path (absolute), or its subdirectory sub
 * (one name, no slash; NULL or "" for path itself), creating what is
 * missing with mode 0700, without following a name that another user
 * could have planted or could swap (the walk of the file's comment).
 * path and sub must belong to the user and be closed to group and
 * others.  Returns 0 with *dirfd an O_PATH descriptor of the directory,
 * owned by the caller (close it); or a negative errno with *dirfd -1 and
 * a sentence in err that names the path, what was found and what to do
 * (-EPERM: another user's, open to others, or under a directory another
 * user could change; -ENOTDIR; -EINVAL: a relative path or a bad sub). */
int dt__qdir_open(const char *path, const char *sub, int *dirfd,
                  dt__error *err) {
  int fd = -1, rc;
  *dirfd = -1;
  if (path[0] != '/') {
    dt__error_set(err, 0, 0,
                  "queue path %s is not absolute; write [queue] path from /",
                  path);
    return -EINVAL;
  }
  char shown[PATH_MAX];
  bool has_sub = sub != NULL && sub[0] != '\0';
  snprintf(shown, sizeof shown, "%s/%s", path, has_sub ? sub : "");
  if (has_sub && (strchr(sub, '/') != NULL || strcmp(sub, ".") == 0 ||
                  strcmp(sub, "..") == 0)) {
    dt__error_set(err, 0, 0, "queue directory %s: \"%s\" is not one name",
                  shown, sub);
    return -EINVAL;
  }
  rc = walk(path, &fd, err);
  if (rc != 0 || !has_sub) {
    *dirfd = rc == 0 ? fd : -1;
    return rc;
  }
  int next;
  struct stat st;
  rc = step(fd, sub, true, shown, &next, &st, err);
  close(fd);
  if (rc == 1) {
    dt__error_set(err, 0, 0,
                  "queue directory %s is a symbolic link (of uid %u), which "
                  "dtask does not follow inside a queue directory; remove "
                  "it: rm %s",
                  shown, (unsigned)st.st_uid, shown);
    return -EPERM;
  }
  if (rc != 0)
    return rc;
  if (fstat(next, &st) != 0) {
    rc = -errno;
    dt__error_set(err, 0, 0, "queue directory %s: %s", shown, strerror(-rc));
  } else {
    rc = check_private(&st, shown, err);
  }
  if (rc != 0) {
    close(next);
    return rc;
  }
  *dirfd = next;
  return 0;
}

/* Opens the file name of the queue directory dirfd (its path dir, for
 * messages) with flags (O_RDWR, or O_WRONLY | O_APPEND; O_CREAT: create
 * it, 0600 and O_EXCL, when it is missing), never following a link, and
 * close-on-exec.  The file must be a regular file of the user that
 * others cannot write.  Returns 0 with *fd owned by the caller, or a
 * negative errno with *fd -1 and a sentence in err that names the file,
 * what it is and what to do (-ELOOP: a link; -EPERM: another user's,
 * writable by others, or not a regular file). */
int dt__qdir_openat(int dirfd, const char *dir, const char *name, int flags,
                    int *fd, dt__error *err) {
  int base = (flags & ~(O_CREAT | O_EXCL)) | O_NOFOLLOW | O_CLOEXEC |
             O_NOCTTY | O_NONBLOCK;
  int f = -1, e = 0;
  struct stat st;
  *fd = -1;
  for (int tries = 0; f < 0; tries++) {
    f = openat(dirfd, name, base);
    if (f >= 0)
      break;
    e = errno;
    if (e == ENOENT && (flags & O_CREAT) && tries < 3) {
      f = openat(dirfd, name, base | O_CREAT | O_EXCL, 0600);
      if (f >= 0)
        break;
      e = errno;
      if (e == EEXIST)
        continue;
    }
    if (e == ELOOP)
      dt__error_set(err, 0, 0,
                    "%s/%s is a symbolic link, which dtask does not follow "
                    "in a queue directory (it could lead to another user's "
                    "file); remove it: rm %s/%s",
                    dir, name, dir, name);
    else
      dt__error_set(err, 0, 0, "cannot open %s/%s: %s", dir, name,
                    strerror(e));
    return -e;
  }
  if (fstat(f, &st) != 0) {
    e = errno;
    dt__error_set(err, 0, 0, "cannot open %s/%s: %s", dir, name,
                  strerror(e));
    close(f);
    return -e;
  }
  const char *why = !S_ISREG(st.st_mode)       ? "is not a regular file"
                    : st.st_uid != geteuid()    ? "belongs to another user"
                    : (st.st_mode & 022) != 0   ? "is writable by others"
                                                : NULL;
  if (why != NULL) {
    dt__error_set(err, 0, 0,
                  "%s/%s %s (uid %u, mode %03o): another user could read "
                  "your calls or feed you results through it; remove it "
                  "(rm -f %s/%s; dtask makes a new one, 0600)",
                  dir, name, why, (unsigned)st.st_uid,
                  (unsigned)(st.st_mode & 07777), dir, name);
    close(f);
    return -EPERM;
  }
  int fl = fcntl(f, F_GETFL);
  if (fl >= 0)
    fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
  *fd = f;
  return 0;
}

/* Writes into buf (size bytes) the path /proc/self/fd/N that names the
 * directory dirfd itself, for a library that opens files by path: the
 * kernel resolves it to the checked directory, not by its names.
 * Returns 0, or -ENAMETOOLONG. */
int dt__qdir_proc_path(int dirfd, char *buf, size_t size) {
  int n = snprintf(buf, size, "/proc/self/fd/%d", dirfd);
  return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
