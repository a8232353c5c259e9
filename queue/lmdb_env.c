/* lmdb_env.c: the LMDB environment of an "lmdb" queue: opening it with
 * its four databases (tasks, claims, results, blobs; their values are
 * queue/lmdb.c's), transactions, deleting an id, and counting entries.
 *
 * The environment is tuned for tmpfs (MDB_NOSYNC | MDB_WRITEMAP): a
 * blocking call dies with its caller anyway, so there is nothing to make
 * durable.  Every transaction is begun with dt__lmdb_begin and ended
 * with dt__lmdb_end, on every path: together they hold the lock that
 * lets a process adopt a map that another process grew.  This file
 * calls nothing else of dtask but the error record, queue/qdir.c (the
 * files opened through the directory's descriptor) and, for files LMDB
 * cannot read, queue/lmdb_heal.c. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <lmdb.h>

#include "common/error.h"
#include "queue/lmdb_env.h"
#include "queue/lmdb_heal.h"
#include "queue/qdir.h"
#include "queue/queue.h"

/* Maps an LMDB error to a negative errno (0 stays 0): MDB_NOTFOUND is
 * -ENOENT, MDB_MAP_FULL -ENOSPC, MDB_READERS_FULL -EAGAIN, a system
 * error its own errno, any other LMDB error -EIO. */
int dt__lmdb_err(int rc) {
  switch (rc) {
  case MDB_SUCCESS:
    return 0;
  case MDB_NOTFOUND:
    return -ENOENT;
  case MDB_MAP_FULL:
    return -ENOSPC;
  case MDB_READERS_FULL:
    return -EAGAIN;
  default:
    return rc > 0 ? -rc : -EIO;
  }
}

/* Room a write transaction gets without asking (dt__lmdb_room): its
 * small records, branch pages, the free list. */
#define ROOM_SLACK (256u << 10)
/* The most the file is allocated ahead at once when it must grow. */
#define ROOM_CHUNK (4u << 20)

/* Makes sure data.mdb has its pages allocated for a write transaction
 * (this process holds LMDB's writer lock, so the last page committed is
 * current) that adds up to bytes of records: up to the last page, plus
 * bytes, plus ROOM_SLACK.  With MDB_WRITEMAP, LMDB writes into the
 * mapped file: on a filesystem that is full (a tmpfs such as /dev/shm at
 * its size), a page that cannot be allocated is a SIGBUS in whichever
 * process writes it, the host program's included.  fallocate allocates
 * them ahead instead, and says ENOSPC.  The file up to the last page
 * committed is allocated already (each page was written when it was
 * first used); this process grows what it knows in steps that double
 * up to ROOM_CHUNK, so most transactions make no system call.  What the
 * processes before it allocated is a prefix of the file too (each
 * allocation starts inside the allocated part), so a process's first
 * look takes the file's allocated bytes as allocated already: one fstat
 * and one fstatfs instead of an fallocate that walks pages already
 * there.  A tmpfs (/dev/shm, the default) counts a file's data pages
 * alone; any other filesystem may count blocks of its own (extent
 * trees, indirect blocks), and ROOM_CHUNK of the count is left out
 * there.  Returns 0, or -EDQUOT
 * when the filesystem holding the queue is full (nothing written: the
 * caller aborts its transaction). */
