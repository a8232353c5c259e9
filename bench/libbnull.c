/* libbnull.c: the library every benchmark program calls.
 *
 * It owns the functions whose cost is not the point: what the benchmarks
 * measure is the cost of reaching them (PLT, PLT + dtask's stub, or a
 * round trip to a runner worker), so each does as little as it can.
 * bn_add is as cheap as a call can be.  bn_mix takes doubles and
 * integers, to include libffi's argument classification in the figure.
 * bn_copy moves an in buffer to an out buffer, for the argument-size
 * sweep.  bn_pid says which process ran the call, so that a benchmark can
 * prove that its call was offloaded.  bn_burn is the exception: a
 * CPU-bound batch, for the fan-out figure (split across the workers).
 * bn_nap is latency-bound (a sleep), for the hosts table: it says which
 * host served it. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int bn_add(int a, int b);
double bn_mix(double x, int k, double y);
void bn_copy(const char *src, size_t n, char *dst);
int bn_pid(void);
long bn_nap(int us);
unsigned long bn_burn(const unsigned long *seed, size_t n, unsigned long *out);

int bn_add(int a, int b) { return a + b; }

double bn_mix(double x, int k, double y) { return x * k + y; }

void bn_copy(const char *src, size_t n, char *dst) {
  if (n > 0)
    memcpy(dst, src, n);
}

int bn_pid(void) { return (int)getpid(); }

/* Sleeps us microseconds; returns the number that ends $DTASK_HOST_ID in
 * the process that ran it ("bench-h3": 3; 0 when unset or without one),
 * so that a caller can count the hosts that served it. */
long bn_nap(int us) {
  struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
  const char *h = getenv("DTASK_HOST_ID");
  size_t n = h != NULL ? strlen(h) : 0;
  while (n > 0 && h[n - 1] >= '0' && h[n - 1] <= '9')
    n--;
  return h != NULL && h[n] != '\0' ? atol(h + n) : 0;
}

/* Iterates a 64-bit LCG 100000 times per element (about 0.1 ms of one
 * core each); returns the sum of the results, which the caller checks. */
unsigned long bn_burn(const unsigned long *seed, size_t n, unsigned long *out) {
  unsigned long sum = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned long x = seed[i];
    for (int k = 0; k < 100000; k++)
      x = x * 6364136223846793005ul + 1442695040888963407ul;
    out[i] = x;
    sum += x;
  }
  return sum;
}
