/* bell.c: the doorbell page of an LMDB queue, and the futex waits on it.
 *
 * The file "bell" in the queue directory is one shared mapping of
 * struct dt__bell below.  This file owns its layout, its creation and
 * validation, and every read and write of it: the id counter, the
 * new-task word (task_seq) that idle workers sleep on, the kick word,
 * one word per waiting caller thread (its result wakes only that
 * thread), and the runner pool's pid, heartbeat and worker count.
 * Nothing sleeps for a fixed time: every wait is a futex wait on a word
 * that changes exactly when there is something to see.  Besides
 * common/, it calls only queue/proc.c (whether a pid or a thread still
 * runs) and queue/qdir.c (opening the file through the directory's
 * descriptor). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "queue/bell.h"
#include "queue/proc.h"
#include "queue/qdir.h"

#define BELL_MAGIC 0x6474626cu /* "dtbl" */
#define BELL_VERSION 3u

/* The doorbell page, shared by every process of the queue. */
struct dt__bell {
  uint32_t magic;
  uint32_t version;
  uint64_t next_id;      /* the id counter */
  uint32_t task_seq;     /* futex: bumped on every new task */
  uint32_t idle;         /* workers asleep on task_seq */
  int32_t runner_pid;    /* the pool's supervisor */
  uint32_t runner_seq;   /* futex: bumped when a pool starts or stops */
  uint64_t heartbeat_ns; /* CLOCK_MONOTONIC of its last beat */
  uint32_t kick_seq;     /* bumped by dt__bell_kick: idle claims return */
  uint32_t workers;      /* the pool's number of workers */
  struct {
    uint64_t owner; /* pid << 32 | tid of the owning thread, 0 when free */
    uint32_t seq;   /* futex: bumped when a result for it is stored */
    uint32_t pad;
  } slot[DT__BELL_SLOTS];
};

/* ------------------------------------------------------------- futex */

/* The futex system call (glibc has no wrapper): op on word. */
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

/* Wakes at most n waiters of word. */
static void futex_wake(uint32_t *word, int n) {
  futex(word, FUTEX_WAKE, (uint32_t)n, NULL);
}

/* Bumps word and wakes every waiter of it. */
static void bump_wake_all(uint32_t *word) {
  __atomic_add_fetch(word, 1, __ATOMIC_SEQ_CST);
  futex_wake(word, INT32_MAX);
}

/* now + timeout_ns on CLOCK_MONOTONIC (dt__now_ns), saturating: a huge
 * timeout means "forever" (UINT64_MAX). */
uint64_t dt__bell_deadline(uint64_t timeout_ns) {
  uint64_t now = dt__now_ns();
  return timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
}

/* -------------------------------------------------------------- open */

/* Maps the file bell of the queue directory dirfd (its path dir, for
 * messages) into *out, creating and initialising it once; it is opened
 * through the descriptor, never following a link, and refused unless it
 * is a regular file of the user that others cannot write
 * (dt__qdir_openat).  The file is sized with ftruncate under an
 * exclusive open so that two processes starting together agree on its
 * content.  Returns 0, or a negative errno with a sentence in err
 * (-EPROTO: the file is not a doorbell of this version; the sentence
 * says how to remove it).  *out is owned by the caller
 * (dt__bell_close). */