int dt__lmdb_room(dt__lmdb_env *e, uint64_t bytes) {
  uint64_t have = __atomic_load_n(&e->reserved, __ATOMIC_RELAXED);
  if (have == UINT64_MAX || e->psize == 0)
    return 0;
  MDB_envinfo info;
  if (mdb_env_info(e->env, &info) != 0)
    return 0;
  uint64_t used = ((uint64_t)info.me_last_pgno + 1) * e->psize;
  uint64_t need = used + bytes + ROOM_SLACK;
  uint64_t cap = (uint64_t)info.me_mapsize;
  if (need > cap)
    need = cap; /* past the map, LMDB says MDB_MAP_FULL itself */
  if (have < used)
    have = used;
  if (need > have && e->chunk == 0) { /* this process's first look */
    struct stat st;
    struct statfs fs;
    uint64_t alloc = fstat(e->datafd, &st) == 0 && st.st_blocks > 0
                         ? (uint64_t)st.st_blocks * 512
                         : 0;
    uint64_t own = fstatfs(e->datafd, &fs) == 0 && fs.f_type == TMPFS_MAGIC
                       ? 0
                       : ROOM_CHUNK;
    if (alloc > own && alloc - own > have) {
      have = alloc - own;
      __atomic_store_n(&e->reserved, have, __ATOMIC_RELAXED);
    }
    e->chunk = ROOM_SLACK;
  }
  if (need <= have)
    return 0;
  /* fallocate walks every page it is given, allocated already or not
   * (4 MiB on a tmpfs: about 0.15 ms), and a process that makes one call
   * needs a few pages.  So the chunk starts at ROOM_SLACK and doubles with
   * each step this process takes, up to ROOM_CHUNK. */
  uint64_t chunk = e->chunk < ROOM_SLACK ? ROOM_SLACK : e->chunk;
  e->chunk = chunk * 2 < ROOM_CHUNK ? chunk * 2 : ROOM_CHUNK;
  uint64_t to = need + chunk < cap ? need + chunk : cap;
  int rc = fallocate(e->datafd, 0, (off_t)have, (off_t)(to - have));
  if (rc != 0 && errno == ENOSPC && to > need) {
    to = need; /* the chunk does not fit: what this transaction needs */
    rc = fallocate(e->datafd, 0, (off_t)have, (off_t)(to - have));
  }
  if (rc != 0 && errno == ENOSPC)
    return -EDQUOT;
  if (rc != 0) { /* EOPNOTSUPP and the like: nothing to check here */
    __atomic_store_n(&e->reserved, UINT64_MAX, __ATOMIC_RELAXED);
    return 0;
  }
  __atomic_store_n(&e->reserved, to, __ATOMIC_RELAXED);
  return 0;
}

/* Frees e's kept read-only transaction, if any (reset: no thread may be
 * using it), before its environment closes. */
static void drop_kept(dt__lmdb_env *e) {
  if (e->rtxn != NULL)
    mdb_txn_abort(e->rtxn);
  e->rtxn = NULL;
}

/* Begins e's kept read-only transaction into *txn when no other thread
 * uses it (taking e->rbusy), renewing the handle or, the first time and
 * after a failed renewal, beginning a new one.  A kept handle holds one
 * of the reader table's DT__LMDB_MAX_READERS slots for the process's
 * life, so none is made once half of them have ever been used at once
 * (LMDB's count only grows): the processes that keep one can never
 * leave the others without.  The caller holds e->resize shared.
 * Returns 1 when there is no kept handle to use (nothing begun: the
 * caller begins one of its own), 0, or an LMDB error (e->rbusy given
 * back, nothing kept). */
static int begin_kept(dt__lmdb_env *e, MDB_txn **txn) {
  if (__atomic_load_n(&e->nokeep, __ATOMIC_RELAXED) ||
      __atomic_exchange_n(&e->rbusy, 1, __ATOMIC_ACQUIRE) != 0)
    return 1;
  MDB_txn *kept = __atomic_load_n(&e->rtxn, __ATOMIC_RELAXED);
  MDB_envinfo info;
  if (kept == NULL && mdb_env_info(e->env, &info) == 0 &&
      info.me_numreaders >= info.me_maxreaders / 2) {
    __atomic_store_n(&e->nokeep, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&e->rbusy, 0, __ATOMIC_RELEASE);
    return 1;
  }
  int rc = kept != NULL ? mdb_txn_renew(kept) : MDB_BAD_TXN;
  if (rc != 0 && kept != NULL) {
    /* Cleared before the handle is freed: another thread's live
     * transaction can never compare equal to rtxn in dt__lmdb_end. */
    __atomic_store_n(&e->rtxn, NULL, __ATOMIC_RELAXED);
    mdb_txn_abort(kept);
  }
  if (rc != 0) {
    rc = mdb_txn_begin(e->env, NULL, MDB_RDONLY, &kept);
    if (rc != 0) {
      __atomic_store_n(&e->rbusy, 0, __ATOMIC_RELEASE);
      return rc;
    }
    __atomic_store_n(&e->rtxn, kept, __ATOMIC_RELAXED);
  }
  *txn = kept;
  return 0;
}

