/* bench.h: what the benchmark programs share: the clock, the sort, the
 * share of slow spells in a run, the futex token two processes hand back
 * and forth, and the declarations of libbnull.so's functions. */
#ifndef DTASK_BENCH_H
#define DTASK_BENCH_H

#include <linux/futex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* CLOCK_MONOTONIC in nanoseconds, as a double. */
static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The element of a sorted array of n values at quantile q (0 to 1). */
static inline double bench_quantile(const double *sorted, size_t n, double q) {
  size_t i = (size_t)((double)n * q);
  return sorted[i < n ? i : n - 1];
}

/* Slow spells: the share (0 to 1) of the windows of BENCH_SPELL
 * consecutive timings in t (n values, in the order they were taken; a
 * last, shorter window is left out) whose median is over 1.15 times the
 * median of all the windows' medians.  In such a window the machine
 * itself ran the program slower (here, a virtual machine whose host
 * slows every process on a CPU for tens of milliseconds at a time, the
 * futex handoff included), and a run's p99 is set there once those
 * windows hold more than 1% of it.  Returns -1 when t holds fewer than
 * 5 windows or scratch memory cannot be had (malloc'd and freed here). */
#define BENCH_SPELL 1000
static inline double bench_slow_share(const double *t, size_t n) {
  size_t k = n / BENCH_SPELL, slow = 0;
  if (k < 5)
    return -1;
  /* w holds one window, then all the windows' medians to sort. */
  double *w = malloc(sizeof *w * (k > BENCH_SPELL ? k : BENCH_SPELL));
  double *m = malloc(sizeof *m * k);
  if (w == NULL || m == NULL) {
    free(w);
    free(m);
    return -1;
  }
  for (size_t i = 0; i < k; i++) {
    memcpy(w, t + i * BENCH_SPELL, sizeof *w * BENCH_SPELL);
    qsort(w, BENCH_SPELL, sizeof *w, bench_cmp);
    m[i] = bench_quantile(w, BENCH_SPELL, 0.5);
  }
  memcpy(w, m, sizeof *m * k);
  qsort(w, k, sizeof *w, bench_cmp);
  double typical = bench_quantile(w, k, 0.5);
  for (size_t i = 0; i < k; i++)
    slow += m[i] > typical * 1.15;
  free(w);
  free(m);
  return (double)slow / (double)k;
}

/* Sleeps while the futex word *w (in memory both processes share) still
 * holds v. */
static inline void bench_fwait(uint32_t *w, uint32_t v) {
  while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == v)
    syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}

/* Stores v in the futex word *w and wakes its sleeper: the token passes. */
static inline void bench_fset(uint32_t *w, uint32_t v) {
  __atomic_store_n(w, v, __ATOMIC_RELEASE);
  syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* libbnull.so (bench/libbnull.c). */
int bn_add(int a, int b);
double bn_mix(double x, int k, double y);
void bn_copy(const char *src, size_t n, char *dst);
int bn_pid(void);
long bn_nap(int us);

#endif
