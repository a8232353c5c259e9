/* execloop.c: the cost of starting a program, fork + exec + wait.
 *
 * Usage: execloop N PROG [ARG...]
 * Runs PROG (a path) N times in a row, each time fork, execv and
 * waitpid, after one untimed run, and prints "exec_us US": the wall time
 * of the N runs divided by N, in microseconds.  BENCH_PRELOAD, when set,
 * becomes LD_PRELOAD in PROG's environment only (this program itself
 * runs without it).  Every run must exit with status 0, or execloop
 * stops with status 1 and says which run failed. */
#include "bench.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs argv once and waits for it; returns 0 when it exited with 0. */
static int run_once(char **argv) {
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "execloop: fork: %s\n", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    execv(argv[0], argv);
    fprintf(stderr, "execloop: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 3 || atoi(argv[1]) <= 0) {
    fprintf(stderr, "usage: execloop N PROG [ARG...]\n");
    return 2;
  }
  int n = atoi(argv[1]);
  const char *pre = getenv("BENCH_PRELOAD");
  if (pre != NULL) {
    if (setenv("LD_PRELOAD", pre, 1) != 0)
      return 1;
    unsetenv("BENCH_PRELOAD");
  }
  char **prog = argv + 2;
  if (run_once(prog) != 0) {
    fprintf(stderr, "execloop: the untimed run of %s failed\n", prog[0]);
    return 1;
  }
  double t0 = bench_now();
  for (int i = 0; i < n; i++)
    if (run_once(prog) != 0) {
      fprintf(stderr, "execloop: run %d of %s failed\n", i + 1, prog[0]);
      return 1;
    }
  printf("exec_us %.2f\n", (bench_now() - t0) / 1e3 / n);
  return 0;
}
