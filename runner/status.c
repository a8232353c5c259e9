/* status.c: `dtask status` and `dtask top`, what a config's queue and its
 * pools are doing.
 *
 * The state comes from the queue alone: for each program image under the
 * config's queue directory, the queue's counts (waiting, running, answers
 * not yet read, bytes used), the records its pools' supervisors rewrite
 * every second (runner/poolstat.c; the queue's pool_list), and the
 * callers' round trips and retries (the queue's trips_list, which
 * callers add to at most once a second: shim/tripstat.c).  Nothing here
 * talks to a pool or a caller.
 *
 * Views: text (the default), --json (documented in README, "Watching a
 * pool"), --prometheus (text exposition format 0.0.4), and top, the text
 * view redrawn every second, busiest symbol first.
 *
 * With the Redis backend, images are found through this host's queue
 * directory and through the server's keys (the queue's images). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/error.h"
#include "common/log.h"
#include "config/config.h"
#include "queue/queue.h"
#include "runner/launch.h"
#include "runner/poolstat.h"
#include "runner/status.h"

#define MAX_POOLS 64

/* One image's queue, as read. */
typedef struct image_view {
  char name[256];
  int ok; /* 0: read; else a negative errno, with err */
  char err[300];
  dt__queue_stats st;
  int npools;
  dt__pool_info *pools[MAX_POOLS];
  /* Per symbol, merged over the pools (by name), and the callers' round
   * trips (by name; a symbol no pool has counted gets a row of its own). */
  int nsym;
  dt__psym sym[DT__STAT_ENTRIES];
  int ntrips;
  dt__trips trips[DT__TRIPS_SYMBOLS];
} image_view;

typedef struct view {
  const dt__config *cfg;
  uint64_t now_ms;
  int nimg;
  image_view *img[64]; /* MAX_IMAGES */
} view;

/* Whether p's record is too old to say that its pool serves. */
static bool stale(const view *v, const dt__pool_info *p) {
  return p->updated_ms + DT__POOLREC_STALE_MS < v->now_ms;
}

/* pool_list's callback: parses a record into the image's next pool. */
static int take_pool(void *ctx, const char *text, size_t n) {
  image_view *iv = ctx;
  if (iv->npools >= MAX_POOLS)
    return 0;
  dt__pool_info *p = malloc(sizeof *p);
  if (p == NULL)
    return -ENOMEM;
  if (dt__poolrec_parse(text, n, p) != 0) {
    free(p);
    return 0; /* not a record this version reads: left out */
  }
  iv->pools[iv->npools++] = p;
  return 0;
}

/* The row of symbol name in iv, added (zeroed) when there is none and
 * there is room; NULL otherwise. */
static dt__psym *row_of(image_view *iv, const char *name) {
  for (int k = 0; k < iv->nsym; k++)
    if (strcmp(iv->sym[k].symbol, name) == 0)
      return &iv->sym[k];
  if (iv->nsym >= DT__STAT_ENTRIES)
    return NULL;
  dt__psym *t = &iv->sym[iv->nsym++];
  memset(t, 0, sizeof *t);
  snprintf(t->symbol, sizeof t->symbol, "%s", name);
  t->entry = UINT32_MAX;
  return t;
}

/* trips_list's callback: keeps a symbol's round trips in the image. */
static int take_trips(void *ctx, const dt__trips *t) {
  image_view *iv = ctx;
  if (iv->ntrips < DT__TRIPS_SYMBOLS && row_of(iv, t->symbol) != NULL)
    iv->trips[iv->ntrips++] = *t;
  return 0;
}

/* The callers' round trips of symbol name in iv, or NULL. */
static const dt__trips *trips_of(const image_view *iv, const char *name) {
  for (int i = 0; i < iv->ntrips; i++)
    if (strcmp(iv->trips[i].symbol, name) == 0)
      return &iv->trips[i];
  return NULL;
}

/* Adds the counters of pool p to the image's per-symbol totals. */
static void merge(image_view *iv, const dt__pool_info *p) {
  for (int i = 0; i < p->nsym; i++) {
    const dt__psym *s = &p->sym[i];
    dt__psym *t = row_of(iv, s->symbol);
    if (t == NULL)
      continue;
    t->entry = s->entry;
    t->calls += s->calls;
    t->errors += s->errors;
    t->crashes += s->crashes;
    t->timeouts += s->timeouts;
    for (int b = 0; b < DT__HIST_BUCKETS; b++)
      t->exec[b] += s->exec[b];
  }
}

