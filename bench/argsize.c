/* argsize.c: what the size of a call's arguments costs.
 *
 * Usage: argsize MAX_BYTES [BUDGET_BYTES [MAX_CALLS]]
 *        argsize -c MAX_BYTES
 * For a buffer of 0 bytes, then 64 bytes times powers of 4 up to
 * MAX_BYTES, it calls bn_copy(src, n, dst) (an in buffer and an out
 * buffer of n bytes each) BUDGET_BYTES / n times (at least 5, at most
 * MAX_CALLS), timing each call, and prints the median as
 * "call_us.N VALUE".  Beside it, in the same process, it times memcpy of
 * the same n bytes (which dtask never intercepts): batches of copies that
 * add up to about 1 MiB each, as many batches as calls, median per copy
 * as "memcpy_us.N VALUE".  "offloaded 1" says that bn_pid, and so the
 * config, ran in another process.  Every result is checked: a wrong
 * buffer fails the run.
 *
 * With -c it only checks: one call per size, and one line per size with
 * a hash of what came back, the same with and without dtask (the
 * integration test of bench/compare.sh uses it for a program whose
 * output must not change). */
#include "bench.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_CALLS 5
#define BATCH_BYTES (1u << 20)

/* Fills a buffer with bytes that depend on seed (a small LCG). */
static void fill(char *p, size_t n, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x = x * 1664525u + 1013904223u;
    p[i] = (char)(x >> 24);
  }
}

/* FNV-1a over n bytes. */
static uint32_t hash(const char *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (uint8_t)p[i]) * 16777619u;
  return h;
}

static size_t next_size(size_t n) { return n == 0 ? 64 : n * 4; }

static int check_mode(size_t max, char *src, char *dst) {
  int bad = 0;
  for (size_t n = 0; n <= max; n = next_size(n)) {
    fill(src, n, (uint32_t)n);
    memset(dst, 0, n);
    bn_copy(src, n, dst);
    int ok = memcmp(src, dst, n) == 0;
    printf("bn_copy %zu bytes: %s %08x\n", n, ok ? "ok" : "WRONG",
           (unsigned)hash(dst, n));
    bad |= !ok;
  }
  return bad;
}

int main(int argc, char **argv) {
  int check = argc > 1 && strcmp(argv[1], "-c") == 0;
  int a = check ? 2 : 1;
  long long max = argc > a ? atoll(argv[a]) : 1 << 20;
  long long budget = argc > a + 1 ? atoll(argv[a + 1]) : 64ll << 20;
  long maxcalls = argc > a + 2 ? atol(argv[a + 2]) : 2000;
  if (max < 0 || budget < 1 || maxcalls < MIN_CALLS || argc > a + 3 ||
      (check && argc > a + 1)) {
    fprintf(stderr, "usage: argsize MAX_BYTES [BUDGET_BYTES [MAX_CALLS>=%d]]\n"
                    "       argsize -c MAX_BYTES\n",
            MIN_CALLS);
    return 2;
  }
  size_t cap = (size_t)max > 64 ? (size_t)max : 64;
  char *src = malloc(cap), *dst = malloc(cap);
  double *t = malloc(sizeof *t * (size_t)maxcalls);
  if (src == NULL || dst == NULL || t == NULL)
    return 1;
  if (check)
    return check_mode((size_t)max, src, dst);

  printf("offloaded %d\n", bn_pid() != (int)getpid());
  for (size_t n = 0; n <= (size_t)max; n = next_size(n)) {
    long k = (long)((size_t)budget / (n > 64 ? n : 64));
    k = k < MIN_CALLS ? MIN_CALLS : k > maxcalls ? maxcalls : k;
    fill(src, n, (uint32_t)n);
    bn_copy(src, n, dst); /* warm-up: pages touched, queue map grown */
    for (long i = 0; i < k; i++) {
      if (n > 0) {
        src[0] = (char)i;
        src[n - 1] = (char)(i * 7);
        dst[0] = dst[n - 1] = (char)~i;
      }
      double t0 = bench_now();
      bn_copy(src, n, dst);
      t[i] = bench_now() - t0;
      if (n > 0 && (dst[0] != src[0] || dst[n - 1] != src[n - 1])) {
        fprintf(stderr, "argsize: bn_copy of %zu bytes came back wrong\n", n);
        return 1;
      }
    }
    if (memcmp(src, dst, n) != 0) {
      fprintf(stderr, "argsize: bn_copy of %zu bytes came back wrong\n", n);
      return 1;
    }
    qsort(t, (size_t)k, sizeof *t, bench_cmp);
    printf("calls.%zu %ld\ncall_us.%zu %.3f\n", n, k, n,
           bench_quantile(t, (size_t)k, 0.5) / 1e3);

    /* memcpy of the same size, in batches long enough to time. */
    long per = (long)(BATCH_BYTES / (n > 64 ? n : 64));
    per = per < 1 ? 1 : per;
    for (long i = 0; i < k; i++) {
      double t0 = bench_now();
      for (long j = 0; j < per; j++) {
        memcpy(dst, src, n);
        __asm__ volatile("" : : "r"(dst), "r"(src) : "memory");
      }
      t[i] = (bench_now() - t0) / (double)per;
    }
    qsort(t, (size_t)k, sizeof *t, bench_cmp);
    printf("memcpy_us.%zu %.4f\n", n, bench_quantile(t, (size_t)k, 0.5) / 1e3);
  }
  free(src);
  free(dst);
  free(t);
  return 0;
}
