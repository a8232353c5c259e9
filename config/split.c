/* split.c: fan-out, one call split into slices that run on every worker.
 *
 * A function that processes an array (score_batch(items, n, scores)) can
 * be declared splittable in the config: split = { over = "n", chunk = 64 }
 * cuts each call into slices of 64 elements, every buffer whose length
 * has n as a factor is cut the same way, and aggregate = "sum" says how
 * the slices' return values combine.  This file owns that declaration
 * (its keys, and the checks that make a split consistent), the slicing
 * arithmetic and the aggregates.  The caller's side (shim/fanout.c)
 * queues the slices, and writes their out slices back in place. */
#include <stdio.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"
#include "config/sig.h"
#include "config/split.h"
#include "config/toml.h"
#include "config/types.h"

const char *const dt__split_keys[] = {"split", "aggregate", "min_split", NULL};
const char *const dt__split_table_keys[] = {"over", "chunk", "chunks", NULL};

static const struct {
  const char *name;
  dt__agg agg;
} aggs[] = {{"none", DT__AGG_NONE}, {"sum", DT__AGG_SUM},
            {"min", DT__AGG_MIN},   {"max", DT__AGG_MAX},
            {"and", DT__AGG_AND},   {"or", DT__AGG_OR},
            {"first_nonzero", DT__AGG_FIRST_NONZERO}};

/* "sum" ... "none"; NULL for an unknown value. */
const char *dt__agg_name(dt__agg agg) {
  for (size_t i = 0; i < sizeof aggs / sizeof *aggs; i++)
    if (aggs[i].agg == agg)
      return aggs[i].name;
  return NULL;
}

/* How many times parameter over is a factor of p's length. */
static int factor_count(const dt__param *p, int over) {
  int n = 0;
  for (int k = 0; k < p->len.nfactors; k++)
    if (p->len.factors[k] == over)
      n++;
  return n;
}

/* Whether aggregate a can combine values of the return type t. */
static bool agg_fits(dt__agg a, const dt__type *t) {
  bool integer = dt__tag_is_integer(t->tag);
  bool real = t->tag == DT__T_FLOAT || t->tag == DT__T_DOUBLE;
  switch (a) {
  case DT__AGG_NONE:
    return t->tag == DT__T_VOID;
  case DT__AGG_SUM:
  case DT__AGG_MIN:
  case DT__AGG_MAX:
    return integer || real;
  default:
    return integer;
  }
}

/* A positive integer member of the split table. */
static int split_int(const dt__toml *v, const char *what, uint64_t *out,
                     dt__error *err) {
  if (v->kind != DT__TOML_INT || v->u.i < 1)
    return dt__error_set(err, v->line, v->col,
                         "%s must be a positive integer, e.g. %s = 64", what,
                         what);
  *out = (uint64_t)v->u.i;
  return 0;
}

/* Reads split, aggregate and min_split from an [[offload]] table and
 * checks them against sig: `over` must be an integer parameter passed by
 * value; every out or inout buffer must be sliced along it; the
 * aggregate must fit the return type.  Returns 0 (s->enabled 0 when the
 * table has no split) or -EINVAL with err located at the bad value. */
