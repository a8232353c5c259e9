/* limits.c: owns the keys that limit how an entry's calls run across the
 * pool, and its answers cache:
 *
 *   max_concurrency = N        at most N calls running at once (>= 1)
 *   concurrency_key = "param"  ... per value of that parameter
 *   rate_limit = "100/s"       or { rate = "100/s", burst = 20 }
 *   cache = true               or { ttl = "1h", max_bytes = "256MiB" }
 *
 * max_concurrency and rate_limit may also be written in [defaults]: each
 * entry then has a limit of its own of that size.  concurrency_key names
 * a parameter and cache promises a pure function: both belong to one
 * entry.  What they mean at run time is the queue's (queue/queue.h's
 * dt__admit, its answers cache) and the caller's (shim/limits.c). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/limits.h"
#include "config/units.h"

const char *const dt__limits_keys[] = {"max_concurrency", "rate_limit",
                                       NULL};
const char *const dt__limits_rate_keys[] = {"rate", "burst", NULL};
const char *const dt__limits_cache_keys[] = {"ttl", "max_bytes", NULL};

#define MAX_BURST 1000000
#define YEAR_NS (366ull * 86400ull * 1000000000ull)

/* Sets what an entry has when no key says otherwise: no limit, no
 * cache. */
void dt__limits_defaults(dt__limits *l) {
  memset(l, 0, sizeof *l);
  l->key_param = -1;
  l->cache_max_bytes = DT__CACHE_DEFAULT_MAX_BYTES;
}

/* Rejects a member of table v not in allowed, naming what to write. */
static int table_keys(const dt__toml *v, const char *const *allowed,
                      const char *section, const char *example,
                      dt__error *err) {
  for (size_t i = 0; i < v->u.list.n; i++) {
    const dt__toml *m = v->u.list.items[i];
    bool ok = false;
    for (const char *const *a = allowed; *a != NULL; a++)
      ok = ok || strcmp(*a, m->key) == 0;
    if (!ok)
      return dt__error_set(err, m->key_line, m->key_col,
                           "unknown key '%s' in %s's %s table; write %s",
                           m->key, section, v->key, example);
  }
  return 0;
}

/* Parses "N/s", "N/min" or "N/h" (N a positive number) into the interval
 * between two calls.  Returns 0, or -EINVAL. */
static int parse_rate(const char *s, uint64_t *interval_ns) {
  char *end;
  errno = 0;
  double n = strtod(s, &end);
  if (end == s || errno != 0 || !(n > 0) || !isfinite(n) || *end != '/')
    return -EINVAL;
  double unit;
  if (strcmp(end + 1, "s") == 0)
    unit = 1e9;
  else if (strcmp(end + 1, "min") == 0)
    unit = 60e9;
  else if (strcmp(end + 1, "h") == 0)
    unit = 3600e9;
  else
    return -EINVAL;
  double t = unit / n;
  if (t < 1 || t > (double)YEAR_NS)
    return -EINVAL;
  *interval_ns = (uint64_t)(t + 0.5); /* no libm in the shim */
  return 0;
}

/* rate_limit = "N/UNIT" or { rate = "N/UNIT", burst = B } into l. */
static int read_rate(const dt__toml *v, const char *section, dt__limits *l,
                     dt__error *err) {
  static const char example[] =
      "rate_limit = \"100/s\" (or \"/min\", \"/h\"), or rate_limit = "
      "{ rate = \"100/s\", burst = 20 }";
  const dt__toml *r = v;
  long long burst = 1;
  if (v->kind == DT__TOML_TABLE) {
    if (table_keys(v, dt__limits_rate_keys, section, example, err) != 0)
      return -EINVAL;
    r = dt__toml_get(v, "rate");
    if (r == NULL)
      return dt__error_set(err, v->line, v->col,
                           "%s: rate_limit's table has no rate; write %s",
                           section, example);
    const dt__toml *b = dt__toml_get(v, "burst");
    if (b != NULL) {
      if (dt__toml_want(b, DT__TOML_INT, section, "burst = 20", err) != 0)
        return -EINVAL;
      if (b->u.i < 1 || b->u.i > MAX_BURST)
        return dt__error_set(err, b->line, b->col,
                             "%s: burst = %lld: write how many calls may "
                             "start at once after a quiet spell, 1 to %d",
                             section, b->u.i, MAX_BURST);
      burst = b->u.i;
    }
  }
  if (dt__toml_want(r, DT__TOML_STRING, section, example, err) != 0)
    return -EINVAL;
  uint64_t interval;
  if (parse_rate(r->u.s, &interval) == 0 &&
      strlen(r->u.s) >= sizeof l->rate_text)
    return dt__error_set(err, r->line, r->col,
                         "%s: rate_limit \"%s\" is longer than dtask keeps "
                         "(%zu characters); write it shorter, such as "
                         "\"100/s\"",
                         section, r->u.s, sizeof l->rate_text - 1);
  if (parse_rate(r->u.s, &interval) != 0)
    return dt__error_set(err, r->line, r->col,
                         "%s: rate_limit \"%s\" is not a rate; write a "
                         "positive number of calls per second, minute or "
                         "hour: \"100/s\", \"30/min\", \"2.5/h\" (at most "
                         "one per nanosecond, at least one a year)",
                         section, r->u.s);
  l->rate_interval_ns = interval;
  l->rate_burst = (uint32_t)burst;
  memcpy(l->rate_text, r->u.s, strlen(r->u.s) + 1);
  return 0;
}

