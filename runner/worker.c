/* worker.c: owns a worker of a runner pool.
 *
 * Each worker is a process forked by the supervisor (supervisor.c).  It
 * opens its own LMDB environment (handles never cross fork), claims
 * tasks, calls the real function with ffi_call and stores the result,
 * which wakes exactly the caller thread that waits.  Each worker is a
 * separate process, so library state (a global lock, a static buffer) is
 * per worker, as it would be per process.
 *
 * While it runs a call, the worker writes the call, and its deadline when
 * its symbol has a timeout, into its entry of the table it shares with
 * the supervisor, which kills it past that deadline and answers for it
 * if it dies. */
#include <stdio.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "runner/proctitle.h"
#include "runner/worker.h"
#include "shim/stub.h"

/* Allocations up to this size come from a worker's heap, and the heap
 * keeps up to WORKER_TRIM free bytes (see dt__worker_run). */
#define WORKER_MMAP_THRESHOLD (32 << 20)
#define WORKER_TRIM (64 << 20)

/* The worker's view of its pool, set when it starts (in the child). */
static const dt__config *w_cfg;
static dt__stub *w_stubs;
static size_t w_n;
static dt__wtable *w_table;
static volatile sig_atomic_t w_stop;
/* The worker's queue handle (its own: handles never cross fork). */
static dt__queue *w_queue;

/* SIGTERM, SIGINT, SIGHUP: stop after the call in hand. */
static void on_stop(int sig) {
  (void)sig;
  w_stop = 1;
}

/* The decoder's reader of a fan-out slice's reference to bytes stored
 * once in the queue (ctx: the worker's queue handle). */
static int fetch_blob(void *ctx, uint64_t id, void *dst, uint64_t n) {
  return dt__queue_blob_read(ctx, id, dst, n);
}

/* Answers one task record (claimed as qid): checks it is meant for this
 * runner, decodes it, calls the real function with ffi_call, with its
 * deadline published in me, and encodes the result.  *out gets a
 * malloc'd result record (an error record when the task cannot be run),
 * which the caller frees.  Returns 0, or a negative errno when no record
 * could be made. */
static int serve_one(uint64_t fp, uint64_t qid, const uint8_t *rec,
                     size_t size, dt__wstate *me, int supervisor,
                     uint8_t **out, size_t *outsz) {
  uint64_t tfp, call_id;
  uint32_t entry;
  char msg[512];

  if (dt__wire_task_peek(rec, size, &tfp, &entry, &call_id) != 0)
    return dt__wire_result_error(qid, DT__ST_MALFORMED, 0,
                                 "the task record is not a dtask task of "
                                 "this format version (is the caller's "
                                 "dtask the same version as the runner's?)",
                                 out, outsz);
  if (tfp != fp) {
    snprintf(msg, sizeof msg,
             "runner %d serves a different config (%.200s, fingerprint "
             "%016llx; the task's is %016llx): restart the runner with the "
             "caller's config",
             (int)getpid(), w_cfg->path, (unsigned long long)fp,
             (unsigned long long)tfp);
    return dt__wire_result_error(call_id, DT__ST_FINGERPRINT, 0, msg, out,
                                 outsz);
  }
  if (entry >= w_n) {
    snprintf(msg, sizeof msg, "runner %d has no entry %u", (int)getpid(),
             entry);
    return dt__wire_result_error(call_id, DT__ST_NO_ENTRY, 0, msg, out, outsz);
  }
  dt__stub *s = &w_stubs[entry];
  if (s->real == NULL) {
    snprintf(msg, sizeof msg,
             "runner %d (%s) cannot find '%s': no object of the runner "
             "defines it (name its library with library = \"...\")",
             (int)getpid(), program_invocation_short_name, s->off->symbol);
    return dt__wire_result_error(call_id, DT__ST_NO_SYMBOL, 0, msg, out, outsz);
  }
  dt__frame f;
  dt__error derr;
  int rc = dt__wire_task_decode_refs(&s->off->sig, rec, size, fetch_blob,
                                     w_queue, &f, &derr);
  if (rc != 0)
    return dt__wire_result_error(call_id,
                                 rc == -ENOMEM ? DT__ST_NOMEM
                                               : DT__ST_MALFORMED,
                                 0, derr.msg, out, outsz);
  union {
    ffi_arg a;
    double d;
    long double ld;
    unsigned char b[32];
  } ret;
  memset(&ret, 0, sizeof ret);
  /* SIGTERM/SIGINT wait until the function returns: a stop request
   * must not cut its sleeps or reads short. */
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, &old);
  __atomic_store_n(&me->entry, entry, __ATOMIC_RELAXED);
  if (s->off->policy.timeout_ns > 0) {
    uint64_t deadline = dt__now_ns() + s->off->policy.timeout_ns;
    __atomic_store_n(&me->deadline, deadline, __ATOMIC_SEQ_CST);
    if (deadline < __atomic_load_n(&w_table->next_wake, __ATOMIC_SEQ_CST) &&
        getppid() == supervisor)
      kill(supervisor, DT__WAKE_SIGNAL);
  }
  errno = f.caller_errno;
  ffi_call(&s->cif, FFI_FN(s->real), &ret, f.argv);
  int err = errno;
  __atomic_store_n(&me->deadline, 0, __ATOMIC_SEQ_CST);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  rc = dt__wire_result_encode(&s->off->sig, &f, &ret, err, out, outsz);
  dt__frame_free(&f);
  return rc;
}

