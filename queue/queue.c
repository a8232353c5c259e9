/* queue.c: the LMDB queue between callers and runner workers.
 *
 * A queue is a directory (0700, owned by its user) holding an LMDB
 * environment with three databases and a doorbell page:
 *
 *   tasks    id -> [caller pid u32][waiter slot u16][requeues u16]
 *                  [task record]
 *   claims   id -> [worker pid u32][worker start time u64], then the
 *                  task's value as above, while a worker runs the call
 *   results  id -> [caller pid u32][result record]
 *   blobs    id -> [caller pid u32][bytes]: an in buffer common to the
 *                  slices of one fan-out call, stored once and referenced
 *                  by every slice's task
 *
 * A claim is a lease held by one worker process, named by its pid and
 * its start time (so that a recycled pid is not mistaken for it).  When
 * the worker is gone, the lease lapses: the sweep gives the task back to
 * the queue if its caller still waits, at most MAX_REQUEUES times (a task
 * that keeps killing its workers is then answered as a crash).
 *   bell     a shared page of futex words: the id counter, a sequence
 *            number bumped on every new task (idle workers sleep on it),
 *            one word per waiting caller thread (its result wakes only
 *            that thread), and the runner's pid and heartbeat.
 *
 * Ids are big-endian keys, so a cursor's first entry is the oldest task:
 * the queue is FIFO across all callers.  Nothing on these paths sleeps
 * for a fixed time: waits are futex waits on words that change exactly
 * when there is something to see.
 *
 * The environment is tuned for tmpfs (MDB_NOSYNC | MDB_WRITEMAP): a
 * blocking call dies with its caller anyway, so there is nothing to make
 * durable.  This file owns the environment, its transactions (begun and
 * ended on every path) and the doorbell. */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/log.h"
#include "config/config.h"
#include "queue/queue.h"
#include "queue/wire.h"

#define BELL_MAGIC 0x6474626cu /* "dtbl" */
#define BELL_VERSION 3u
#define CLAIM_HDR 12u    /* worker pid u32, worker start time u64 */
#define MAX_REQUEUES 5u
#define BELL_SLOTS 4096u
#define MAX_READERS 1022u

/* The doorbell page, shared by every process of the queue. */
typedef struct bell {
  uint32_t magic;
  uint32_t version;
  uint64_t next_id;      /* the id counter */
  uint32_t task_seq;     /* futex: bumped on every new task */
  uint32_t idle;         /* workers asleep on task_seq */
  int32_t runner_pid;    /* the pool's supervisor */
  uint32_t runner_seq;   /* futex: bumped when a pool starts or stops */
  uint64_t heartbeat_ns; /* CLOCK_MONOTONIC of its last beat */
  uint32_t kick_seq;     /* bumped by dt__queue_kick: idle claims return */
  uint32_t workers;      /* the pool's number of workers */
  struct {
    uint64_t owner; /* pid << 32 | tid of the owning thread, 0 when free */
    uint32_t seq;   /* futex: bumped when a result for it is stored */
    uint32_t pad;
  } slot[BELL_SLOTS];
} bell;

struct dt__queue {
  MDB_env *env;
  /* Transactions hold it shared; adopting a map that another process
   * grew holds it exclusive, because LMDB remaps the environment then and
   * no transaction of this process may be open. */
  pthread_rwlock_t resize;
  MDB_dbi tasks, claims, results, blobs;
  bell *bell;
  int pid; /* the process that opened it */
  uint64_t start; /* its start time (clock ticks since boot) */
  uint64_t map_size;
  char dir[PATH_MAX];
};

/* ------------------------------------------------------------ helpers */