/* Reads the keys valid in [defaults] and in [[offload]] (max_concurrency,
 * rate_limit) present in t over what l holds; section names t in
 * messages.  Returns 0 or -EINVAL with err at the value. */
int dt__limits_read(const dt__toml *t, const char *section, dt__limits *l,
                    dt__error *err) {
  const dt__toml *v;
  if ((v = dt__toml_get(t, "max_concurrency")) != NULL) {
    if (dt__toml_want(v, DT__TOML_INT, section, "max_concurrency = 4",
                      err) != 0)
      return -EINVAL;
    if (v->u.i < 1 || v->u.i > UINT32_MAX)
      return dt__error_set(err, v->line, v->col,
                           "%s: max_concurrency = %lld: write how many calls "
                           "may run at once across the pool, at least 1 "
                           "(remove the key for no limit)",
                           section, v->u.i);
    l->max_concurrency = (uint32_t)v->u.i;
  }
  if ((v = dt__toml_get(t, "rate_limit")) != NULL &&
      read_rate(v, section, l, err) != 0)
    return -EINVAL;
  return 0;
}

/* cache = BOOL or { ttl = "1h", max_bytes = "256MiB" } into l. */
static int read_cache(const dt__toml *v, const char *section, dt__limits *l,
                      dt__error *err) {
  static const char example[] =
      "cache = true, or cache = { ttl = \"1h\", max_bytes = \"256MiB\" }";
  l->cache_line = v->line;
  l->cache_col = v->col;
  if (v->kind == DT__TOML_BOOL) {
    l->cache = v->u.b;
    return 0;
  }
  if (v->kind != DT__TOML_TABLE)
    return dt__toml_want(v, DT__TOML_BOOL, section, example, err) != 0
               ? -EINVAL
               : 0;
  if (table_keys(v, dt__limits_cache_keys, section, example, err) != 0)
    return -EINVAL;
  const dt__toml *m;
  if ((m = dt__toml_get(v, "ttl")) != NULL) {
    uint64_t ns;
    if (dt__toml_want(m, DT__TOML_STRING, section, "ttl = \"1h\"", err) != 0 ||
        dt__toml_at(m, section, dt__parse_duration(m->u.s, &ns, err), err) !=
            0)
      return -EINVAL;
    if (ns == 0 || ns > YEAR_NS)
      return dt__error_set(err, m->line, m->col,
                           "%s: cache ttl \"%s\": write how long an answer "
                           "is given again, more than 0 and at most a year "
                           "(leave ttl out for answers that never expire)",
                           section, m->u.s);
    l->cache_ttl_ns = ns;
  }
  if ((m = dt__toml_get(v, "max_bytes")) != NULL) {
    uint64_t n;
    if (dt__toml_want(m, DT__TOML_STRING, section, "max_bytes = \"256MiB\"",
                      err) != 0 ||
        dt__toml_at(m, section, dt__parse_size(m->u.s, &n, err), err) != 0)
      return -EINVAL;
    if (n < 1024)
      return dt__error_set(err, m->line, m->col,
                           "%s: cache max_bytes \"%s\" holds no answer; "
                           "write at least \"1KiB\"",
                           section, m->u.s);
    l->cache_max_bytes = n;
  }
  l->cache = 1;
  return 0;
}

/* Reads every limit key of the [[offload]] entry t over l (which starts
 * as [defaults] left it) and checks them against the entry's signature,
 * its split and whether it is async.  Returns 0 or -EINVAL with err at
 * the key. */
