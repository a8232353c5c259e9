/* supervisor.c: owns a runner pool's supervisor.
 *
 * The first process of a runner is the supervisor: it holds the queue's
 * runner lock (one pool per queue), forks N workers (worker.c), respawns
 * any that dies, beats a heartbeat into the doorbell page, sweeps entries
 * left by dead callers, and on SIGTERM/SIGINT lets the workers finish the
 * call in hand before exiting.
 *
 * Failures: each worker writes the call it runs, and that call's
 * deadline when its symbol has a timeout, into a table it shares with
 * the supervisor.  The supervisor sleeps until the next tick or the
 * nearest deadline, whichever comes first, and kills a worker past its
 * deadline with SIGKILL.  When it reaps a worker that was running a call,
 * it answers the call: a timeout record if it killed the worker for its
 * deadline, a crash record (with the signal or exit status) if the
 * function crashed or exited; a worker killed by someone else with
 * SIGKILL (the OOM killer, a person) is not the function's fault, and its
 * call goes back to the queue for another worker, and the worker is
 * replaced at once.  Workers die with their supervisor
 * (PR_SET_PDEATHSIG): a pool is never left half alive, with calls running
 * that nobody times.  The caller applies its policy (config/policy.c,
 * shim/trip.c). */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "common/guard.h"
#include "common/log.h"
#include "config/config.h"
#include "queue/image.h"
#include "queue/queue.h"
#include "queue/rconn.h"
#include "queue/wire.h"
#include "runner/poolstat.h"
#include "runner/proctitle.h"
#include "runner/supervisor.h"
#include "runner/worker.h"
#include "shim/symbol.h"

/* Workers killed from outside (SIGKILL) are replaced at once, up to this
 * many per second; past it, at the next tick, like workers that die on
 * arrival. */
#define QUICK_RESPAWNS_PER_S 64
/* Workers in a row that could not open the queue, after which the pool
 * stops (none of them will). */
#define CANNOT_STOP 3
/* How long a new pool waits for its workers to open the queue before it
 * says it serves. */
#define READY_WAIT_NS (10ull * 1000000000ull)
/* How long the other workers wait for the first one to open the queue
 * before they are started anyway. */
#define FIRST_WAIT_NS (100ull * 1000000ull)

/* The pool being served, set once by dt__runner_serve. */
static const dt__config *r_cfg;
static dt__stub *r_stubs;
static size_t r_n;
/* The table shared with the workers. */
static dt__wtable *r_table;

/* Forks worker i of the pool (its table entry cleared first).  Returns
 * the worker's pid, or -1 when fork failed. */
static int spawn_worker(int supervisor, int i) {
  dt__wstate *me = &r_table->w[i];
  memset(me, 0, sizeof *me);
  pid_t pid = fork();
  if (pid == 0) {
    /* A worker does not outlive its supervisor: with no one left to
     * enforce its call's timeout, a hung call would hang its caller.
     * Killed with it, the worker's lease lapses and the call goes back
     * to the queue for the next pool (or the caller's on_unavailable). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != supervisor)
      _exit(0);
    /* Programs the served functions start are callers, not runners. */
    unsetenv(DT__ENV_ROLE);
    dt__in_shim = 0;
    _exit(dt__worker_run(r_cfg, r_stubs, r_n, r_table, i, supervisor));
  }
  return pid;
}

/* The pool: its workers, and what the supervisor knows of each. */
typedef struct pool {
  dt__queue *q;
  int self;
  int n;
  pid_t pid[DT__MAX_WORKERS]; /* 0: waiting to be respawned */
  uint64_t born[DT__MAX_WORKERS], died[DT__MAX_WORKERS];
  uint64_t killed_for[DT__MAX_WORKERS]; /* busy value it was killed for */
  uint64_t quick_since;                 /* start of the current second */
  int quick;                            /* quick respawns in that second */
  uint64_t started_ms;                  /* Unix time of the start */
  uint64_t swept;                       /* entries the sweeps removed */
  uint64_t reclaimed;                   /* ... of them, leases taken back */
  int cannot; /* workers in a row that exited with status 2, young and
                 idle: they could not open the queue */
} pool;

/* Starts worker i of p (spawn_worker) and notes when. */
static void start_worker(pool *p, int i) {
  p->pid[i] = spawn_worker(p->self, i);
  p->born[i] = dt__now_ns();
}

/* Sweeps the queue, counting what it removed or requeued and the leases
 * it took back. */