static long futex(uint32_t *word, int op, uint32_t val,
                  const struct timespec *ts) {
  return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

/* Waits while *word == seen, at most timeout_ns (0: forever).
 * Returns 0 when woken or the word changed, -ETIMEDOUT, or -EINTR. */
static int futex_wait(uint32_t *word, uint32_t seen, uint64_t timeout_ns) {
  struct timespec ts, *tp = NULL;
  if (timeout_ns > 0) {
    ts.tv_sec = (time_t)(timeout_ns / 1000000000ull);
    ts.tv_nsec = (long)(timeout_ns % 1000000000ull);
    tp = &ts;
  }
  if (futex(word, FUTEX_WAIT, seen, tp) == 0)
    return 0;
  if (errno == EAGAIN)
    return 0;
  return -errno;
}

static void futex_wake(uint32_t *word, int n) {
  futex(word, FUTEX_WAKE, (uint32_t)n, NULL);
}

/* now + timeout, saturating: a huge timeout means "forever". */
static uint64_t deadline_of(uint64_t timeout_ns) {
  uint64_t now = dt__now_ns();
  return timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  return v;
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static uint32_t get_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Reads the state (field 3) and the start time in clock ticks since boot
 * (field 22) of /proc/PID/stat.  Returns false if it cannot be read. */
static bool process_stat(int pid, char *state, uint64_t *start) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: fields are counted
   * from the last ')'. */
  char *p = strrchr(buf, ')');
  if (p == NULL || p[1] != ' ' || p[2] == '\0')
    return false;
  *state = p[2];
  p++;
  for (int field = 3; field < 22 && p != NULL; field++)
    p = strchr(p + 1, ' ');
  *start = p != NULL ? strtoull(p + 1, NULL, 10) : 0;
  return true;
}

/* Whether pid is a running process; *start gets its start time (0 when
 * /proc does not tell).  A zombie is not running: it has died and only
 * waits for its parent to reap it, which may take long (an orphaned
 * worker under a PID 1 that reaps late, or never).  When /proc does not
 * tell, kill(pid, 0) does. */
static bool process_runs(int pid, uint64_t *start) {
  char state;
  *start = 0;
  if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
    return false;
  if (!process_stat(pid, &state, start)) {
    *start = 0;
    return true;
  }
  return state != 'Z' && state != 'X';
}

static bool process_alive(int pid) {
  uint64_t start;
  return process_runs(pid, &start);
}

/* Whether the worker that holds a lease (pid, start) still runs: a live
 * process with that start time (a recycled pid is someone else). */
static bool lease_alive(int pid, uint64_t start) {
  uint64_t now;
  return process_runs(pid, &now) && (start == 0 || now == 0 || now == start);
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* The waiter slot and requeue count share the task header's second word. */
static uint32_t slot_of(uint32_t word) { return word & 0xffffu; }
static uint32_t requeues_of(uint32_t word) { return word >> 16; }

/* Maps an LMDB error to a negative errno. */
static int lmdb_err(int rc) {
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

/* Begins a transaction (holding q->resize shared until txn_end),
 * adopting a map grown by another process. */
static int txn_begin(dt__queue *q, unsigned flags, MDB_txn **txn) {
  for (;;) {
    pthread_rwlock_rdlock(&q->resize);
    int rc = mdb_txn_begin(q->env, NULL, flags, txn);
    if (rc != MDB_MAP_RESIZED) {
      if (rc != 0)
        pthread_rwlock_unlock(&q->resize);
      return lmdb_err(rc);
    }
    pthread_rwlock_unlock(&q->resize);
    pthread_rwlock_wrlock(&q->resize);
    mdb_env_set_mapsize(q->env, 0);
    pthread_rwlock_unlock(&q->resize);
  }
}

/* Ends a transaction begun by txn_begin: commits (commit != 0) or aborts,
 * and releases q->resize.  Returns the commit's result. */
static int txn_end(dt__queue *q, MDB_txn *txn, int commit) {
  int rc = 0;
  if (commit)
    rc = lmdb_err(mdb_txn_commit(txn));
  else
    mdb_txn_abort(txn);
  pthread_rwlock_unlock(&q->resize);
  return rc;
}

/* --------------------------------------------------------------- open */

/* Creates path and its parents with mode 0700 where missing. */
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
 * queue there could be read or fed by someone else. */
static int check_dir(const char *dir, char *err, size_t errsz) {
  struct stat st;
  if (lstat(dir, &st) != 0) {
    int e = errno;
    snprintf(err, errsz, "queue directory %s: %s", dir, strerror(e));
    return -e;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(err, errsz,
             "queue path %s is not a directory; point [queue] path at a "
             "directory of your own",
             dir);
    return -ENOTDIR;
  }
  if (st.st_uid != geteuid()) {
    snprintf(err, errsz,
             "queue directory %s belongs to uid %u, not to you (uid %u): "
             "another user could read your calls or feed you results; use "
             "a directory of your own, e.g. path = \"/dev/shm/dtask-$USER/"
             "default\"",
             dir, (unsigned)st.st_uid, (unsigned)geteuid());
    return -EPERM;
  }
  if ((st.st_mode & 077) != 0) {
    snprintf(err, errsz,
             "queue directory %s has mode %03o: group or others can reach "
             "it, so they could read your calls or feed you results; run "
             "chmod 700 %s",
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
      snprintf(err, errsz,
               "queue directory %s lies under %s, which %s; another user "
               "could replace the queue; use a path under a directory of "
               "your own, e.g. path = \"/dev/shm/dtask-$USER/default\"",
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

/* Maps the doorbell page, creating and initialising it once.  The file
 * is sized with ftruncate under an exclusive open so that two processes
 * starting together agree on its content. */
static int open_bell(dt__queue *q, char *err, size_t errsz) {
  char path[PATH_MAX + 8];
  int fd, rc = 0;
  snprintf(path, sizeof path, "%s/bell", q->dir);
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    rc = -errno;
    snprintf(err, errsz, "cannot open %s: %s", path, strerror(-rc));
    return rc;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || (st.st_size != 0 && st.st_size != sizeof(bell))) {
    snprintf(err, errsz,
             "%s is not a doorbell of this dtask version (size %lld); stop "
             "any runner of this queue and remove it: rm -rf %s",
             path, (long long)st.st_size, q->dir);
    close(fd);
    return -EPROTO;
  }
  if (st.st_size == 0 && ftruncate(fd, sizeof(bell)) != 0) {
    rc = -errno;
    snprintf(err, errsz, "cannot size %s: %s", path, strerror(-rc));
    close(fd);
    return rc;
  }
  void *m = mmap(NULL, sizeof(bell), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    rc = -errno;
    snprintf(err, errsz, "cannot map %s: %s", path, strerror(-rc));
    return rc;
  }
  q->bell = m;
  uint32_t zero = 0;
  /* A new file is all zeros: ids start at 0, every slot is free.  Only
   * the magic and version are written, so that a second process opening
   * the queue at the same moment sees nothing half-initialised. */
  if (__atomic_compare_exchange_n(&q->bell->magic, &zero, BELL_MAGIC, false,
                                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    __atomic_store_n(&q->bell->version, BELL_VERSION, __ATOMIC_SEQ_CST);
  } else if (zero != BELL_MAGIC ||
             (__atomic_load_n(&q->bell->version, __ATOMIC_SEQ_CST) != 0 &&
              __atomic_load_n(&q->bell->version, __ATOMIC_SEQ_CST) !=
                  BELL_VERSION)) {
    snprintf(err, errsz,
             "%s is not a doorbell of this dtask version; stop any runner "
             "of this queue and remove it: rm -rf %s",
             path, q->dir);
    return -EPROTO;
  }
  return 0;
}

/* Opens the queue of cfg, creating its directory (0700) and files.  The
 * directory must belong to this user and be closed to group and others;
 * otherwise -EPERM with a sentence in err that says why and what to do.
 * *out is owned by the caller (dt__queue_close). */
int dt__queue_open(const dt__config *cfg, dt__queue **out, char *err,
                   size_t errsz) {
  dt__queue *q;
  MDB_txn *txn = NULL;
  int rc;

  *out = NULL;
  q = calloc(1, sizeof *q);
  if (q == NULL)
    return -ENOMEM;
  q->pid = getpid();
  (void)process_runs(q->pid, &q->start);
  q->map_size = cfg->map_size;
  pthread_rwlock_init(&q->resize, NULL);
  snprintf(q->dir, sizeof q->dir, "%s", cfg->queue_path);
  rc = make_dirs(q->dir);
  if (rc != 0) {
    snprintf(err, errsz, "cannot create queue directory %s: %s", q->dir,
             strerror(-rc));
    goto fail;
  }
  rc = check_dir(q->dir, err, errsz);
  if (rc != 0)
    goto fail;
  rc = open_bell(q, err, errsz);
  if (rc != 0)
    goto fail;
  rc = lmdb_err(mdb_env_create(&q->env));
  if (rc == 0)
    rc = lmdb_err(mdb_env_set_maxdbs(q->env, 4));
  if (rc == 0)
    rc = lmdb_err(mdb_env_set_maxreaders(q->env, MAX_READERS));
  if (rc == 0)
    rc = lmdb_err(mdb_env_set_mapsize(q->env, (size_t)cfg->map_size));
  if (rc == 0)
    rc = lmdb_err(mdb_env_open(q->env, q->dir,
                               MDB_NOSYNC | MDB_NOMETASYNC | MDB_WRITEMAP |
                                   MDB_NOTLS | MDB_NORDAHEAD,
                               0600));
  if (rc != 0) {
    snprintf(err, errsz, "cannot open the LMDB queue in %s: %s", q->dir,
             rc == -EIO ? "I/O error" : strerror(-rc));
    goto fail;
  }
  int dead = 0;
  mdb_reader_check(q->env, &dead);
  rc = txn_begin(q, 0, &txn);
  if (rc == 0)
    rc = lmdb_err(mdb_dbi_open(txn, "tasks", MDB_CREATE, &q->tasks));
  if (rc == 0)
    rc = lmdb_err(mdb_dbi_open(txn, "claims", MDB_CREATE, &q->claims));
  if (rc == 0)
    rc = lmdb_err(mdb_dbi_open(txn, "results", MDB_CREATE, &q->results));
  if (rc == 0)
    rc = lmdb_err(mdb_dbi_open(txn, "blobs", MDB_CREATE, &q->blobs));
  if (rc == 0) {
    rc = txn_end(q, txn, 1);
    txn = NULL;
  }
  if (rc != 0) {
    if (txn != NULL)
      txn_end(q, txn, 0);
    snprintf(err, errsz, "cannot open the queue's databases in %s: %s",
             q->dir, strerror(-rc));
    goto fail;
  }
  *out = q;
  return 0;
fail:
  if (q->env != NULL)
    mdb_env_close(q->env);
  if (q->bell != NULL)
    munmap(q->bell, sizeof(bell));
  free(q);
  return rc;
}

/* Opens the queue of cfg, creating its directory (0700) and files.  The
 * directory must belong to this user and be closed to group and others;
 * otherwise -EPERM with a sentence in err that says why and what to do.
 * *out is owned by the caller (dt__queue_close).
 *
 * In a child of the opening process the handle is
 * abandoned instead (the mapping is small and bounded: one per fork). */
void dt__queue_close(dt__queue *q) {
  if (q == NULL)
    return;
  if (q->pid != getpid())
    return;
  mdb_env_close(q->env);
  munmap(q->bell, sizeof(bell));
  free(q);
}

int dt__queue_stale(const dt__queue *q) { return q->pid != getpid(); }

const char *dt__queue_dir(const dt__queue *q) { return q->dir; }

/* ------------------------------------------------------------- caller */

/* Whether the thread that owns a slot still exists. */
static bool owner_alive(uint64_t owner) {
  int pid = (int)(owner >> 32), tid = (int)(owner & 0xffffffffu);
  if (syscall(SYS_tgkill, pid, tid, 0) == 0)
    return true;
  return errno == EPERM;
}

/* Caller side.  A waiter slot is this thread's futex word on the
 * doorbell page; dt__queue_submit stores it in the task so that the
 * worker wakes exactly this thread.
 *
 * A slot's owner word is pid << 32 | tid, taken
 * with one compare-and-swap; a slot whose thread is gone (it exited, or
 * its process died) is taken over on the second pass. */
int dt__queue_waiter(dt__queue *q, uint32_t *slot) {
  uint64_t pid = (uint64_t)getpid();
  uint64_t tid = (uint64_t)syscall(SYS_gettid);
  uint64_t me = pid << 32 | tid;
  uint32_t start = (uint32_t)tid % BELL_SLOTS;
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t k = 0; k < BELL_SLOTS; k++) {
      uint32_t i = (start + k) % BELL_SLOTS;
      uint64_t cur = __atomic_load_n(&q->bell->slot[i].owner, __ATOMIC_ACQUIRE);
      if (cur != 0 && (pass == 0 || owner_alive(cur)))
        continue;
      if (__atomic_compare_exchange_n(&q->bell->slot[i].owner, &cur, me,
                                      false, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE)) {
        *slot = i;
        return 0;
      }
    }
  }
  return -EAGAIN;
}

/* Gives this thread's slot back (thread exit). */
void dt__queue_waiter_release(dt__queue *q, uint32_t slot) {
  uint64_t me = (uint64_t)getpid() << 32 | (uint64_t)syscall(SYS_gettid);
  if (slot < BELL_SLOTS)
    __atomic_compare_exchange_n(&q->bell->slot[slot].owner, &me, 0, false,
                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* -E2BIG for a task larger than a quarter of the map. */
int dt__queue_submit(dt__queue *q, size_t size, dt__encode_fn enc, void *ctx,
                     uint32_t slot, uint64_t *id) {
  return dt__queue_submit_drop(q, size, enc, ctx, slot, DT__NO_ID, id);
}

/* The caller's fast path.  Read the slot's wake-up count before
 * queueing and pass it to dt__queue_wait_since, which sleeps until the
 * result's wake-up instead of first looking for a result that cannot be
 * there, then reads the result in a read-only transaction and leaves it
 * in place.  The caller drops it later: in the write transaction of its
 * next call (dt__queue_submit_drop), or with dt__queue_drop.  A result
 * left by a caller that dies is removed by the sweep.
 *
 * The previous result goes in the same write
 * transaction as the new task: one transaction less per call. */
int dt__queue_submit_drop(dt__queue *q, size_t size, dt__encode_fn enc,
                          void *ctx, uint32_t slot, uint64_t drop,
                          uint64_t *id) {
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key}, v = {size + 8, NULL};
  int rc;

  /* A task must fit twice (it is copied into claims when a worker takes
   * it) with room to spare: larger ones are refused up front. */
  if (size > q->map_size / 4)
    return -E2BIG;
  *id = __atomic_fetch_add(&q->bell->next_id, 1, __ATOMIC_SEQ_CST);
  put_be64(key, *id);
  rc = txn_begin(q, 0, &txn);
  if (rc != 0)
    return rc;
  if (drop != DT__NO_ID) {
    uint8_t dkey[8];
    MDB_val dk = {sizeof dkey, dkey};
    put_be64(dkey, drop);
    int drc = mdb_del(txn, q->results, &dk, NULL);
    if (drc != 0 && drc != MDB_NOTFOUND) {
      txn_end(q, txn, 0);
      return lmdb_err(drc);
    }
  }
  rc = lmdb_err(mdb_put(txn, q->tasks, &k, &v, MDB_RESERVE | MDB_NOOVERWRITE));
  if (rc == 0) {
    put_u32(v.mv_data, (uint32_t)getpid());
    put_u32((uint8_t *)v.mv_data + 4, slot);
    rc = enc(ctx, (uint8_t *)v.mv_data + 8, size, *id);
  }
  if (rc != 0) {
    txn_end(q, txn, 0);
    return rc;
  }
  rc = txn_end(q, txn, 1);
  if (rc != 0)
    return rc;
  __atomic_add_fetch(&q->bell->task_seq, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&q->bell->idle, __ATOMIC_SEQ_CST) > 0)
    futex_wake(&q->bell->task_seq, 1);
  return 0;
}

/* Looks for the result of id; applies and deletes it when present.
 * Returns 0 when done, -ENOENT when not there yet, or an error. */
static int take_result(dt__queue *q, uint64_t id, bool keep,
                       dt__apply_fn apply, void *ctx) {
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key}, v;
  int rc;

  put_be64(key, id);
  rc = txn_begin(q, keep ? MDB_RDONLY : 0, &txn);
  if (rc != 0)
    return rc;
  rc = lmdb_err(mdb_get(txn, q->results, &k, &v));
  if (rc == 0) {
    if (v.mv_size < 4)
      rc = -EPROTO;
    else
      rc = apply(ctx, (const uint8_t *)v.mv_data + 4, v.mv_size - 4);
    if (!keep && (rc == 0 || rc == -EPROTO))
      mdb_del(txn, q->results, &k, NULL);
  }
  if (keep) {
    txn_end(q, txn, 0);
    return rc;
  }
  if (rc == 0 || rc == -EPROTO) {
    int crc = txn_end(q, txn, 1);
    return rc != 0 ? rc : crc;
  }
  txn_end(q, txn, 0);
  return rc;
}

/* The caller's fast path.  Read the slot's wake-up count before
 * queueing and pass it to dt__queue_wait_since, which sleeps until the
 * result's wake-up instead of first looking for a result that cannot be
 * there, then reads the result in a read-only transaction and leaves it
 * in place.  The caller drops it later: in the write transaction of its
 * next call (dt__queue_submit_drop), or with dt__queue_drop.  A result
 * left by a caller that dies is removed by the sweep. */
uint32_t dt__queue_slot_seq(dt__queue *q, uint32_t slot) {
  return slot < BELL_SLOTS
             ? __atomic_load_n(&q->bell->slot[slot].seq, __ATOMIC_SEQ_CST)
             : 0;
}

/* Waits for the result of id (see dt__queue_wait).  With have_seen, the first look at the results
 * waits for the slot's word to move past seen (read before the task was
 * queued), which saves a transaction that would find nothing. */
static int wait_result(dt__queue *q, uint64_t id, uint32_t slot,
                       bool have_seen, uint32_t seen, bool keep,
                       dt__apply_fn apply, void *ctx, uint64_t timeout_ns) {
  uint64_t deadline = timeout_ns ? deadline_of(timeout_ns) : 0;
  if (slot >= BELL_SLOTS)
    return -EINVAL;
  uint32_t *word = &q->bell->slot[slot].seq;
  for (;;) {
    if (!have_seen) {
      seen = __atomic_load_n(word, __ATOMIC_SEQ_CST);
      int rc = take_result(q, id, keep, apply, ctx);
      if (rc != -ENOENT)
        return rc;
    }
    have_seen = false;
    uint64_t left = 0;
    if (deadline) {
      uint64_t now = dt__now_ns();
      if (now >= deadline)
        return -ETIMEDOUT;
      left = deadline - now;
    }
    int rc = futex_wait(word, seen, left);
    if (rc == -ETIMEDOUT && deadline == 0)
      continue;
    if (rc == -ETIMEDOUT) {
      /* One last look: the result may have come with the deadline. */
      rc = take_result(q, id, keep, apply, ctx);
      return rc == -ENOENT ? -ETIMEDOUT : rc;
    }
    if (rc != 0 && rc != -EINTR)
      return rc;
  }
}

/* Blocks (futex, no polling) until the result of id is there, then
 * applies and deletes it.  timeout_ns 0 waits forever; -ETIMEDOUT. */
int dt__queue_wait(dt__queue *q, uint64_t id, uint32_t slot,
                   dt__apply_fn apply, void *ctx, uint64_t timeout_ns) {
  return wait_result(q, id, slot, false, 0, false, apply, ctx, timeout_ns);
}

/* The caller's fast path.  Read the slot's wake-up count before
 * queueing and pass it to dt__queue_wait_since, which sleeps until the
 * result's wake-up instead of first looking for a result that cannot be
 * there, then reads the result in a read-only transaction and leaves it
 * in place.  The caller drops it later: in the write transaction of its
 * next call (dt__queue_submit_drop), or with dt__queue_drop.  A result
 * left by a caller that dies is removed by the sweep. */
int dt__queue_wait_since(dt__queue *q, uint64_t id, uint32_t slot,
                         uint32_t seen, dt__apply_fn apply, void *ctx,
                         uint64_t timeout_ns) {
  return wait_result(q, id, slot, true, seen, true, apply, ctx, timeout_ns);
}

/* The caller's fast path.  Read the slot's wake-up count before
 * queueing and pass it to dt__queue_wait_since, which sleeps until the
 * result's wake-up instead of first looking for a result that cannot be
 * there, then reads the result in a read-only transaction and leaves it
 * in place.  The caller drops it later: in the write transaction of its
 * next call (dt__queue_submit_drop), or with dt__queue_drop.  A result
 * left by a caller that dies is removed by the sweep. */
int dt__queue_drop(dt__queue *q, uint64_t id) {
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key};
  put_be64(key, id);
  int rc = txn_begin(q, 0, &txn);
  if (rc != 0)
    return rc;
  rc = mdb_del(txn, q->results, &k, NULL);
  if (rc != 0 && rc != MDB_NOTFOUND) {
    txn_end(q, txn, 0);
    return lmdb_err(rc);
  }
  return txn_end(q, txn, 1);
}

/* Removes a task that no worker claimed yet, or whose worker died (1),
 * or returns 0 if a live worker has it. */
int dt__queue_cancel(dt__queue *q, uint64_t id) {
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key};
  int rc;
  put_be64(key, id);
  rc = txn_begin(q, 0, &txn);
  if (rc != 0)
    return rc;
  rc = mdb_del(txn, q->tasks, &k, NULL);
  if (rc == MDB_NOTFOUND) {
    /* Claimed: cancellable only if the worker that claimed it is gone
     * (and no supervisor is left to sweep its claim). */
    MDB_val cv;
    rc = mdb_get(txn, q->claims, &k, &cv);
    if (rc == 0 && cv.mv_size >= CLAIM_HDR &&
        !lease_alive((int)get_u32((const uint8_t *)cv.mv_data),
                     get_u64((const uint8_t *)cv.mv_data + 4)))
      rc = mdb_del(txn, q->claims, &k, NULL);
    else
      rc = MDB_NOTFOUND;
  }
  if (rc == MDB_NOTFOUND) {
    txn_end(q, txn, 0);
    return 0;
  }
  if (rc != 0) {
    txn_end(q, txn, 0);
    return lmdb_err(rc);
  }
  rc = txn_end(q, txn, 1);
  return rc == 0 ? 1 : rc;
}

/* ------------------------------------------------------------- worker */

/* Moves the oldest task to claims and copies it out.  -ENOENT if none. */
static int claim_one(dt__queue *q, uint8_t **rec, size_t *size, uint64_t *id) {
  MDB_txn *txn;
  MDB_cursor *cur;
  MDB_val k, v;
  int rc = txn_begin(q, 0, &txn);
  if (rc != 0)
    return rc;
  rc = lmdb_err(mdb_cursor_open(txn, q->tasks, &cur));
  if (rc != 0) {
    txn_end(q, txn, 0);
    return rc;
  }
  rc = lmdb_err(mdb_cursor_get(cur, &k, &v, MDB_FIRST));
  if (rc == 0 && (k.mv_size != 8 || v.mv_size < 8)) {
    /* Not a task this version wrote: drop it rather than loop on it. */
    mdb_cursor_del(cur, 0);
    mdb_cursor_close(cur);
    rc = txn_end(q, txn, 1);
    return rc == 0 ? -EAGAIN : rc;
  }
  if (rc != 0) {
    mdb_cursor_close(cur);
    txn_end(q, txn, 0);
    return rc;
  }
  uint8_t key[8];
  memcpy(key, k.mv_data, 8);
  *id = get_be64(key);
  *size = v.mv_size - 8;
  *rec = malloc(*size ? *size : 1);
  if (*rec == NULL) {
    mdb_cursor_close(cur);
    txn_end(q, txn, 0);
    return -ENOMEM;
  }
  memcpy(*rec, (const uint8_t *)v.mv_data + 8, *size);
  /* claims value: the lease (worker pid and start time), then the task
   * value as it was. */
  MDB_val ck = {8, key}, cv = {v.mv_size + CLAIM_HDR, NULL};
  uint8_t head[8];
  memcpy(head, v.mv_data, 8);
  mdb_cursor_del(cur, 0);
  mdb_cursor_close(cur);
  rc = lmdb_err(mdb_put(txn, q->claims, &ck, &cv, MDB_RESERVE));
  if (rc == 0) {
    put_u32(cv.mv_data, (uint32_t)getpid());
    put_u64((uint8_t *)cv.mv_data + 4, q->start);
    memcpy((uint8_t *)cv.mv_data + CLAIM_HDR, head, 8);
    memcpy((uint8_t *)cv.mv_data + CLAIM_HDR + 8, *rec, *size);
    rc = txn_end(q, txn, 1);
  } else {
    txn_end(q, txn, 0);
    /* The map cannot hold a second copy of this task while it moves to
     * claims: tell the worker, which answers it with an error result
     * through dt__queue_reject instead of failing on it forever. */
    if (rc == -ENOSPC)
      return -E2BIG;
  }
  if (rc != 0) {
    free(*rec);
    *rec = NULL;
  }
  return rc;
}

/* Worker side.  Claims the oldest task (FIFO by id) and copies it into
 * a malloc'd buffer (*rec, owned by the caller).  Blocks on the doorbell
 * until a task arrives or timeout_ns passes (-ETIMEDOUT; 0 = forever).
 * -EINTR when woken by dt__queue_kick.  -E2BIG with *id set when the
 * oldest task is too large to claim (answer it with dt__queue_reject). */
int dt__queue_claim(dt__queue *q, uint8_t **rec, size_t *size, uint64_t *id,
                    uint64_t timeout_ns) {
  uint64_t deadline = timeout_ns ? deadline_of(timeout_ns) : 0;
  uint32_t kicks = __atomic_load_n(&q->bell->kick_seq, __ATOMIC_SEQ_CST);
  for (;;) {
    uint32_t seen = __atomic_load_n(&q->bell->task_seq, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&q->bell->kick_seq, __ATOMIC_SEQ_CST) != kicks)
      return -EINTR;
    int rc = claim_one(q, rec, size, id);
    if (rc == -EAGAIN)
      continue;
    if (rc != -ENOENT)
      return rc;
    uint64_t left = 0;
    if (deadline) {
      uint64_t now = dt__now_ns();
      if (now >= deadline)
        return -ETIMEDOUT;
      left = deadline - now;
    }
    __atomic_add_fetch(&q->bell->idle, 1, __ATOMIC_SEQ_CST);
    rc = futex_wait(&q->bell->task_seq, seen, left);
    __atomic_sub_fetch(&q->bell->idle, 1, __ATOMIC_SEQ_CST);
    if (rc == -EINTR)
      return -EINTR;
    if (rc == -ETIMEDOUT && deadline == 0)
      continue;
    if (rc != 0 && rc != -ETIMEDOUT)
      return rc;
  }
}


/* Stores rec as the answer to call id and wakes its caller: the claim
 * (or, if the sweep gave the task back meanwhile, the queued task) is
 * removed in the same transaction, so the call is never run again once
 * answered.  The caller's pid and waiter slot come from that entry.
 * With worker > 0, answers only a claim that this worker holds, and
 * returns -ENOENT (writing nothing) otherwise. */
static int answer(dt__queue *q, uint64_t id, int worker, const uint8_t *rec,
                  size_t size) {
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key}, v, rv = {size + 4, NULL};
  uint32_t caller = 0, slot = UINT32_MAX;
  int rc;

  put_be64(key, id);
  rc = txn_begin(q, 0, &txn);
  if (rc != 0)
    return rc;
  if (mdb_get(txn, q->claims, &k, &v) == 0 && v.mv_size >= CLAIM_HDR + 8 &&
      (worker <= 0 || (int)get_u32(v.mv_data) == worker)) {
    caller = get_u32((const uint8_t *)v.mv_data + CLAIM_HDR);
    slot = slot_of(get_u32((const uint8_t *)v.mv_data + CLAIM_HDR + 4));
    mdb_del(txn, q->claims, &k, NULL);
  } else if (worker > 0) {
    txn_end(q, txn, 0);
    return -ENOENT;
  } else if (mdb_get(txn, q->tasks, &k, &v) == 0 && v.mv_size >= 8) {
    caller = get_u32(v.mv_data);
    slot = slot_of(get_u32((const uint8_t *)v.mv_data + 4));
    mdb_del(txn, q->tasks, &k, NULL);
  }
  rc = lmdb_err(mdb_put(txn, q->results, &k, &rv, MDB_RESERVE));
  if (rc == 0) {
    put_u32(rv.mv_data, caller);
    memcpy((uint8_t *)rv.mv_data + 4, rec, size);
    rc = txn_end(q, txn, 1);
  } else {
    txn_end(q, txn, 0);
  }
  if (rc == 0 && slot < BELL_SLOTS) {
    __atomic_add_fetch(&q->bell->slot[slot].seq, 1, __ATOMIC_SEQ_CST);
    futex_wake(&q->bell->slot[slot].seq, INT32_MAX);
  }
  return rc;
}

