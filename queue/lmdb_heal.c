/* lmdb_heal.c: owns what happens to an "lmdb" queue whose files LMDB
 * cannot read: bad magic (random bytes over the start of data.mdb), a
 * file of another LMDB version, a truncated file, corrupted pages.
 *
 * Such a queue holds nothing anyone can get back, and every call of every
 * program of the image would run inline until someone removed it by
 * hand.  So when no live process has the environment open, it is moved
 * aside (data.mdb renamed to data.mdb.corrupt-TIME, kept for inspection)
 * and the open starts afresh, with one message; lock.mdb stays (an
 * opener blocked on its lock meanwhile must find the same file), and the
 * first process to open the fresh environment, alone, sets it up again
 * as LMDB always does.  When
 * a live process has it open (LMDB holds a shared lock on the first
 * byte of lock.mdb in every process that has the environment open, from
 * mdb_env_open to mdb_env_close), nothing is moved: the open fails with
 * a sentence that names that process and what to do, so callers fall
 * back as for any queue that cannot be opened (and try again later, when
 * the move can happen), and a runner refuses to start.
 *
 * Only the caller's own lock on lock.mdb decides: it is taken with
 * F_SETLK (never waiting) and held while the files are moved, so two
 * processes that find the same broken queue move it once; the second
 * sees that data.mdb is no longer the file it found broken and only opens
 * again.  Files are reached through the queue directory's descriptor
 * (queue/qdir.c), never by path. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "queue/lmdb_heal.h"
#include "queue/qdir.h"

/* The name of process pid (its comm), into buf; "?" when unknown. */
static const char *comm_of(int pid, char *buf, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  snprintf(buf, cap, "?");
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return buf;
  if (fgets(buf, (int)cap, f) != NULL)
    buf[strcspn(buf, "\n")] = '\0';
  fclose(f);
  return buf;
}

/* Moves data.mdb of the queue directory dirfd (path dir) aside, when no
 * live process has the environment open and
 * data.mdb is still the file bad describes (what the failed open found).
 * why says what LMDB found (for the messages).  Returns 0 when the open
 * may be tried again (moved here, or by another process meanwhile);
 * -EBUSY with a sentence in err when a live process has it open; another
 * negative errno with a sentence in err when it cannot be moved. */
int dt__lmdb_heal(int dirfd, const char *dir, const struct stat *bad,
                  const char *why, dt__error *err) {
  int lock;
  dt__error ignored = {0, 0, ""};
  int rc = dt__qdir_openat(dirfd, dir, "lock.mdb", O_RDWR | O_CREAT, &lock,
                           &ignored);
  if (rc != 0) {
    dt__error_set(err, 0, 0,
                  "cannot open the LMDB queue in %s: %s, and its lock.mdb "
                  "cannot be opened to move it aside (%s); remove the "
                  "directory: rm -rf %s",
                  dir, why, ignored.msg, dir);
    return rc;
  }
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0,
                     .l_len = 1};
  struct stat now;
  if (fcntl(lock, F_SETLK, &fl) != 0) {
    if (fstatat(dirfd, "data.mdb", &now, AT_SYMLINK_NOFOLLOW) == 0 &&
        (now.st_dev != bad->st_dev || now.st_ino != bad->st_ino)) {
      /* Another process moved the broken file aside since this one
       * found it, and has the fresh one open: open that. */
      close(lock);
      return 0;
    }
    struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET,
                        .l_start = 0, .l_len = 1};
    char name[32] = "?";
    int pid = fcntl(lock, F_GETLK, &who) == 0 && who.l_type != F_UNLCK
                  ? (int)who.l_pid
                  : 0;
    close(lock);
    dt__error_set(err, 0, 0,
                  "cannot open the LMDB queue in %s: %s, and process %d (%s) "
                  "still has it open, so it is not moved aside; stop the "
                  "processes using this queue (its pool: dtask status) and "
                  "it is moved aside and started afresh at the next open, "
                  "or remove the directory: rm -rf %s",
                  dir, why, pid,
                  pid > 0 ? comm_of(pid, name, sizeof name) : "?", dir);
    return -EBUSY;
  }
  if (fstatat(dirfd, "data.mdb", &now, AT_SYMLINK_NOFOLLOW) != 0 ||
      now.st_dev != bad->st_dev || now.st_ino != bad->st_ino) {
    close(lock); /* another process moved it: open again */
    return 0;
  }
  char aside[64], stamp[32];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  snprintf(aside, sizeof aside, "data.mdb.corrupt-%s", stamp);
  if (faccessat(dirfd, aside, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    snprintf(aside, sizeof aside, "data.mdb.corrupt-%s-%d", stamp,
             (int)getpid());
  if (renameat(dirfd, "data.mdb", dirfd, aside) != 0) {
    int e = errno;
    close(lock);
    dt__error_set(err, 0, 0,
                  "cannot open the LMDB queue in %s: %s, and it cannot be "
                  "moved aside (%s); remove the directory: rm -rf %s",
                  dir, why, strerror(e), dir);
    return -e;
  }
  close(lock); /* and the lock */
  dt__log(DT__LOG_ERROR,
          "the LMDB queue in %s could not be read (%s) and no process had "
          "it open: moved it aside to %s/%s and started a fresh one (calls "
          "that were queued in it are lost)",
          dir, why, dir, aside);
  return 0;
}
