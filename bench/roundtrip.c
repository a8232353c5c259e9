/* roundtrip.c: latency and throughput of calls to bn_add.
 *
 * Usage: roundtrip CALLERS CALLS_PER_CALLER [LATENCY_FILE]
 * Each of CALLERS threads first makes an untimed warm-up burst of
 * CALLS_PER_CALLER / 10 calls (at least 20), so that the pool's start-up
 * and the queue's first pages are not in the timed window; the threads
 * then meet at a barrier, the clock starts, and each calls bn_add
 * CALLS_PER_CALLER times, timing every call.  Prints, one "KEY VALUE"
 * line each: the share of slow spells in percent ("slow": see
 * bench_slow_share; from 5,000 calls up), p50, p99 and p99.9 of all
 * calls in microseconds, the throughput in calls per second, and
 * whether the calls ran in another process ("offloaded 1", asked of
 * bn_pid, which the bench's config offloads with bn_add).  With
 * LATENCY_FILE, every call's latency in microseconds is appended to it,
 * one a line, for the histogram.  Run as is for the direct-call baseline
 * and under `dtask run` for the offloaded figure.  Every result is
 * checked, so a wrong answer fails the run. */
#include "bench.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_CALLERS 64

static long calls, warm;
static double *lat;
/* When each caller started and finished its timed calls: the window is
 * from the first start to the last end, as each thread saw it (a thread
 * that finishes before the main thread is scheduled again would make
 * the main thread's own clock meaningless). */
static double t_start[MAX_CALLERS], t_end[MAX_CALLERS];
static volatile int bad;
static pthread_barrier_t start;

static void *run(void *arg) {
  long t = (long)arg;
  double *mine = lat + t * calls;
  for (long i = 0; i < warm; i++)
    if (bn_add((int)i, (int)t) != (int)i + (int)t)
      bad = 1;
  pthread_barrier_wait(&start);
  t_start[t] = bench_now();
  for (long i = 0; i < calls; i++) {
    double a = bench_now();
    int r = bn_add((int)i, (int)t);
    mine[i] = bench_now() - a;
    if (r != (int)i + (int)t)
      bad = 1;
  }
  t_end[t] = bench_now();
  return NULL;
}

int main(int argc, char **argv) {
  int callers = argc > 1 ? atoi(argv[1]) : 1;
  calls = argc > 2 ? atol(argv[2]) : 10000;
  const char *dump = argc > 3 ? argv[3] : NULL;
  if (callers < 1 || callers > MAX_CALLERS || calls < 1 || argc > 4) {
    fprintf(stderr, "usage: roundtrip CALLERS(1-%d) CALLS [LATENCY_FILE]\n",
            MAX_CALLERS);
    return 2;
  }
  pthread_t th[MAX_CALLERS];
  size_t n = (size_t)callers * (size_t)calls;
  lat = malloc(sizeof *lat * n);
  if (lat == NULL)
    return 1;
  /* The first offloaded call opens the queue; then the burst. */
  int offloaded = bn_pid() != (int)getpid();
  if (bn_add(1, 1) != 2)
    return 1;
  warm = calls / 10 < 20 ? 20 : calls / 10;
  if (pthread_barrier_init(&start, NULL, (unsigned)callers + 1) != 0)
    return 1;
  for (long t = 0; t < callers; t++)
    if (pthread_create(&th[t], NULL, run, (void *)t) != 0)
      return 1;
  pthread_barrier_wait(&start);
  for (int t = 0; t < callers; t++)
    pthread_join(th[t], NULL);
  double t0 = t_start[0], t1 = t_end[0];
  for (int t = 1; t < callers; t++) {
    if (t_start[t] < t0)
      t0 = t_start[t];
    if (t_end[t] > t1)
      t1 = t_end[t];
  }
  pthread_barrier_destroy(&start);
  if (dump != NULL) {
    FILE *f = fopen(dump, "a");
    if (f == NULL) {
      perror(dump);
      return 1;
    }
    for (size_t i = 0; i < n; i++)
      fprintf(f, "%.3f\n", lat[i] / 1e3);
    if (fclose(f) != 0)
      return 1;
  }
  /* Slow spells, over the callers' timings one after another (with one
   * caller, as the latency rows run it, in the order they were made). */
  double slow = bench_slow_share(lat, n);
  if (slow >= 0)
    printf("slow %.1f\n", slow * 100);
  qsort(lat, n, sizeof *lat, bench_cmp);
  printf("p50 %.2f\np99 %.2f\np999 %.2f\nthroughput %.0f\noffloaded %d\n",
         bench_quantile(lat, n, 0.5) / 1e3, bench_quantile(lat, n, 0.99) / 1e3,
         bench_quantile(lat, n, 0.999) / 1e3, (double)n / ((t1 - t0) / 1e9),
         offloaded);
  free(lat);
  return bad;
}
