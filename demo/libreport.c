/* libreport.c: the demo's "legacy" reporting library.
 *
 * build_report() stands for a function that waits on a database: it
 * sleeps 0.5 s, then fills a report with figures computed from the period
 * name alone, so every run, local or offloaded, prints the same numbers.
 * It is the native twin of the pynenc direct_task demo; generate_reports()
 * is the batch form (pynenc's parallel_func + aggregate_func), which
 * dtask splits across workers. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report.h"

/* A small deterministic hash of the period name. */
static uint64_t seed_of(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

int build_report(const char *period, report *r) {
  struct timespec half = {0, 500000000L};
  if (period == NULL || period[0] == '\0' || r == NULL) {
    errno = EINVAL;
    return -1;
  }
  while (nanosleep(&half, &half) != 0 && errno == EINTR)
    ;
  uint64_t h = seed_of(period);
  memset(r, 0, sizeof *r);
  snprintf(r->period, sizeof r->period, "%s", period);
  r->orders = (int32_t)(1000 + h % 9000);
  r->customers = (int32_t)(100 + (h >> 16) % (uint64_t)(r->orders / 2));
  r->revenue = (double)r->orders * (20.0 + (double)((h >> 32) % 8000) / 100.0);
  r->avg_order = r->revenue / r->orders;
  r->growth = ((double)((h >> 40) % 4000) - 1000.0) / 100.0;
  return 0;
}


/* The batch form: a loop over build_report, as a library would offer it.
 * Offloaded with split = { over = "n" }, its slices run on every worker
 * at once. */
int generate_reports(const period *periods, size_t n, report *reports) {
  int built = 0;
  for (size_t i = 0; i < n; i++) {
    char name[sizeof periods[i].name + 1];
    memcpy(name, periods[i].name, sizeof periods[i].name);
    name[sizeof periods[i].name] = '\0';
    if (build_report(name, &reports[i]) == 0)
      built++;
  }
  return built;
}