/* Begins a transaction (flags 0 or MDB_RDONLY) into *txn, holding
 * e->resize shared until dt__lmdb_end, and adopting first a map that
 * another process grew.  A read-only one is e's kept handle when no
 * other thread of this process uses it (begin_kept), else a new one.  A
 * write transaction gets ROOM_SLACK of room in the file (dt__lmdb_room);
 * records larger than that ask for theirs.  Returns 0 (the caller must
 * then end it with dt__lmdb_end, never with LMDB's own calls) or a
 * negative errno (nothing to end; -EDQUOT: the filesystem holding the
 * queue is full). */
int dt__lmdb_begin(dt__lmdb_env *e, unsigned flags, MDB_txn **txn) {
  for (;;) {
    pthread_rwlock_rdlock(&e->resize);
    int rc = 1;
    if (flags & MDB_RDONLY)
      rc = begin_kept(e, txn);
    if (rc == 1)
      rc = mdb_txn_begin(e->env, NULL, flags, txn);
    if (rc == 0 && !(flags & MDB_RDONLY)) {
      int room = dt__lmdb_room(e, 0);
      if (room != 0) {
        mdb_txn_abort(*txn);
        pthread_rwlock_unlock(&e->resize);
        return room;
      }
    }
    if (rc != MDB_MAP_RESIZED) {
      if (rc != 0)
        pthread_rwlock_unlock(&e->resize);
      return dt__lmdb_err(rc);
    }
    pthread_rwlock_unlock(&e->resize);
    pthread_rwlock_wrlock(&e->resize);
    mdb_env_set_mapsize(e->env, 0);
    pthread_rwlock_unlock(&e->resize);
  }
}

/* Ends a transaction begun by dt__lmdb_begin: commits (commit != 0) or
 * aborts, and releases e->resize.  e's kept read-only handle is reset
 * instead of aborted, and given back; committed (which frees it, and
 * keeps the database handles it opened for the environment), it is no
 * longer kept.  Returns the commit's result (0 for an abort). */
int dt__lmdb_end(dt__lmdb_env *e, MDB_txn *txn, int commit) {
  int rc = 0;
  if (txn == __atomic_load_n(&e->rtxn, __ATOMIC_RELAXED)) {
    /* Only the thread holding rbusy can hold the kept handle. */
    if (commit) {
      __atomic_store_n(&e->rtxn, NULL, __ATOMIC_RELAXED);
      rc = dt__lmdb_err(mdb_txn_commit(txn));
    } else {
      mdb_txn_reset(txn);
    }
    pthread_rwlock_unlock(&e->resize);
    __atomic_store_n(&e->rbusy, 0, __ATOMIC_RELEASE);
    return rc;
  }
  if (commit)
    rc = dt__lmdb_err(mdb_txn_commit(txn));
  else
    mdb_txn_abort(txn);
  pthread_rwlock_unlock(&e->resize);
  return rc;
}

/* Deletes key id from dbi inside txn (the caller's).  Returns 0, also
 * when id is not there, or a negative errno. */
int dt__lmdb_del_in(MDB_txn *txn, MDB_dbi dbi, uint64_t id) {
  uint8_t key[8];
  MDB_val k = {sizeof key, key};
  dt__lmdb_key(key, id);
  int rc = mdb_del(txn, dbi, &k, NULL);
  return rc == MDB_NOTFOUND ? 0 : dt__lmdb_err(rc);
}

