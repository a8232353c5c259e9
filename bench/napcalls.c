/* napcalls.c: throughput of a latency-bound function, for the bench's
 * hosts table (pools on 1, 2 and 4 hosts serving one Redis queue).
 *
 * Usage: napcalls CALLERS SECONDS MICROSECONDS
 * Each of CALLERS threads calls bn_nap(MICROSECONDS) (a sleep, not CPU)
 * in a loop for SECONDS after one untimed call each; the threads start
 * together behind a barrier.  Prints, one "KEY VALUE" line each: calls
 * (the timed calls of all threads), throughput (calls per second over the
 * window from the first start to the last end), hosts (how many distinct
 * answers bn_host gave: the pools' DTASK_HOST_ID values that served
 * calls), and offloaded (1 when bn_pid ran in another process).  Every
 * result is checked, so a wrong answer fails the run. */
#include "bench.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CALLERS 256
#define MAX_HOSTS 16

static double seconds;
static int nap_us;
static long counts[MAX_CALLERS];
static double t_start[MAX_CALLERS], t_end[MAX_CALLERS];
static volatile int bad;
static pthread_barrier_t start;
static pthread_mutex_t hosts_mu = PTHREAD_MUTEX_INITIALIZER;
static long seen[MAX_HOSTS]; /* bn_nap's answers: which host served */
static int nseen;

/* Notes the host id h (a small integer bn_nap returns). */
static void saw(long h) {
  pthread_mutex_lock(&hosts_mu);
  int i = 0;
  while (i < nseen && seen[i] != h)
    i++;
  if (i == nseen && nseen < MAX_HOSTS)
    seen[nseen++] = h;
  pthread_mutex_unlock(&hosts_mu);
}

static void *run(void *arg) {
  long t = (long)arg;
  long h = bn_nap(nap_us);
  if (h < 0)
    bad = 1;
  pthread_barrier_wait(&start);
  double t0 = bench_now(), until = t0 + seconds * 1e9, now = t0;
  long n = 0;
  while (now < until) {
    h = bn_nap(nap_us);
    if (h < 0)
      bad = 1;
    else
      saw(h);
    n++;
    now = bench_now();
  }
  t_start[t] = t0;
  t_end[t] = now;
  counts[t] = n;
  return NULL;
}

int main(int argc, char **argv) {
  int callers = argc > 1 ? atoi(argv[1]) : 1;
  seconds = argc > 2 ? atof(argv[2]) : 1.0;
  nap_us = argc > 3 ? atoi(argv[3]) : 1000;
  if (argc != 4 || callers < 1 || callers > MAX_CALLERS || seconds <= 0 ||
      nap_us < 0) {
    fprintf(stderr, "usage: napcalls CALLERS(1-%d) SECONDS MICROSECONDS\n",
            MAX_CALLERS);
    return 2;
  }
  int offloaded = bn_pid() != (int)getpid();
  pthread_t th[MAX_CALLERS];
  if (pthread_barrier_init(&start, NULL, (unsigned)callers + 1) != 0)
    return 1;
  for (long t = 0; t < callers; t++)
    if (pthread_create(&th[t], NULL, run, (void *)t) != 0)
      return 1;
  pthread_barrier_wait(&start);
  long total = 0;
  double t0 = 0, t1 = 0;
  for (int t = 0; t < callers; t++) {
    pthread_join(th[t], NULL);
    total += counts[t];
    if (t == 0 || t_start[t] < t0)
      t0 = t_start[t];
    if (t == 0 || t_end[t] > t1)
      t1 = t_end[t];
  }
  pthread_barrier_destroy(&start);
  printf("calls %ld\nthroughput %.0f\nhosts %d\noffloaded %d\n", total,
         (double)total / ((t1 - t0) / 1e9), nseen, offloaded);
  return bad;
}
