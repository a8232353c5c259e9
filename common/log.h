/* log.h: the process's voice (stderr lines, the trace), its clock, and
 * latency histograms (common/log.c). */
#ifndef DT_LOG_H
#define DT_LOG_H

#include "common/common.h"

/* Levels for DTASK_LOG=error|warn|info|debug (default: error). */
enum { DT__LOG_ERROR, DT__LOG_WARN, DT__LOG_INFO, DT__LOG_DEBUG };

/* Set once by dt__log_init, read-only afterwards. */
extern int dt__log_level;
extern int dt__trace_on; /* DTASK_TRACE=1 */

void dt__log_init(void);
void dt__log(int level, const char *fmt, ...) DT__PRINTF(2, 3);
void dt__trace(const char *fmt, ...) DT__PRINTF(1, 2);
uint64_t dt__now_ns(void);
uint64_t dt__wall_ms(void);

/* Text that came from a record (another process wrote it) made safe to
 * print: control bytes and DEL as \xNN (common/log.c). */
size_t dt__escape(char *dst, size_t cap, const char *src, size_t n);

/* Latency histograms: 32 linear sub-buckets per power of two of
 * nanoseconds; a percentile is reported as its bucket's upper edge. */
#define DT__HIST_BUCKETS 2048
int dt__hist_bucket(uint64_t ns);
uint64_t dt__hist_value(int bucket);

#endif /* DT_LOG_H */
