/* worker.c: owns a worker of a runner pool.
 *
 * Each worker is a process forked by the supervisor (supervisor.c).  It
 * opens its own LMDB environment (handles never cross fork), claims
 * tasks, calls the real function with ffi_call and stores the result,
 * which wakes exactly the caller thread that waits.  Each worker is a
 * separate process, so library state (a global lock, a static buffer) is
 * per worker, as it would be per process.
 *
 * A call is served by the same build of the function as the caller's: a
 * task names the object that defines the caller's function (its
 * identity and absolute path, queue/wire.h).  When the runner's own
 * definition comes from another build, or the runner has none (the
 * caller found it in a library it dlopened after start-up, and the
 * runner's main, which would have done the same, never runs), the worker
 * loads the caller's object itself, after checking who may have written
 * it, and checks the identity of what it loaded.  When it cannot, the
 * call is answered DT__ST_NO_SYMBOL with a sentence saying why, and the
 * caller runs it inline: never with another build.
 *
 * While it runs a call, the worker writes the call, and its deadline when
 * its symbol has a timeout, into its entry of the table it shares with
 * the supervisor, which kills it past that deadline and answers for it
 * if it dies. */
#include <stdio.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"
#include "queue/arena.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "runner/proctitle.h"
#include "runner/poolstat.h"
#include "runner/worker.h"
#include "queue/image.h"
#include "shim/loader.h"
#include "shim/symbol.h"

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

/* SIGTERM, SIGINT, SIGHUP, if a function unblocked them: stop after the
 * call in hand (must_stop). */
static void on_stop(int sig) {
  (void)sig;
  w_stop = 1;
}

/* ------------------------------------------------ the caller's object */

/* Definitions a worker found by loading a caller's object, and the
 * refusals it answered, by entry and the caller's identity, so that
 * later calls of the same build skip the checks and the load.  A
 * refusal is checked again after OBJ_RETRY_NS (the library may have been
 * deployed since).  When the table is full, the oldest slot is reused. */
#define OBJ_SLOTS 64
#define OBJ_RETRY_NS (5ull * 1000000000ull)
typedef struct obj_slot {
  bool used;
  uint32_t entry;
  uint64_t digest;
  void *fn;       /* the definition, or NULL: refused, msg says why */
  uint64_t until; /* a refusal stands until then */
  char msg[512];
} obj_slot;
static obj_slot w_objs[OBJ_SLOTS];
static unsigned w_objs_next;

/* Writes a message into msg (msgsz bytes), cut if it is longer: the
 * messages below hold paths, and a result's message is bounded anyway. */
static void say(char *msg, size_t msgsz, const char *fmt, ...) DT__PRINTF(3, 4);
static void say(char *msg, size_t msgsz, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, msgsz, fmt, ap);
  va_end(ap);
}

/* How the runner's own definition of s stands, for the messages: after
 * "the caller found 'f' there". */
static void own_side(const dt__stub *s, char *out, size_t outsz) {
  if (s->real == NULL)
    say(out, outsz, "; no object the runner loads at start-up defines it");
  else if (s->def_known)
    say(out, outsz, "; the runner's own is in %.200s, build %016llx",
        s->def_path[0] ? s->def_path : s->def_name,
        (unsigned long long)s->def_id.digest);
  else
    say(out, outsz, "; the runner's own is in %.200s, of unknown build",
        s->def_name[0] ? s->def_name : "the program");
}

/* Whether this worker may load the file that a task names: 0 when it
 * may (a regular file, not a symbolic link since the caller's path is
 * resolved, owned by root or by the runner's effective user, writable by
 * nobody else), 1 when it will not, -1 when it cannot (no such file, no
 * access), with the reason in why (a clause). */
