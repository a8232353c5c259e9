/* roundtrip.c: latency and throughput of calls to bn_add.
 *
 * Usage: roundtrip CALLERS CALLS_PER_CALLER
 * Each of CALLERS threads calls bn_add CALLS_PER_CALLER times, timing
 * every call.  Prints p50, p99 and p99.9 of all calls in microseconds,
 * and the throughput in calls per second.  Run as is for the direct-call
 * baseline and under `dtask run` for the offloaded figure.  Every result
 * is checked, so a wrong answer fails the run. */
#include "bench.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int bn_add(int a, int b);

static long calls;
static double *lat;
static volatile int bad;

static void *run(void *arg) {
  long t = (long)arg;
  double *mine = lat + t * calls;
  for (long i = 0; i < calls; i++) {
    double a = bench_now();
    int r = bn_add((int)i, (int)t);
    mine[i] = bench_now() - a;
    if (r != (int)i + (int)t)
      bad = 1;
  }
  return NULL;
}

int main(int argc, char **argv) {
  int callers = argc > 1 ? atoi(argv[1]) : 1;
  calls = argc > 2 ? atol(argv[2]) : 10000;
  if (callers < 1 || callers > 64 || calls < 1) {
    fprintf(stderr, "usage: roundtrip CALLERS(1-64) CALLS\n");
    return 1;
  }
  pthread_t th[64];
  lat = malloc(sizeof *lat * (size_t)callers * (size_t)calls);
  if (lat == NULL)
    return 1;
  /* One warm-up call: the first offloaded call opens the queue. */
  if (bn_add(1, 1) != 2)
    return 1;
  double t0 = bench_now();
  for (long t = 0; t < callers; t++)
    pthread_create(&th[t], NULL, run, (void *)t);
  for (int t = 0; t < callers; t++)
    pthread_join(th[t], NULL);
  double t1 = bench_now();
  size_t n = (size_t)callers * (size_t)calls;
  qsort(lat, n, sizeof *lat, bench_cmp);
  printf("p50 %.2f\np99 %.2f\np999 %.2f\nthroughput %.0f\n",
         lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3, lat[n * 999 / 1000] / 1e3,
         (double)n / ((t1 - t0) / 1e9));
  free(lat);
  return bad;
}