/* Stores the result of id, drops its claim, and wakes its caller. */
int dt__queue_complete(dt__queue *q, uint64_t id, const uint8_t *rec,
                       size_t size) {
  return answer(q, id, 0, rec, size);
}

/* The supervisor's answer for a worker that died or was killed while
 * running call id: stores rec (a crash or timeout record) only if the
 * claim is still held by that worker pid, so that a call answered in the
 * meantime is never answered twice.  Returns 0, or -ENOENT when the claim
 * is no longer that worker's. */
int dt__queue_fail(dt__queue *q, uint64_t id, int worker, const uint8_t *rec,
                   size_t size) {
  return answer(q, id, worker > 0 ? worker : -1, rec, size);
}

/* Answers task id with an error record instead of a result: removes the
 * task (or its claim), stores rec, and wakes its caller.  Used when a task
 * cannot be claimed (dt__queue_claim gave -E2BIG with *id set) or its
 * result cannot be stored. */
int dt__queue_reject(dt__queue *q, uint64_t id, const uint8_t *rec,
                     size_t size) {
  return answer(q, id, 0, rec, size);
}

/* Wakes every idle worker (shutdown). */
void dt__queue_kick(dt__queue *q) {
  __atomic_add_fetch(&q->bell->kick_seq, 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&q->bell->task_seq, 1, __ATOMIC_SEQ_CST);
  futex_wake(&q->bell->task_seq, INT32_MAX);
}