static int may_load(const char *path, char *why, size_t whysz) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    say(why, whysz, "%s", strerror(errno));
    return -1;
  }
  if (S_ISLNK(st.st_mode)) {
    say(why, whysz,
        "it is a symbolic link here, but the caller's path is resolved: "
        "the runner must see the caller's file at that path");
    return 1;
  }
  if (!S_ISREG(st.st_mode)) {
    say(why, whysz, "it is not a regular file");
    return 1;
  }
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    say(why, whysz,
        "it is owned by uid %u, neither root nor the runner's user "
        "(uid %u), and a runner loads no library another user could "
        "change",
        (unsigned)st.st_uid, (unsigned)geteuid());
    return 1;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    say(why, whysz,
        "it is writable by its group or by others (mode %04o), and a "
        "runner loads no library another user could change (chmod go-w "
        "it)",
        (unsigned)(st.st_mode & 07777));
    return 1;
  }
  return 0;
}

/* Loads the object that a task of s names (obj, with a path) and finds
 * s's symbol in it, as the caller's build: the file is checked (may_load)
 * and its identity compared with the caller's before it is loaded, so
 * that another build's constructors never run, and the identity of the
 * object that defines the address found is compared again after (the
 * file may have changed in between).  Loaded with the engine's own
 * dlopen, RTLD_NOW | RTLD_LOCAL, and never closed once it serves.
 * Returns the definition, or NULL with a sentence in msg. */
static void *load_caller_object(const dt__stub *s, const dt__wire_obj *obj,
                                char *msg, size_t msgsz) {
  const dt__offload *o = s->off;
  const int pid = (int)getpid();
  const char *prog = program_invocation_short_name;
  const char *at = o->version[0] != '\0' ? "@" : "";
  char path[PATH_MAX], own[320], why[256];
  dt__objid id;

  own_side(s, own, sizeof own);
  if (obj->len == 0 || obj->len >= sizeof path) {
    if (s->real == NULL)
      say(msg, msgsz,
          "runner %d (%s) cannot find '%s': no object of the runner "
          "defines it, and the caller's task does not name its file "
          "(name its library with library = \"...\")",
          pid, prog, o->symbol);
    else
      say(msg, msgsz,
          "runner %d (%s) has '%s' in %.200s build %016llx but the "
          "caller's is build %016llx, and the caller's task does not "
          "name its file: deploy the same library on both",
          pid, prog, o->symbol, s->def_path[0] ? s->def_path : s->def_name,
          (unsigned long long)s->def_id.digest,
          (unsigned long long)obj->digest);
    return NULL;
  }
  memcpy(path, obj->path, obj->len);
  path[obj->len] = '\0';
  if (path[0] != '/') {
    say(msg, msgsz,
        "runner %d (%s) will not load %.200s for '%s': the caller's "
        "path is not absolute",
        pid, prog, path, o->symbol);
    return NULL;
  }
  int may = may_load(path, why, sizeof why);
  if (may != 0) {
    say(msg, msgsz,
        "runner %d (%s) %s %.200s (the caller found '%s' there%s): %s", pid,
        prog, may < 0 ? "cannot load" : "will not load", path, o->symbol, own,
        why);
    return NULL;
  }
  int rc = dt__image_of_file(path, &id);
  if (rc != 0) {
    say(msg, msgsz,
        "runner %d (%s) cannot read the build of %.200s (the caller "
        "found '%s' there): %s",
        pid, prog, path, o->symbol, strerror(-rc));
    return NULL;
  }
  if (id.digest != obj->digest) {
    say(msg, msgsz,
        "runner %d (%s) has %.200s build %016llx but the caller's is "
        "%016llx: deploy the same library on both",
        pid, prog, path, (unsigned long long)id.digest,
        (unsigned long long)obj->digest);
    return NULL;
  }
  void *h = dt__loader_dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *e = dlerror();
    say(msg, msgsz,
        "runner %d (%s) cannot load %.200s (the caller found '%s' "
        "there%s): %.200s",
        pid, prog, path, o->symbol, own, e != NULL ? e : "dlopen failed");
    return NULL;
  }
  void *fn = dt__loader_sym(h, o->symbol, o->version);
  if (fn == NULL) {
    say(msg, msgsz,
        "runner %d (%s) loaded %.200s, where the caller found '%s%s%s', "
        "but it does not define it here",
        pid, prog, path, o->symbol, at, o->version);
    dlclose(h);
    return NULL;
  }
  char def[PATH_MAX];
  rc = dt__image_of_addr(fn, &id, def, sizeof def);
  if (rc != 0 || id.digest != obj->digest) {
    if (rc != 0)
      say(msg, msgsz,
          "runner %d (%s) loaded %.200s for '%s' but cannot identify "
          "the object that defines it there (%s)",
          pid, prog, path, o->symbol, strerror(-rc));
    else
      say(msg, msgsz,
          "runner %d (%s) loaded %.200s, but its '%s' is defined by "
          "%.200s build %016llx, not the caller's build %016llx: "
          "deploy the same library on both",
          pid, prog, path, o->symbol, def, (unsigned long long)id.digest,
          (unsigned long long)obj->digest);
    dlclose(h);
    return NULL;
  }
  dt__log(DT__LOG_INFO,
          "worker %d: '%s%s%s' served from %s (the caller's "
          "build %016llx), loaded for the caller",
          pid, o->symbol, at, o->version, path,
          (unsigned long long)obj->digest);
  return fn;
}

