/* log.c: the shim's messages on stderr.
 *
 * The shim runs inside someone else's program, possibly in a thread that
 * holds the program's stdio locks or inside its malloc.  So this file
 * formats into a stack buffer and writes it with a single write(2): no
 * allocation, no stdio lock, errno preserved, and lines from several
 * threads never interleave. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

int dt__log_level = DT__LOG_ERROR;
int dt__trace_on = 0;

/* Reads DTASK_LOG and DTASK_TRACE.  Call once, before any thread. */
void dt__log_init(void) {
  const char *lv = getenv(DT__ENV_LOG);
  const char *tr = getenv(DT__ENV_TRACE);
  if (lv != NULL) {
    if (strcmp(lv, "debug") == 0)
      dt__log_level = DT__LOG_DEBUG;
    else if (strcmp(lv, "info") == 0)
      dt__log_level = DT__LOG_INFO;
    else if (strcmp(lv, "warn") == 0)
      dt__log_level = DT__LOG_WARN;
    else if (strcmp(lv, "error") == 0 || lv[0] == '\0')
      dt__log_level = DT__LOG_ERROR;
    else
      dt__log(DT__LOG_ERROR,
              DT__ENV_LOG "=%s is not a level; write " DT__ENV_LOG
              "=debug, info, warn or error",
              lv);
  }
  dt__trace_on = tr != NULL && tr[0] != '\0' && strcmp(tr, "0") != 0;
}

/* Formats "dtask[PID]: PREFIX MSG\n" and writes it with one write(2).
 * Lines longer than 1 KiB are truncated. */
static void emit(const char *prefix, const char *fmt, va_list ap) {
  char buf[1024];
  int saved = errno;
  size_t n;

  n = (size_t)snprintf(buf, sizeof buf, "dtask[%d]: %s", (int)getpid(),
                       prefix);
  if (n < sizeof buf)
    vsnprintf(buf + n, sizeof buf - n, fmt, ap);
  n = strlen(buf);
  if (n > sizeof buf - 2)
    n = sizeof buf - 2;
  buf[n++] = '\n';
  for (size_t off = 0; off < n;) {
    ssize_t w = write(STDERR_FILENO, buf + off, n - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  errno = saved;
}

/* Writes "dtask[PID]: MSG\n" to stderr with one write(2) when level is
 * enabled.  Formats into a stack buffer: never allocates, never takes a
 * stdio lock, preserves errno. */
void dt__log(int level, const char *fmt, ...) {
  va_list ap;
  if (level > dt__log_level)
    return;
  va_start(ap, fmt);
  emit(level == DT__LOG_ERROR  ? "error: "
       : level == DT__LOG_WARN ? "warning: "
                               : "",
       fmt, ap);
  va_end(ap);
}

/* Writes one "dtask[PID]: trace MSG" line, whatever the level (the
 * caller checks dt__trace_on).  Same guarantees as dt__log. */
void dt__trace(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit("trace ", fmt, ap);
  va_end(ap);
}

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t dt__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The histogram bucket of a latency of ns nanoseconds, in
 * [0, DT__HIST_BUCKETS).  Values below 32 ns get their own buckets;
 * above, each power of two is split into 32 linear sub-buckets. */
int dt__hist_bucket(uint64_t ns) {
  if (ns < 32)
    return (int)ns;
  int msb = 63 - __builtin_clzll(ns);
  int sub = (int)((ns >> (msb - 5)) & 31);
  int b = (msb - 4) * 32 + sub;
  return b < DT__HIST_BUCKETS ? b : DT__HIST_BUCKETS - 1;
}

/* The upper edge of a bucket, in nanoseconds: a percentile read from it
 * is never below the true value, and at most 1/32 (3%) above it. */
uint64_t dt__hist_value(int bucket) {
  if (bucket < 32)
    return (uint64_t)bucket;
  int msb = bucket / 32 + 4;
  uint64_t sub = (uint64_t)(bucket % 32);
  uint64_t lo = (1ull << msb) | (sub << (msb - 5));
  return lo + (1ull << (msb - 5)) - 1;
}
