/* fanout.c: owns the fan-out of a split call.
 *
 * A call whose entry has [offload.split] is cut into slices over one
 * count argument: each slice is a task of its own, queued in windows and
 * waited for in order; its out buffers land in place in the caller's
 * buffers, and the return values fold with the entry's aggregate.  Each
 * slice goes through the same round trip and settling as a single call
 * (trip.c); this file decides what the slices make of the call. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/guard.h"
#include "common/log.h"
#include "config/config.h"
#include "config/policy.h"
#include "config/sig.h"
#include "config/split.h"
#include "queue/queue.h"
#include "queue/wire.h"
#include "shim/fanout.h"
#include "shim/state.h"
#include "shim/symbol.h"
#include "shim/trip.h"
#include "shim/tripstat.h"

/* Slices in flight at once. */
#define FANOUT_WINDOW 256

/* One slice of a fan-out call: its own argument vector (the count and
 * the sliced buffers' pointers moved to the slice), return buffer and
 * context.  Lives in an mmap'd window, never in the host's heap. */
typedef struct slice {
  void *argv[DT__MAX_PARAMS];
  union {
    uint64_t u;
    void *p;
  } v[DT__MAX_PARAMS];
  union {
    ffi_arg a;
    double d;
    unsigned char b[16];
  } ret;
  dt__call_ctx c;
  size_t size;
  bool queued;
} slice;

/* The progress line of a split call ([shim] progress, DTASK_PROGRESS=1,
 * stderr a terminal): drawn once the call has run PROGRESS_AFTER_NS,
 * redrawn at most every PROGRESS_EVERY_NS as slices come back, erased
 * when the call ends.  Written with write(2) on descriptor 2, never
 * through the host's stdio. */
#define PROGRESS_AFTER_NS 1000000000ull
#define PROGRESS_EVERY_NS 100000000ull
typedef struct progress {
  uint64_t t0, drawn_at;
  bool shown;
} progress;

/* Draws "SYMBOL: DONE/COUNT slices, 2.3 s, about 4.1 s left" over the
 * line, when it is time to. */
static void progress_draw(progress *pg, const char *symbol, uint64_t done,
                          uint64_t count) {
  if (!dt__caller.progress)
    return;
  uint64_t now = dt__now_ns(), ran = now - pg->t0;
  if (ran < PROGRESS_AFTER_NS ||
      (pg->shown && now - pg->drawn_at < PROGRESS_EVERY_NS && done < count))
    return;
  char line[256];
  double s = (double)ran / 1e9;
  double left = done > 0 ? s / (double)done * (double)(count - done) : 0;
  int n = snprintf(line, sizeof line,
                   "\r%.100s: %llu/%llu slices, %.1f s, about %.1f s left"
                   "\033[K",
                   symbol, (unsigned long long)done,
                   (unsigned long long)count, s, left);
  if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n
                                                       : sizeof line - 1) > 0) {
    pg->shown = true;
    pg->drawn_at = now;
  }
}

/* Erases the line, if one was drawn. */
static void progress_end(progress *pg) {
  static const char erase[] = "\r\033[K";
  if (pg->shown && write(2, erase, sizeof erase - 1) < 0)
    pg->shown = false;
}

/* Bytes a slice keeps in the queue while in flight: its task, and the
 * result it will leave there until this thread takes it. */
static uint64_t slice_bytes(const dt__sig *sig, void **argv, size_t size) {
  uint64_t n = size + 256;
  for (int i = 0; i < sig->nparams; i++) {
    uint64_t b;
    if (sig->params[i].is_buffer && sig->params[i].dir != DT__DIR_IN &&
        dt__wire_buffer_bytes(sig, i, argv, &b) == 0)
      n += b;
  }
  return n;
}

/* Gives up on splitting: drops the buffers stored once (refs[0..upto),
 * DT__NO_ID skipped), unmaps the window, runs the whole call inline and
 * returns to the host as dt__fanout does (flag lowered, errno set).
 * Returns DT__RAN_INLINE. */