/* The definition that serves a call of s (entry) whose task names the
 * caller's object obj (has: whether it names one): the runner's own when
 * it is the same build (or when the task names no object, as before),
 * else the one found by loading the caller's object (load_caller_object),
 * remembered per worker.  Returns it, or NULL with a sentence in msg. */
static void *definition(const dt__stub *s, uint32_t entry, bool has,
                        const dt__wire_obj *obj, char *msg, size_t msgsz) {
  void *real = s->real;
  if (!has) {
    if (real == NULL)
      say(msg, msgsz,
          "runner %d (%s) cannot find '%s': no object of the runner "
          "defines it (name its library with library = \"...\")",
          (int)getpid(), program_invocation_short_name, s->off->symbol);
    return real;
  }
  if (real != NULL && s->def_known && s->def_id.digest == obj->digest)
    return real;
  obj_slot *slot = NULL;
  for (unsigned i = 0; i < OBJ_SLOTS; i++)
    if (w_objs[i].used && w_objs[i].entry == entry &&
        w_objs[i].digest == obj->digest) {
      slot = &w_objs[i];
      break;
    }
  uint64_t now = dt__now_ns();
  if (slot != NULL && (slot->fn != NULL || now < slot->until)) {
    if (slot->fn == NULL)
      say(msg, msgsz, "%s", slot->msg);
    return slot->fn;
  }
  if (slot == NULL) {
    slot = &w_objs[w_objs_next];
    w_objs_next = (w_objs_next + 1) % OBJ_SLOTS;
  }
  memset(slot, 0, sizeof *slot);
  slot->fn = load_caller_object(s, obj, slot->msg, sizeof slot->msg);
  slot->used = true;
  slot->entry = entry;
  slot->digest = obj->digest;
  slot->until = now + OBJ_RETRY_NS;
  if (slot->fn == NULL) {
    dt__log(DT__LOG_WARN, "worker %d: %s", (int)getpid(), slot->msg);
    say(msg, msgsz, "%s", slot->msg);
  }
  return slot->fn;
}

/* What fetch_blob reads for: the worker's queue handle and the task it
 * has claimed (a task reads only its own caller's shared buffers). */
typedef struct fetch_ctx {
  dt__queue *q;
  uint64_t task;
} fetch_ctx;

/* The decoder's reader of a fan-out slice's reference to bytes stored
 * once in the queue (ctx: a fetch_ctx).  Returns dt__queue_blob_read's
 * answer (-EACCES: the blob is another caller's). */
static int fetch_blob(void *ctx, uint64_t id, void *dst, uint64_t n) {
  const fetch_ctx *fc = ctx;
  return dt__queue_blob_read(fc->q, fc->task, id, dst, n);
}

/* The decoder's reader of the caller's arena that a task names (ctx: a
 * fetch_ctx): this worker's view of it (queue/arena.c), when the queue's
 * workers share the caller's host; otherwise the task is refused. */
static int map_arena(void *ctx, uint32_t slot, uint64_t stamp, uint64_t need,
                     uint8_t **data, dt__error *err) {
  const fetch_ctx *fc = ctx;
  if (!fc->q->ops->arena) {
    dt__error_set(err, 0, 0, "the task names its caller's arena, which a "
                  "%s queue's workers cannot reach", fc->q->ops->name);
    return -EPROTO;
  }
  return dt__arena_view(fc->q->dirfd, fc->q->dir, slot, stamp, need, data,
                        err);
}

