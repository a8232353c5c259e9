/* runner.c: the shim in runner role: a pool of workers that serve calls.
 *
 * A runner is the program's own image, started with the shim preloaded
 * and DTASK_ROLE=runner.  Every constructor of the program and its
 * libraries runs as usual, so the functions it serves find their library
 * state initialised; then, instead of main, the serve loop runs: the
 * shim has pointed the program's __libc_start_main slot at a wrapper that
 * hands glibc serve_main in place of main.
 *
 * The first process is the supervisor: it holds the queue's runner lock
 * (one pool per queue), forks N workers, respawns any that dies, beats a
 * heartbeat into the doorbell page, sweeps entries left by dead callers,
 * and on SIGTERM/SIGINT lets the workers finish the call in hand before
 * exiting.  Each worker opens its own LMDB environment (handles never
 * cross fork), claims tasks, calls the real function with ffi_call and
 * stores the result, which wakes exactly the caller thread that waits.
 * Each worker is a separate process, so library state (a global lock, a
 * static buffer) is per worker, as it would be per process. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dtask_internal.h"

#define MAX_WORKERS 1024
#define TICK_NS 1000000000ull /* supervisor housekeeping period */

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_main_fn)(main_fn, int, char **, void (*)(void),
                             void (*)(void), void (*)(void), void *);

static const dt__config *r_cfg;
static dt__stub *r_stubs;
static size_t r_n;
static start_main_fn real_start_main;
static volatile sig_atomic_t r_stop;

/* ------------------------------------------------------------ start-up */

static int serve_main(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  (void)envp;
  return dt__runner_serve(r_cfg, r_stubs, r_n);
}

static int runner_start_main(main_fn main, int argc, char **argv,
                             void (*init)(void), void (*fini)(void),
                             void (*rtld_fini)(void), void *stack_end) {
  (void)main;
  return real_start_main(serve_main, argc, argv, init, fini, rtld_fini,
                         stack_end);
}

/* See dtask_internal.h. */
int dt__runner_setup(const dt__config *cfg, dt__stub *stubs, size_t n,
                     uintptr_t self_base) {
  Dl_info info;
  dt__hook hook;
  r_cfg = cfg;
  r_stubs = stubs;
  r_n = n;
  real_start_main = (start_main_fn)dlsym(RTLD_NEXT, "__libc_start_main");
  if (real_start_main == NULL)
    return -ENOENT;
  hook.name = "__libc_start_main";
  hook.real = (void *)real_start_main;
  hook.stub = (void *)runner_start_main;
  hook.def_base = dladdr((void *)real_start_main, &info)
                      ? (uintptr_t)info.dli_fbase
                      : 0;
  int rc = dt__got_patch(&hook, 1, self_base, NULL, NULL);
  if (rc <= 0) {
    dt__log(DT__LOG_ERROR,
            "cannot take over %s's start-up (__libc_start_main not "
            "imported through a GOT slot): it cannot run as a dtask runner",
            program_invocation_short_name);
    return rc < 0 ? rc : -ENOENT;
  }
  return 0;
}

/* -------------------------------------------------------------- worker */

static void on_stop(int sig) {
  (void)sig;
  r_stop = 1;
}