static void sweep(pool *p) {
  unsigned back = 0;
  int n = dt__queue_sweep(p->q, &back);
  if (n > 0)
    p->swept += (uint64_t)n;
  p->reclaimed += back;
}

/* pool_list's callback: counts in *(int *)ctx the fresh records of
 * pools other than this process. */
static int count_others(void *ctx, const char *text, size_t n) {
  static dt__pool_info info; /* one thread, at start-up */
  if (dt__poolrec_parse(text, n, &info) == 0 &&
      !(info.pid == getpid() && strcmp(info.host, dt__rhost_id()) == 0) &&
      info.updated_ms + DT__POOLREC_STALE_MS >= dt__wall_ms())
    (*(int *)ctx)++;
  return 0;
}

/* The callers' round trips (dtask status) count from the start of the
 * first of the pools that serve: forgotten here when no other pool
 * serves the queue. */
static void reset_trips(pool *p) {
  int others = 0;
  if (dt__queue_pool_list(p->q, count_others, &others) == 0 && others == 0)
    (void)dt__queue_trips_reset(p->q);
}

/* Publishes the pool's status record in the queue (dtask status): the
 * workers and what each runs, and each entry's counters from the shared
 * table.  Once per tick; a failure only means a stale status.  What
 * never changes (the pool's identity, the symbols) is filled once. */
static void publish(pool *p) {
  static dt__pool_info info;
  static char *buf;
  if (buf == NULL) {
    if ((buf = malloc(DT__POOLREC_MAX)) == NULL)
      return;
    info.pid = p->self;
    snprintf(info.host, sizeof info.host, "%s", dt__rhost_id());
    snprintf(info.image, sizeof info.image, "%s", r_table->image);
    snprintf(info.program, sizeof info.program, "%s", r_table->name);
    info.started_ms = p->started_ms;
    info.workers = p->n;
    for (size_t e = 0; e < r_n && e < DT__STAT_ENTRIES; e++) {
      info.sym[e].entry = (uint32_t)e;
      snprintf(info.sym[e].symbol, sizeof info.sym[e].symbol, "%s",
               r_stubs[e].off->symbol);
    }
    info.nsym = r_n < DT__STAT_ENTRIES ? (int)r_n : DT__STAT_ENTRIES;
  }
  info.updated_ms = dt__wall_ms();
  info.swept = p->swept;
  info.reclaimed = p->reclaimed;
  info.alive = 0;
  info.nw = 0;
  uint64_t now = dt__now_ns();
  for (int i = 0; i < p->n && info.nw < DT__POOLREC_WORKERS; i++) {
    if (p->pid[i] <= 0)
      continue;
    info.alive++;
    dt__wstate *w = &r_table->w[i];
    dt__pw *o = &info.w[info.nw++];
    memset(o, 0, sizeof *o);
    o->index = i;
    o->pid = p->pid[i];
    o->call = __atomic_load_n(&w->busy, __ATOMIC_SEQ_CST);
    if (o->call != 0) {
      o->entry = __atomic_load_n(&w->entry, __ATOMIC_RELAXED);
      uint64_t since = w->since;
      o->ms = since != 0 && now > since ? (now - since) / 1000000u : 0;
      memcpy(o->caller, w->caller, sizeof o->caller);
      o->caller[sizeof o->caller - 1] = '\0';
    }
  }
  for (int e = 0; e < info.nsym; e++) {
    const dt__wsym *s = &r_table->sym[e];
    dt__psym *o = &info.sym[e];
    o->calls = __atomic_load_n(&s->calls, __ATOMIC_RELAXED);
    o->errors = __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
    o->crashes = __atomic_load_n(&s->crashes, __ATOMIC_RELAXED);
    o->timeouts = __atomic_load_n(&s->timeouts, __ATOMIC_RELAXED);
    for (int b = 0; b < DT__HIST_BUCKETS; b++)
      o->exec[b] = __atomic_load_n(&s->exec[b], __ATOMIC_RELAXED);
  }
  int n = dt__poolrec_build(&info, buf, DT__POOLREC_MAX);
  if (n > 0)
    (void)dt__queue_pool_put(p->q, buf, (size_t)n);
}

/* Answers the call a dead worker was running, as its death says: a
 * timeout if the supervisor killed it for its deadline, a crash if the
 * function died (a signal other than SIGKILL, or an exit); a SIGKILL from
 * elsewhere leaves the claim to the sweep, which requeues it. */
