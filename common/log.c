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

/* Unix time in milliseconds (CLOCK_REALTIME), for what other processes
 * and hosts compare: a pool's start and the age of its status record. */
uint64_t dt__wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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
  if (msb > 63)
    return UINT64_MAX; /* past any bucket dt__hist_bucket gives */
  uint64_t sub = (uint64_t)(bucket % 32);
  uint64_t lo = (1ull << msb) | (sub << (msb - 5));
  return lo + (1ull << (msb - 5)) - 1;
}

/* Copies n bytes of src (another process's text: a result record's
 * message) into dst as a C string that is safe to print on a terminal
 * or in a log: every control byte (below 0x20, and 0x7f) becomes the
 * four characters \xNN, and a backslash becomes \\, so that no record
 * can move the cursor, forge a log line or ring a bell.  A NUL in src
 * ends it early.  Bytes of 0x80 and above are kept (UTF-8).  dst has cap
 * bytes (cap > 0) and is always NUL-terminated; the text is cut at a
 * whole escape when it does not fit.  Nothing is allocated.  Returns the
 * length written (without the NUL). */
size_t dt__escape(char *dst, size_t cap, const char *src, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  if (dst == NULL || cap == 0)
    return 0;
  for (size_t i = 0; src != NULL && i < n && src[i] != '\0'; i++) {
    unsigned char ch = (unsigned char)src[i];
    if (ch < 0x20 || ch == 0x7f) {
      if (o + 4 >= cap)
        break;
      dst[o++] = '\\';
      dst[o++] = 'x';
      dst[o++] = hex[ch >> 4];
      dst[o++] = hex[ch & 15];
    } else if (ch == '\\') {
      if (o + 2 >= cap)
        break;
      dst[o++] = '\\';
      dst[o++] = '\\';
    } else {
      if (o + 1 >= cap)
        break;
      dst[o++] = (char)ch;
    }
  }
  dst[o] = '\0';
  return o;
}