/* Answers one task record (claimed as qid): checks it is meant for this
 * runner, decodes it, finds the definition of the caller's build
 * (definition: perhaps loading the caller's object, under the call's
 * deadline), calls it with ffi_call, with its deadline published in me,
 * and encodes the result.  *out gets a
 * malloc'd result record (an error record when the task cannot be run),
 * which the caller frees; *ran says whether the function was called.
 * Nothing runs for a task whose call id is not the id it was claimed
 * under (the result would answer another call), or that asks for more
 * than dt__wire_call_limit (checked before allocating).  Returns 0, or a
 * negative errno when no record could be made. */
static int serve_one(uint64_t fp, uint64_t qid, const uint8_t *rec,
                     size_t size, dt__wstate *me, int supervisor,
                     uint8_t **out, size_t *outsz, bool *ran) {
  uint64_t tfp, call_id;
  uint32_t entry;
  char msg[512];
  dt__wire_obj obj;
  dt__error derr;

  if (dt__wire_task_peek(rec, size, &tfp, &entry, &call_id) != 0)
    return dt__wire_result_error(qid, DT__ST_MALFORMED, 0,
                                 "the task record is not a dtask task of "
                                 "this format version (is the caller's "
                                 "dtask the same version as the runner's?)",
                                 out, outsz);
  if (call_id != qid) {
    snprintf(msg, sizeof msg,
             "the task record says it is call %llu, but it was queued as "
             "call %llu: refused, not run",
             (unsigned long long)call_id, (unsigned long long)qid);
    return dt__wire_result_error(qid, DT__ST_MALFORMED, 0, msg, out, outsz);
  }
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
  int has = dt__wire_task_obj(rec, size, &obj, &derr);
  if (has < 0)
    return dt__wire_result_error(call_id, DT__ST_MALFORMED, 0, derr.msg, out,
                                 outsz);
  dt__frame f;
  fetch_ctx fc = {w_queue, qid};
  int rc = dt__wire_task_decode_limit(&s->off->sig, rec, size, fetch_blob,
                                      &fc, map_arena, &fc,
                                      dt__wire_call_limit(w_cfg), &f, &derr);
  if (rc != 0)
    return dt__wire_result_error(call_id,
                                 rc == -ENOMEM  ? DT__ST_NOMEM
                                 : rc == -EFBIG ? DT__ST_TOO_BIG
                                                : DT__ST_MALFORMED,
                                 0, derr.msg, out, outsz);
  union {
    ffi_arg a;
    double d;
    long double ld;
    unsigned char b[32];
  } ret;
  memset(&ret, 0, sizeof ret);
  /* SIGTERM, SIGINT and SIGHUP are blocked (dt__worker_run): a stop
   * request waits until the function returns. */
  __atomic_store_n(&me->entry, entry, __ATOMIC_RELAXED);
  if (s->off->policy.timeout_ns > 0) {
    uint64_t deadline = dt__now_ns() + s->off->policy.timeout_ns;
    __atomic_store_n(&me->deadline, deadline, __ATOMIC_SEQ_CST);
    if (deadline < __atomic_load_n(&w_table->next_wake, __ATOMIC_SEQ_CST) &&
        getppid() == supervisor)
      kill(supervisor, DT__WAKE_SIGNAL);
  }
  /* Loading the caller's object, when it must, counts against the
   * call's deadline: a library whose constructor hangs is killed too. */
  void *fn = definition(s, entry, has == 1, &obj, msg, sizeof msg);
  if (fn == NULL) {
    __atomic_store_n(&me->deadline, 0, __ATOMIC_SEQ_CST);
    dt__frame_free(&f);
    return dt__wire_result_error(call_id, DT__ST_NO_SYMBOL, 0, msg, out,
                                 outsz);
  }
  errno = f.caller_errno;
  *ran = true;
  ffi_call(&s->cif, FFI_FN(fn), &ret, f.argv);
  int err = errno;
  __atomic_store_n(&me->deadline, 0, __ATOMIC_SEQ_CST);
  rc = dt__wire_result_encode(&s->off->sig, &f, &ret, err, out, outsz);
  dt__frame_free(&f);
  return rc;
}