static dt__where run_whole(dt__stub *s, dt__queue *q, const uint64_t *refs,
                      int upto, slice *win, size_t wbytes, void *ret,
                      void **args, int saved) {
  for (int j = 0; j < upto; j++)
    if (refs[j] != DT__NO_ID)
      dt__queue_blob_drop(q, refs[j]);
  if (win != NULL)
    munmap(win, wbytes);
  int e = dt__trip_inline(s, ret, args, saved);
  dt__in_shim = 0;
  errno = e;
  return DT__RAN_INLINE;
}

/* Runs a call split into count slices over n elements: each slice is a
 * task of its own (in buffers common to all stored once and referenced),
 * queued in windows of at most FANOUT_WINDOW slices and a quarter of the
 * map's bytes; the out slices land in place in the caller's buffers;
 * return values fold with the aggregate.
 *
 * Slices are taken in order.  A slice fails when it ends in an on_*
 * value (its worker crashed, it timed out, no runner) or returns a
 * failure (non-zero under first_nonzero; otherwise what retry_if, or the
 * C convention ret < 0 / NULL, calls one).  errno is that of the first
 * failing slice, or, if none failed, of the last slice that changed it
 * (what the call run in order would leave).  An on_* value, or the slice
 * that first_nonzero picks, decides the call: its value is returned,
 * the later slices of the window that no worker has taken are withdrawn,
 * the others are only waited for (their failures no longer matter), and
 * no further window is queued.
 *
 * Like dt__offload_call, it returns to the host: with the shim's flag
 * lowered and errno set, and says where the call ran.  The window is
 * mapped and unmapped here, and the buffers stored once are dropped from
 * the queue before it returns. */
