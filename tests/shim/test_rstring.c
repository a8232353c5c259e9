/* test_rstring.c: unit tests of the strings kept for offloaded calls'
 * cstring returns (shim/rstring.c).
 *
 * Interning (the same bytes from the same symbol give the same pointer,
 * which outlives the bytes it was made from), each bound (4096 strings
 * and 1 MiB per symbol, 32 MiB per process, one string larger than a
 * symbol's arena), the per-thread ring past the bounds (a string stays
 * valid until 16 more have gone through the ring), the warning said once
 * per symbol, and threads interning the same strings at once.  The tests
 * share one process's sets, so each uses its own symbols; the process
 * bound is filled last. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "shim/rstring.h"
#include "testutil.h"

#define NSYMS 64
/* Symbols by test. */
enum {
  S_BASIC = 0,
  S_OTHER = 1,
  S_COUNT = 2,
  S_BYTES = 3,
  S_HUGE = 4,
  S_THREADS = 5,
  S_WARN_A = 6,
  S_WARN_B = 7,
  S_FILL = 10 /* S_FILL.. for the process bound */
};

/* Keeps len bytes of s for sym; the call must succeed. */
static const char *keep(uint32_t sym, const char *s, size_t len) {
  const char *out = NULL;
  assert_int_equal(dt__rstr_keep(sym, "f", s, len, &out), 0);
  assert_non_null(out);
  assert_int_equal(strlen(out), len);
  assert_memory_equal(out, s, len);
  return out;
}

/* Writes a string of len bytes, unique for n, into buf (no NUL inside). */
static void unique(char *buf, size_t len, unsigned long n) {
  memset(buf, 'x', len);
  for (size_t i = 0; i < len && i < 12; i++, n /= 26)
    buf[i] = (char)('a' + n % 26);
}

/* Whether p is interned for sym: keeping the same bytes again gives p. */
static int interned(uint32_t sym, const char *p) {
  const char *again = keep(sym, p, strlen(p));
  return again == p;
}

static void test_init_and_args(void **state) {
  (void)state;
  assert_int_equal(dt__rstr_init(NSYMS), -EALREADY);
  const char *out = NULL;
  assert_int_equal(dt__rstr_keep(NSYMS, "f", "a", 1, &out), -EINVAL);
  assert_int_equal(dt__rstr_keep(0, "f", NULL, 1, &out), -EINVAL);
  assert_int_equal(dt__rstr_keep(0, "f", "a", 1, NULL), -EINVAL);
  assert_null(out);
  size_t c = 9, b = 9;
  dt__rstr_usage(NSYMS, &c, &b, NULL);
  assert_int_equal(c, 0);
  assert_int_equal(b, 0);
}

/* The same bytes give the same pointer, which outlives its source and is
 * NUL-terminated; other bytes or another symbol give another. */
static void test_interning(void **state) {
  (void)state;
  char *src = strdup("alpha and more");
  const char *a = keep(S_BASIC, src, 5); /* "alpha", no NUL in the source */
  assert_string_equal(a, "alpha");
  assert_ptr_equal(keep(S_BASIC, "alpha", 5), a);
  memset(src, '#', strlen(src));
  free(src);
  assert_string_equal(a, "alpha");
  const char *b = keep(S_BASIC, "beta", 4);
  assert_ptr_not_equal(a, b);
  assert_ptr_equal(keep(S_BASIC, "alpha", 5), a);
  const char *o = keep(S_OTHER, "alpha", 5);
  assert_ptr_not_equal(o, a);
  const char *e = keep(S_BASIC, "", 0);
  assert_string_equal(e, "");
  assert_ptr_equal(keep(S_BASIC, "", 0), e);
  /* The case: a first result kept, then a long one. */
  char *big = malloc(5999);
  unique(big, 5999, 424242);
  const char *l = keep(S_BASIC, big, 5999);
  free(big);
  assert_string_equal(a, "alpha");
  assert_int_equal(strlen(l), 5999);
  size_t c, by;
  dt__rstr_usage(S_BASIC, &c, &by, NULL);
  assert_int_equal(c, 4);
  /* 16 bytes of bookkeeping, the NUL, rounded up to 8. */
  assert_int_equal(by, 24 + 24 + 24 + ((16 + 5999 + 1 + 7) & ~7ul));
}

