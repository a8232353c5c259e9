/* burn.c: one call of a CPU-bound batch function, for the fan-out figure.
 *
 * Usage: burn N
 * Calls bn_burn once on N elements (after a one-element warm-up call, so
 * that opening the queue is not timed) and prints "batch SECONDS",
 * the sum it returned checked against the out array, and whether the call
 * ran elsewhere.  Run as is for the one-core baseline, and under
 * `dtask run` with bench/fanout.toml, which splits the call across the
 * workers. */
#include "bench.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

unsigned long bn_burn(const unsigned long *seed, size_t n, unsigned long *res);
int bn_pid(void);

int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t)atol(argv[1]) : 2000;
  unsigned long *seed = malloc(n * sizeof *seed);
  unsigned long *out = calloc(n, sizeof *out);
  unsigned long one = 1, w;
  if (seed == NULL || out == NULL || n == 0)
    return 1;
  for (size_t i = 0; i < n; i++)
    seed[i] = i * 2654435761ul + 1;
  bn_burn(&one, 1, &w);
  double t0 = bench_now();
  unsigned long sum = bn_burn(seed, n, out);
  double t1 = bench_now();
  unsigned long check = 0;
  for (size_t i = 0; i < n; i++)
    check += out[i];
  printf("batch %.4f\n", (t1 - t0) / 1e9);
  printf("sum %lx\n", sum);
  printf("offloaded %d\n", bn_pid() != (int)getpid());
  free(seed);
  free(out);
  return sum == check ? 0 : 2;
}
