/* xcopy.c: the physical limit of an offloaded call that moves buffers.
 *
 * Usage: xcopy MAX_BYTES [BUDGET_BYTES [MAX_CALLS]]
 * For the sizes argsize.c sweeps (0 bytes, then 64 bytes times powers of
 * 4 up to MAX_BYTES), two processes do what an offloaded
 * bn_copy(src, n, dst) must, and nothing else: the caller copies its in
 * buffer into memory both share and hands a futex token over; the other
 * process copies that buffer to another shared one (bn_copy's own work)
 * and hands the token back; the caller copies the result into its out
 * buffer.  Three copies of n bytes and a futex round trip between two
 * processes, left to the scheduler as dtask's are (unpinned): no queue,
 * no record, no arena file.  Each size runs BUDGET_BYTES / n rounds (at
 * least 5, at most MAX_CALLS) after two untimed ones, and prints the
 * median round as "xcopy_us.N VALUE".  Every round's bytes are checked:
 * a wrong copy fails the run. */
#include "bench.h"
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIN_ROUNDS 5
#define WARM 2

/* The token: the caller makes it odd (a buffer to copy, n bytes), the
 * other process even again (copied); 0 with n = SIZE_MAX: stop. */
typedef struct shared {
  uint32_t seq;
  size_t n;
} shared;

/* The other process: copies in to out each time the token turns odd. */
static void serve(shared *sh, const char *in, char *out) {
  uint32_t seen = 0;
  for (;;) {
    bench_fwait(&sh->seq, seen);
    seen = __atomic_load_n(&sh->seq, __ATOMIC_ACQUIRE);
    if (sh->n == SIZE_MAX)
      _exit(0);
    memcpy(out, in, sh->n);
    bench_fset(&sh->seq, ++seen);
  }
}

static size_t next_size(size_t n) { return n == 0 ? 64 : n * 4; }

int main(int argc, char **argv) {
  long long max = argc > 1 ? atoll(argv[1]) : 1 << 20;
  long long budget = argc > 2 ? atoll(argv[2]) : 64ll << 20;
  long maxcalls = argc > 3 ? atol(argv[3]) : 2000;
  if (max < 0 || budget < 1 || maxcalls < MIN_ROUNDS || argc > 4) {
    fprintf(stderr, "usage: xcopy MAX_BYTES [BUDGET_BYTES [MAX_CALLS>=%d]]\n",
            MIN_ROUNDS);
    return 2;
  }
  size_t cap = (size_t)max > 64 ? (size_t)max : 64;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t head = (sizeof(shared) + page - 1) / page * page;
  uint8_t *m = mmap(NULL, head + 2 * cap, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  char *src = malloc(cap), *dst = malloc(cap);
  double *t = malloc(sizeof *t * (size_t)maxcalls);
  if (m == MAP_FAILED || src == NULL || dst == NULL || t == NULL)
    return 1;
  shared *sh = (shared *)m;
  char *in = (char *)m + head, *out = in + cap;
  for (size_t i = 0; i < cap; i++)
    src[i] = (char)(i * 131 + 7);
  pid_t child = fork();
  if (child < 0)
    return 1;
  if (child == 0)
    serve(sh, in, out);
  uint32_t seq = 0;
  int bad = 0;
  for (size_t n = 0; n <= (size_t)max; n = next_size(n)) {
    long rounds = n == 0 ? maxcalls : (long)(budget / (long long)n);
    if (rounds < MIN_ROUNDS)
      rounds = MIN_ROUNDS;
    if (rounds > maxcalls)
      rounds = maxcalls;
    for (long r = -WARM; r < rounds; r++) {
      src[r & 63] ^= 1; /* each round's bytes differ */
      double a = bench_now();
      memcpy(in, src, n);
      sh->n = n;
      bench_fset(&sh->seq, ++seq);
      bench_fwait(&sh->seq, seq);
      seq++;
      memcpy(dst, out, n);
      double b = bench_now();
      if (memcmp(dst, src, n) != 0)
        bad = 1;
      if (r >= 0)
        t[r] = b - a;
    }
    qsort(t, (size_t)rounds, sizeof *t, bench_cmp);
    printf("xcopy_us.%zu %.3f\n", n, bench_quantile(t, (size_t)rounds, 0.5) /
                                         1e3);
  }
  sh->n = SIZE_MAX;
  bench_fset(&sh->seq, ++seq);
  waitpid(child, NULL, 0);
  if (bad)
    fprintf(stderr, "xcopy: a copy came back wrong\n");
  return bad;
}