/* Busiest first (calls, then name). */
static int by_calls(const void *a, const void *b) {
  const dt__psym *x = a, *y = b;
  if (x->calls != y->calls)
    return x->calls > y->calls ? -1 : 1;
  return strcmp(x->symbol, y->symbol);
}

/* Reads image name of cfg's queue into a new image_view. */
static image_view *read_image(const dt__config *cfg, const char *name) {
  image_view *iv = calloc(1, sizeof *iv);
  if (iv == NULL)
    return NULL;
  snprintf(iv->name, sizeof iv->name, "%.255s", name);
  dt__queue *q = NULL;
  dt__error err = {0, 0, ""};
  iv->ok = dt__queue_open_image(cfg, name, &q, &err);
  if (iv->ok != 0) {
    snprintf(iv->err, sizeof iv->err, "%.290s", err.msg);
    return iv;
  }
  iv->ok = q->ops->stat(q, &iv->st);
  if (iv->ok == 0)
    iv->ok = dt__queue_pool_list(q, take_pool, iv);
  for (int i = 0; i < iv->npools; i++)
    merge(iv, iv->pools[i]);
  if (iv->ok == 0)
    iv->ok = dt__queue_trips_list(q, take_trips, iv);
  if (iv->ok != 0)
    snprintf(iv->err, sizeof iv->err, "cannot read the queue: %s",
             strerror(-iv->ok));
  dt__queue_close(q);
  qsort(iv->sym, (size_t)iv->nsym, sizeof iv->sym[0], by_calls);
  return iv;
}

/* The names of the images to show, at most MAX_IMAGES. */
#define MAX_IMAGES 64
typedef struct image_names {
  int n;
  char name[MAX_IMAGES][256];
} image_names;

/* Adds image to the names unless it is there already (the queue's
 * images callback too).  Returns 0. */
static int add_name(void *ctx, const char *image) {
  image_names *in = ctx;
  for (int i = 0; i < in->n; i++)
    if (strcmp(in->name[i], image) == 0)
      return 0;
  if (in->n < MAX_IMAGES && strlen(image) < sizeof in->name[0])
    snprintf(in->name[in->n++], sizeof in->name[0], "%s", image);
  return 0;
}

/* Fills v with every image of the config's queue: the directories under
 * its path, and those the backend knows beyond them (Redis: the server's
 * images, of programs that never ran on this host; their directory is
 * created here when opened).  Returns 0, or -errno when the directory
 * cannot be read (-ENOENT: no program has used this queue yet, which is
 * not an error). */
static int read_view(const dt__config *cfg, view *v) {
  memset(v, 0, sizeof *v);
  v->cfg = cfg;
  v->now_ms = dt__wall_ms();
  static image_names in;
  in.n = 0;
  DIR *d = opendir(cfg->queue_path);
  int rc = d == NULL ? -errno : 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    struct stat st;
    if (e->d_name[0] == '.' ||
        fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode))
      continue;
    add_name(&in, e->d_name);
  }
  if (d != NULL)
    closedir(d);
  (void)dt__queue_images(cfg, add_name, &in);
  if (in.n > 0)
    rc = 0;
  int n = in.n;
  qsort(in.name, (size_t)n, sizeof in.name[0],
        (int (*)(const void *, const void *))strcmp);
  for (int i = 0; i < n; i++) {
    image_view *iv = read_image(cfg, in.name[i]);
    if (iv != NULL)
      v->img[v->nimg++] = iv;
  }
  return rc;
}

/* Frees what read_view allocated in v (not v itself). */
static void free_view(view *v) {
  for (int i = 0; i < v->nimg; i++) {
    for (int k = 0; k < v->img[i]->npools; k++)
      free(v->img[i]->pools[k]);
    free(v->img[i]);
  }
  v->nimg = 0;
}

/* How many pools serve (a fresh record) over the whole view. */
static int serving(const view *v) {
  int n = 0;
  for (int i = 0; i < v->nimg; i++)
    for (int k = 0; k < v->img[i]->npools; k++)
      n += !stale(v, v->img[i]->pools[k]);
  return n;
}

/* How many of p's workers run a call. */
static int busy_of(const dt__pool_info *p) {
  int busy = 0;
  for (int w = 0; w < p->nw; w++)
    busy += p->w[w].call != 0;
  return busy;
}