int dt__bell_open(int dirfd, const char *dir, dt__bell **out,
                  dt__error *err) {
  char path[PATH_MAX + 8];
  int fd, rc = 0;
  *out = NULL;
  snprintf(path, sizeof path, "%s/bell", dir);
  rc = dt__qdir_openat(dirfd, dir, "bell", O_RDWR | O_CREAT, &fd, err);
  if (rc != 0)
    return rc;
  struct stat st;
  if (fstat(fd, &st) != 0 ||
      (st.st_size != 0 && st.st_size != sizeof(dt__bell))) {
    dt__error_set(err, 0, 0,
                  "%s is not a doorbell of this dtask version (size %lld); "
                  "stop any runner of this queue and remove it: rm -rf %s",
                  path, (long long)st.st_size, dir);
    close(fd);
    return -EPROTO;
  }
  if (st.st_size == 0 && ftruncate(fd, sizeof(dt__bell)) != 0) {
    rc = -errno;
    dt__error_set(err, 0, 0, "cannot size %s: %s", path, strerror(-rc));
    close(fd);
    return rc;
  }
  void *m =
      mmap(NULL, sizeof(dt__bell), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) {
    rc = -errno;
    dt__error_set(err, 0, 0, "cannot map %s: %s", path, strerror(-rc));
    return rc;
  }
  dt__bell *b = m;
  uint32_t zero = 0;
  /* A new file is all zeros: ids start at 0, every slot is free.  Only
   * the magic and version are written, so that a second process opening
   * the queue at the same moment sees nothing half-initialised. */
  if (__atomic_compare_exchange_n(&b->magic, &zero, BELL_MAGIC, false,
                                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    __atomic_store_n(&b->version, BELL_VERSION, __ATOMIC_SEQ_CST);
  } else if (zero != BELL_MAGIC ||
             (__atomic_load_n(&b->version, __ATOMIC_SEQ_CST) != 0 &&
              __atomic_load_n(&b->version, __ATOMIC_SEQ_CST) !=
                  BELL_VERSION)) {
    dt__error_set(err, 0, 0,
                  "%s is not a doorbell of this dtask version; stop any "
                  "runner of this queue and remove it: rm -rf %s",
                  path, dir);
    munmap(b, sizeof *b);
    return -EPROTO;
  }
  *out = b;
  return 0;
}

/* Unmaps the page (NULL is allowed). */
void dt__bell_close(dt__bell *b) {
  if (b != NULL)
    munmap(b, sizeof *b);
}

/* ------------------------------------------------------ ids and tasks */

/* Hands out the next id (ids start at 0 in a new queue, never repeat). */
uint64_t dt__bell_take_id(dt__bell *b) {
  return __atomic_fetch_add(&b->next_id, 1, __ATOMIC_SEQ_CST);
}

/* The next id to be handed out. */
uint64_t dt__bell_next_id(dt__bell *b) {
  return __atomic_load_n(&b->next_id, __ATOMIC_ACQUIRE);
}

/* The new-task word: read it before looking for a task, then pass it to
 * dt__bell_wait_task, so that a task queued in between is not slept
 * through. */
uint32_t dt__bell_task_seq(dt__bell *b) {
  return __atomic_load_n(&b->task_seq, __ATOMIC_SEQ_CST);
}

/* A task was committed: bumps the new-task word and wakes one idle
 * worker, if any sleeps (no system call otherwise). */
void dt__bell_task_added(dt__bell *b) {
  __atomic_add_fetch(&b->task_seq, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&b->idle, __ATOMIC_SEQ_CST) > 0)
    futex_wake(&b->task_seq, 1);
}

/* Tasks went back to the queue (the sweep requeued them): wakes every
 * idle worker, as new tasks would. */
void dt__bell_tasks_returned(dt__bell *b) { bump_wake_all(&b->task_seq); }

/* Sleeps as an idle worker while the new-task word is still seen, at
 * most timeout_ns (0: forever).  Returns 0 (woken, or the word moved),
 * -ETIMEDOUT or -EINTR. */
int dt__bell_wait_task(dt__bell *b, uint32_t seen, uint64_t timeout_ns) {
  __atomic_add_fetch(&b->idle, 1, __ATOMIC_SEQ_CST);
  int rc = futex_wait(&b->task_seq, seen, timeout_ns);
  __atomic_sub_fetch(&b->idle, 1, __ATOMIC_SEQ_CST);
  return rc;
}

/* The kick count: a worker reads it once before it claims, and returns
 * when it has moved (dt__bell_kick). */
uint32_t dt__bell_kicks(dt__bell *b) {
  return __atomic_load_n(&b->kick_seq, __ATOMIC_SEQ_CST);
}

/* Moves the kick count and wakes every idle worker (shutdown). */
void dt__bell_kick(dt__bell *b) {
  __atomic_add_fetch(&b->kick_seq, 1, __ATOMIC_SEQ_CST);
  bump_wake_all(&b->task_seq);
}

/* ----------------------------------------------------------- waiters */

/* Takes a free waiter slot for this thread into *slot.  A slot's owner
 * word is pid << 32 | tid, taken with one compare-and-swap; a slot whose
 * thread is gone (it exited, or its process died) is taken over on the
 * second pass.  Returns 0, or -EAGAIN when every slot belongs to a live
 * thread. */