/* ------------------------------------------------------------ runners */

/* Runner liveness: a pool publishes its pid and a heartbeat. */
void dt__queue_heartbeat(dt__queue *q, int pid) {
  int old = __atomic_exchange_n(&q->bell->runner_pid, pid, __ATOMIC_SEQ_CST);
  __atomic_store_n(&q->bell->heartbeat_ns, pid ? dt__now_ns() : 0,
                   __ATOMIC_RELEASE);
  (void)old;
  /* Every beat wakes waiters: a pool whose beat had gone stale is alive
   * again as soon as it beats, whatever its pid. */
  __atomic_add_fetch(&q->bell->runner_seq, 1, __ATOMIC_SEQ_CST);
  futex_wake(&q->bell->runner_seq, INT32_MAX);
}

/* Waits (futex on the doorbell, no polling) until a pool is alive, at
 * most timeout_ns.  Returns 0 or -ETIMEDOUT. */
int dt__queue_wait_runner(dt__queue *q, uint64_t max_age_ns,
                          uint64_t timeout_ns) {
  uint64_t deadline = deadline_of(timeout_ns);
  for (;;) {
    uint32_t seen = __atomic_load_n(&q->bell->runner_seq, __ATOMIC_SEQ_CST);
    if (dt__queue_runner_alive(q, max_age_ns))
      return 0;
    uint64_t now = dt__now_ns();
    if (now >= deadline)
      return -ETIMEDOUT;
    int rc = futex_wait(&q->bell->runner_seq, seen, deadline - now);
    if (rc != 0 && rc != -EINTR && rc != -ETIMEDOUT)
      return rc;
  }
}