static void answer_dead(pool *p, int i, pid_t pid, int status) {
  dt__wstate *w = &r_table->w[i];
  uint64_t busy = __atomic_load_n(&w->busy, __ATOMIC_SEQ_CST);
  if (busy == 0)
    return;
  uint64_t id = busy - 1;
  uint32_t entry = __atomic_load_n(&w->entry, __ATOMIC_RELAXED);
  const char *sym = entry < r_n ? r_stubs[entry].off->symbol : "the function";
  char msg[400];
  int st, detail;
  dt__wsym *count = entry < DT__STAT_ENTRIES && entry < r_n
                        ? &r_table->sym[entry]
                        : NULL;
  if (p->killed_for[i] == busy) {
    uint64_t t = entry < r_n ? r_stubs[entry].off->policy.timeout_ns : 0;
    st = DT__ST_TIMEOUT;
    detail = 0;
    if (count != NULL)
      __atomic_add_fetch(&count->timeouts, 1, __ATOMIC_RELAXED);
    snprintf(msg, sizeof msg,
             "%s ran past its timeout of %.3gs in worker %d of runner %d, "
             "which killed the worker",
             sym, (double)t / 1e9, (int)pid, p->self);
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    return; /* not the function's doing: the sweep requeues the call */
  } else if (WIFSIGNALED(status)) {
    if (count != NULL)
      __atomic_add_fetch(&count->crashes, 1, __ATOMIC_RELAXED);
    st = DT__ST_CRASH;
    detail = WTERMSIG(status);
    snprintf(msg, sizeof msg,
             "%s crashed worker %d of runner %d with signal %d (%s)", sym,
             (int)pid, p->self, detail, strsignal(detail));
  } else {
    if (count != NULL)
      __atomic_add_fetch(&count->crashes, 1, __ATOMIC_RELAXED);
    st = DT__ST_CRASH;
    detail = 256 + WEXITSTATUS(status);
    snprintf(msg, sizeof msg,
             "%s made worker %d of runner %d exit with status %d", sym,
             (int)pid, p->self, WEXITSTATUS(status));
  }
  uint8_t *res = NULL;
  size_t rsize = 0;
  int rc = dt__wire_result_error(id, st, detail, msg, &res, &rsize);
  if (rc == 0)
    rc = dt__queue_fail(p->q, id, (int)pid, res, rsize);
  free(res);
  if (rc == 0)
    dt__log(DT__LOG_WARN, "runner: call %llu: %s", (unsigned long long)id,
            msg);
  else if (rc != -ENOENT)
    dt__log(DT__LOG_ERROR, "runner: cannot answer call %llu (%s): %s",
            (unsigned long long)id, msg, strerror(-rc));
}

/* Whether a worker reaped with status may be replaced at once although it
 * died young: it was killed from outside (SIGKILL, not for a deadline),
 * which says nothing about the program, and the pool has not replaced
 * QUICK_RESPAWNS_PER_S workers that way within the last second. */
static bool quick_respawn(pool *p, int i, int status) {
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL ||
      p->killed_for[i] != 0)
    return false;
  uint64_t now = dt__now_ns();
  if (now - p->quick_since >= DT__RUNNER_TICK_NS) {
    p->quick_since = now;
    p->quick = 0;
  }
  return p->quick++ < QUICK_RESPAWNS_PER_S;
}

/* Reaps every dead worker, answers what it was running, and respawns it
 * (later, if it died by itself within a second of its start: no fork
 * storm when every worker dies on arrival).  Returns how many were
 * reaped. */