/* 4096 distinct strings are kept; the next goes to the ring. */
static void test_count_bound(void **state) {
  (void)state;
  static const char *p[DT__RSTR_MAX_COUNT];
  char buf[16];
  for (unsigned long i = 0; i < DT__RSTR_MAX_COUNT; i++) {
    unique(buf, 10, i);
    p[i] = keep(S_COUNT, buf, 10);
  }
  size_t c;
  dt__rstr_usage(S_COUNT, &c, NULL, NULL);
  assert_int_equal(c, DT__RSTR_MAX_COUNT);
  for (unsigned long i = 0; i < DT__RSTR_MAX_COUNT; i++) {
    unique(buf, 10, i);
    assert_ptr_equal(keep(S_COUNT, buf, 10), p[i]);
  }
  unique(buf, 10, DT__RSTR_MAX_COUNT);
  const char *r = keep(S_COUNT, buf, 10);
  assert_false(interned(S_COUNT, r));
  dt__rstr_usage(S_COUNT, &c, NULL, NULL);
  assert_int_equal(c, DT__RSTR_MAX_COUNT);
  /* Kept strings are still found. */
  assert_ptr_equal(keep(S_COUNT, p[17], 10), p[17]);
}

/* 1 MiB of a symbol's strings are kept, counted with their bookkeeping;
 * one string larger than that is never kept. */
static void test_bytes_bound(void **state) {
  (void)state;
  size_t len = 65536 - 24; /* a record of exactly 64 KiB */
  char *buf = malloc(len);
  const char *p[16];
  for (unsigned long i = 0; i < 16; i++) {
    unique(buf, len, i);
    p[i] = keep(S_BYTES, buf, len);
  }
  size_t c, b;
  dt__rstr_usage(S_BYTES, &c, &b, NULL);
  assert_int_equal(c, 16);
  assert_int_equal(b, DT__RSTR_MAX_SYM_BYTES);
  for (int i = 0; i < 16; i++)
    assert_true(interned(S_BYTES, p[i]));
  assert_false(interned(S_BYTES, keep(S_BYTES, "tiny", 4)));
  free(buf);
  size_t huge = DT__RSTR_MAX_SYM_BYTES + 1;
  char *h = malloc(huge);
  unique(h, huge, 1);
  const char *hp = keep(S_HUGE, h, huge);
  assert_ptr_not_equal(keep(S_HUGE, h, huge), hp);
  dt__rstr_usage(S_HUGE, &c, &b, NULL);
  assert_int_equal(c, 0);
  assert_int_equal(b, 0);
  free(h);
}

/* Past the bounds, a string stays valid until 16 more have gone through
 * this thread's ring; the 17th reuses the first one's slot. */
static void test_ring(void **state) {
  (void)state;
  const char *p[DT__RSTR_RING + 1];
  char want[DT__RSTR_RING + 1][16];
  for (unsigned long i = 0; i <= DT__RSTR_RING; i++) {
    unique(want[i], 11, 1000 + i);
    want[i][11] = '\0';
    p[i] = keep(S_COUNT, want[i], 11);
    for (unsigned long j = 0; j <= i && i < DT__RSTR_RING; j++)
      assert_string_equal(p[j], want[j]);
  }
  assert_ptr_equal(p[DT__RSTR_RING], p[0]);
  for (unsigned long i = 1; i <= DT__RSTR_RING; i++)
    assert_string_equal(p[i], want[i]);
  /* A slot grows for a longer string. */
  char *big = malloc(100000);
  unique(big, 100000, 7);
  const char *bp = keep(S_COUNT, big, 100000);
  assert_memory_equal(bp, big, 100000);
  free(big);
}

/* The ring warning is said once per symbol, and only at warn level. */
static void test_warn_once(void **state) {
  (void)state;
  char path[] = "/tmp/test_rstring.XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  int saved = dup(2);
  dup2(fd, 2);
  int level = dt__log_level;
  dt__log_level = DT__LOG_WARN;
  size_t len = DT__RSTR_MAX_SYM_BYTES + 8;
  char *h = malloc(len);
  unique(h, len, 3);
  for (int i = 0; i < 5; i++) {
    keep(S_WARN_A, h, len);
    keep(S_WARN_B, h, len);
  }
  dt__log_level = level;
  dup2(saved, 2);
  close(saved);
  free(h);
  char out[4096];
  ssize_t n = pread(fd, out, sizeof out - 1, 0);
  close(fd);
  assert_true(n > 0);
  out[n] = '\0';
  int lines = 0;
  for (char *q = out; (q = strstr(q, "warning: ")) != NULL; q++)
    lines++;
  assert_int_equal(lines, 2);
  assert_contains(out, "until 16 more");
  assert_contains(out, "4096 distinct strings");
}

#define NTHREADS 8
#define NSTR 300
static const char *t_got[NTHREADS][NSTR];
static const char *t_ring[NTHREADS];
static pthread_barrier_t t_all; /* the rings all live until every thread
                                   has its string in one */

/* A thread that keeps the same NSTR strings as the others, in its own
 * order, then one that goes through its own ring. */