/* Deletes key id from dbi in a write transaction of its own (a result,
 * or a blob).  Returns 0, also when id is not there, or a negative
 * errno (nothing deleted). */
int dt__lmdb_del(dt__lmdb_env *e, MDB_dbi dbi, uint64_t id) {
  MDB_txn *txn;
  int rc = dt__lmdb_begin(e, 0, &txn);
  if (rc != 0)
    return rc;
  rc = dt__lmdb_del_in(txn, dbi, id);
  if (rc != 0) {
    dt__lmdb_end(e, txn, 0);
    return rc;
  }
  return dt__lmdb_end(e, txn, 1);
}

/* Whether LMDB's answer mrc says that the files are not a queue it can
 * read; what it found, in words, into why (cap bytes). */
static bool unreadable(int mrc, char *why, size_t cap) {
  const char *w = mrc == MDB_INVALID ? "not an LMDB file of this version: "
                                       "bad magic, or truncated"
                  : mrc == MDB_VERSION_MISMATCH
                      ? "written by another version of LMDB"
                  : mrc == MDB_CORRUPTED || mrc == MDB_PAGE_NOTFOUND
                      ? "corrupted pages"
                      : NULL;
  if (w != NULL)
    snprintf(why, cap, "%s", w);
  return w != NULL;
}

#define TRIES 40
#define RETRY_NS 10000000L         /* 10 ms */
#define YOUNG_NS 2000000000ll      /* 2 s */

/* Whether the file st describes changed status (was made) less than
 * YOUNG_NS ago. */
static bool young(const struct stat *st) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long d = (long long)(now.tv_sec - st->st_ctim.tv_sec) * 1000000000ll +
                (now.tv_nsec - st->st_ctim.tv_nsec);
  return d >= -YOUNG_NS && d < YOUNG_NS;
}

/* One try of dt__lmdb_env_open; *mrc gets LMDB's own answer when LMDB
 * refused the files (else 0), *want the data file's identity.  -ESTALE:
 * data.mdb was replaced between its check and LMDB's open. */