/* Answers one task record; returns the malloc'd result record. */
static int serve_one(uint64_t fp, uint64_t qid, const uint8_t *rec,
                     size_t size, uint8_t **out, size_t *outsz) {
  uint64_t tfp, call_id;
  uint32_t entry;
  char msg[512];

  if (dt__wire_task_peek(rec, size, &tfp, &entry, &call_id) != 0)
    return dt__wire_result_error(qid, DT__ST_MALFORMED,
                                 "the task record is not a dtask task of "
                                 "this format version (is the caller's "
                                 "dtask the same version as the runner's?)",
                                 out, outsz);
  if (tfp != fp) {
    snprintf(msg, sizeof msg,
             "runner %d serves a different config (%.200s, fingerprint "
             "%016llx; the task's is %016llx): restart the runner with the "
             "caller's config",
             (int)getpid(), r_cfg->path, (unsigned long long)fp,
             (unsigned long long)tfp);
    return dt__wire_result_error(call_id, DT__ST_FINGERPRINT, msg, out,
                                 outsz);
  }
  if (entry >= r_n) {
    snprintf(msg, sizeof msg, "runner %d has no entry %u", (int)getpid(),
             entry);
    return dt__wire_result_error(call_id, DT__ST_NO_ENTRY, msg, out, outsz);
  }
  dt__stub *s = &r_stubs[entry];
  if (s->real == NULL) {
    snprintf(msg, sizeof msg,
             "runner %d (%s) cannot find '%s': no object of the runner "
             "defines it (name its library with library = \"...\")",
             (int)getpid(), program_invocation_short_name, s->off->symbol);
    return dt__wire_result_error(call_id, DT__ST_NO_SYMBOL, msg, out, outsz);
  }
  dt__frame f;
  int rc = dt__wire_task_decode(&s->off->sig, rec, size, &f, msg, sizeof msg);
  if (rc != 0)
    return dt__wire_result_error(call_id,
                                 rc == -ENOMEM ? DT__ST_NOMEM
                                               : DT__ST_MALFORMED,
                                 msg, out, outsz);
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
  errno = f.caller_errno;
  ffi_call(&s->cif, FFI_FN(s->real), &ret, f.argv);
  int err = errno;
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
  int rc = dt__wire_result_error(id, status, msg, &res, &rsize);
  if (rc == 0)
    rc = dt__queue_reject(q, id, res, rsize);
  if (rc != 0)
    dt__log(DT__LOG_ERROR, "worker: cannot answer call %llu: %s",
            (unsigned long long)id, strerror(-rc));
  free(res);
}

/* A worker's life: claim, call, complete, until told to stop or the
 * supervisor is gone.  Every claimed task gets an answer: its result, or
 * an error record when the result cannot be encoded or stored. */
static int worker_loop(int supervisor) {
  dt__queue *q = NULL;
  char err[512], msg[512];
  uint64_t fp = dt__wire_fingerprint(r_cfg);
  struct sigaction sa;

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: futex waits return */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  if (dt__queue_open(r_cfg, &q, err, sizeof err) != 0) {
    dt__log(DT__LOG_ERROR, "worker: %s", err);
    return 2;
  }
  while (!r_stop && getppid() == supervisor) {
    uint8_t *rec = NULL, *res = NULL;
    size_t size = 0, rsize = 0;
    uint64_t id = 0;
    int rc = dt__queue_claim(q, &rec, &size, &id, TICK_NS);
    if (rc == -ETIMEDOUT || rc == -EINTR)
      continue;
    if (rc == -E2BIG) {
      snprintf(msg, sizeof msg,
               "the task is too large for the queue to hand to a worker "
               "(map_size %llu MiB); raise [queue] map_size",
               (unsigned long long)(r_cfg->map_size >> 20));
      reject(q, id, DT__ST_NOMEM, msg);
      continue;
    }
    if (rc != 0) {
      dt__log(DT__LOG_ERROR, "worker: claiming a task failed: %s",
              strerror(-rc));
      break;
    }
    rc = serve_one(fp, id, rec, size, &res, &rsize);
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
  }
  dt__queue_close(q);
  return 0;
}

/* ---------------------------------------------------------- supervisor */

static int spawn_worker(int supervisor) {
  pid_t pid = fork();
  if (pid == 0) {
    /* Programs the served functions start are callers, not runners. */
    unsetenv("DTASK_ROLE");
    dt__in_shim = 0;
    _exit(worker_loop(supervisor));
  }
  return pid;
}

/* Takes the queue's runner lock: one pool per queue. */
static int take_pool_lock(const char *dir) {
  char path[4200];
  snprintf(path, sizeof path, "%s/runner.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return -errno;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    return e == EWOULDBLOCK ? -EBUSY : -e;
  }
  return fd;
}

/* Tells a launcher waiting on DTASK_READY_FD that the pool serves. */
static void signal_ready(void) {
  const char *s = getenv("DTASK_READY_FD");
  if (s == NULL)
    return;
  int fd = atoi(s);
  if (fd > 2) {
    ssize_t w = write(fd, "1", 1);
    (void)w;
    close(fd);
  }
  unsetenv("DTASK_READY_FD");
}