static int reap(pool *p, bool respawn) {
  int status, n = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < p->n; i++) {
      if (p->pid[i] != pid)
        continue;
      n++;
      bool idle = __atomic_load_n(&r_table->w[i].busy, __ATOMIC_SEQ_CST) == 0;
      answer_dead(p, i, pid, status);
      p->died[i] = dt__now_ns();
      /* A worker that cannot open the queue (out of file descriptors,
       * say) says why and exits with 2 before it claims anything. */
      if (idle && WIFEXITED(status) && WEXITSTATUS(status) == 2 &&
          p->died[i] - p->born[i] < DT__RUNNER_TICK_NS)
        p->cannot++;
      else
        p->cannot = 0;
      bool now = respawn && (p->died[i] - p->born[i] >= DT__RUNNER_TICK_NS ||
                             quick_respawn(p, i, status));
      const char *next = !respawn ? ""
                         : now    ? "; starting another"
                                  : "; starting another in a second (it "
                                    "died within a second of its start)";
      if (p->killed_for[i] != 0)
        ; /* said when it was killed */
      else if (WIFSIGNALED(status))
        dt__log(DT__LOG_ERROR, "runner: worker %d died of signal %d (%s)%s",
                (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)),
                next);
      else if (WEXITSTATUS(status) != 0 || respawn)
        dt__log(respawn ? DT__LOG_WARN : DT__LOG_INFO,
                "runner: worker %d exited with status %d%s", (int)pid,
                WEXITSTATUS(status), next);
      memset(&r_table->w[i], 0, sizeof r_table->w[i]);
      p->killed_for[i] = 0;
      p->pid[i] = 0;
      if (now)
        start_worker(p, i);
    }
  }
  return n;
}

/* Kills the workers whose call ran past its deadline; returns the
 * nearest deadline still ahead (UINT64_MAX if none). */
static uint64_t enforce_deadlines(pool *p) {
  uint64_t now = dt__now_ns(), next = UINT64_MAX;
  for (int i = 0; i < p->n; i++) {
    dt__wstate *w = &r_table->w[i];
    /* The worker stores busy, then the deadline, and clears them in the
     * other order: a deadline read between two equal reads of busy is
     * that call's (not the one before it, which has just returned). */
    uint64_t busy = __atomic_load_n(&w->busy, __ATOMIC_SEQ_CST);
    uint64_t d = __atomic_load_n(&w->deadline, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&w->busy, __ATOMIC_SEQ_CST) != busy) {
      next = now; /* it moved on meanwhile: look again at once */
      continue;
    }
    if (p->pid[i] <= 0 || d == 0 || busy == 0 || p->killed_for[i] == busy)
      continue;
    if (now >= d) {
      uint32_t e = __atomic_load_n(&w->entry, __ATOMIC_RELAXED);
      dt__log(DT__LOG_WARN,
              "runner: worker %d ran %s past its timeout; killing it",
              (int)p->pid[i], e < r_n ? r_stubs[e].off->symbol : "a call");
      p->killed_for[i] = busy;
      kill(p->pid[i], SIGKILL);
    } else if (d < next) {
      next = d;
    }
  }
  return next;
}

/* The nearest deadline of a call not yet killed for it. */
static uint64_t nearest_deadline(const pool *p) {
  uint64_t next = UINT64_MAX;
  for (int i = 0; i < p->n; i++) {
    uint64_t d = __atomic_load_n(&r_table->w[i].deadline, __ATOMIC_SEQ_CST);
    if (p->pid[i] > 0 && d != 0 && d < next &&
        p->killed_for[i] != __atomic_load_n(&r_table->w[i].busy,
                                            __ATOMIC_SEQ_CST))
      next = d;
  }
  return next;
}

/* Sleeps until a signal in set, the next tick or the nearest deadline. */
static int wait_signal(const pool *p, const sigset_t *set, uint64_t deadline) {
  uint64_t now = dt__now_ns(), until = now + DT__RUNNER_TICK_NS;
  if (deadline < until)
    until = deadline;
  __atomic_store_n(&r_table->next_wake, until, __ATOMIC_SEQ_CST);
  /* A worker publishes its deadline, then reads next_wake, and signals
   * if its deadline comes first.  One that published just before the
   * store above may have read the old value and sent nothing: the
   * deadlines are read again after the store. */
  uint64_t again = nearest_deadline(p);
  if (again < until)
    until = again;
  uint64_t left = until > now ? until - now : 0;
  struct timespec ts = {(time_t)(left / 1000000000ull),
                        (long)(left % 1000000000ull)};
  siginfo_t si;
  return sigtimedwait(set, &si, &ts);
}

/* Takes the runner lock of q, runner.lock in its directory, opened
 * through the directory's descriptor (dt__queue_open_file): one pool per
 * queue.  Returns the lock's descriptor (held for the pool's life), or
 * -EBUSY when another pool holds it, or another negative errno with a
 * sentence in err. */
static int take_pool_lock(dt__queue *q, dt__error *err) {
  int fd;
  int rc = dt__queue_open_file(q, "runner.lock", O_RDWR | O_CREAT, &fd, err);
  if (rc != 0)
    return rc;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e != EWOULDBLOCK)
      dt__error_set(err, 0, 0, "cannot lock %s/runner.lock: %s",
                    dt__queue_dir(q), strerror(e));
    return e == EWOULDBLOCK ? -EBUSY : -e;
  }
  return fd;
}

