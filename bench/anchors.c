/* anchors.c: the physical limits a cross-process call is measured against.
 *
 * Usage: anchors ROUNDS
 * futex: two processes hand a token back and forth through a futex word
 *        in shared memory (one round trip = two handoffs);
 * pipe:  two processes echo one byte through a pair of pipes.
 * Prints p50, p99 and p99.9 of the round trip of each, in microseconds,
 * one "KEY VALUE" line each (futex_p50, ..., pipe_p999). */
#include "bench.h"
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void fwait(uint32_t *w, uint32_t v) {
  while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == v)
    syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}

static void fset(uint32_t *w, uint32_t v) {
  __atomic_store_n(w, v, __ATOMIC_RELEASE);
  syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Sorts the n round trips in t (ns) and prints their percentiles (us). */
static void report(const char *name, double *t, size_t n) {
  qsort(t, n, sizeof *t, bench_cmp);
  printf("%s_p50 %.2f\n%s_p99 %.2f\n%s_p999 %.2f\n", name,
         bench_quantile(t, n, 0.5) / 1e3, name, bench_quantile(t, n, 0.99) / 1e3,
         name, bench_quantile(t, n, 0.999) / 1e3);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20000;
  double *t = malloc(sizeof *t * (size_t)rounds);
  uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (t == NULL || w == MAP_FAILED || rounds < 1)
    return 1;
  /* futex: the parent writes odd values, the child answers even ones. */
  *w = 0;
  pid_t pid = fork();
  if (pid == 0) {
    for (uint32_t i = 0; i < (uint32_t)rounds; i++) {
      fwait(w, 2 * i);
      fset(w, 2 * i + 2);
    }
    _exit(0);
  }
  for (uint32_t i = 0; i < (uint32_t)rounds; i++) {
    double a = bench_now();
    fset(w, 2 * i + 1);
    fwait(w, 2 * i + 1);
    t[i] = bench_now() - a;
  }
  waitpid(pid, NULL, 0);
  report("futex", t, (size_t)rounds);

  int p1[2], p2[2];
  if (pipe(p1) != 0 || pipe(p2) != 0)
    return 1;
  pid = fork();
  if (pid == 0) {
    char c;
    for (int i = 0; i < rounds; i++)
      if (read(p1[0], &c, 1) != 1 || write(p2[1], &c, 1) != 1)
        _exit(1);
    _exit(0);
  }
  for (int i = 0; i < rounds; i++) {
    char c = 'x';
    double a = bench_now();
    if (write(p1[1], &c, 1) != 1 || read(p2[0], &c, 1) != 1)
      return 1;
    t[i] = bench_now() - a;
  }
  waitpid(pid, NULL, 0);
  report("pipe", t, (size_t)rounds);
  return 0;
}
