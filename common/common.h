/* common.h: what every part of dtask agrees on, stated once.
 *
 * dtask is built from six folders, each a role (README, "Layout"):
 * common/ (this: conventions, errors, logging), config/ (the config
 * language), draft/ (dtask sig: entries drafted from C declarations),
 * queue/ (what crosses between processes: the wire format and
 * the queue interface with its backends), shim/ (the caller role, inside
 * the host program) and runner/ (the runner role and the commands).  A
 * folder includes headers of the folders before it in that list, never
 * of one after it; every header is named by its folder ("config/sig.h").
 *
 * Names.  dt__ prefixes everything shared between files (libuv's
 * uv__ convention); nothing is exported from libdtask_shim.so, which is
 * built with -fvisibility=hidden and exports only what it interposes.
 *
 * The error convention, for the whole code base:
 *   - a function that can fail returns a negative errno value (-EINVAL,
 *     -ENOMEM, ...) on failure and 0 on success; where its comment says
 *     so, success may instead be a non-negative count or status;
 *   - when a person must act on a failure, the function also fills a
 *     dt__error (common/error.h): a 1-based line and column, 0 where they
 *     do not apply, and a sentence that says what is wrong and what to
 *     write or do instead.  A dt__error * argument may be NULL;
 *   - a function that allocates says in its comment who frees what;
 *   - errno is never the channel: functions that must preserve it for the
 *     host (the shim's call path) save and restore it themselves.
 *
 * The environment variables shared by the shim and the commands are
 * named here, once (after proxychains-ng's common.h). */
#ifndef DT_COMMON_H
#define DT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define DT__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DT__PRINTF(a, b)
#endif

/* The config file (else ./dtask.toml). */
#define DT__ENV_CONFIG "DTASK_CONFIG"
/* "runner": the shim serves calls instead of running main (set by the
 * launchers and by autostart, never by hand). */
#define DT__ENV_ROLE "DTASK_ROLE"
#define DT__ROLE_RUNNER "runner"
/* "sync" runs every intercepted call inline; "offload" is the default. */
#define DT__ENV_MODE "DTASK_MODE"
/* 1: stop the program when the config cannot be honoured. */
#define DT__ENV_STRICT "DTASK_STRICT"
/* error|warn|info|debug, and 1 for one line per intercepted call. */
#define DT__ENV_LOG "DTASK_LOG"
#define DT__ENV_TRACE "DTASK_TRACE"
/* The worker count a launcher asks of a runner (over [runner] workers). */
#define DT__ENV_WORKERS "DTASK_WORKERS"
/* Set in a pool that a caller started (autostart): it detaches and
 * exits when idle. */
#define DT__ENV_AUTOSTARTED "DTASK_AUTOSTARTED"
/* A descriptor a launcher waits on: the pool writes one byte to it once
 * it serves. */
#define DT__ENV_READY_FD "DTASK_READY_FD"
/* Where `dtask run` collects each process's latency histograms. */
#define DT__ENV_STATS "DTASK_STATS"
/* 1: a split call that runs over a second draws a progress line on
 * stderr, when stderr is a terminal (also [shim] progress = true). */
#define DT__ENV_PROGRESS "DTASK_PROGRESS"
/* The shim the commands preload (else beside the command, or ../lib). */
#define DT__ENV_SHIM "DTASK_SHIM"

#endif /* DT_COMMON_H */
