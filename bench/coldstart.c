/* coldstart.c: from exec of a program to its first call completed.
 *
 * Usage: coldstart launch
 * Reads CLOCK_MONOTONIC, puts it in BENCH_T0 (nanoseconds), moves
 * BENCH_PRELOAD, when set, into LD_PRELOAD, and execs its own image as
 * "coldstart call".  That process calls bn_pid once and prints, one
 * "KEY VALUE" line each, the time from just before the exec to the
 * return of that first call (first_call_ms), whether the call ran in
 * another process (offloaded 1 or 0), and which process ran it (worker,
 * a pid; its parent is the pool's supervisor, which the bench stops).
 *
 * Run without dtask, it measures the baseline: exec, dynamic loading and
 * one direct call.  With the shim preloaded and a pool already serving
 * the queue, it adds the shim's start-up and the queue's opening; with
 * no pool and [runner] autostart = true, it adds starting the pool. */
#include "bench.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int launch(void) {
  char t0[32];
  const char *pre = getenv("BENCH_PRELOAD");
  if (pre != NULL && setenv("LD_PRELOAD", pre, 1) != 0)
    return 1;
  unsetenv("BENCH_PRELOAD");
  snprintf(t0, sizeof t0, "%.0f", bench_now());
  if (setenv("BENCH_T0", t0, 1) != 0)
    return 1;
  char *argv[] = {"coldstart", "call", NULL};
  execv("/proc/self/exe", argv);
  fprintf(stderr, "coldstart: exec: %s\n", strerror(errno));
  return 1;
}

static int call(void) {
  const char *t0 = getenv("BENCH_T0");
  int pid = bn_pid();
  double t1 = bench_now();
  if (t0 == NULL) {
    fprintf(stderr, "coldstart: run it as 'coldstart launch'\n");
    return 2;
  }
  printf("first_call_ms %.3f\noffloaded %d\nworker %d\n",
         (t1 - strtod(t0, NULL)) / 1e6, pid != (int)getpid(), pid);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "launch") == 0)
    return launch();
  if (argc == 2 && strcmp(argv[1], "call") == 0)
    return call();
  fprintf(stderr, "usage: coldstart launch\n");
  return 2;
}