/* Steps (*k, *w), pool and worker, to the next worker of iv that runs a
 * call (start with 0, -1); *p and *x get them.  0 when there is none. */
static int next_busy(const image_view *iv, int *k, int *w,
                     const dt__pool_info **p, const dt__pw **x) {
  for (; *k < iv->npools; (*k)++, *w = -1)
    while (++*w < iv->pools[*k]->nw)
      if (iv->pools[*k]->w[*w].call != 0) {
        *p = iv->pools[*k];
        *x = &(*p)->w[*w];
        return 1;
      }
  return 0;
}

/* The symbol of entry e in pool p ("?" when the record does not say). */
static const char *sym_of(const dt__pool_info *p, uint32_t e) {
  for (int i = 0; i < p->nsym; i++)
    if (p->sym[i].entry == e)
      return p->sym[i].symbol;
  return "?";
}

/* How long worker x of p's record has run its call, now (the record
 * is up to a tick old). */
static uint64_t running_ms(const view *v, const dt__pool_info *p,
                           const dt__pw *x) {
  return x->ms + (v->now_ms > p->updated_ms ? v->now_ms - p->updated_ms : 0);
}

/* ns as "12.3 us", "4.56 ms", "1.20 s" into buf. */
static const char *human(uint64_t ns, char *buf, size_t cap) {
  if (ns == 0)
    snprintf(buf, cap, "-");
  else if (ns < 1000000)
    snprintf(buf, cap, "%.1f us", (double)ns / 1e3);
  else if (ns < 1000000000)
    snprintf(buf, cap, "%.2f ms", (double)ns / 1e6);
  else
    snprintf(buf, cap, "%.2f s", (double)ns / 1e9);
  return buf;
}

/* ------------------------------------------------------------- text */

/* The text view of v on out. */
static void print_text(FILE *out, const view *v) {
  fprintf(out, "queue %s (%s)\n", v->cfg->queue_path, v->cfg->backend);
  if (v->nimg == 0)
    fprintf(out, "  no program has used this queue yet\n");
  for (int i = 0; i < v->nimg; i++) {
    const image_view *iv = v->img[i];
    fprintf(out, "image %s\n", iv->name);
    if (iv->ok != 0) {
      fprintf(out, "  %s\n", iv->err);
      continue;
    }
    fprintf(out, "  queue: %zu waiting, %zu running, %zu answers not yet read",
            iv->st.tasks, iv->st.claims, iv->st.results);
    if (strcmp(v->cfg->backend, "lmdb") == 0)
      fprintf(out, "; %.1f MiB used of %.0f MiB (map_size), %.1f MiB of it "
                   "free; %zu caller arena%s, %.1f MiB\n",
              (double)iv->st.used_bytes / 1048576.0,
              (double)v->cfg->map_size / 1048576.0,
              (double)iv->st.free_bytes / 1048576.0, iv->st.arenas,
              iv->st.arenas == 1 ? "" : "s",
              (double)iv->st.arena_bytes / 1048576.0);
    else
      fprintf(out, "; the server uses %.1f MiB\n",
              (double)iv->st.used_bytes / 1048576.0);
    if (iv->npools == 0)
      fprintf(out, "  no pool serves it\n");
    for (int k = 0; k < iv->npools; k++) {
      const dt__pool_info *p = iv->pools[k];
      int busy = busy_of(p);
      fprintf(out,
              "  pool %d on %s (%s): up %" PRIu64 " s, %d workers, %d alive, "
              "%d busy, %d idle; %" PRIu64 " leases reclaimed, %" PRIu64
              " entries swept%s\n",
              p->pid, p->host, p->program, (v->now_ms - p->started_ms) / 1000,
              p->workers, p->alive, busy, p->alive - busy, p->reclaimed,
              p->swept, stale(v, p) ? "; STALE: no word for over 10 s" : "");
    }
    bool head = false;
    const dt__pool_info *p;
    const dt__pw *x;
    for (int k = 0, w = -1; next_busy(iv, &k, &w, &p, &x);) {
      if (!head)
        fprintf(out, "  in flight:\n    %-24s %-22s %-18s %s\n", "symbol",
                "caller", "worker", "running");
      head = true;
      char t[96];
      fprintf(out, "    %-24s %-22s %-18s %s\n", sym_of(p, x->entry),
              x->caller[0] ? x->caller : "?",
              (snprintf(t, sizeof t, "%d@%s", x->pid, p->host), t),
              human(running_ms(v, p, x) * 1000000u, (char[32]){0}, 32));
    }
    if (iv->nsym > 0)
      fprintf(out, "  %-24s %9s %7s %7s %8s %7s %10s %10s %10s %10s\n",
              "symbol", "calls", "errors", "crashes", "timeouts", "retries",
              "exec p50", "exec p99", "trip p50", "trip p99");
    for (int s = 0; s < iv->nsym; s++) {
      const dt__psym *y = &iv->sym[s];
      const dt__trips *t = trips_of(iv, y->symbol);
      char a[32], b[32], c[32], d[32];
      fprintf(out,
              "  %-24s %9" PRIu64 " %7" PRIu64 " %7" PRIu64 " %8" PRIu64
              " %7" PRIu64 " %10s %10s %10s %10s\n",
              y->symbol, y->calls, y->errors, y->crashes, y->timeouts,
              t != NULL ? t->retries : 0,
              human(dt__hist_quantile(y->exec, 0.50), a, sizeof a),
              human(dt__hist_quantile(y->exec, 0.99), b, sizeof b),
              human(t != NULL ? dt__hist_quantile(t->hist, 0.50) : 0, c,
                    sizeof c),
              human(t != NULL ? dt__hist_quantile(t->hist, 0.99) : 0, d,
                    sizeof d));
    }
    for (int s = 0; s < iv->nsym; s++) {
      const dt__trips *t = trips_of(iv, iv->sym[s].symbol);
      if (t != NULL && t->hits + t->misses != 0)
        fprintf(out, "  cache   %-24s %" PRIu64 " hits, %" PRIu64
                     " misses (%.1f%% answered from the cache)\n",
                iv->sym[s].symbol, t->hits, t->misses,
                100.0 * (double)t->hits / (double)(t->hits + t->misses));
    }
  }
}