/* The next call id to be handed out (activity detection). */
uint64_t dt__queue_next_id(dt__queue *q) {
  return __atomic_load_n(&q->bell->next_id, __ATOMIC_ACQUIRE);
}

/* The same without asking the kernel whether the process exists: a plain
 * read of the doorbell page, cheap enough for every call. */
int dt__queue_runner_recent(dt__queue *q, uint64_t max_age_ns) {
  int pid = __atomic_load_n(&q->bell->runner_pid, __ATOMIC_ACQUIRE);
  uint64_t hb = __atomic_load_n(&q->bell->heartbeat_ns, __ATOMIC_ACQUIRE);
  uint64_t now = dt__now_ns();
  if (pid <= 0 || hb == 0)
    return 0;
  return now < hb || now - hb <= max_age_ns;
}

/* 1 if a runner pool published a heartbeat within max_age_ns and its
 * process exists. */
int dt__queue_runner_alive(dt__queue *q, uint64_t max_age_ns) {
  return dt__queue_runner_recent(q, max_age_ns) &&
         process_alive(__atomic_load_n(&q->bell->runner_pid,
                                       __ATOMIC_ACQUIRE));
}

/* Deletes every entry of dbi (tasks or results) whose first u32 names a
 * dead process: its caller is gone. */
static int sweep_db(MDB_txn *txn, MDB_dbi dbi, int *count) {
  MDB_cursor *cur;
  MDB_val k, v;
  int rc = lmdb_err(mdb_cursor_open(txn, dbi, &cur));
  if (rc != 0)
    return rc;
  rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == 0) {
    if (v.mv_size >= 4 && !process_alive((int)get_u32(v.mv_data))) {
      mdb_cursor_del(cur, 0);
      (*count)++;
      rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
      if (rc == 0)
        continue;
      if (rc == MDB_NOTFOUND)
        break;
      /* Deleting the last entry of a page leaves no current entry. */
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      continue;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : lmdb_err(rc);
}

/* Answers a task whose workers keep dying with a crash record, in txn;
 * *slot gets the caller's waiter slot to wake.  Returns 0, or a negative
 * errno when the answer cannot be made or stored (the claim must then
 * stay, for the next sweep to try again: a call is never dropped
 * unanswered while its caller waits). */
static int answer_lost(dt__queue *q, MDB_txn *txn, MDB_val *k,
                       const uint8_t *task, unsigned requeues,
                       uint32_t *slot) {
  char msg[200];
  uint8_t *res = NULL;
  size_t rsize = 0;
  snprintf(msg, sizeof msg,
           "the workers running this call were killed %u times (SIGKILL, "
           "e.g. by the OOM killer); dtask gave up on it",
           requeues + 1);
  int rc = dt__wire_result_error(get_be64(k->mv_data), DT__ST_CRASH, 9, msg,
                                 &res, &rsize);
  if (rc != 0)
    return rc;
  MDB_val rv = {rsize + 4, NULL};
  rc = lmdb_err(mdb_put(txn, q->results, k, &rv, MDB_RESERVE));
  if (rc == 0) {
    memcpy(rv.mv_data, task, 4);
    memcpy((uint8_t *)rv.mv_data + 4, res, rsize);
    *slot = slot_of(get_u32(task + 4));
  }
  free(res);
  return rc;
}

/* Lapsed leases: a claim whose worker is gone goes back to tasks while
 * its caller lives (with its requeue count raised), is answered as a
 * crash after MAX_REQUEUES, and is dropped when its caller is gone too.
 * Slots to wake are collected in wake (at most nwake). */
static int sweep_claims(dt__queue *q, MDB_txn *txn, int *count,
                        uint32_t *wake, size_t *nwake, size_t maxwake) {
  MDB_cursor *cur;
  MDB_val k, v;
  int rc = lmdb_err(mdb_cursor_open(txn, q->claims, &cur));
  if (rc != 0)
    return rc;
  rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == 0) {
    const uint8_t *c = v.mv_data;
    if (v.mv_size >= CLAIM_HDR &&
        lease_alive((int)get_u32(c), get_u64(c + 4))) {
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      continue;
    }
    if (v.mv_size >= CLAIM_HDR + 8 &&
        process_alive((int)get_u32(c + CLAIM_HDR))) {
      const uint8_t *task = c + CLAIM_HDR;
      uint32_t word = get_u32(task + 4);
      unsigned n = requeues_of(word);
      uint8_t kb[8];
      MDB_val tk = {sizeof kb, kb};
      if (k.mv_size != sizeof kb) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        continue;
      }
      memcpy(kb, k.mv_data, sizeof kb);
      int prc;
      if (n + 1 >= MAX_REQUEUES) {
        uint32_t slot = UINT32_MAX;
        if (answer_lost(q, txn, &tk, task, n, &slot) != 0) {
          /* Keep the claim: the next sweep answers it. */
          rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
          continue;
        }
        if (slot < BELL_SLOTS && *nwake < maxwake)
          wake[(*nwake)++] = slot;
        prc = 0;
      } else {
        MDB_val tv = {v.mv_size - CLAIM_HDR, NULL};
        prc = mdb_put(txn, q->tasks, &tk, &tv, MDB_RESERVE);
        if (prc == 0) {
          memcpy(tv.mv_data, task, tv.mv_size);
          put_u32((uint8_t *)tv.mv_data + 4,
                  slot_of(word) | (uint32_t)(n + 1) << 16);
        }
      }
      if (prc != 0) {
        mdb_cursor_close(cur);
        return lmdb_err(prc);
      }
      /* The put may have moved the cursor's page: find the claim again. */
      k = tk;
      rc = mdb_cursor_get(cur, &k, &v, MDB_SET);
      if (rc != 0)
        break;
    }
    mdb_cursor_del(cur, 0);
    (*count)++;
    rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
    if (rc == 0)
      continue;
    if (rc == MDB_NOTFOUND)
      break;
    /* Deleting the last entry of a page leaves no current entry. */
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : lmdb_err(rc);
}