/* Compacts the queue's storage when this pool's supervisor, holding the
 * pool lock with no worker running, is the only process that has the
 * queue open (dt__queue_compact): at start, and when the pool stops.
 * Returns 0 (also when another process has it open, or nothing was
 * gained), or -1 when the queue could not be opened again (logged):
 * the pool cannot serve then. */
static int tidy(dt__queue *q) {
  int rc = dt__queue_compact(q);
  return rc >= 0 || rc == -EBUSY ? 0 : -1;
}

/* Tells a launcher waiting on DTASK_READY_FD that the pool serves. */
static void signal_ready(void) {
  const char *s = getenv(DT__ENV_READY_FD);
  if (s == NULL)
    return;
  int fd = atoi(s);
  if (fd > 2) {
    ssize_t w = write(fd, "1", 1);
    (void)w;
    close(fd);
  }
  unsetenv(DT__ENV_READY_FD);
}

/* The serve loop itself (supervisor and workers); returns the process's
 * exit status. */
int dt__runner_serve(const dt__config *cfg, dt__stub *stubs, size_t n) {
  dt__queue *q = NULL;
  dt__error err = {0, 0, ""};
  int nworkers = cfg->workers;
  const char *w = getenv(DT__ENV_WORKERS);
  bool autostarted = getenv(DT__ENV_AUTOSTARTED) != NULL;
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
  if (nworkers > DT__MAX_WORKERS)
    nworkers = DT__MAX_WORKERS;
  char image[160], name[64];
  dt__objid id;
  int irc = dt__image_self(&id, name, sizeof name);
  if (irc == 0)
    irc = dt__image_queue_name(&id, name, image, sizeof image);
  if (irc != 0) {
    dt__log(DT__LOG_ERROR, "runner: cannot identify the program image of %s "
            "(%s), so no caller could be matched to this pool",
            program_invocation_short_name, strerror(-irc));
    return 2;
  }
  if (dt__queue_open_image(cfg, image, &q, &err) != 0) {
    dt__log(DT__LOG_ERROR, "runner: %s", err.msg);
    return 2;
  }
  int lock = take_pool_lock(q, &err);
  if (lock < 0) {
    if (lock == -EBUSY)
      dt__log(autostarted ? DT__LOG_INFO : DT__LOG_ERROR,
              "runner: another runner pool already serves %s; not starting "
              "a second one",
              dt__queue_dir(q));
    else
      dt__log(DT__LOG_ERROR, "runner: %s", err.msg);
    dt__queue_close(q);
    return lock == -EBUSY && autostarted ? 0 : 3;
  }
  if (tidy(q) != 0) {
    close(lock);
    dt__queue_close(q);
    return 2;
  }
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, DT__WAKE_SIGNAL);
  sigprocmask(SIG_BLOCK, &set, NULL);

  static pool p;
  memset(&p, 0, sizeof p);
  p.q = q;
  p.self = getpid();
  p.n = nworkers;
  p.started_ms = dt__wall_ms();
  r_table = mmap(NULL, sizeof *r_table, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (r_table == MAP_FAILED) {
    dt__log(DT__LOG_ERROR, "runner: cannot map the worker table: %s",
            strerror(errno));
    close(lock);
    dt__queue_close(q);
    return 2;
  }
  snprintf(r_table->image, sizeof r_table->image, "%s", image);
  snprintf(r_table->name, sizeof r_table->name, "%s", name);
  dt__proctitle_set("dtask-pool:%s", name);
  /* The first worker starts alone: with the others starting beside it
   * on as many cores, it would open the queue later.  Callers are let in
   * (the heartbeat) as soon as it has the queue open, so that an
   * autostarting caller's first call is served while the other workers
   * start; they start then, or after FIRST_WAIT_NS.  A launcher is told
   * "serves" (signal_ready) once every worker has the queue open (it
   * times what follows), or after READY_WAIT_NS: a worker that cannot
   * open it has said why, and the supervisor respawns it as usual.  What
   * the queue holds from before is swept, and the round trips of a
   * previous pool forgotten, before the first call of this one is
   * counted. */
  start_worker(&p, 0);
  int started = 1;
  sweep(&p);
  reset_trips(&p);
  bool serving = false;
  uint64_t rest_by = dt__now_ns() + FIRST_WAIT_NS;
  uint64_t ready_by = dt__now_ns() + READY_WAIT_NS;
  for (;;) {
    uint64_t now = dt__now_ns();
    uint32_t ready = __atomic_load_n(&r_table->ready, __ATOMIC_SEQ_CST);
    if (!serving && ready > 0) {
      dt__queue_set_workers(q, nworkers);
      dt__queue_heartbeat(q, p.self);
      serving = true;
    }
    for (; started < nworkers && (serving || now >= rest_by); started++)
      start_worker(&p, started);
    if (ready >= (uint32_t)nworkers || now >= ready_by)
      break;
    uint64_t wake = started < nworkers && rest_by < ready_by ? rest_by
                                                             : ready_by;
    uint64_t left = wake > now ? wake - now : 0;
    struct timespec rt = {(time_t)(left / 1000000000ull),
                          (long)(left % 1000000000ull)};
    siginfo_t si;
    int sig = sigtimedwait(&set, &si, &rt);
    if (sig == SIGCHLD)
      break; /* a worker died on arrival: the main loop handles it */
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
      raise(sig); /* handled by the main loop's first wait */
      break;
    }
  }
  for (; started < nworkers; started++) /* the loop was cut short */
    start_worker(&p, started);
  if (!serving) {
    dt__queue_set_workers(q, nworkers);
    dt__queue_heartbeat(q, p.self);
  }
  publish(&p);
  dt__log(DT__LOG_INFO, "runner %d serves %s with %d worker%s "
          "(dtask-pool:%s, image %c:%s)", p.self, dt__queue_dir(q), nworkers,
          nworkers == 1 ? "" : "s", name, id.how, id.hex);
  signal_ready();

  uint64_t last_id_seen = 0, idle_since = dt__now_ns();
  uint64_t last_beat = dt__now_ns();
  for (;;) {
    int sig = wait_signal(&p, &set, enforce_deadlines(&p));
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
      break;
    /* Dead workers: answer their calls, respawn them, and give the calls
     * of workers killed from outside back to the queue at once. */
    if (reap(&p, true) > 0)
      sweep(&p);
    /* A pool none of whose workers can open the queue serves nothing;
     * its heartbeat would only keep callers waiting.  It stops, and they
     * follow on_unavailable. */
    if (p.cannot >= CANNOT_STOP) {
      dt__log(DT__LOG_ERROR,
              "runner: %d workers in a row could not open the queue (the "
              "lines above say why); stopping this pool, so that callers "
              "do not wait for it",
              p.cannot);
      break;
    }
    for (int i = 0; i < nworkers; i++) {
      if (p.pid[i] == 0 && dt__now_ns() - p.died[i] >= DT__RUNNER_TICK_NS)
        start_worker(&p, i);
    }
    if (dt__now_ns() - last_beat < DT__RUNNER_TICK_NS)
      continue; /* woken early (a deadline, a signal): beat on the tick */
    last_beat = dt__now_ns();
    dt__queue_heartbeat(q, p.self);
    sweep(&p);
    publish(&p);
    if (autostarted && cfg->idle_exit_ns > 0) {
      size_t t = 0, c = 0, r = 0;
      uint64_t next = dt__queue_next_id(q);
      dt__queue_counts(q, &t, &c, &r);
      if (next != last_id_seen || t + c > 0) {
        last_id_seen = next;
        idle_since = dt__now_ns();
      } else if (dt__now_ns() - idle_since >= cfg->idle_exit_ns) {
        dt__log(DT__LOG_INFO, "runner %d: idle for %.0fs, exiting", p.self,
                (double)cfg->idle_exit_ns / 1e9);
        break;
      }
    }
  }
  /* Let every worker finish the call in hand (deadlines still hold),
   * then exit. */
  int alive = 0;
  for (int i = 0; i < nworkers; i++)
    if (p.pid[i] > 0) {
      kill(p.pid[i], SIGTERM);
      alive++;
    }
  dt__queue_kick(q);
  while (alive > 0) {
    int sig = wait_signal(&p, &set, enforce_deadlines(&p));
    (void)sig;
    alive -= reap(&p, false);
  }
  dt__queue_heartbeat(q, 0);
  (void)dt__queue_pool_put(q, NULL, 0);
  (void)tidy(q); /* still holding the pool lock: no other pool compacts */
  close(lock);
  dt__queue_close(q);
  return 0;
}
