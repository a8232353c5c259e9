/* legacy.c: five threads call a library that takes a global lock. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

long legacy_lookup(int customer, double *balance);

#define N 5

typedef struct job {
  int customer;
  long rank;
  double balance;
} job;

static void *run(void *arg) {
  job *j = arg;
  j->rank = legacy_lookup(j->customer, &j->balance);
  return NULL;
}

int main(void) {
  job jobs[N];
  pthread_t t[N];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < N; i++) {
    jobs[i].customer = 1000 + i * 17;
    pthread_create(&t[i], NULL, run, &jobs[i]);
  }
  for (int i = 0; i < N; i++)
    pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  for (int i = 0; i < N; i++)
    printf("lookup customer %d: rank %ld balance %.2f\n", jobs[i].customer,
           jobs[i].rank, jobs[i].balance);
  printf("time threads %.3f s\n",
         (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}
