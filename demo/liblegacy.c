/* liblegacy.c: a library that serializes every call behind one lock.
 *
 * Old libraries often protect their global state with a single mutex, so
 * a multi-threaded program gains nothing from its threads: every call
 * waits for the one before.  legacy_lookup() holds the lock for 0.3 s of
 * simulated I/O.  Offloaded, each runner worker is its own process with
 * its own copy of the lock, so the calls run side by side. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;

long legacy_lookup(int customer, double *balance);

long legacy_lookup(int customer, double *balance) {
  struct timespec wait = {0, 300000000L};
  pthread_mutex_lock(&big_lock);
  while (nanosleep(&wait, &wait) != 0 && errno == EINTR)
    ;
  uint32_t h = (uint32_t)customer * 2654435761u;
  *balance = (double)(h % 100000) / 100.0;
  pthread_mutex_unlock(&big_lock);
  return (long)(h % 977);
}