/* Removes tasks and results whose caller process is gone, and claims
 * whose worker is gone (their lease lapsed): their tasks go back to the
 * queue while the caller waits, at most 5 times, and are then answered
 * as a crash.  Returns the number of entries removed or requeued. */
int dt__queue_sweep(dt__queue *q) {
  MDB_txn *txn;
  int count = 0, dead = 0;
  uint32_t wake[64];
  size_t nwake = 0;
  int rc;
  mdb_reader_check(q->env, &dead);
  rc = txn_begin(q, 0, &txn);
  if (rc != 0)
    return rc;
  /* Claims first: a dead worker's task goes back to the queue only if
   * its caller still waits for it; then dead callers' tasks and results
   * go. */
  rc = sweep_claims(q, txn, &count, wake, &nwake, sizeof wake / sizeof *wake);
  if (rc == 0)
    rc = sweep_db(txn, q->tasks, &count);
  if (rc == 0)
    rc = sweep_db(txn, q->results, &count);
  if (rc == 0)
    rc = sweep_db(txn, q->blobs, &count);
  if (rc != 0) {
    txn_end(q, txn, 0);
    return rc;
  }
  rc = txn_end(q, txn, 1);
  if (rc == 0 && count > 0) {
    /* Requeued tasks: wake idle workers as new tasks would. */
    __atomic_add_fetch(&q->bell->task_seq, 1, __ATOMIC_SEQ_CST);
    futex_wake(&q->bell->task_seq, INT32_MAX);
  }
  for (size_t i = 0; rc == 0 && i < nwake; i++) {
    __atomic_add_fetch(&q->bell->slot[wake[i]].seq, 1, __ATOMIC_SEQ_CST);
    futex_wake(&q->bell->slot[wake[i]].seq, INT32_MAX);
  }
  return rc == 0 ? count : rc;
}