/* ------------------------------------------------------------- JSON */

/* s as a JSON string (names here are identifiers, paths and host names;
 * anything below 0x20, '"' and '\\' is escaped all the same). */
static void jstr(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20)
      fprintf(out, "\\u%04x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

/* v as one JSON object (README, "Watching a pool") and a newline. */
static void print_json(FILE *out, const view *v) {
  fprintf(out, "{\"version\":1,\"queue\":");
  jstr(out, v->cfg->queue_path);
  fprintf(out, ",\"backend\":");
  jstr(out, v->cfg->backend);
  fprintf(out,
          ",\"map_size\":%" PRIu64 ",\"time_ms\":%" PRIu64
          ",\"serving\":%d,\"images\":[",
          strcmp(v->cfg->backend, "lmdb") == 0 ? v->cfg->map_size : 0,
          v->now_ms, serving(v));
  for (int i = 0; i < v->nimg; i++) {
    const image_view *iv = v->img[i];
    fprintf(out, "%s{\"image\":", i ? "," : "");
    jstr(out, iv->name);
    if (iv->ok != 0) {
      fprintf(out, ",\"error\":");
      jstr(out, iv->err);
      fprintf(out, "}");
      continue;
    }
    fprintf(out,
            ",\"waiting\":%zu,\"running\":%zu,\"unread_answers\":%zu,"
            "\"used_bytes\":%" PRIu64 ",\"free_bytes\":%" PRIu64
            ",\"arenas\":%zu,\"arena_bytes\":%" PRIu64 ",\"pools\":[",
            iv->st.tasks, iv->st.claims, iv->st.results, iv->st.used_bytes,
            iv->st.free_bytes, iv->st.arenas, iv->st.arena_bytes);
    for (int k = 0; k < iv->npools; k++) {
      const dt__pool_info *p = iv->pools[k];
      int busy = busy_of(p);
      fprintf(out, "%s{\"pid\":%d,\"host\":", k ? "," : "", p->pid);
      jstr(out, p->host);
      fprintf(out, ",\"program\":");
      jstr(out, p->program);
      fprintf(out,
              ",\"uptime_s\":%" PRIu64 ",\"workers\":%d,\"alive\":%d,"
              "\"busy\":%d,\"idle\":%d,\"swept\":%" PRIu64
              ",\"reclaimed\":%" PRIu64 ",\"updated_ms\":%" PRIu64
              ",\"stale\":%s}",
              (v->now_ms - p->started_ms) / 1000, p->workers, p->alive, busy,
              p->alive - busy, p->swept, p->reclaimed, p->updated_ms,
              stale(v, p) ? "true" : "false");
    }
    fprintf(out, "],\"in_flight\":[");
    int n = 0;
    const dt__pool_info *p;
    const dt__pw *x;
    for (int k = 0, w = -1; next_busy(iv, &k, &w, &p, &x);) {
      fprintf(out, "%s{\"symbol\":", n++ ? "," : "");
      jstr(out, sym_of(p, x->entry));
      fprintf(out, ",\"call\":%" PRIu64 ",\"caller\":", x->call - 1);
      jstr(out, x->caller);
      fprintf(out, ",\"worker_pid\":%d,\"pool_pid\":%d,\"host\":", x->pid,
              p->pid);
      jstr(out, p->host);
      fprintf(out, ",\"running_ms\":%" PRIu64 "}", running_ms(v, p, x));
    }
    fprintf(out, "],\"symbols\":[");
    for (int s = 0; s < iv->nsym; s++) {
      const dt__psym *y = &iv->sym[s];
      const dt__trips *t = trips_of(iv, y->symbol);
      fprintf(out, "%s{\"symbol\":", s ? "," : "");
      jstr(out, y->symbol);
      fprintf(out,
              ",\"calls\":%" PRIu64 ",\"errors\":%" PRIu64
              ",\"crashes\":%" PRIu64 ",\"timeouts\":%" PRIu64
              ",\"exec_p50_us\":%.1f,\"exec_p99_us\":%.1f"
              ",\"round_trips\":%" PRIu64 ",\"retries\":%" PRIu64
              ",\"trip_p50_us\":%.1f,\"trip_p99_us\":%.1f"
              ",\"cache_hits\":%" PRIu64 ",\"cache_misses\":%" PRIu64 "}",
              y->calls, y->errors, y->crashes, y->timeouts,
              (double)dt__hist_quantile(y->exec, 0.50) / 1e3,
              (double)dt__hist_quantile(y->exec, 0.99) / 1e3,
              t != NULL ? t->calls : 0, t != NULL ? t->retries : 0,
              t != NULL ? (double)dt__hist_quantile(t->hist, 0.50) / 1e3 : 0,
              t != NULL ? (double)dt__hist_quantile(t->hist, 0.99) / 1e3 : 0,
              t != NULL ? t->hits : 0, t != NULL ? t->misses : 0);
    }
    fprintf(out, "]}");
  }
  fprintf(out, "]}\n");
}

/* ------------------------------------------------------- Prometheus */

/* The histogram's upper bounds, in seconds. */
static const double les[] = {1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100};

/* One histogram's samples (name_bucket, _sum, _count) for an image's
 * symbol; the sum is estimated from the buckets. */
static void print_hist(FILE *out, const char *name, const char *image,
                       const char *symbol, const uint64_t *hist) {
  uint64_t total = 0;
  double sum = 0;
  for (int b = 0; b < DT__HIST_BUCKETS; b++) {
    if (hist[b] == 0)
      continue;
    total += hist[b];
    sum += (double)hist[b] * (double)dt__hist_value(b) / 1e9;
  }
  for (size_t l = 0; l < sizeof les / sizeof les[0]; l++) {
    uint64_t c = 0;
    for (int b = 0; b < DT__HIST_BUCKETS; b++)
      if (hist[b] != 0 && (double)dt__hist_value(b) / 1e9 <= les[l])
        c += hist[b];
    fprintf(out, "%s_bucket{image=\"%s\",symbol=\"%s\",le=\"%g\"} %" PRIu64
                 "\n",
            name, image, symbol, les[l], c);
  }
  fprintf(out,
          "%s_bucket{image=\"%s\",symbol=\"%s\",le=\"+Inf\"} %" PRIu64 "\n"
          "%s_sum{image=\"%s\",symbol=\"%s\"} %.9f\n"
          "%s_count{image=\"%s\",symbol=\"%s\"} %" PRIu64 "\n",
          name, image, symbol, total, name, image, symbol, sum, name, image,
          symbol, total);
}

/* v as Prometheus text exposition: counters and histograms (run time in
 * the worker, round trip in the caller) per image and symbol, gauges
 * per image. */
static void print_prometheus(FILE *out, const view *v) {
  static const struct {
    const char *name, *help;
    size_t off;
  } counters[] = {{"dtask_calls_total", "Calls answered by the pools' workers.",
                   offsetof(dt__psym, calls)},
                  {"dtask_errors_total", "Calls answered with an error record.",
                   offsetof(dt__psym, errors)},
                  {"dtask_crashes_total", "Calls that crashed their worker.",
                   offsetof(dt__psym, crashes)},
                  {"dtask_timeouts_total", "Calls killed at their timeout.",
                   offsetof(dt__psym, timeouts)}};
  for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++) {
    fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", counters[c].name,
            counters[c].help, counters[c].name);
    for (int i = 0; i < v->nimg; i++)
      for (int s = 0; s < v->img[i]->nsym; s++) {
        const dt__psym *y = &v->img[i]->sym[s];
        uint64_t val;
        memcpy(&val, (const char *)y + counters[c].off, sizeof val);
        fprintf(out, "%s{image=\"%s\",symbol=\"%s\"} %" PRIu64 "\n",
                counters[c].name, v->img[i]->name, y->symbol, val);
      }
  }
  /* The callers' counters, from their round trips. */
  static const struct {
    const char *name, *help;
    size_t off;
  } trips[] = {{"dtask_retries_total",
                "Retries the callers made under their policies.",
                offsetof(dt__trips, retries)},
               {"dtask_cache_hits_total", "Calls the answers cache answered.",
                offsetof(dt__trips, hits)},
               {"dtask_cache_misses_total",
                "Calls of a cached function the cache could not answer.",
                offsetof(dt__trips, misses)}};
  for (size_t c = 0; c < sizeof trips / sizeof trips[0]; c++) {
    fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", trips[c].name,
            trips[c].help, trips[c].name);
    for (int i = 0; i < v->nimg; i++)
      for (int t = 0; t < v->img[i]->ntrips; t++) {
        const dt__trips *y = &v->img[i]->trips[t];
        uint64_t val;
        memcpy(&val, (const char *)y + trips[c].off, sizeof val);
        fprintf(out, "%s{image=\"%s\",symbol=\"%s\"} %" PRIu64 "\n",
                trips[c].name, v->img[i]->name, y->symbol, val);
      }
  }
  fprintf(out, "# HELP dtask_exec_seconds Time a call ran in its worker "
               "(the sum is estimated from the buckets).\n"
               "# TYPE dtask_exec_seconds histogram\n");
  for (int i = 0; i < v->nimg; i++)
    for (int s = 0; s < v->img[i]->nsym; s++)
      print_hist(out, "dtask_exec_seconds", v->img[i]->name,
                 v->img[i]->sym[s].symbol, v->img[i]->sym[s].exec);
  fprintf(out, "# HELP dtask_round_trip_seconds A call's time in its caller, "
               "from the stub to the answer (the sum is estimated from the "
               "buckets).\n# TYPE dtask_round_trip_seconds histogram\n");
  for (int i = 0; i < v->nimg; i++)
    for (int t = 0; t < v->img[i]->ntrips; t++)
      print_hist(out, "dtask_round_trip_seconds", v->img[i]->name,
                 v->img[i]->trips[t].symbol, v->img[i]->trips[t].hist);
  static const char *const gauges[][2] = {
      {"dtask_queue_waiting", "Calls waiting for a worker."},
      {"dtask_queue_running", "Calls a worker holds."},
      {"dtask_queue_used_bytes", "Bytes the queue uses."},
      {"dtask_queue_free_bytes",
       "Bytes of those on the LMDB queue's free list (0 for Redis)."},
      {"dtask_queue_arena_bytes",
       "Bytes of the callers' arenas beside an LMDB queue (0 for Redis)."},
      {"dtask_pools_serving", "Pools whose record is fresh."},
      {"dtask_workers_alive", "Worker processes running."}};
  for (size_t g = 0; g < sizeof gauges / sizeof gauges[0]; g++) {
    fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g][0], gauges[g][1],
            gauges[g][0]);
    for (int i = 0; i < v->nimg; i++) {
      const image_view *iv = v->img[i];
      uint64_t serving = 0, alive = 0;
      for (int k = 0; k < iv->npools; k++)
        if (!stale(v, iv->pools[k])) {
          serving++;
          alive += (uint64_t)iv->pools[k]->alive;
        }
      /* In the order of gauges. */
      const uint64_t val[] = {iv->st.tasks,       iv->st.claims,
                              iv->st.used_bytes,  iv->st.free_bytes,
                              iv->st.arena_bytes, serving,
                              alive};
      fprintf(out, "%s{image=\"%s\"} %" PRIu64 "\n", gauges[g][0], iv->name,
              val[g]);
    }
  }
}