int dt__split_read(const dt__toml *t, const char *section, const dt__sig *sig,
                   dt__split *s, dt__error *err) {
  const dt__toml *v = dt__toml_get(t, "split");
  const dt__toml *va = dt__toml_get(t, "aggregate");
  const dt__toml *vm = dt__toml_get(t, "min_split");
  memset(s, 0, sizeof *s);
  if (v == NULL) {
    const dt__toml *stray = va != NULL ? va : vm;
    if (stray != NULL)
      return dt__error_set(err, stray->key_line, stray->key_col,
                           "%s: '%s' only means something with split; add "
                           "split = { over = \"n\", chunk = 64 } or remove "
                           "it",
                           section, stray->key);
    return 0;
  }
  if (v->kind != DT__TOML_TABLE)
    return dt__error_set(err, v->line, v->col,
                         "split in %s must be an inline table; write split = "
                         "{ over = \"n\", chunk = 64 }",
                         section);
  const dt__toml *over = NULL;
  for (size_t i = 0; i < v->u.list.n; i++) {
    const dt__toml *m = v->u.list.items[i];
    if (strcmp(m->key, "over") == 0) {
      over = m;
    } else if (strcmp(m->key, "chunk") == 0) {
      if (split_int(m, "chunk", &s->chunk, err) != 0)
        return -EINVAL;
    } else if (strcmp(m->key, "chunks") == 0) {
      if (split_int(m, "chunks", &s->chunks, err) != 0)
        return -EINVAL;
    } else {
      return dt__error_set(err, m->key_line, m->key_col,
                           "unknown key '%s' in split; the keys are over, "
                           "chunk (elements per slice) and chunks (number "
                           "of slices)",
                           m->key);
    }
  }
  if (over == NULL)
    return dt__error_set(err, v->line, v->col,
                         "split in %s does not say what to split over; "
                         "write split = { over = \"n\", chunk = 64 } with "
                         "the name of the element-count parameter",
                         section);
  if (s->chunk != 0 && s->chunks != 0)
    return dt__error_set(err, v->line, v->col,
                         "split in %s gives both chunk and chunks; keep "
                         "one: chunk = elements per slice, chunks = number "
                         "of slices",
                         section);
  if (over->kind != DT__TOML_STRING)
    return dt__error_set(err, over->line, over->col,
                         "over must name a parameter, e.g. over = \"n\"");
  s->over = dt__sig_find(sig, over->u.s);
  if (s->over < 0)
    return dt__error_set(err, over->line, over->col,
                         "%s has no parameter named '%s' to split over",
                         sig->name, over->u.s);
  const dt__param *po = &sig->params[s->over];
  if (po->is_buffer || !dt__tag_is_integer(po->type.tag) ||
      po->type.tag == DT__T_BOOL)
    return dt__error_set(err, over->line, over->col,
                         "'%s' is %s; split over an integer parameter passed "
                         "by value (the element count, such as size_t n)",
                         over->u.s, po->is_buffer ? "a buffer" : po->type.name);
  int nsliced = 0;
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (!p->is_buffer)
      continue;
    int f = factor_count(p, s->over);
    if (f > 1)
      return dt__error_set(err, over->line, over->col,
                           "buffer '%s' has length %s more than once as a "
                           "factor, so it cannot be cut in slices of %s",
                           p->name, over->u.s, over->u.s);
    if (f == 1) {
      s->sliced[i] = 1;
      nsliced++;
    } else if (p->dir == DT__DIR_IN) {
      s->common[i] = 1;
    } else {
      return dt__error_set(err, over->line, over->col,
                           "%s buffer '%s' does not have '%s' in its length, "
                           "so every slice would write all of it and the "
                           "slices would overwrite each other; split over "
                           "a parameter that its length depends on, or do "
                           "not split %s",
                           p->dir == DT__DIR_OUT ? "out" : "inout", p->name,
                           over->u.s, sig->name);
    }
  }
  if (nsliced == 0)
    return dt__error_set(err, over->line, over->col,
                         "no buffer of %s has '%s' in its length, so there "
                         "is nothing to split",
                         sig->name, over->u.s);
  if (sig->ret.tag == DT__T_CSTRING)
    return dt__error_set(err, v->line, v->col,
                         "%s returns a string, which slices cannot combine; "
                         "it cannot be split",
                         sig->name);
  s->agg = DT__AGG_NONE;
  if (va != NULL) {
    bool known = false;
    if (va->kind == DT__TOML_STRING)
      for (size_t i = 0; i < sizeof aggs / sizeof *aggs; i++)
        if (strcmp(aggs[i].name, va->u.s) == 0) {
          s->agg = aggs[i].agg;
          known = true;
        }
    if (!known)
      return dt__error_set(err, va->line, va->col,
                           "aggregate must be one of \"sum\", \"min\", "
                           "\"max\", \"and\", \"or\", \"first_nonzero\" or "
                           "\"none\"");
    if (!agg_fits(s->agg, &sig->ret))
      return dt__error_set(
          err, va->line, va->col,
          "aggregate = \"%s\" does not fit %s, which returns %s; %s",
          va->u.s, sig->name, sig->ret.name,
          sig->ret.tag == DT__T_VOID
              ? "a void function takes aggregate = \"none\""
          : s->agg == DT__AGG_NONE
              ? "say how the slices' return values combine: \"sum\", "
                "\"min\", \"max\", \"and\", \"or\" or \"first_nonzero\""
              : "\"and\", \"or\" and \"first_nonzero\" need an integer "
                "return; use \"sum\", \"min\" or \"max\"");
  } else if (sig->ret.tag != DT__T_VOID) {
    return dt__error_set(err, v->line, v->col,
                         "%s returns %s: say how the slices' return values "
                         "combine, e.g. aggregate = \"sum\" (or \"min\", "
                         "\"max\", \"and\", \"or\", \"first_nonzero\")",
                         sig->name, sig->ret.name);
  }
  if (vm != NULL && split_int(vm, "min_split", &s->min_split, err) != 0)
    return -EINVAL;
  s->enabled = 1;
  return 0;
}

