/* fuzz_config.c: the fuzz harness of the config loader (config/config.c
 * and what it calls: the TOML parser, [queue] urls and sizes, [types],
 * signatures, the failure policies, offload_if, split and aggregate).
 *
 * The input is config text, data[0, size), loaded with
 * dt__config_parse(text, len, NULL, ...) as dt__config_load does after
 * reading a file (a NULL path: text that comes from no file).  A config
 * it accepts is then used the way the rest of dtask uses one: every
 * entry's signature, policy and split are described (dtask check, into
 * /dev/null), its policy decides on return values (an on_* value stored,
 * then is_failure, should_retry and the backoff of every attempt), its
 * offload_if is evaluated, and fan-out slices a few element counts (the
 * slices must start in order, inside the call).  The config's
 * fingerprint and call limit are computed as a caller and a runner do.
 *
 * The same text also goes to the preloaded door's reader of names
 * (config/names.c's dt__names_read, which reads without the parser):
 * when both readers accept the text, they must name the same entries,
 * in the same order, with the same symbol, version and library; the
 * door would otherwise watch other symbols than the engine offloads.
 * (This check found the entries written as a key, offload = [ { signature
 * = "..." } ], which the loader takes as the [[offload]] array, skipped by
 * dt__names_read, so the door watched nothing; its inputs are now in the
 * corpus, crash-*.)
 * The config is freed with dt__config_free.  Dictionary:
 * tests/fuzz/config.dict; corpus: tests/fuzz/corpus/config/. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/error.h"
#include "config/config.h"
#include "config/names.h"
#include "config/policy.h"
#include "config/split.h"
#include "queue/wire.h"
#include "fuzz/fuzz.h"

/* Return values every policy is asked about: the boundaries of each
 * type's wire form. */
static const uint64_t config_rets[] = {0, 1, 2, UINT64_MAX, INT64_MAX,
                                       (uint64_t)INT64_MIN, 0x80000000u,
                                       0x3ff0000000000000ull /* 1.0 */};

/* The errnos should_retry is asked about. */
static const int config_errnos[] = {0, EAGAIN, EINTR, EIO, ENOMEM, EBUSY};

/* v as a valid wire value of t: wrapped to its width, 0 when that is
 * still no value of t (a bool of 2). */
static uint64_t config_val(const dt__type *t, uint64_t v) {
  v = dt__scalar_wrap(t, v);
  return dt__scalar_valid(t, v) ? v : 0;
}

/* Decides with off's policy what dtask's call path decides: the on_*
 * values stored into a return buffer, whether returns are failures and
 * worth a retry, and the pause before each attempt. */
static void config_policy(const dt__offload *off) {
  const dt__policy *p = &off->policy;
  union {
    uint64_t u;
    double d;
    void *ptr;
    unsigned char b[32];
  } ret;
  const dt__action *acts[] = {&p->on_crash, &p->on_timeout,
                              &p->on_unavailable};
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) {
    if (acts[i]->kind != DT__ON_RETURN || off->sig.ret.tag == DT__T_VOID)
      continue;
    memset(&ret, 0, sizeof ret);
    dt__policy_store_return(acts[i], &off->sig, &ret);
    (void)dt__policy_is_failure(p, &off->sig, &ret);
  }
  if (off->sig.ret.tag != DT__T_VOID) {
    for (size_t i = 0; i < sizeof config_rets / sizeof *config_rets; i++) {
      memset(&ret, 0, sizeof ret);
      if (off->sig.ret.tag == DT__T_CSTRING)
        ret.ptr = config_rets[i] != 0 ? (void *)"x" : NULL;
      else
        dt__scalar_ret_set(&off->sig.ret,
                           config_val(&off->sig.ret, config_rets[i]), &ret);
      (void)dt__policy_is_failure(p, &off->sig, &ret);
      for (size_t e = 0; e < sizeof config_errnos / sizeof *config_errnos;
           e++)
        (void)dt__policy_should_retry(p, &off->sig, &ret, config_errnos[e]);
    }
  }
  for (int a = 1; a <= p->retries + 1 && a <= 70; a++) {
    uint64_t w = dt__policy_backoff_ns(p, a, UINT64_MAX - (uint64_t)a);
    dt__fuzz_check(w <= p->retry_max_wait_ns,
                   "a backoff longer than retry_max_wait");
  }
}