/* ---------------------------------------------------------- commands */

/* The two commands' usage, on out. */
static void usage(FILE *out) {
  fprintf(out, "usage: dtask status [-c FILE] [--json | --prometheus]\n"
               "       dtask top [-c FILE] [-n COUNT]\n");
}

/* Loads the config of -c FILE (else $DTASK_CONFIG, ./dtask.toml). */
static dt__config *load(const char *cmd, const char *file) {
  dt__config *cfg = NULL;
  char abs[4096];
  if (dt__launch_config(cmd, file, &cfg, abs, sizeof abs) != 0)
    return NULL;
  return cfg;
}

/* dtask status [-c FILE] [--json | --prometheus]: prints the view once.
 * Returns 0 when a pool serves the queue, 1 when none does, 2 for a bad
 * config or usage. */
int dt__cmd_status(int argc, char **argv) {
  static const struct option longs[] = {{"json", no_argument, NULL, 'j'},
                                        {"prometheus", no_argument, NULL, 'p'},
                                        {"help", no_argument, NULL, 'h'},
                                        {NULL, 0, NULL, 0}};
  const char *file = NULL;
  int format = 't', c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:h", longs, NULL)) != -1) {
    if (c == 'c')
      file = optarg;
    else if (c == 'j' || c == 'p')
      format = c;
    else {
      usage(c == 'h' ? stdout : stderr);
      return c == 'h' ? 0 : 2;
    }
  }
  if (optind < argc) {
    usage(stderr);
    return 2;
  }
  dt__config *cfg = load("dtask status", file);
  if (cfg == NULL)
    return 2;
  view v;
  int rc = read_view(cfg, &v);
  if (rc != 0 && rc != -ENOENT)
    fprintf(stderr, "dtask status: cannot read %s: %s\n", cfg->queue_path,
            strerror(-rc));
  if (format == 'j')
    print_json(stdout, &v);
  else if (format == 'p')
    print_prometheus(stdout, &v);
  else
    print_text(stdout, &v);
  int n = serving(&v);
  free_view(&v);
  dt__config_free(cfg);
  return n > 0 ? 0 : 1;
}

