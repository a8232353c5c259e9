/* sync_overhead.c: nanoseconds per call of a library function.
 *
 * Run it as is for the direct-call baseline, and under the shim with
 * DTASK_MODE=sync to measure a sync-mode stub.  It calls bn_add (through
 * the PLT) in a loop of N iterations, R times, and prints the median
 * nanoseconds per call of the R rounds, then the same for bn_mix.
 * Usage: sync_overhead [N] [R] */
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int bn_add(int a, int b);
double bn_mix(double x, int k, double y);

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  int r = argc > 2 ? atoi(argv[2]) : 7;
  double add[64], mix[64];
  volatile int sink = 0;
  volatile double dsink = 0;

  if (r < 1 || r > 64 || n < 1) {
    fprintf(stderr, "usage: sync_overhead [N>0] [1<=R<=64]\n");
    return 1;
  }
  for (int k = 0; k < r; k++) {
    double t0 = bench_now();
    for (long i = 0; i < n; i++)
      sink = bn_add(sink, 1);
    double t1 = bench_now();
    for (long i = 0; i < n; i++)
      dsink = bn_mix(dsink, 1, 0.5);
    double t2 = bench_now();
    add[k] = (t1 - t0) / (double)n;
    mix[k] = (t2 - t1) / (double)n;
  }
  qsort(add, (size_t)r, sizeof *add, bench_cmp);
  qsort(mix, (size_t)r, sizeof *mix, bench_cmp);
  printf("bn_add %.2f\nbn_mix %.2f\n", add[r / 2], mix[r / 2]);
  return sink == 0 && dsink == 0;
}
