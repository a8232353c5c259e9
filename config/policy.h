/* policy.h: what a call does when it fails: the failure keys of
 * [defaults] and [[offload]], and the decisions taken from them at call
 * time (config/policy.c). */
#ifndef DT_POLICY_H
#define DT_POLICY_H

#include <stdio.h>

#include "config/cond.h"
#include "config/sig.h"
#include "config/toml.h"

typedef enum dt__onerr_kind {
  DT__ON_SIGNAL,  /* print one line, then die as the worker did */
  DT__ON_RETRY,   /* run the call again, up to `retries` times */
  DT__ON_RETURN,  /* return a fixed value and set errno */
  DT__ON_WAIT,    /* keep waiting for a runner */
  DT__ON_LOCAL    /* call the real function inline */
} dt__onerr_kind;

typedef struct dt__action {
  dt__onerr_kind kind;
  dt__lit lit;     /* DT__ON_RETURN: the return value as written */
  long long li;    /* ... DT__LIT_INT / DT__LIT_BOOL */
  double ld;       /* ... DT__LIT_FLOAT */
  uint64_t value;  /* ... bound (dt__policy_bind): the wire form */
  int err;         /* DT__ON_RETURN: the errno to set (0: leave it) */
  int line, col;   /* where it was written (0: the built-in default) */
} dt__action;

#define DT__MAX_RETRY_ERRNOS 16

/* Every failure setting of one [[offload]] entry (defaults from the
 * [defaults] table, then the entry's own keys). */
typedef struct dt__policy {
  dt__action on_crash;        /* default: signal */
  dt__action on_timeout;      /* default: signal (SIGALRM) */
  dt__action on_unavailable;  /* default: local */
  uint64_t timeout_ns;        /* 0: none */
  int retries;                /* default 3 */
  uint64_t retry_wait_ns;     /* default 100 ms */
  uint64_t retry_max_wait_ns; /* default 5 s */
  uint64_t wait_for_runner_ns; /* default 30 s */
  uint64_t drain_timeout_ns;  /* async: how long exit waits; default 30 s */
  int retry_errnos[DT__MAX_RETRY_ERRNOS];
  int nretry_errnos;
  int has_retry_if;           /* retry_if given, or implied (bind) */
  dt__cond retry_if;          /* name "ret"; line 0 when implied */
  int errnos_line, errnos_col;       /* where retry_on_errno was */
} dt__policy;

/* The policy keys, valid in [defaults] and in every [[offload]], and
 * those of a value table (on_crash = { return = -1, errno = "EIO" }). */
extern const char *const dt__policy_keys[];
extern const char *const dt__policy_value_keys[];

/* Reading and checking (the config loader). */
void dt__policy_defaults(dt__policy *p);
int dt__policy_read(const dt__toml *t, const char *section,
                    dt__policy *p, dt__error *err);
int dt__policy_bind(dt__policy *p, const dt__sig *sig,
                    const char *section, dt__error *err);
void dt__policy_describe(const dt__policy *p, FILE *out);

/* Deciding (the call path). */
int dt__policy_is_failure(const dt__policy *p, const dt__sig *sig,
                          const void *ret);
int dt__policy_should_retry(const dt__policy *p, const dt__sig *sig,
                            const void *ret, int err);
uint64_t dt__policy_backoff_ns(const dt__policy *p, int attempt, uint64_t rnd);
void dt__policy_store_return(const dt__action *a, const dt__sig *sig,
                             void *ret);

/* errno names: "EAGAIN" <-> EAGAIN (-1 and NULL when unknown). */
int dt__errno_parse(const char *name);
const char *dt__errno_name(int e);

#endif /* DT_POLICY_H */