/* Answers call id with an error record (the caller then runs the call
 * inline and prints msg).  Used when a task cannot be claimed, or its
 * result cannot be encoded or stored. */
static void reject(dt__queue *q, uint64_t id, int status, const char *msg) {
  uint8_t *res = NULL;
  size_t rsize = 0;
  int rc = dt__wire_result_error(id, status, 0, msg, &res, &rsize);
  if (rc == 0)
    rc = dt__queue_reject(q, id, res, rsize);
  if (rc != 0)
    dt__log(DT__LOG_ERROR, "worker: cannot answer call %llu: %s",
            (unsigned long long)id, strerror(-rc));
  free(res);
}

/* A worker's life, in the child the supervisor forked: claim, call,
 * complete, until told to stop or the supervisor is gone.  Every claimed
 * task gets an answer: its result, or an error record when the result
 * cannot be encoded or stored.  cfg, stubs and table are the
 * supervisor's (inherited across fork); the worker's entry is
 * table->w[i].  Opens the worker's own queue handle and closes it on the
 * way out.  Returns the worker's exit status. */
int dt__worker_run(const dt__config *cfg, dt__stub *stubs, size_t n,
                   dt__wtable *table, int i, int supervisor) {
  dt__wstate *me = &table->w[i];
  dt__queue *q = NULL;
  dt__error err = {0, 0, ""};
  char msg[512];
  struct sigaction sa;

  w_cfg = cfg;
  w_stubs = stubs;
  w_n = n;
  w_table = table;
  uint64_t fp = dt__wire_fingerprint(w_cfg);

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: futex waits return */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  /* A worker's task record and its result are each as large as the
   * call's arguments, allocated and freed once per call.  glibc would
   * map and unmap every one above 128 KiB (or trim its heap after it),
   * and the page faults of touching fresh pages would cost more than the
   * copy itself (a 4 MiB call: 25 ms instead of 2).  Kept in the heap
   * instead, they are reused; the heap keeps at most WORKER_TRIM bytes it
   * does not use.  (The decoded buffers reuse one block: queue/wire_task.c.)  Only
   * glibc's allocator reads these settings, and only in the worker. */
  mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD);
  mallopt(M_TRIM_THRESHOLD, WORKER_TRIM);
  dt__proctitle_set("dtask-w%d:%s", i, table->name);
  if (dt__queue_open_image(w_cfg, table->image, &q, &err) != 0) {
    dt__log(DT__LOG_ERROR, "worker: %s", err.msg);
    return 2;
  }
  w_queue = q;
  __atomic_add_fetch(&w_table->ready, 1, __ATOMIC_SEQ_CST);
  if (getppid() == supervisor)
    kill(supervisor, DT__WAKE_SIGNAL);
  while (!w_stop && getppid() == supervisor) {
    uint8_t *rec = NULL, *res = NULL;
    size_t size = 0, rsize = 0;
    uint64_t id = 0;
    int rc = dt__queue_claim(q, &rec, &size, &id, DT__RUNNER_TICK_NS);
    if (rc == -ETIMEDOUT || rc == -EINTR)
      continue;
    if (rc == -E2BIG) {
      snprintf(msg, sizeof msg,
               "the task is too large for the queue to hand to a worker "
               "(map_size %llu MiB); raise [queue] map_size",
               (unsigned long long)(w_cfg->map_size >> 20));
      reject(q, id, DT__ST_NOMEM, msg);
      continue;
    }
    if (rc != 0) {
      dt__log(DT__LOG_ERROR, "worker: claiming a task failed: %s",
              strerror(-rc));
      break;
    }
    __atomic_store_n(&me->busy, id + 1, __ATOMIC_SEQ_CST);
    rc = serve_one(fp, id, rec, size, me, supervisor, &res, &rsize);
    free(rec);
    if (rc == 0) {
      rc = dt__queue_complete(q, id, res, rsize);
      if (rc != 0) {
        snprintf(msg, sizeof msg,
                 "the function ran, but its result (%zu bytes) could not be "
                 "stored in the queue (%s); raise [queue] map_size",
                 rsize, strerror(-rc));
        reject(q, id, DT__ST_NOMEM, msg);
      }
    } else {
      snprintf(msg, sizeof msg, "the runner could not encode the result: %s",
               strerror(-rc));
      reject(q, id, DT__ST_NOMEM, msg);
    }
    free(res);
    __atomic_store_n(&me->busy, 0, __ATOMIC_SEQ_CST);
  }
  dt__queue_close(q);
  return 0;
}

/* ---------------------------------------------------------- supervisor */