dt__where dt__fanout(dt__stub *s, dt__queue *q, dt__thread_state *ts, void *ret,
                void **args, int saved, uint64_t n, uint64_t count) {
  const dt__split *sp = &s->off->split;
  const dt__sig *sig = &s->off->sig;
  const dt__policy *pol = &s->off->policy;
  uint64_t t0 = dt__now_ns();
  uint64_t refs[DT__MAX_PARAMS], stride[DT__MAX_PARAMS];
  size_t wbytes = sizeof(slice) * FANOUT_WINDOW;
  slice *win = dt__state_map(wbytes);
  if (win == NULL) {
    return run_whole(s, q, NULL, 0, NULL, 0, ret, args, saved);
  }
  /* Strides: a sliced buffer's bytes per element of `over`. */
  void *one[DT__MAX_PARAMS];
  union {
    uint64_t u;
    void *p;
  } onev;
  for (int i = 0; i < sig->nparams; i++)
    one[i] = args[i];
  dt__scalar_set(&sig->params[sp->over].type, 1, &onev.u);
  one[sp->over] = &onev;
  for (int i = 0; i < sig->nparams; i++) {
    refs[i] = DT__NO_ID;
    stride[i] = 0;
    const void *ptr = NULL;
    if (sig->params[i].is_buffer)
      memcpy(&ptr, args[i], sizeof ptr);
    if (ptr == NULL)
      continue;
    if (sp->sliced[i]) {
      /* The stride must be computable, and so must the offset of the
       * last slice: otherwise every slice would point at the start. */
      int rc = dt__wire_buffer_bytes(sig, i, one, &stride[i]);
      if (rc == 0 && stride[i] != 0 && n > UINT64_MAX / stride[i])
        rc = -EOVERFLOW;
      if (rc != 0) {
        dt__log(DT__LOG_ERROR,
                "%s: cannot split buffer '%s' over '%s': its bytes per "
                "element %s; calling it inline, whole",
                s->off->symbol, sig->params[i].name,
                sig->params[sp->over].name,
                rc == -ERANGE ? "come from a negative length"
                              : "do not fit in 64 bits");
        return run_whole(s, q, refs, i, win, wbytes, ret, args, saved);
      }
    } else if (sp->common[i]) {
      uint64_t nb;
      int rc = dt__wire_buffer_bytes(sig, i, args, &nb);
      if (rc == 0 && nb > 0)
        rc = dt__queue_blob_put(q, ptr, (size_t)nb, &refs[i]);
      if (rc != 0) {
        /* Every slice would carry it, and be refused the same way: say
         * so once and run the whole call here. */
        refs[i] = DT__NO_ID;
        dt__log(DT__LOG_ERROR,
                "%s: cannot store buffer '%s' (%llu bytes) in the queue "
                "once for its slices: %s%s; calling it inline",
                s->off->symbol, sig->params[i].name, (unsigned long long)nb,
                rc == -EDQUOT ? "the filesystem holding the queue is full"
                              : strerror(-rc),
                rc == -E2BIG || rc == -ENOSPC ? " (raise [queue] map_size)"
                : rc == -EDQUOT ? " (free space there, or set [queue] path "
                                  "on a larger one)"
                                : "");
        return run_whole(s, q, refs, i, win, wbytes, ret, args, saved);
      }
    }
  }
  /* A worker refuses a slice whose buffers stored once add up to more
   * than one call may take: better said once, and the call run here. */
  uint64_t common = 0, limit = dt__wire_call_limit(dt__caller.cfg);
  for (int i = 0; i < sig->nparams; i++) {
    uint64_t nb;
    if (refs[i] != DT__NO_ID && dt__wire_buffer_bytes(sig, i, args, &nb) == 0)
      common += nb;
  }
  if (common > limit) {
    dt__log(DT__LOG_ERROR,
            "%s: the buffers common to every slice take %llu bytes, more "
            "than the %llu one call may take ([queue] max_call_size, at "
            "most a quarter of map_size); calling it inline, whole",
            s->off->symbol, (unsigned long long)common,
            (unsigned long long)limit);
    return run_whole(s, q, refs, sig->nparams, win, wbytes, ret, args,
                     saved);
  }
  const uint64_t budget = dt__caller.cfg->map_size / 4;
  dt__watch w = {0, 0, false, 0};
  bool said_unavailable = false, said_queue = false;
  uint64_t acc = 0, decided_ret = 0;
  int err_fail = saved, err_last = saved;
  bool failed = false, decided = false, by_value = false, all_remote = true,
       any_remote = false;
  uint64_t base = 0;
  progress pg = {t0, 0, false};
  while (base < count && !decided) {
    /* Fill a window: slices in order, within FANOUT_WINDOW and the byte
     * budget (always at least one slice). */
    uint64_t m = 0, bytes = 0;
    while (m < FANOUT_WINDOW && base + m < count) {
      slice *sl = &win[m];
      uint64_t k = base + m;
      uint64_t start = dt__split_start(sp, n, count, k);
      uint64_t len = dt__split_start(sp, n, count, k + 1) - start;
      memset(sl, 0, sizeof *sl);
      for (int i = 0; i < sig->nparams; i++) {
        sl->argv[i] = args[i];
        if (i == sp->over) {
          dt__scalar_set(&sig->params[i].type, len, &sl->v[i].u);
          sl->argv[i] = &sl->v[i];
        } else if (sp->sliced[i]) {
          char *ptr;
          memcpy(&ptr, args[i], sizeof ptr);
          sl->v[i].p = ptr != NULL ? ptr + start * stride[i] : NULL;
          sl->argv[i] = &sl->v[i];
        }
      }
      dt__trip_ctx_init(&sl->c, s, sl->argv, &sl->ret, saved, refs);
      bool sized = dt__wire_task_size_refs(sig, sl->argv, refs,
                                           dt__stub_obj(s), &sl->size) == 0;
      uint64_t b = sized ? slice_bytes(sig, sl->argv, sl->size) : 0;
      if (m > 0 && bytes + b > budget)
        break;
      bytes += b;
      if (!sized && !said_queue) {
        said_queue = true;
        dt__log(DT__LOG_ERROR, "%s: slice %llu is too large for one task; "
                "calling it (and any other such slice) inline",
                s->off->symbol, (unsigned long long)k);
      }
      if (sized &&
          dt__trip_submit(s, q, ts, sl->size, &sl->c, &said_queue) == 0)
        sl->queued = true;
      m++;
    }
    for (uint64_t j = 0; j < m; j++) {
      slice *sl = &win[j];
      if (decided) {
        /* The call's outcome is known: first every slice of the window
         * that no worker has taken yet is withdrawn, then the others are
         * waited for (their answers must not stay in the queue). */
        for (uint64_t r = j; r < m; r++)
          if (win[r].queued && dt__queue_cancel(q, win[r].c.id) == 1)
            win[r].queued = false;
        for (uint64_t r = j; r < m; r++)
          if (win[r].queued)
            (void)dt__trip_wait(s, q, ts, &win[r].c, false, 0, &w);
        break;
      }
      dt__outcome o = sl->queued
                          ? dt__trip_wait(s, q, ts, &sl->c, false, 0, &w)
                          : DT__OUT_INLINE;
      int e;
      sl->c.quiet = o == DT__OUT_UNAVAILABLE && said_unavailable;
      if (o == DT__OUT_UNAVAILABLE)
        said_unavailable = true;
      int how = dt__trip_settle(s, q, ts, &sl->ret, sl->argv, sl->size,
                                saved, o, &sl->c, &e);
      if (how != DT__SETTLED_RESULT)
        all_remote = false;
      else
        any_remote = true;
      if (e != saved)
        err_last = e;
      if (how == DT__SETTLED_VALUE) {
        memcpy(&decided_ret, &sl->ret, sizeof decided_ret);
        decided = by_value = true;
      } else {
        uint64_t v = 0;
        if (sig->ret.tag != DT__T_VOID)
          dt__scalar_ret_get(&sig->ret, &sl->ret, &v);
        decided = dt__split_fold(sp->agg, &sig->ret, &acc, v,
                                 base + j == 0) != 0;
      }
      /* Under first_nonzero, failing is being picked; otherwise the
       * return value says (retry_if, or the C convention). */
      bool fails = decided || (sp->agg != DT__AGG_FIRST_NONZERO &&
                               sig->ret.tag != DT__T_VOID &&
                               dt__policy_is_failure(pol, sig, &sl->ret));
      if (!failed && fails) {
        failed = true;
        err_fail = e;
      }
      progress_draw(&pg, s->off->symbol, base + j + 1, count);
    }
    base += m;
  }
  progress_end(&pg);
  for (int i = 0; i < sig->nparams; i++)
    if (refs[i] != DT__NO_ID)
      dt__queue_blob_drop(q, refs[i]);
  munmap(win, wbytes);
  if (by_value && sig->ret.tag != DT__T_VOID)
    memcpy(ret, &decided_ret, sizeof(ffi_arg)); /* the on_* value */
  else if (sig->ret.tag != DT__T_VOID)
    dt__scalar_ret_set(&sig->ret, acc, ret);
  if (all_remote && !by_value) {
    uint64_t t1 = dt__now_ns();
    __atomic_add_fetch(&s->hist[dt__hist_bucket(t1 - t0)], 1,
                       __ATOMIC_RELAXED);
    dt__tripstat_tick(q, ts->slot, t1);
  }
  dt__in_shim = 0;
  errno = failed ? err_fail : err_last;
  return by_value     ? DT__RAN_VALUE
         : all_remote ? DT__RAN_WORKER
         : any_remote ? DT__RAN_SOME
                      : DT__RAN_INLINE;
}