/* Answers call id with an error record: DT__ST_LOST when the function
 * ran (the caller must not run it again), another status when it did
 * not (the caller then runs it inline and prints msg).  Used when a task
 * cannot be claimed, or its result cannot be encoded or stored. */
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

/* Whether this worker must stop: it was told to (SIGTERM, SIGINT or
 * SIGHUP), or its supervisor is no longer its parent.  The stop signals
 * stay blocked for the worker's whole life, so that a stop never cuts a
 * call's sleeps or reads short, without two system calls per call to
 * block and unblock them around it.  The kernel is asked (sigpending,
 * getppid: about 1 us each on a paravirtualised host) when now is set
 * (a claim came back without a task: a supervisor that stops its
 * workers also kicks them out of their claims) and otherwise at most
 * every 100 ms, so that a busy worker stops within that, after the call
 * in hand.  on_stop's flag counts too (a function that unblocked the
 * signals).  t is CLOCK_MONOTONIC ns read just before (0: read here). */
static bool must_stop(bool now, int supervisor, uint64_t t) {
  static uint64_t next_ns;
  if (w_stop)
    return true;
  if (t == 0)
    t = dt__now_ns();
  if (!now && t < next_ns)
    return false;
  next_ns = t + 100000000ull;
  sigset_t p;
  if (sigpending(&p) == 0 &&
      (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1 ||
       sigismember(&p, SIGHUP) == 1))
    w_stop = 1;
  return w_stop || getppid() != supervisor;
}

/* Counts one answered call of entry (dtask status): an error when it was
 * answered with an error record; its time in this worker, decoding and
 * encoding included.  Relaxed atomic adds in the shared table. */