int dt__limits_read_entry(const dt__toml *t, const char *section,
                          const dt__sig *sig, const dt__split *split,
                          int async, dt__limits *l, dt__error *err) {
  if (dt__limits_read(t, section, l, err) != 0)
    return -EINVAL;
  const dt__toml *v = dt__toml_get(t, "concurrency_key");
  if (v != NULL) {
    if (dt__toml_want(v, DT__TOML_STRING, section,
                      "concurrency_key = \"user_id\"", err) != 0)
      return -EINVAL;
    if (l->max_concurrency == 0)
      return dt__error_set(err, v->line, v->col,
                           "%s: concurrency_key limits calls per value of "
                           "'%s', and no max_concurrency says how many; add "
                           "max_concurrency = 1 (or more)",
                           section, v->u.s);
    int found = dt__sig_find(sig, v->u.s);
    if (found < 0)
      return dt__error_set(err, v->line, v->col,
                           "%s: concurrency_key \"%s\" is not a parameter of "
                           "%s; write the name of an integer parameter of "
                           "its signature",
                           section, v->u.s, sig->name);
    const dt__param *p = &sig->params[found];
    if (p->is_buffer || !(dt__tag_is_integer(p->type.tag) ||
                          p->type.tag == DT__T_BOOL ||
                          p->type.tag == DT__T_CHAR))
      return dt__error_set(err, v->line, v->col,
                           "%s: concurrency_key \"%s\" is %s %s; write the "
                           "name of an integer parameter passed by value",
                           section, v->u.s,
                           p->is_buffer ? "a buffer of" : "a",
                           p->type.name);
    l->key_param = found;
  }
  if ((v = dt__toml_get(t, "cache")) != NULL) {
    if (read_cache(v, section, l, err) != 0)
      return -EINVAL;
    if (l->cache) {
      const char *why = NULL;
      for (int i = 0; i < sig->nparams; i++)
        if (sig->params[i].dir == DT__DIR_INOUT)
          return dt__error_set(
              err, v->line, v->col,
              "%s: cache cannot keep answers of %s: its inout buffer '%s' "
              "is both an argument and a result, so a cached answer would "
              "overwrite what the caller passed; remove cache, or split it "
              "into an in and an out buffer",
              section, sig->name, sig->params[i].name);
      if (async)
        why = "an async call has no answer to keep";
      else if (split->enabled)
        why = "the slices of a split call are answered one by one";
      else if (sig->ret.tag == DT__T_VOID && sig->nparams == 0)
        why = "a function without arguments or result has nothing to keep";
      if (why != NULL)
        return dt__error_set(err, v->line, v->col,
                             "%s: cache cannot go with this entry: %s; "
                             "remove cache",
                             section, why);
    }
  }
  return 0;
}

/* With the lmdb backend, whose map of map_size bytes holds the cache
 * beside the calls: checks that the entry's cache leaves room for them.
 * Returns 0 or -EINVAL with err at the cache key. */
int dt__limits_fit_map(const dt__limits *l, uint64_t map_size,
                       const char *section, dt__error *err) {
  if (!l->cache || l->cache_max_bytes <= map_size / 2)
    return 0;
  return dt__error_set(err, l->cache_line, l->cache_col,
                       "%s: the cache's max_bytes (%llu bytes) must leave "
                       "room for the calls in [queue] map_size (%llu bytes): "
                       "write at most half of it, or raise map_size",
                       section, (unsigned long long)l->cache_max_bytes,
                       (unsigned long long)map_size);
}

/* Prints the entry's limits and cache for dtask check, one line each
 * (nothing for an entry without them). */
void dt__limits_describe(const dt__limits *l, const dt__sig *sig,
                         FILE *out) {
  if (l->max_concurrency != 0) {
    fprintf(out, "      max_concurrency %u: at most %u call%s running at "
                 "once across the pool",
            l->max_concurrency, l->max_concurrency,
            l->max_concurrency == 1 ? "" : "s");
    if (l->key_param >= 0)
      fprintf(out, " per value of %s", sig->params[l->key_param].name);
    fprintf(out, "; more wait in the queue\n");
  }
  if (l->rate_interval_ns != 0)
    fprintf(out, "      rate_limit %s, burst %u: calls start at most one "
                 "every %.6gs across the pool (GCRA)\n",
            l->rate_text, l->rate_burst, (double)l->rate_interval_ns / 1e9);
  if (l->cache) {
    fprintf(out, "      cache: answers kept in the queue for equal "
                 "arguments, ");
    if (l->cache_ttl_ns != 0)
      fprintf(out, "ttl %.6gs", (double)l->cache_ttl_ns / 1e9);
    else
      fprintf(out, "no ttl");
    fprintf(out, ", max_bytes %llu (least recently used first out)\n",
            (unsigned long long)l->cache_max_bytes);
  }
}
