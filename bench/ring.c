/* ring.c: the throughput limit of C callers served by W processes, with
 * nothing else: no marshalling, no records, no queue file.
 *
 * Usage: ring CALLERS SERVERS CALLS
 * CALLERS processes each make CALLS / CALLERS blocking calls; a call puts
 * the caller's number in a ring in shared memory (a process-shared mutex
 * around it), wakes a sleeping server through a futex word when one
 * sleeps, and sleeps on its own futex word until a server has taken the
 * number and set the word.  SERVERS processes take numbers while there
 * are any and sleep on the futex word otherwise.  That is what any
 * blocking call to another process must do at the least: one lock, one
 * wake each way and the sleeps, which on a machine with fewer cores
 * than processes are context switches.  Every caller first makes a
 * tenth as many untimed calls.  Prints "throughput N", calls per second
 * from the moment all callers may start to the moment the last is
 * done.  Exits 1 when a process could not be started or failed. */
#include "bench.h"
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXP 64 /* callers, and servers; the ring holds one per caller */

typedef struct {
  _Alignas(64) uint32_t done; /* 0 while the call is out, 1 answered */
} slot;

typedef struct {
  pthread_mutex_t lock;   /* process-shared: head, tail and ring */
  uint32_t head, tail;
  uint32_t ring[MAXP];
  _Alignas(64) uint32_t seq; /* moved by a caller that wakes a server */
  uint32_t sleepers;         /* servers asleep or about to be */
  uint32_t stop;
  _Alignas(64) uint32_t ready; /* callers warmed up */
  uint32_t go;                 /* 1: the timed calls may start */
  uint32_t finished;           /* callers done */
  slot slots[MAXP];
} shared;

static void fwait(uint32_t *w, uint32_t v) {
  syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}

static void fwake(uint32_t *w, int n) {
  syscall(SYS_futex, w, FUTEX_WAKE, n, NULL, NULL, 0);
}

/* One call of caller me. */
static void call(shared *s, uint32_t me) {
  __atomic_store_n(&s->slots[me].done, 0, __ATOMIC_RELAXED);
  pthread_mutex_lock(&s->lock);
  s->ring[s->tail++ % MAXP] = me;
  pthread_mutex_unlock(&s->lock);
  /* Against the server's sleepers, then emptiness check: one of the two
   * sees the other. */
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(&s->sleepers, __ATOMIC_RELAXED) > 0) {
    __atomic_add_fetch(&s->seq, 1, __ATOMIC_SEQ_CST);
    fwake(&s->seq, 1);
  }
  while (__atomic_load_n(&s->slots[me].done, __ATOMIC_ACQUIRE) == 0)
    fwait(&s->slots[me].done, 0);
}

static void caller(shared *s, uint32_t me, int warm, int calls,
                   uint32_t callers) {
  for (int i = 0; i < warm; i++)
    call(s, me);
  if (__atomic_add_fetch(&s->ready, 1, __ATOMIC_SEQ_CST) == callers)
    fwake(&s->ready, 1);
  while (__atomic_load_n(&s->go, __ATOMIC_ACQUIRE) == 0)
    fwait(&s->go, 0);
  for (int i = 0; i < calls; i++)
    call(s, me);
  if (__atomic_add_fetch(&s->finished, 1, __ATOMIC_SEQ_CST) == callers)
    fwake(&s->finished, 1);
}

static void server(shared *s) {
  for (;;) {
    pthread_mutex_lock(&s->lock);
    if (s->head != s->tail) {
      uint32_t who = s->ring[s->head++ % MAXP];
      pthread_mutex_unlock(&s->lock);
      __atomic_store_n(&s->slots[who].done, 1, __ATOMIC_RELEASE);
      fwake(&s->slots[who].done, 1);
      continue;
    }
    pthread_mutex_unlock(&s->lock);
    if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
      return;
    uint32_t seen = __atomic_load_n(&s->seq, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&s->sleepers, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&s->lock);
    int empty = s->head == s->tail;
    pthread_mutex_unlock(&s->lock);
    if (empty && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
      fwait(&s->seq, seen);
    __atomic_sub_fetch(&s->sleepers, 1, __ATOMIC_SEQ_CST);
  }
}

/* Waits until *w reaches v. */
static void wait_for(uint32_t *w, uint32_t v) {
  uint32_t x;
  while ((x = __atomic_load_n(w, __ATOMIC_ACQUIRE)) != v)
    fwait(w, x);
}

int main(int argc, char **argv) {
  int nc = argc == 4 ? atoi(argv[1]) : 0, ns = argc == 4 ? atoi(argv[2]) : 0;
  int total = argc == 4 ? atoi(argv[3]) : 0;
  if (nc < 1 || nc > MAXP || ns < 1 || ns > MAXP || total < nc) {
    fprintf(stderr, "usage: ring CALLERS SERVERS CALLS (1 to %d processes "
            "each)\n", MAXP);
    return 2;
  }
  shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (s == MAP_FAILED)
    return 1;
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&s->lock, &a);

  int calls = total / nc, warm = calls / 10 > 0 ? calls / 10 : 1;
  pid_t pids[2 * MAXP];
  int np = 0, bad = 0;
  for (int i = 0; i < ns + nc && !bad; i++) {
    pid_t p = fork();
    if (p < 0) {
      bad = 1;
      break;
    }
    if (p == 0) {
      if (i < ns)
        server(s);
      else
        caller(s, (uint32_t)(i - ns), warm, calls, (uint32_t)nc);
      _exit(0);
    }
    pids[np++] = p;
  }
  double t0 = 0, t1 = 0;
  for (int i = 0; bad && i < np; i++)
    kill(pids[i], SIGKILL); /* a caller may wait for go forever */
  if (!bad) {
    wait_for(&s->ready, (uint32_t)nc);
    t0 = bench_now();
    __atomic_store_n(&s->go, 1, __ATOMIC_RELEASE);
    fwake(&s->go, INT_MAX);
    wait_for(&s->finished, (uint32_t)nc);
    t1 = bench_now();
  }
  __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
  __atomic_add_fetch(&s->seq, 1, __ATOMIC_SEQ_CST);
  fwake(&s->seq, INT_MAX);
  for (int i = 0; i < np; i++) {
    int st;
    if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) ||
        WEXITSTATUS(st) != 0)
      bad = 1;
  }
  if (bad) {
    fprintf(stderr, "ring: a process could not be started or failed\n");
    return 1;
  }
  printf("throughput %.0f\n", (double)calls * nc / ((t1 - t0) / 1e9));
  return 0;
}