static void count(uint32_t entry, bool error, uint64_t took_ns) {
  if (entry >= DT__STAT_ENTRIES)
    return;
  dt__wsym *s = &w_table->sym[entry];
  __atomic_add_fetch(&s->calls, 1, __ATOMIC_RELAXED);
  if (error)
    __atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
  else
    __atomic_add_fetch(&s->exec[dt__hist_bucket(took_ns)], 1,
                       __ATOMIC_RELAXED);
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
  sigaction(SIGTERM, &sa, NULL); /* a function that unblocks them */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGHUP);
  sigprocmask(SIG_SETMASK, &stop, NULL); /* for good: must_stop */

  /* A worker's task record and its result are each as large as the
   * call's arguments, allocated and freed once per call.  glibc would
   * map and unmap every one above 128 KiB (or trim its heap after it),
   * and the page faults of touching fresh pages would cost more than the
   * copy itself (a 4 MiB call: 25 ms instead of 2).  Kept in the heap
   * instead, they are reused; the heap keeps at most WORKER_TRIM bytes it
   * does not use.  (The decoded buffers reuse one block: queue/wire_task.c.)
   * Only glibc's allocator reads these settings, and only in the worker. */
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
  bool idle = false;
  uint64_t tidied = dt__now_ns(); /* when the arena views were last tidied */
  const uint64_t limit = dt__wire_call_limit(w_cfg); /* one call's bytes */
  dt__claimed next = {NULL, 0, 0}; /* claimed with the last answer */
  bool have = false;
  while (have || !must_stop(idle, supervisor, 0)) {
    uint8_t *rec = NULL, *res = NULL;
    size_t size = 0, rsize = 0;
    uint64_t id = 0;
    int rc = 0;
    if (have) { /* a task in hand is served, whatever else was asked */
      rec = next.rec, size = next.size, id = next.id;
      have = false;
    } else {
      rc = dt__queue_claim(q, &rec, &size, &id, DT__RUNNER_TICK_NS);
    }
    idle = rc == -ETIMEDOUT || rc == -EINTR;
    /* One clock read serves the tidy check and the call's start: it
     * runs once per call. */
    uint64_t t0 = dt__now_ns();
    if (idle || t0 - tidied > DT__RUNNER_TICK_NS) {
      /* Idle, or once a tick while busy: let go of the arenas whose
       * callers did, so that their pages are freed. */
      dt__arena_views_tidy(q->dirfd);
      t0 = tidied = dt__now_ns();
    }
    if (idle)
      continue;
    if (rc == -E2BIG) {
      snprintf(msg, sizeof msg,
               "the queue has no room to hand the task (%zu bytes) to a "
               "worker (map_size %llu MiB: full of other calls, or too "
               "small); raise [queue] map_size",
               size, (unsigned long long)(w_cfg->map_size >> 20));
      reject(q, id, DT__ST_NOMEM, msg);
      continue;
    }
    if (rc == -EDQUOT) {
      /* The filesystem holding the queue is full: the task that could
       * not be claimed, when it was found, is answered with an error and
       * the next one is looked at; when none could even be found, the
       * worker pauses rather than spin while it stays full (no event
       * says when space comes back). */
      snprintf(msg, sizeof msg,
               "the filesystem holding the queue (%s) is full: no room to "
               "hand the task (%zu bytes) to a worker; free space there "
               "(df %s), or set [queue] path on a larger one",
               dt__queue_dir(q), size, dt__queue_dir(q));
      if (id != 0) {
        reject(q, id, DT__ST_NOMEM, msg);
        continue;
      }
      dt__log(DT__LOG_ERROR, "worker: %s", msg);
      nanosleep(&(struct timespec){0, 200000000}, NULL);
      continue;
    }
    if (rc != 0) {
      dt__log(DT__LOG_ERROR, "worker: claiming a task failed: %s",
              strerror(-rc));
      break;
    }
    dt__queue_claim_caller(q, me->caller, sizeof me->caller);
    me->since = t0;
    __atomic_store_n(&me->entry, UINT32_MAX, __ATOMIC_RELAXED);
    __atomic_store_n(&me->busy, id + 1, __ATOMIC_SEQ_CST);
    bool ran = false, failed = false;
    rc = serve_one(fp, id, rec, size, me, supervisor, &res, &rsize, &ran);
    uint64_t t1 = dt__now_ns();
    uint64_t took = t1 - t0;
    free(rec);
    if (rc == 0 && rsize > limit) {
      /* Only a returned string, which the caller could not count before
       * the call, makes a result larger than the caller's bound. */
      snprintf(msg, sizeof msg,
               "the function ran, but its result (%zu bytes, with the "
               "string it returned) is larger than one call may take "
               "(%llu bytes); raise [queue] max_call_size, or map_size "
               "(a quarter of it bounds a call)", rsize,
               (unsigned long long)limit);
      reject(q, id, DT__ST_LOST, msg);
      failed = true;
    } else if (rc == 0) {
      /* The next task comes with the answer while calls keep coming,
       * unless this worker is to stop. */
      rc = dt__queue_complete_next(q, id, res, rsize,
                                   must_stop(false, supervisor, t1) ? NULL
                                                                : &next);
      have = rc == 1;
      if (rc < 0) {
        snprintf(msg, sizeof msg,
                 "the function ran, but its result (%zu bytes) could not be "
                 "stored in the queue (%s); %s",
                 rsize,
                 rc == -EDQUOT ? "the filesystem holding it is full"
                               : strerror(-rc),
                 rc == -EDQUOT ? "free space there, or set [queue] path on "
                                 "a larger one"
                               : "raise [queue] map_size");
        reject(q, id, ran ? DT__ST_LOST : DT__ST_NOMEM, msg);
        failed = true;
      }
    } else {
      snprintf(msg, sizeof msg, "the runner could not encode the result%s: "
               "%s", ran ? " of the function, which ran" : "",
               strerror(-rc));
      reject(q, id, ran ? DT__ST_LOST : DT__ST_NOMEM, msg);
      failed = true;
    }
    count(me->entry, !ran || failed, took);
    free(res);
    __atomic_store_n(&me->busy, 0, __ATOMIC_SEQ_CST); /* next: not begun */
  }
  dt__arena_views_drop();
  dt__queue_close(q);
  return 0;
}

/* ---------------------------------------------------------- supervisor */