/* Set by SIGINT or SIGTERM: top restores the terminal and returns. */
static volatile sig_atomic_t top_stop;
static void on_int(int sig) {
  (void)sig;
  top_stop = 1;
}

/* dtask top [-c FILE] [-n COUNT]: the text view every second, busiest
 * symbol first; on a terminal redrawn in place until q or Ctrl-C, else
 * printed again and again (COUNT times, when given).  Returns 0, or 2
 * for a bad config or usage. */
int dt__cmd_top(int argc, char **argv) {
  const char *file = NULL;
  long count = -1;
  int c;
  optind = 1;
  while ((c = getopt(argc, argv, "c:n:h")) != -1) {
    if (c == 'c')
      file = optarg;
    else if (c == 'n')
      count = strtol(optarg, NULL, 10);
    else {
      usage(c == 'h' ? stdout : stderr);
      return c == 'h' ? 0 : 2;
    }
  }
  dt__config *cfg = load("dtask top", file);
  if (cfg == NULL)
    return 2;
  bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
  struct termios saved, raw;
  if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
    raw = saved;
    raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  } else {
    tty = false;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_int;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  for (long i = 0; !top_stop && (count < 0 || i < count); i++) {
    view v;
    (void)read_view(cfg, &v);
    if (tty)
      fputs("\033[H\033[2J", stdout);
    else if (i > 0)
      fputs("\n", stdout);
    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
    printf("dtask top, %s%s\n", when, tty ? " (q to quit)" : "");
    print_text(stdout, &v);
    fflush(stdout);
    free_view(&v);
    if (count >= 0 && i + 1 >= count)
      break;
    /* The next view in a second: sooner only for a key on a terminal
     * (q quits); without one, poll just waits. */
    struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
    char ch;
    if (poll(&pfd, tty ? 1 : 0, 1000) == 1 &&
        read(STDIN_FILENO, &ch, 1) == 1 && (ch == 'q' || ch == 'Q'))
      break;
  }
  if (tty)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  dt__config_free(cfg);
  return 0;
}