/* Entry counts (tests and tools). */
int dt__queue_counts(dt__queue *q, size_t *tasks, size_t *claims,
                     size_t *results) {
  MDB_txn *txn;
  MDB_stat st;
  int rc = txn_begin(q, MDB_RDONLY, &txn);
  if (rc != 0)
    return rc;
  mdb_stat(txn, q->tasks, &st);
  *tasks = st.ms_entries;
  mdb_stat(txn, q->claims, &st);
  *claims = st.ms_entries;
  mdb_stat(txn, q->results, &st);
  *results = st.ms_entries;
  txn_end(q, txn, 0);
  return 0;
}

/* ------------------------------------------------------------- blobs */

/* Bytes shared by the slices of a fan-out call, stored once: put (the
 * caller; -E2BIG past a quarter of the map), read (a worker, into dst,
 * which has exactly size bytes; -ENOENT, -EPROTO for another size) and
 * drop (the caller, once every slice is answered).  A dead caller's are
 * removed by the sweep. */
int dt__queue_blob_put(dt__queue *q, const void *data, size_t size,
                       uint64_t *id) {
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key}, v = {size + 4, NULL};
  if (size > q->map_size / 4)
    return -E2BIG;
  *id = __atomic_fetch_add(&q->bell->next_id, 1, __ATOMIC_SEQ_CST);
  put_be64(key, *id);
  int rc = txn_begin(q, 0, &txn);
  if (rc != 0)
    return rc;
  rc = lmdb_err(mdb_put(txn, q->blobs, &k, &v, MDB_RESERVE | MDB_NOOVERWRITE));
  if (rc != 0) {
    txn_end(q, txn, 0);
    return rc;
  }
  put_u32(v.mv_data, (uint32_t)getpid());
  memcpy((uint8_t *)v.mv_data + 4, data, size);
  return txn_end(q, txn, 1);
}

