/* poolstat.c: owns a runner pool's status record and the histograms in
 * it.
 *
 * A supervisor fills a dt__pool_info from its worker table every tick and
 * publishes it in the queue as text (dt__poolrec_build; the queue's
 * pool_put); `dtask status` reads every pool's record back
 * (dt__poolrec_parse).  A record from a Redis server is untrusted input:
 * the parser takes only lines of the forms below, bounds every number
 * and name, and ignores lines it does not know (a newer writer), so that
 * a record can make status print nonsense at worst, never overrun.
 *
 *     dtask-pool 1
 *     pid PID
 *     host HOST
 *     image IMAGE
 *     program NAME
 *     started MS            Unix time of the pool's start, ms
 *     updated MS            of this record
 *     workers N ALIVE       configured, running
 *     swept N               entries the pool's sweeps removed or requeued
 *     reclaimed N           ... of them, leases taken back from a worker
 *                           that is gone while its caller waited
 *     w INDEX PID CALL ENTRY MS CALLER    one per worker; CALL 0: idle
 *     s ENTRY SYMBOL CALLS ERRORS CRASHES TIMEOUTS BUCKET:COUNT,...
 *
 * Histograms are common/log.h's (DT__HIST_BUCKETS buckets of
 * nanoseconds, 32 per power of two), listed sparsely.  Names are written
 * with each byte the parser does not take as '_' (a program named
 * "my report" shows as my_report), and "-" when empty. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/poolstat.h"

/* The q-quantile (0 < q < 1) of hist, in ns; 0 for an empty one. */
uint64_t dt__hist_quantile(const uint64_t *hist, double q) {
  uint64_t total = 0;
  for (int b = 0; b < DT__HIST_BUCKETS; b++)
    total += hist[b];
  if (total == 0)
    return 0;
  uint64_t want = (uint64_t)(q * (double)total);
  if (want >= total)
    want = total - 1;
  uint64_t seen = 0;
  for (int b = 0; b < DT__HIST_BUCKETS; b++) {
    seen += hist[b];
    if (seen > want)
      return dt__hist_value(b);
  }
  return dt__hist_value(DT__HIST_BUCKETS - 1);
}

/* Appends to buf (cap bytes, *len used) like snprintf; 0 or -E2BIG. */
static int add(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= cap - *len)
    return -E2BIG;
  *len += (size_t)n;
  return 0;
}

/* Whether c may appear in a name of a record. */
static bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || strchr("_.:@/+-", c) != NULL;
}

/* s as a record writes it into out (cap bytes): each byte a name may not
 * hold (a space, UTF-8, a newline that would start a line of its own)
 * as '_', and "-" for an empty name, so that the record reads back. */
static const char *as_name(const char *s, char *out, size_t cap) {
  size_t n = 0;
  for (; s[n] != '\0' && n + 1 < cap; n++)
    out[n] = name_char(s[n]) ? s[n] : '_';
  if (n == 0 && cap > 1)
    out[n++] = '-';
  out[n] = '\0';
  return out;
}

/* Writes p as a record into buf (cap bytes).  Returns its length, or
 * -E2BIG when it does not fit. */
int dt__poolrec_build(const dt__pool_info *p, char *buf, size_t cap) {
  size_t len = 0;
  char host[sizeof p->host], image[sizeof p->image],
      program[sizeof p->program];
  int rc = add(buf, cap, &len,
               "dtask-pool 1\npid %d\nhost %s\nimage %s\nprogram %s\n"
               "started %" PRIu64 "\nupdated %" PRIu64 "\nworkers %d %d\n"
               "swept %" PRIu64 "\nreclaimed %" PRIu64 "\n",
               p->pid, as_name(p->host, host, sizeof host),
               as_name(p->image, image, sizeof image),
               as_name(p->program, program, sizeof program), p->started_ms,
               p->updated_ms, p->workers, p->alive, p->swept, p->reclaimed);
  for (int i = 0; rc == 0 && i < p->nw; i++)
    rc = add(buf, cap, &len, "w %d %d %" PRIu64 " %u %" PRIu64 " %s\n",
             p->w[i].index, p->w[i].pid, p->w[i].call, p->w[i].entry,
             p->w[i].ms, as_name(p->w[i].caller, host, sizeof host));
  for (int i = 0; rc == 0 && i < p->nsym; i++) {
    const dt__psym *s = &p->sym[i];
    char sym[sizeof s->symbol];
    rc = add(buf, cap, &len,
             "s %u %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " ",
             s->entry, as_name(s->symbol, sym, sizeof sym), s->calls,
             s->errors, s->crashes, s->timeouts);
    const char *sep = "";
    for (int b = 0; rc == 0 && b < DT__HIST_BUCKETS; b++)
      if (s->exec[b] != 0) {
        rc = add(buf, cap, &len, "%s%d:%" PRIu64, sep, b, s->exec[b]);
        sep = ",";
      }
    if (rc == 0)
      rc = add(buf, cap, &len, "%s\n", sep[0] ? "" : "-");
  }
  return rc == 0 ? (int)len : rc;
}

