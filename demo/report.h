/* report.h: the demo library's interface, as its users see it. */
#ifndef DEMO_REPORT_H
#define DEMO_REPORT_H
#include <stdint.h>

typedef struct report {
  char period[16];
  int32_t orders;
  int32_t customers;
  double revenue;
  double avg_order;
  double growth; /* percent against the previous period */
} report;       /* 48 bytes, align 8: see demo/dtask.toml [types] */

int build_report(const char *period, report *r);

#endif
