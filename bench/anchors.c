/* anchors.c: the physical limits a cross-process call is measured against.
 *
 * Usage: anchors ROUNDS
 * futex: two processes hand a token back and forth through a futex word
 *        in shared memory (one round trip = two handoffs);
 * pipe:  two processes echo one byte through a pair of pipes.
 * Each runs three ways: with both processes pinned to the same CPU
 * (suffix _same), pinned to two different CPUs (_cross), and left to the
 * scheduler (no suffix).  Pinning uses sched_setaffinity on CPUs of the
 * process's own affinity mask; with only one CPU in it there is no
 * _cross variant, and when pinning is refused only the unpinned variant
 * runs.  Each variant starts with an untimed warm-up of ROUNDS / 10
 * round trips (at least 100).
 * Prints p50, p99 and p99.9 of the round trip of each variant, in
 * microseconds, one "KEY VALUE" line each (futex_same_p50, ...,
 * pipe_p999), with each variant's share of slow spells in percent
 * (futex_same_slow, ...: see bench_slow_share; from 5,000 rounds up);
 * then "cpus N", the CPUs of the mask, and, when the pinned variants ran,
 * "pinned A B", the two CPUs they used (A A with one CPU). */
#include "bench.h"
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Prints the share of slow spells among the n round trips in t (ns, in
 * the order they were made; in percent, when there are enough of them),
 * then sorts t and prints its percentiles (us). */
static void report(const char *name, const char *suffix, double *t, size_t n) {
  double slow = bench_slow_share(t, n);
  if (slow >= 0)
    printf("%s%s_slow %.1f\n", name, suffix, slow * 100);
  qsort(t, n, sizeof *t, bench_cmp);
  printf("%s%s_p50 %.2f\n%s%s_p99 %.2f\n%s%s_p999 %.2f\n", name, suffix,
         bench_quantile(t, n, 0.5) / 1e3, name, suffix,
         bench_quantile(t, n, 0.99) / 1e3, name, suffix,
         bench_quantile(t, n, 0.999) / 1e3);
}

/* Pins the calling process to one CPU (cpu < 0: leaves it alone).
 * Returns 0, or -1 when the kernel refuses. */
static int pin(int cpu) {
  if (cpu < 0)
    return 0;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  return sched_setaffinity(0, sizeof s, &s);
}

/* One variant of the futex handoff: the parent runs where the caller
 * pinned it, the child on cpu_b (-1: unpinned); warm + rounds round trips,
 * the last rounds timed into t.  Returns 0, or -1 when a process could not
 * be started or pinned. */
static int futex_run(uint32_t *w, int cpu_b, int warm, int rounds, double *t) {
  uint32_t total = (uint32_t)(warm + rounds);
  *w = 0;
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  /* The parent writes odd values, the child answers even ones. */
  if (pid == 0) {
    int bad = pin(cpu_b) != 0;
    for (uint32_t i = 0; i < total; i++) {
      bench_fwait(w, 2 * i);
      bench_fset(w, 2 * i + 2);
    }
    _exit(bad);
  }
  for (uint32_t i = 0; i < total; i++) {
    double a = bench_now();
    bench_fset(w, 2 * i + 1);
    bench_fwait(w, 2 * i + 1);
    if (i >= (uint32_t)warm)
      t[i - (uint32_t)warm] = bench_now() - a;
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return -1;
  return 0;
}

/* The same for a byte echoed through two pipes. */
static int pipe_run(int cpu_b, int warm, int rounds, double *t) {
  int p1[2], p2[2];
  if (pipe(p1) != 0)
    return -1;
  if (pipe(p2) != 0) {
    close(p1[0]);
    close(p1[1]);
    return -1;
  }
  int total = warm + rounds, bad = 0;
  pid_t pid = fork();
  if (pid < 0)
    bad = 1;
  if (pid == 0) {
    char c;
    close(p1[1]);
    close(p2[0]);
    int err = pin(cpu_b) != 0;
    for (int i = 0; i < total; i++)
      if (read(p1[0], &c, 1) != 1 || write(p2[1], &c, 1) != 1)
        _exit(1);
    _exit(err);
  }
  close(p1[0]);
  close(p2[1]);
  for (int i = 0; i < total && !bad; i++) {
    char c = 'x';
    double a = bench_now();
    if (write(p1[1], &c, 1) != 1 || read(p2[0], &c, 1) != 1)
      bad = 1;
    else if (i >= warm)
      t[i - warm] = bench_now() - a;
  }
  close(p1[1]);
  close(p2[0]);
  int st;
  if (pid > 0 &&
      (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0))
    bad = 1;
  return bad ? -1 : 0;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20000;
  if (rounds < 1 || argc > 2) {
    fprintf(stderr, "usage: anchors ROUNDS\n");
    return 2;
  }
  int warm = rounds / 10 < 100 ? 100 : rounds / 10;
  double *t = malloc(sizeof *t * (size_t)rounds);
  uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (t == NULL || w == MAP_FAILED)
    return 1;

  /* The first two CPUs this process may run on. */
  cpu_set_t orig;
  int ncpu = 0, cpu[2] = {-1, -1};
  if (sched_getaffinity(0, sizeof orig, &orig) == 0) {
    for (int c = 0; c < CPU_SETSIZE; c++) {
      if (!CPU_ISSET(c, &orig))
        continue;
      if (ncpu < 2)
        cpu[ncpu] = c;
      ncpu++;
    }
  }
  /* Variants: same CPU, two CPUs, unpinned. */
  struct {
    const char *suffix;
    int a, b;
  } v[3] = {{"_same", cpu[0], cpu[0]}, {"_cross", cpu[0], cpu[1]}, {"", -1, -1}};
  int pinned_ok = ncpu >= 1 && pin(cpu[0]) == 0;
  if (ncpu >= 1)
    sched_setaffinity(0, sizeof orig, &orig);

  for (int kind = 0; kind < 2; kind++) {
    for (int i = 0; i < 3; i++) {
      int pinned = v[i].a >= 0;
      if (pinned && (!pinned_ok || v[i].b < 0))
        continue; /* no pinning, or a single CPU: no _cross */
      if (pinned && pin(v[i].a) != 0)
        continue;
      int r = kind == 0 ? futex_run(w, v[i].b, warm, rounds, t)
                        : pipe_run(v[i].b, warm, rounds, t);
      if (pinned)
        sched_setaffinity(0, sizeof orig, &orig);
      if (r != 0) {
        fprintf(stderr, "anchors: the %s%s round trip failed\n",
                kind == 0 ? "futex" : "pipe", v[i].suffix);
        return 1;
      }
      report(kind == 0 ? "futex" : "pipe", v[i].suffix, t, (size_t)rounds);
    }
  }
  printf("cpus %d\n", ncpu);
  if (pinned_ok)
    printf("pinned %d %d\n", cpu[0], cpu[1] >= 0 ? cpu[1] : cpu[0]);
  free(t);
  return 0;
}
