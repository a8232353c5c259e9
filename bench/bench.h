/* bench.h: the clock and the sort the benchmark programs share. */
#ifndef DTASK_BENCH_H
#define DTASK_BENCH_H

#include <time.h>

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

#endif
