/* guard.c: owns the shim's per-thread re-entrancy flag (common/guard.h).
 *
 * It lives apart from the stubs that read it and the call path and the
 * runner that set it, so that none of those files depends on another
 * just for this word. */
#include "common/guard.h"

/* Initial-exec TLS: reading it is one instruction, and it never calls
 * into the loader (which could itself be intercepted). */
__thread int dt__in_shim __attribute__((tls_model("initial-exec")));