static int open_once(dt__lmdb_env *e, int dirfd, const char *dir,
                     uint64_t map_size, dt__error *err, int *mrc,
                     struct stat *want) {
  MDB_txn *txn = NULL;
  char via[64];
  int rc, data = -1, lock = -1;
  struct stat got;

  *mrc = 0;
  memset(e, 0, sizeof *e);
  e->map_size = map_size;
  pthread_rwlock_init(&e->resize, NULL);
  rc = dt__qdir_openat(dirfd, dir, "data.mdb", O_RDWR | O_CREAT, &data, err);
  if (rc == 0)
    rc = dt__qdir_openat(dirfd, dir, "lock.mdb", O_RDWR | O_CREAT, &lock,
                         err);
  if (lock >= 0)
    close(lock);
  errno = 0;
  if (rc == 0 && (fstat(data, want) != 0 ||
                  dt__qdir_proc_path(dirfd, via, sizeof via) != 0)) {
    rc = errno != 0 ? -errno : -ENAMETOOLONG;
    dt__error_set(err, 0, 0, "cannot open the LMDB queue in %s: %s", dir,
                  strerror(-rc));
  }
  if (rc != 0) {
    if (data >= 0)
      close(data);
    pthread_rwlock_destroy(&e->resize);
    return rc;
  }
  rc = dt__lmdb_err(mdb_env_create(&e->env));
  if (rc == 0)
    rc = dt__lmdb_err(mdb_env_set_maxdbs(e->env, DT__LMDB_MAX_DBS));
  if (rc == 0)
    rc = dt__lmdb_err(
        mdb_env_set_maxreaders(e->env, DT__LMDB_MAX_READERS));
  if (rc == 0)
    rc = dt__lmdb_err(mdb_env_set_mapsize(e->env, (size_t)map_size));
  if (rc == 0) {
    *mrc = mdb_env_open(e->env, via, DT__LMDB_FLAGS, 0600);
    rc = dt__lmdb_err(*mrc);
  }
  if (rc != 0) {
    close(data);
    dt__error_set(err, 0, 0, "cannot open the LMDB queue in %s: %s", dir,
                  *mrc != 0 ? mdb_strerror(*mrc) : strerror(-rc));
    goto fail;
  }
  mdb_filehandle_t fd;
  if (mdb_env_get_fd(e->env, &fd) != 0 || fstat(fd, &got) != 0 ||
      got.st_dev != want->st_dev || got.st_ino != want->st_ino) {
    close(data);
    rc = -ESTALE; /* -EPERM when it happens again: see dt__lmdb_env_open */
    dt__error_set(err, 0, 0,
                  "%s/data.mdb changed while the queue opened; stop any "
                  "runner of this queue and remove it: rm -rf %s",
                  dir, dir);
    goto fail;
  }
  close(data);
  e->datafd = fd;
  MDB_stat ms;
  e->psize = mdb_env_stat(e->env, &ms) == 0 ? ms.ms_psize : 0;
  int dead = 0;
  mdb_reader_check(e->env, &dead);
  static const char *const names[] = {"tasks", "claims", "results",
                                      "blobs", "limits", "cache", "lru"};
  MDB_dbi *dbis[] = {&e->tasks,  &e->claims, &e->results, &e->blobs,
                     &e->limits, &e->cache,  &e->lru};
  /* A queue opened before has them all: a read-only transaction finds
   * them, with no writer's lock, no page written and no commit to make
   * (the first call of every process pays for this open).  Otherwise a
   * write transaction creates the missing ones. */
  if (dt__lmdb_begin(e, MDB_RDONLY, &txn) == 0) {
    int found = 0;
    for (int i = 0; found == 0 && i < 7; i++)
      found = mdb_dbi_open(txn, names[i], 0, dbis[i]);
    /* A read-only commit keeps the handles for the environment. */
    if (dt__lmdb_end(e, txn, found == 0) == 0 && found == 0)
      return 0;
  }
  txn = NULL;
  rc = dt__lmdb_begin(e, 0, &txn);
  for (int i = 0; rc == 0 && i < 7; i++) {
    int m = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
    rc = dt__lmdb_err(m);
    if (m != 0 && m != MDB_NOTFOUND && m < 0)
      *mrc = m;
  }
  if (rc == 0) {
    rc = dt__lmdb_end(e, txn, 1);
    txn = NULL;
  }
  if (rc != 0) {
    if (txn != NULL)
      dt__lmdb_end(e, txn, 0);
    dt__error_set(err, 0, 0, "cannot open the queue's databases in %s: %s",
                  dir, strerror(-rc));
    goto fail;
  }
  return 0;
fail:
  drop_kept(e); /* kept by a read above */
  if (e->env != NULL)
    mdb_env_close(e->env);
  e->env = NULL;
  pthread_rwlock_destroy(&e->resize);
  return rc;
}

/* Opens the environment in the queue directory dirfd (its path dir, for
 * messages) with a map of map_size bytes, clears the reader slots of
 * dead processes, and opens (creating) its four databases.  data.mdb and
 * lock.mdb are first opened (created) and checked through the
 * descriptor (dt__qdir_openat: no link, the user's, not writable by
 * others); LMDB, which takes a path, is given /proc/self/fd/N, the
 * checked directory itself, and its data file is then checked to be the
 * one checked here.  Files LMDB cannot read (bad magic, another version,
 * truncated, corrupted pages) are moved aside and the open tried again,
 * when no live process has them open (queue/lmdb_heal.c); a data.mdb
 * replaced between the check and LMDB's open (another process moving a
 * broken one aside) is tried again too, a few times, then refused
 * (-EPERM).  Processes that find the same broken files at once race:
 * one moves them aside and sets up fresh ones, which the others may
 * catch half made (gone for an instant, or not yet written: a file
 * younger than YOUNG_NS that a live process holds); they try again,
 * RETRY_NS apart, at most TRIES times in all.  Returns 0, or a negative
 * errno with a sentence in err and nothing left open.  Closed by
 * dt__lmdb_env_close. */
