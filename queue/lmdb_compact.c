/* lmdb_compact.c: owns the rewriting of an "lmdb" queue's data.mdb into a
 * compact copy when no process has it open and most of its pages are
 * free.
 *
 * Why.  LMDB never gives a page back to the file: a page freed by one
 * transaction is reused by a later one, once no reader still sees it.
 * Bursts of concurrent callers (a reader preempted in its short read
 * transaction while writers go on) leave a queue with hundreds of free
 * pages around a few live ones, for good.  Every write transaction then
 * loads LMDB's list of free pages and writes back what it did not use:
 * its cost grows with that list.  Measured on a queue aged by bursts
 * (279 free pages of 283): 1.15 us per write transaction against 0.33 us
 * for the same queue compacted, and a third fewer calls per second.  A
 * compact copy (LMDB's own mdb_env_copyfd2 with MDB_CP_COMPACT) holds the
 * same records in as many pages as they need, with no free list.
 *
 * How, safely.  LMDB holds a shared lock on the first byte of lock.mdb
 * in every process that has the environment open.  This file takes that
 * byte exclusive (F_SETLK, never waiting): if it cannot, someone has the
 * queue open and nothing is done.  While it holds the byte, no process
 * can open the queue (LMDB's open waits on that lock before it opens
 * data.mdb), so the copy is read with MDB_NOLOCK, written beside the
 * original as data.mdb.compact and renamed over it.  The lock file's
 * shared state (the last transaction id, whose parity picks a meta
 * page) must then describe the new file: the environment is opened once
 * more, normally, in this process, whose exclusive lock makes LMDB take
 * it as the first opener and set lock.mdb up afresh from the new file;
 * that open turns the byte shared, which lets waiting openers in, and is
 * closed at once.  An opener that had opened the old data.mdb before
 * its wait sees that LMDB's file is another one and opens again
 * (queue/lmdb_env.c).
 *
 * A pool's supervisor asks first, cheaply and with its own environment
 * still open, whether the rewrite is worth it (dt__lmdb_compact_worth);
 * only then does it close its environment and call dt__lmdb_compact,
 * which decides again under the lock.
 *
 * Files are reached through the queue directory's descriptor
 * (queue/qdir.c).  Besides that and the log, this file uses only
 * queue/lmdb_env.h's constants, its count of free pages and its error
 * mapping. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/log.h"
#include "queue/lmdb_compact.h"
#include "queue/lmdb_env.h"
#include "queue/qdir.h"

#define COPY "data.mdb.compact"

/* Counts the pages of env's free list and its pages in use (up to the
 * last page written), in one read-only transaction.  Returns 0 or an
 * LMDB error. */
static int count_pages(MDB_env *env, uint64_t *nfree, uint64_t *used) {
  MDB_envinfo info;
  MDB_txn *txn;
  int rc = mdb_env_info(env, &info);
  if (rc != 0)
    return rc;
  *used = (uint64_t)info.me_last_pgno + 1;
  rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
  if (rc != 0)
    return rc;
  rc = dt__lmdb_free_pages(txn, nfree);
  mdb_txn_abort(txn);
  return rc;
}

/* Whether a queue with nfree of used pages free is worth rewriting: at
 * least DT__LMDB_COMPACT_MIN free pages, and more free pages than live
 * ones. */
static int worth(uint64_t nfree, uint64_t used) {
  return nfree >= DT__LMDB_COMPACT_MIN && nfree > used - nfree;
}

/* Whether the queue of env (open in this process, as a handle's) is
 * worth rewriting now, by the same measure as dt__lmdb_compact's.
 * Returns 1 or 0, or a negative errno. */
int dt__lmdb_compact_worth(MDB_env *env) {
  uint64_t nfree, used;
  int rc = count_pages(env, &nfree, &used);
  return rc != 0 ? dt__lmdb_err(rc) : worth(nfree, used);
}

/* Opens an environment at via (the directory's /proc path) as every
 * process of the queue does (its databases, reader slots and map_size),
 * with flags, into *out.  Returns 0 (*out to close) or a negative errno
 * (nothing left open). */
static int open_env(const char *via, uint64_t map_size, unsigned flags,
                    MDB_env **out) {
  MDB_env *env;
  int rc = mdb_env_create(&env);
  if (rc != 0)
    return dt__lmdb_err(rc);
  rc = mdb_env_set_maxdbs(env, DT__LMDB_MAX_DBS);
  if (rc == 0)
    rc = mdb_env_set_maxreaders(env, DT__LMDB_MAX_READERS);
  if (rc == 0)
    rc = mdb_env_set_mapsize(env, (size_t)map_size);
  if (rc == 0)
    rc = mdb_env_open(env, via, flags, 0600);
  if (rc != 0) {
    mdb_env_close(env);
    return dt__lmdb_err(rc);
  }
  *out = env;
  return 0;
}

