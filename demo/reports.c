/* reports.c: the demo program, unmodified by dtask.
 *
 * It builds five reports one after another, then five at once with one
 * thread each, then five in one call of the batch function
 * generate_reports(), and prints every report and the time each took.
 * Report lines start with "report", timing lines with "time", so that the
 * demo can check that the reports are identical with and without dtask. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "report.h"

static const char *const periods[] = {"2026-Q1", "2026-Q2", "2026-Q3",
                                      "2026-Q4", "2027-Q1"};
#define N 5

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print(const char *how, const report *r) {
  printf("report %-10s %s: orders %5d  customers %5d  revenue %12.2f  "
         "avg %7.2f  growth %+6.2f%%\n",
         how, r->period, r->orders, r->customers, r->revenue, r->avg_order,
         r->growth);
}

typedef struct job {
  const char *period;
  report r;
  int rc;
} job;

static void *run_job(void *arg) {
  job *j = arg;
  j->rc = build_report(j->period, &j->r);
  return NULL;
}

int main(void) {
  report r;
  job jobs[N];
  pthread_t t[N];
  int failed = 0;

  double t0 = now();
  for (int i = 0; i < N; i++) {
    if (build_report(periods[i], &r) != 0) {
      perror("build_report");
      failed = 1;
      continue;
    }
    print("sequential", &r);
  }
  double t1 = now();
  for (int i = 0; i < N; i++) {
    jobs[i].period = periods[i];
    pthread_create(&t[i], NULL, run_job, &jobs[i]);
  }
  for (int i = 0; i < N; i++)
    pthread_join(t[i], NULL);
  double t2 = now();
  for (int i = 0; i < N; i++) {
    if (jobs[i].rc != 0)
      failed = 1;
    else
      print("threads", &jobs[i].r);
  }
  period ps[N];
  report batch[N];
  for (int i = 0; i < N; i++)
    snprintf(ps[i].name, sizeof ps[i].name, "%s", periods[i]);
  double t3 = now();
  int built = generate_reports(ps, N, batch);
  double t4 = now();
  if (built != N) {
    fprintf(stderr, "generate_reports built %d of %d reports\n", built, N);
    failed = 1;
  }
  for (int i = 0; i < N; i++)
    print("batch", &batch[i]);
  printf("time sequential %.3f s\n", t1 - t0);
  printf("time threads %.3f s\n", t2 - t1);
  printf("time batch %.3f s\n", t4 - t3);
  return failed;
}