/* Evaluates off's offload_if on the boundary values of its parameter. */
static void config_offload_if(const dt__offload *off) {
  if (!off->has_offload_if || off->offload_if.param < 0 ||
      off->offload_if.param >= off->sig.nparams)
    return;
  const dt__type *t = &off->sig.params[off->offload_if.param].type;
  for (size_t i = 0; i < sizeof config_rets / sizeof *config_rets; i++)
    (void)dt__cond_eval(&off->offload_if, t, config_val(t, config_rets[i]));
}

/* Slices calls over a few element counts as fan-out does, and checks
 * that the slices start in order and inside the call. */
static void config_split(const dt__offload *off) {
  static const uint64_t ns[] = {0, 1, 2, 7, 64, 1000, 1u << 20, UINT64_MAX};
  const dt__split *s = &off->split;
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
    for (int workers = 1; workers <= 4; workers += 3) {
      uint64_t n = ns[i];
      uint64_t count = dt__split_count(s, n, workers);
      dt__fuzz_check(count >= 1, "a call split into no slice");
      dt__fuzz_check(count == 1 || count <= n, "more slices than elements");
      uint64_t prev = 0;
      for (uint64_t k = 0; k < count && k < 64; k++) {
        uint64_t at = dt__split_start(s, n, count, k);
        dt__fuzz_check(at >= prev && at <= n,
                       "slices out of order or outside the call");
        prev = at;
      }
      dt__fuzz_check(dt__split_start(s, n, count, count) == n,
                     "the slices do not end at the call's end");
    }
  }
  if (s->enabled && off->sig.ret.tag != DT__T_VOID &&
      off->sig.ret.tag != DT__T_CSTRING) {
    uint64_t acc = 0;
    for (size_t i = 0; i < sizeof config_rets / sizeof *config_rets; i++)
      if (dt__split_fold(s->agg, &off->sig.ret, &acc,
                         config_val(&off->sig.ret, config_rets[i]),
                         i == 0))
        break;
  }
}

/* Reads the names of text[0, len) as the door does, and compares them
 * with the entries of cfg (both readers accepted the text). */
static void config_names(const char *text, size_t len, const dt__config *cfg) {
  size_t max = dt__names_bound(text, len);
  dt__name *names = calloc(max > 0 ? max : 1, sizeof *names);
  char *pool = malloc(DT__NAMES_POOL(len, max) + 1);
  size_t n = 0;
  if (names != NULL && pool != NULL &&
      dt__names_read(text, len, names, max, pool, &n) == 0) {
    dt__fuzz_check(n == cfg->noffloads,
                   "the door reads another number of [[offload]] entries "
                   "than the config loader");
    for (size_t i = 0; i < n; i++) {
      const dt__offload *o = &cfg->offloads[i];
      dt__fuzz_check(strcmp(names[i].symbol, o->symbol) == 0,
                     "the door reads another symbol than the loader");
      dt__fuzz_check(strcmp(names[i].version, o->version) == 0,
                     "the door reads another version than the loader");
      dt__fuzz_check(strcmp(names[i].library, o->library) == 0,
                     "the door reads another library than the loader");
    }
  }
  free(names);
  free(pool);
}

/* Loads data[0, size) as a config, uses what it accepts as dtask would,
 * compares the door's reading of its names, and frees it.  Always
 * returns 0. */
int dt__fuzz_config(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  dt__config *cfg = NULL;
  dt__error err;
  memset(&err, 0, sizeof err);
  int rc = dt__config_parse(text, size, NULL, &cfg, &err);
  if (rc != 0) {
    dt__fuzz_check(rc < 0 && cfg == NULL, "a failure that is not -errno");
    dt__fuzz_check(err.msg[0] != '\0', "a refusal without a message");
    return 0;
  }
  dt__fuzz_check(cfg != NULL, "success without a config");
  FILE *null = dt__fuzz_null();
  for (size_t i = 0; i < cfg->noffloads; i++) {
    const dt__offload *off = &cfg->offloads[i];
    if (null != NULL) {
      dt__sig_describe(&off->sig, null);
      dt__policy_describe(&off->policy, null);
      if (off->split.enabled)
        dt__split_describe(&off->split, &off->sig, null);
    }
    config_policy(off);
    config_offload_if(off);
    config_split(off);
  }
  (void)dt__wire_fingerprint(cfg);
  uint64_t limit = dt__wire_call_limit(cfg);
  dt__fuzz_check(limit <= cfg->map_size / 4 &&
                     (cfg->max_call_size == 0 || limit <= cfg->max_call_size),
                 "a call limit above max_call_size or map_size / 4");
  config_names(text, size, cfg);
  dt__config_free(cfg);
  return 0;
}

DT__FUZZ_ENTRY(dt__fuzz_config)