/* Bytes shared by the slices of a fan-out call, stored once: put (the
 * caller; -E2BIG past a quarter of the map), read (a worker, into dst,
 * which has exactly size bytes; -ENOENT, -EPROTO for another size) and
 * drop (the caller, once every slice is answered).  A dead caller's are
 * removed by the sweep. */
int dt__queue_blob_read(dt__queue *q, uint64_t id, void *dst, uint64_t size) {
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key}, v;
  put_be64(key, id);
  int rc = txn_begin(q, MDB_RDONLY, &txn);
  if (rc != 0)
    return rc;
  rc = lmdb_err(mdb_get(txn, q->blobs, &k, &v));
  if (rc == 0 && v.mv_size != size + 4)
    rc = -EPROTO;
  if (rc == 0)
    memcpy(dst, (const uint8_t *)v.mv_data + 4, (size_t)size);
  txn_end(q, txn, 0);
  return rc;
}

/* Bytes shared by the slices of a fan-out call, stored once: put (the
 * caller; -E2BIG past a quarter of the map), read (a worker, into dst,
 * which has exactly size bytes; -ENOENT, -EPROTO for another size) and
 * drop (the caller, once every slice is answered).  A dead caller's are
 * removed by the sweep. */
int dt__queue_blob_drop(dt__queue *q, uint64_t id) {
  MDB_txn *txn;
  uint8_t key[8];
  MDB_val k = {sizeof key, key};
  put_be64(key, id);
  int rc = txn_begin(q, 0, &txn);
  if (rc != 0)
    return rc;
  rc = mdb_del(txn, q->blobs, &k, NULL);
  if (rc != 0 && rc != MDB_NOTFOUND) {
    txn_end(q, txn, 0);
    return lmdb_err(rc);
  }
  return txn_end(q, txn, 1);
}

/* Bytes shared by the slices of a fan-out call, stored once: put (the
 * caller; -E2BIG past a quarter of the map), read (a worker, into dst,
 * which has exactly size bytes; -ENOENT, -EPROTO for another size) and
 * drop (the caller, once every slice is answered).  A dead caller's are
 * removed by the sweep. */
int dt__queue_blob_count(dt__queue *q, size_t *blobs) {
  MDB_txn *txn;
  MDB_stat st;
  int rc = txn_begin(q, MDB_RDONLY, &txn);
  if (rc != 0)
    return rc;
  mdb_stat(txn, q->blobs, &st);
  *blobs = st.ms_entries;
  txn_end(q, txn, 0);
  return 0;
}

/* The high-water mark of the queue's map in bytes (its last used page):
 * what the queue has ever needed at once (tests of fan-out). */
uint64_t dt__queue_used_bytes(dt__queue *q) {
  MDB_envinfo info;
  MDB_stat st;
  if (mdb_env_info(q->env, &info) != 0 || mdb_env_stat(q->env, &st) != 0)
    return 0;
  return ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
}

/* The pool's number of workers, published by its supervisor (0: none
 * known); fan-out makes one slice per worker by default. */
void dt__queue_set_workers(dt__queue *q, int n) {
  __atomic_store_n(&q->bell->workers, n > 0 ? (uint32_t)n : 0,
                   __ATOMIC_RELEASE);
}

/* The pool's number of workers, published by its supervisor (0: none
 * known); fan-out makes one slice per worker by default. */
int dt__queue_workers(dt__queue *q) {
  return (int)__atomic_load_n(&q->bell->workers, __ATOMIC_ACQUIRE);
}