/* With the lock byte held: writes the compact copy of the environment
 * at via (the directory's /proc path) to COPY in dirfd, if worth it.
 * *nfree, *used and *after get the page counts.  Returns 1 when COPY was
 * written (closed, complete), 0 when not worth it, or a negative errno
 * (COPY removed). */
static int write_copy(int dirfd, const char *via, uint64_t map_size,
                      uint64_t *nfree, uint64_t *used, uint64_t *after) {
  MDB_env *env;
  int rc = open_env(via, map_size, MDB_NOLOCK | MDB_RDONLY | MDB_NORDAHEAD,
                    &env);
  if (rc != 0)
    return rc;
  MDB_stat ms;
  rc = count_pages(env, nfree, used);
  if (rc == 0)
    rc = mdb_env_stat(env, &ms);
  if (rc != 0 || !worth(*nfree, *used)) {
    mdb_env_close(env);
    return dt__lmdb_err(rc);
  }
  (void)unlinkat(dirfd, COPY, 0); /* left by a copy that died */
  int fd = openat(dirfd, COPY,
                  O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    rc = -errno;
    mdb_env_close(env);
    return rc;
  }
  rc = dt__lmdb_err(mdb_env_copyfd2(env, fd, MDB_CP_COMPACT));
  mdb_env_close(env);
  struct stat st;
  if (rc == 0 && fstat(fd, &st) != 0)
    rc = -errno;
  if (close(fd) != 0 && rc == 0)
    rc = -errno;
  if (rc != 0) {
    (void)unlinkat(dirfd, COPY, 0);
    return rc;
  }
  *after = (uint64_t)st.st_size / (ms.ms_psize ? ms.ms_psize : 4096);
  return 1;
}

/* Sets lock.mdb up afresh from the data.mdb now in place: opens the
 * environment at via as the queue does, while this process holds the
 * lock byte exclusive (so LMDB takes it as the first opener), and closes
 * it.  Returns 0 or a negative errno. */
static int reset_locks(const char *via, uint64_t map_size) {
  MDB_env *env;
  int rc = open_env(via, map_size, DT__LMDB_FLAGS, &env);
  if (rc == 0)
    mdb_env_close(env);
  return rc;
}

/* Rewrites data.mdb of the queue directory dirfd (path dir, for
 * messages) as a compact copy, when no process has the queue open
 * (this one must have closed its own environment) and it is worth it
 * (see worth()).  map_size is the queue's.  Logs one line when it
 * rewrites.  Returns 1 when rewritten, 0 when there was nothing to gain,
 * -EBUSY when a process has the queue open (nothing done), or another
 * negative errno (data.mdb as it was, unless the error came after the
 * rename: then the new file is in place and lock.mdb is set up by the
 * next opener that finds itself alone). */
int dt__lmdb_compact(int dirfd, const char *dir, uint64_t map_size) {
  int lock;
  char via[64];
  dt__error ignored = {0, 0, ""};
  int rc = dt__qdir_openat(dirfd, dir, "lock.mdb", O_RDWR | O_CREAT, &lock,
                           &ignored);
  if (rc != 0)
    return rc;
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0,
                     .l_len = 1};
  if (fcntl(lock, F_SETLK, &fl) != 0) {
    close(lock);
    return -EBUSY;
  }
  uint64_t nfree = 0, used = 0, after = 0;
  rc = dt__qdir_proc_path(dirfd, via, sizeof via) != 0 ? -ENAMETOOLONG : 0;
  if (rc == 0)
    rc = write_copy(dirfd, via, map_size, &nfree, &used, &after);
  if (rc == 1 && renameat(dirfd, COPY, dirfd, "data.mdb") != 0) {
    int e = errno;
    (void)unlinkat(dirfd, COPY, 0);
    rc = -e;
  }
  if (rc == 1) {
    int lrc = reset_locks(via, map_size);
    if (lrc != 0)
      rc = lrc;
  }
  close(lock); /* after reset_locks' environment is closed */
  if (rc == 1)
    dt__log(DT__LOG_INFO,
            "compacted the LMDB queue in %s: %llu of its %llu pages were "
            "free; it now holds %llu",
            dir, (unsigned long long)nfree, (unsigned long long)used,
            (unsigned long long)after);
  return rc;
}