static void *keeper(void *arg) {
  long t = (long)arg;
  char buf[32];
  long rc = 0;
  for (int round = 0; round < 3 && rc == 0; round++)
    for (int k = 0; k < NSTR && rc == 0; k++) {
      int i = (int)((k * 7 + t * 31) % NSTR);
      unique(buf, 20, (unsigned long)i);
      const char *p = NULL;
      if (dt__rstr_keep(S_THREADS, "f", buf, 20, &p) != 0 || p == NULL ||
          memcmp(p, buf, 20) != 0 || p[20] != '\0')
        rc = 1;
      else if (round > 0 && t_got[t][i] != p)
        rc = 2;
      t_got[t][i] = p;
    }
  snprintf(buf, sizeof buf, "thread %ld", t);
  if (dt__rstr_keep(S_COUNT, "f", buf, strlen(buf), &t_ring[t]) != 0)
    rc = 3;
  /* Always reached, so that the test never hangs on a failure. */
  pthread_barrier_wait(&t_all);
  if (rc == 0 && strcmp(t_ring[t], buf) != 0)
    rc = 4;
  return (void *)rc;
}

/* Threads interning the same strings at once all get the same pointers;
 * each thread's ring is its own. */
static void test_threads(void **state) {
  (void)state;
  pthread_t th[NTHREADS];
  pthread_barrier_init(&t_all, NULL, NTHREADS + 1);
  for (long t = 0; t < NTHREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, keeper, (void *)t), 0);
  pthread_barrier_wait(&t_all);
  /* Every thread's ring is alive here: each string has its own place. */
  for (int t = 0; t < NTHREADS; t++)
    for (int u = t + 1; u < NTHREADS; u++)
      assert_ptr_not_equal(t_ring[t], t_ring[u]);
  for (long t = 0; t < NTHREADS; t++) {
    void *rc;
    pthread_join(th[t], &rc);
    assert_null(rc);
  }
  size_t c;
  dt__rstr_usage(S_THREADS, &c, NULL, NULL);
  assert_int_equal(c, NSTR);
  for (int t = 1; t < NTHREADS; t++)
    assert_memory_equal(t_got[t], t_got[0], sizeof t_got[0]);
  pthread_barrier_destroy(&t_all);
}

/* Fills n record bytes of symbol sym with distinct strings (n a multiple
 * of 8, 0 or at least 24). */
static void fill(uint32_t sym, size_t n, unsigned long *serial) {
  char *buf = malloc(65536);
  while (n > 0) {
    size_t c = n < 65536 ? n : 65536;
    if (n - c > 0 && n - c < 32)
      c -= 32;
    size_t len = c - 17; /* record: (16 + len + 1 + 7) & ~7 == c */
    unique(buf, len, (*serial)++);
    const char *p = keep(sym, buf, len);
    assert_true(interned(sym, p));
    n -= c;
  }
  free(buf);
}

/* 32 MiB in all: past it no symbol keeps a new string, and what is kept
 * is still found. */
static void test_process_bound(void **state) {
  (void)state;
  size_t total;
  unsigned long serial = 1u << 20;
  uint32_t sym = S_FILL;
  const char *first = keep(S_FILL, "first of the fill", 17);
  dt__rstr_usage(0, NULL, NULL, &total);
  /* Records are multiples of 8 and at least 24 bytes: fill until less
   * than one more fits. */
  while (DT__RSTR_MAX_BYTES - total >= 24) {
    size_t b;
    dt__rstr_usage(sym, NULL, &b, NULL);
    size_t room = DT__RSTR_MAX_SYM_BYTES - b;
    if (room > DT__RSTR_MAX_BYTES - total)
      room = DT__RSTR_MAX_BYTES - total;
    if (room < 24) {
      sym++;
      assert_true(sym < NSYMS);
      continue;
    }
    fill(sym, room & ~(size_t)7, &serial);
    dt__rstr_usage(0, NULL, NULL, &total);
  }
  assert_true(total <= DT__RSTR_MAX_BYTES);
  assert_true(sym + 1 < NSYMS);
  size_t c;
  const char *r = keep(sym + 1, "x", 1);
  assert_false(interned(sym + 1, r));
  dt__rstr_usage(sym + 1, &c, NULL, &total);
  assert_int_equal(c, 0);
  assert_true(total > DT__RSTR_MAX_BYTES - 24);
  assert_ptr_equal(keep(S_FILL, "first of the fill", 17), first);
}

int main(void) {
  if (dt__rstr_init(NSYMS) != 0) {
    fprintf(stderr, "dt__rstr_init failed\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_and_args),
      cmocka_unit_test(test_interning),
      cmocka_unit_test(test_count_bound),
      cmocka_unit_test(test_bytes_bound),
      cmocka_unit_test(test_ring),
      cmocka_unit_test(test_warn_once),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_process_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
