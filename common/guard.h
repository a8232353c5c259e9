/* guard.h: the shim's per-thread re-entrancy flag (common/guard.c).
 *
 * Non-zero while the shim's own code runs on this thread, so that the
 * calls the shim makes (to malloc, to the loader, to a listed function
 * through its own queue code) are never intercepted again.  Set by the
 * shim's entry points and by the runner's workers, read by the stubs. */
#ifndef DT_GUARD_H
#define DT_GUARD_H

extern __thread int dt__in_shim __attribute__((tls_model("initial-exec")));

#endif /* DT_GUARD_H */
