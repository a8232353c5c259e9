/* report.h: the demo library's interface, as its users see it. */
#ifndef DEMO_REPORT_H
#define DEMO_REPORT_H
#include <stddef.h>
#include <stdint.h>

typedef struct report {
  char period[16];
  int32_t orders;
  int32_t customers;
  double revenue;
  double avg_order;
  double growth; /* percent against the previous period */
} report;       /* 48 bytes, align 8: see demo/dtask.toml [types] */

typedef struct period {
  char name[16];
} period;       /* 16 bytes, align 1 */

int build_report(const char *period, report *r);

/* Builds reports[i] for periods[i], i < n, one after another (0.5 s
 * each).  Returns the number of reports built. */
int generate_reports(const period *periods, size_t n, report *reports);

#endif