/* See dtask_internal.h. */
int dt__runner_serve(const dt__config *cfg, dt__stub *stubs, size_t n) {
  dt__queue *q = NULL;
  char err[512];
  pid_t workers[MAX_WORKERS];
  int nworkers = cfg->workers;
  const char *w = getenv("DTASK_WORKERS");
  bool autostarted = getenv("DTASK_AUTOSTARTED") != NULL;
  sigset_t set;

  r_cfg = cfg;
  r_stubs = stubs;
  r_n = n;
  if (autostarted) {
    /* Leave the process that the caller's posix_spawn waits for. */
    pid_t p = fork();
    if (p < 0)
      return 2;
    if (p > 0)
      _exit(0);
  }
  if (w != NULL && atoi(w) > 0)
    nworkers = atoi(w);
  if (nworkers > MAX_WORKERS)
    nworkers = MAX_WORKERS;
  if (dt__queue_open(cfg, &q, err, sizeof err) != 0) {
    dt__log(DT__LOG_ERROR, "runner: %s", err);
    return 2;
  }
  int lock = take_pool_lock(dt__queue_dir(q));
  if (lock < 0) {
    if (lock == -EBUSY)
      dt__log(autostarted ? DT__LOG_INFO : DT__LOG_ERROR,
              "runner: another runner pool already serves %s; not starting "
              "a second one",
              dt__queue_dir(q));
    else
      dt__log(DT__LOG_ERROR, "runner: cannot lock %s: %s", dt__queue_dir(q),
              strerror(-lock));
    dt__queue_close(q);
    return lock == -EBUSY && autostarted ? 0 : 3;
  }
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, NULL);

  int self = getpid();
  static uint64_t born[MAX_WORKERS], died[MAX_WORKERS];
  for (int i = 0; i < nworkers; i++) {
    workers[i] = spawn_worker(self);
    born[i] = dt__now_ns();
  }
  dt__queue_sweep(q);
  dt__queue_heartbeat(q, self);
  dt__log(DT__LOG_INFO, "runner %d serves %s with %d worker%s", self,
          dt__queue_dir(q), nworkers, nworkers == 1 ? "" : "s");
  signal_ready();

  uint64_t last_id_seen = 0, idle_since = dt__now_ns();
  bool stopping = false;
  while (!stopping) {
    struct timespec ts = {1, 0};
    siginfo_t si;
    int sig = sigtimedwait(&set, &si, &ts);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
      stopping = true;
      break;
    }
    if (sig == SIGCHLD || sig < 0) {
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < nworkers; i++) {
          if (workers[i] != pid)
            continue;
          if (WIFSIGNALED(status))
            dt__log(DT__LOG_ERROR, "runner: worker %d died of signal %d "
                    "(%s); starting another", (int)pid, WTERMSIG(status),
                    strsignal(WTERMSIG(status)));
          else
            dt__log(DT__LOG_WARN, "runner: worker %d exited with status %d; "
                    "starting another", (int)pid, WEXITSTATUS(status));
          /* A worker that dies within a second of its start is replaced
           * at a later tick, not at once: no fork storm if every worker
           * dies on arrival. */
          died[i] = dt__now_ns();
          if (died[i] - born[i] < TICK_NS) {
            workers[i] = 0;
          } else {
            workers[i] = spawn_worker(self);
            born[i] = dt__now_ns();
          }
        }
      }
    }
    for (int i = 0; i < nworkers; i++) {
      if (workers[i] == 0 && dt__now_ns() - died[i] >= TICK_NS) {
        workers[i] = spawn_worker(self);
        born[i] = dt__now_ns();
      }
    }
    dt__queue_heartbeat(q, self);
    dt__queue_sweep(q);
    if (autostarted && cfg->idle_exit_ns > 0) {
      size_t t = 0, c = 0, r = 0;
      uint64_t next = dt__queue_next_id(q);
      dt__queue_counts(q, &t, &c, &r);
      if (next != last_id_seen || t + c > 0) {
        last_id_seen = next;
        idle_since = dt__now_ns();
      } else if (dt__now_ns() - idle_since >= cfg->idle_exit_ns) {
        dt__log(DT__LOG_INFO, "runner %d: idle for %.0fs, exiting", self,
                (double)cfg->idle_exit_ns / 1e9);
        stopping = true;
      }
    }
  }
  /* Let every worker finish the call in hand, then exit. */
  for (int i = 0; i < nworkers; i++)
    if (workers[i] > 0)
      kill(workers[i], SIGTERM);
  dt__queue_kick(q);
  for (int i = 0; i < nworkers; i++)
    if (workers[i] > 0)
      waitpid(workers[i], NULL, 0);
  dt__queue_heartbeat(q, 0);
  close(lock);
  dt__queue_close(q);
  return 0;
}
