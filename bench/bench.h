/* bench.h: what the benchmark programs share: the clock, the sort, the
 * futex token two processes hand back and forth, and the declarations of
 * libbnull.so's functions. */
#ifndef DTASK_BENCH_H
#define DTASK_BENCH_H

#include <linux/futex.h>
#include <stddef.h>
#include <stdint.h>
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