int dt__bell_waiter(dt__bell *b, uint32_t *slot) {
  uint64_t pid = (uint64_t)getpid();
  uint64_t tid = (uint64_t)syscall(SYS_gettid);
  uint64_t me = pid << 32 | tid;
  uint32_t start = (uint32_t)tid % DT__BELL_SLOTS;
  for (int pass = 0; pass < 2; pass++) {
    for (uint32_t k = 0; k < DT__BELL_SLOTS; k++) {
      uint32_t i = (start + k) % DT__BELL_SLOTS;
      uint64_t cur = __atomic_load_n(&b->slot[i].owner, __ATOMIC_ACQUIRE);
      if (cur != 0 &&
          (pass == 0 || dt__proc_thread_alive((int)(cur >> 32),
                                              (int)(cur & 0xffffffffu))))
        continue;
      if (__atomic_compare_exchange_n(&b->slot[i].owner, &cur, me, false,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        *slot = i;
        return 0;
      }
    }
  }
  return -EAGAIN;
}

/* Gives slot back if this thread owns it (thread exit). */
void dt__bell_waiter_release(dt__bell *b, uint32_t slot) {
  uint64_t me = (uint64_t)getpid() << 32 | (uint64_t)syscall(SYS_gettid);
  if (slot < DT__BELL_SLOTS)
    __atomic_compare_exchange_n(&b->slot[slot].owner, &me, 0, false,
                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* The wake-up count of slot (0 for a slot out of range). */
uint32_t dt__bell_slot_seq(dt__bell *b, uint32_t slot) {
  return slot < DT__BELL_SLOTS
             ? __atomic_load_n(&b->slot[slot].seq, __ATOMIC_SEQ_CST)
             : 0;
}

/* Sleeps while slot's wake-up count is still seen, at most timeout_ns
 * (0: forever).  Returns 0 (woken, or the count moved), -ETIMEDOUT,
 * -EINTR, or -EINVAL for a slot out of range. */
int dt__bell_wait_slot(dt__bell *b, uint32_t slot, uint32_t seen,
                       uint64_t timeout_ns) {
  if (slot >= DT__BELL_SLOTS)
    return -EINVAL;
  return futex_wait(&b->slot[slot].seq, seen, timeout_ns);
}

/* A result for slot's thread was stored: bumps its wake-up count and
 * wakes it.  A slot out of range (none) is ignored. */
void dt__bell_ring(dt__bell *b, uint32_t slot) {
  if (slot < DT__BELL_SLOTS)
    bump_wake_all(&b->slot[slot].seq);
}

/* ------------------------------------------------------------ runners */

/* Publishes the pool's pid (0: the pool stopped) and a heartbeat.  Every
 * beat wakes dt__bell_wait_runner: a pool whose beat had gone stale is
 * alive again as soon as it beats, whatever its pid. */
void dt__bell_heartbeat(dt__bell *b, int pid) {
  __atomic_store_n(&b->runner_pid, pid, __ATOMIC_SEQ_CST);
  __atomic_store_n(&b->heartbeat_ns, pid ? dt__now_ns() : 0,
                   __ATOMIC_RELEASE);
  bump_wake_all(&b->runner_seq);
}

/* 1 if a pool published a heartbeat within max_age_ns, else 0; a plain
 * read of the page (no system call but the clock's). */
int dt__bell_runner_recent(dt__bell *b, uint64_t max_age_ns) {
  int pid = __atomic_load_n(&b->runner_pid, __ATOMIC_ACQUIRE);
  uint64_t hb = __atomic_load_n(&b->heartbeat_ns, __ATOMIC_ACQUIRE);
  uint64_t now = dt__now_ns();
  if (pid <= 0 || hb == 0)
    return 0;
  return now < hb || now - hb <= max_age_ns;
}

/* 1 if dt__bell_runner_recent and the pool's process runs, else 0. */
int dt__bell_runner_alive(dt__bell *b, uint64_t max_age_ns) {
  return dt__bell_runner_recent(b, max_age_ns) &&
         dt__proc_alive(__atomic_load_n(&b->runner_pid, __ATOMIC_ACQUIRE));
}

/* Waits (futex on the pool's word, no polling) until a pool is alive
 * (dt__bell_runner_alive), at most timeout_ns.  Returns 0, -ETIMEDOUT,
 * or another negative errno of the wait. */
int dt__bell_wait_runner(dt__bell *b, uint64_t max_age_ns,
                         uint64_t timeout_ns) {
  uint64_t deadline = dt__bell_deadline(timeout_ns);
  for (;;) {
    uint32_t seen = __atomic_load_n(&b->runner_seq, __ATOMIC_SEQ_CST);
    if (dt__bell_runner_alive(b, max_age_ns))
      return 0;
    uint64_t now = dt__now_ns();
    if (now >= deadline)
      return -ETIMEDOUT;
    int rc = futex_wait(&b->runner_seq, seen, deadline - now);
    if (rc != 0 && rc != -EINTR && rc != -ETIMEDOUT)
      return rc;
  }
}

/* Publishes the pool's number of workers (0 or less: none known). */
void dt__bell_set_workers(dt__bell *b, int n) {
  __atomic_store_n(&b->workers, n > 0 ? (uint32_t)n : 0, __ATOMIC_RELEASE);
}

/* The pool's number of workers as published (0: none known). */
int dt__bell_workers(dt__bell *b) {
  return (int)__atomic_load_n(&b->workers, __ATOMIC_ACQUIRE);
}