/* A name of 1 to cap-1 bytes of [A-Za-z0-9_.:@/+-] copied into out. */
static int word(const char *s, char *out, size_t cap) {
  size_t n = strlen(s);
  if (n == 0 || n >= cap)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (!name_char(s[i]))
      return -1;
  memcpy(out, s, n + 1);
  return 0;
}

/* Reads the "B:C,B:C" list s into hist; 0 or -1. */
static int hist_read(const char *s, uint64_t *hist) {
  if (strcmp(s, "-") == 0)
    return 0;
  while (*s != '\0') {
    char *end;
    unsigned long b = strtoul(s, &end, 10);
    if (end == s || *end != ':' || b >= DT__HIST_BUCKETS)
      return -1;
    s = end + 1;
    unsigned long long c = strtoull(s, &end, 10);
    if (end == s || (*end != ',' && *end != '\0'))
      return -1;
    hist[b] = c;
    s = *end == ',' ? end + 1 : end;
  }
  return 0;
}

/* Reads one line (NUL-terminated, no newline) into p; 0, or -1 for a
 * known line that is malformed. */
static int line(char *l, dt__pool_info *p) {
  char key[16], a[256];
  int n = 0;
  if (sscanf(l, "%15s %n", key, &n) != 1)
    return -1;
  const char *rest = l + n;
  if (strcmp(key, "pid") == 0)
    return sscanf(rest, "%d", &p->pid) == 1 ? 0 : -1;
  if (strcmp(key, "host") == 0)
    return word(rest, p->host, sizeof p->host);
  if (strcmp(key, "image") == 0)
    return word(rest, p->image, sizeof p->image);
  if (strcmp(key, "program") == 0)
    return word(rest, p->program, sizeof p->program);
  if (strcmp(key, "started") == 0)
    return sscanf(rest, "%" SCNu64, &p->started_ms) == 1 ? 0 : -1;
  if (strcmp(key, "updated") == 0)
    return sscanf(rest, "%" SCNu64, &p->updated_ms) == 1 ? 0 : -1;
  if (strcmp(key, "workers") == 0)
    return sscanf(rest, "%d %d", &p->workers, &p->alive) == 2 ? 0 : -1;
  if (strcmp(key, "swept") == 0)
    return sscanf(rest, "%" SCNu64, &p->swept) == 1 ? 0 : -1;
  if (strcmp(key, "reclaimed") == 0)
    return sscanf(rest, "%" SCNu64, &p->reclaimed) == 1 ? 0 : -1;
  if (strcmp(key, "w") == 0) {
    if (p->nw >= DT__POOLREC_WORKERS)
      return 0;
    dt__pw *w = &p->w[p->nw];
    if (sscanf(rest, "%d %d %" SCNu64 " %u %" SCNu64 " %255s", &w->index,
               &w->pid, &w->call, &w->entry, &w->ms, a) != 6)
      return -1;
    if (strcmp(a, "-") == 0)
      w->caller[0] = '\0';
    else if (word(a, w->caller, sizeof w->caller) != 0)
      return -1;
    p->nw++;
    return 0;
  }
  if (strcmp(key, "s") == 0) {
    if (p->nsym >= DT__STAT_ENTRIES)
      return 0;
    dt__psym *s = &p->sym[p->nsym];
    memset(s, 0, sizeof *s);
    if (strlen(rest) >= 200000 ||
        sscanf(rest,
               "%u %255s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %n",
               &s->entry, a, &s->calls, &s->errors, &s->crashes,
               &s->timeouts, &n) != 6)
      return -1;
    if (word(a, s->symbol, sizeof s->symbol) != 0 ||
        hist_read(rest + n, s->exec) != 0)
      return -1;
    p->nsym++;
    return 0;
  }
  return 0; /* a line a newer writer added */
}

/* Reads the record text[0, n) into *p (zeroed first).  Returns 0, or
 * -EPROTO for a record that is not one (wrong first line, a malformed
 * known line, more than DT__POOLREC_MAX bytes). */
int dt__poolrec_parse(const char *text, size_t n, dt__pool_info *p) {
  memset(p, 0, sizeof *p);
  static const char head[] = "dtask-pool 1\n";
  if (n > DT__POOLREC_MAX || n < sizeof head - 1 ||
      memcmp(text, head, sizeof head - 1) != 0)
    return -EPROTO;
  char *copy = malloc(n + 1);
  if (copy == NULL)
    return -ENOMEM;
  memcpy(copy, text, n);
  copy[n] = '\0';
  int rc = 0;
  char *save = NULL;
  for (char *l = strtok_r(copy + sizeof head - 1, "\n", &save);
       l != NULL && rc == 0; l = strtok_r(NULL, "\n", &save))
    if (strlen(l) != 0 && line(l, p) != 0)
      rc = -EPROTO;
  free(copy);
  return rc;
}