/* How many slices a call over n elements becomes (workers: the pool's
 * size, for the one-slice-per-worker default).  1 means "do not split". */
uint64_t dt__split_count(const dt__split *s, uint64_t n, int workers) {
  uint64_t k;
  if (!s->enabled || n < 2 || n < s->min_split)
    return 1;
  if (s->chunk != 0)
    k = n / s->chunk + (n % s->chunk != 0);
  else if (s->chunks != 0)
    k = s->chunks;
  else
    k = workers > 0 ? (uint64_t)workers : 1;
  return k < n ? k : n;
}

/* The first element of slice k of count over n elements.
 *
 * With chunk, slices are chunk elements long (the
 * last one shorter); otherwise near-equal: slice k starts at k*n/count. */
uint64_t dt__split_start(const dt__split *s, uint64_t n, uint64_t count,
                         uint64_t k) {
  if (k >= count)
    return n;
  if (s->chunk != 0)
    return k * s->chunk;
  /* k*n/count without overflowing 64 bits. */
  return (uint64_t)((unsigned __int128)k * n / count);
}

/* Folds one slice's return value (wire form) into *acc.  first is 1 for
 * the first slice.  Returns 1 when the result is decided (first_nonzero
 * found its slice). */
int dt__split_fold(dt__agg agg, const dt__type *t, uint64_t *acc, uint64_t v,
                   int first) {
  bool real = t->tag == DT__T_FLOAT || t->tag == DT__T_DOUBLE;
  bool sgn = dt__tag_is_signed(t->tag);
  switch (agg) {
  case DT__AGG_NONE:
    *acc = 0;
    return 0;
  case DT__AGG_SUM:
    if (first)
      *acc = v;
    else if (real)
      *acc = dt__scalar_from_real(t, dt__scalar_real(t, *acc) +
                                         dt__scalar_real(t, v));
    else
      *acc = dt__scalar_wrap(t, *acc + v);
    if (t->tag == DT__T_BOOL)
      *acc = *acc != 0;
    return 0;
  case DT__AGG_MIN:
  case DT__AGG_MAX: {
    /* A slice's value replaces the running one only when it is strictly
     * smaller (min) or larger (max), as `if (x > m) m = x` over the
     * slices in order would: of equal values (+0.0 and -0.0) the first
     * stays, and a NaN neither replaces nor is replaced unless first. */
    bool better;
    if (first) {
      *acc = v;
      return 0;
    }
    if (real)
      better = agg == DT__AGG_MIN
                   ? dt__scalar_real(t, v) < dt__scalar_real(t, *acc)
                   : dt__scalar_real(t, v) > dt__scalar_real(t, *acc);
    else if (sgn)
      better = agg == DT__AGG_MIN ? (int64_t)v < (int64_t)*acc
                                  : (int64_t)v > (int64_t)*acc;
    else
      better = agg == DT__AGG_MIN ? v < *acc : v > *acc;
    if (better)
      *acc = v;
    return 0;
  }
  case DT__AGG_AND:
    *acc = (first || *acc != 0) && v != 0;
    return 0;
  case DT__AGG_OR:
    *acc = (!first && *acc != 0) || v != 0;
    return 0;
  case DT__AGG_FIRST_NONZERO:
    *acc = v;
    return v != 0;
  }
  return 0;
}

/* Writes how calls are split, in two indented lines (dtask check);
 * nothing when s is not enabled. */
void dt__split_describe(const dt__split *s, const dt__sig *sig, FILE *out) {
  if (!s->enabled)
    return;
  fprintf(out, "      split over %s: ", sig->params[s->over].name);
  if (s->chunk != 0)
    fprintf(out, "slices of %llu elements", (unsigned long long)s->chunk);
  else if (s->chunks != 0)
    fprintf(out, "%llu near-equal slices", (unsigned long long)s->chunks);
  else
    fprintf(out, "one slice per worker");
  if (s->min_split != 0)
    fprintf(out, ", calls under %llu elements whole",
            (unsigned long long)s->min_split);
  fprintf(out, "; aggregate %s\n        sliced:", dt__agg_name(s->agg));
  for (int i = 0; i < sig->nparams; i++)
    if (s->sliced[i])
      fprintf(out, " %s", sig->params[i].name);
  bool any = false;
  for (int i = 0; i < sig->nparams; i++)
    if (s->common[i]) {
      fprintf(out, "%s %s", any ? "" : "; stored once for all slices:",
              sig->params[i].name);
      any = true;
    }
  fprintf(out, "\n");
}