int dt__lmdb_env_open(dt__lmdb_env *e, int dirfd, const char *dir,
                      uint64_t map_size, dt__error *err) {
  int mrc, rc;
  struct stat want;
  char why[96];
  int heals = 0;
  for (int tries = 1;; tries++) {
    rc = open_once(e, dirfd, dir, map_size, err, &mrc, &want);
    if (rc == 0)
      return 0;
    bool last = tries >= TRIES;
    if (rc == -ESTALE && !last)
      continue;
    if (rc == -ENOENT && !last) {
      /* Made with O_CREAT in a directory that exists: only a file being
       * moved aside at that instant is missing. */
      nanosleep(&(struct timespec){0, RETRY_NS}, NULL);
      continue;
    }
    if (heals >= 3 || !unreadable(mrc, why, sizeof why))
      return rc == -ESTALE ? -EPERM : rc;
    rc = dt__lmdb_heal(dirfd, dir, &want, why, err);
    if (rc == -EBUSY && !last && young(&want)) {
      /* Another opener made these files a moment ago and is setting them
       * up: they are not broken, only not written yet. */
      nanosleep(&(struct timespec){0, RETRY_NS}, NULL);
      continue;
    }
    if (rc != 0)
      return rc;
    heals++;
  }
}

/* Closes the environment opened by dt__lmdb_env_open, and frees its
 * kept read-only transaction (no thread of this process may be in one). */
void dt__lmdb_env_close(dt__lmdb_env *e) {
  drop_kept(e);
  mdb_env_close(e->env);
  e->env = NULL;
}

/* Counts the pages on LMDB's free list as txn sees it, into *n.
 * Returns 0 or an LMDB error. */
int dt__lmdb_free_pages(MDB_txn *txn, uint64_t *n) {
  MDB_cursor *cur;
  MDB_val k, v;
  *n = 0;
  /* Database 0 is the free list: each value is a list of page numbers
   * that starts with its length. */
  int rc = mdb_cursor_open(txn, 0, &cur);
  if (rc != 0)
    return rc;
  while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
    if (v.mv_size >= sizeof(size_t)) {
      size_t len;
      memcpy(&len, v.mv_data, sizeof len);
      *n += len;
    }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Fills *st: the entries of the four databases in one read transaction,
 * the map's high-water mark (its last used page) in bytes, 0 if LMDB
 * does not tell, and the bytes of it on LMDB's free list.  Returns 0 or
 * a negative errno (*st untouched). */
int dt__lmdb_stat(dt__lmdb_env *e, dt__queue_stats *st) {
  MDB_txn *txn;
  MDB_stat ms;
  MDB_envinfo info;
  int rc = dt__lmdb_begin(e, MDB_RDONLY, &txn);
  if (rc != 0)
    return rc;
  mdb_stat(txn, e->tasks, &ms);
  st->tasks = ms.ms_entries;
  mdb_stat(txn, e->claims, &ms);
  st->claims = ms.ms_entries;
  mdb_stat(txn, e->results, &ms);
  st->results = ms.ms_entries;
  mdb_stat(txn, e->blobs, &ms);
  st->blobs = ms.ms_entries;
  /* Inside the transaction: e->resize keeps the map where it is. */
  st->used_bytes = 0;
  st->free_bytes = 0;
  uint64_t nfree;
  if (mdb_env_info(e->env, &info) == 0 && mdb_env_stat(e->env, &ms) == 0) {
    st->used_bytes = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if (dt__lmdb_free_pages(txn, &nfree) == 0)
      st->free_bytes = nfree * ms.ms_psize;
  }
  dt__lmdb_end(e, txn, 0);
  return 0;
}
