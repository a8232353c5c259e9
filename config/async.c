/* async.c: owns the [[offload]] key async = true: a call the caller does
 * not wait for.
 *
 * Only a call whose caller would learn nothing from it can go without
 * waiting: the function returns void and has no out or inout buffer (in
 * buffers and strings are copied when the call is made, so the caller may
 * reuse them at once).  A split call cannot be async: its slices are one
 * call whose parts the caller puts together.  What async means at run
 * time (the order, errno, the drain at exit) is shim/async.c's. */
#include <errno.h>

#include "config/async.h"
#include "config/sig.h"
#include "config/split.h"
#include "config/toml.h"

/* Reads async = BOOL of the entry t (section names it in messages) into
 * *async, checking it against the entry's signature and split.  Returns 0
 * (also when the key is absent: *async is then 0) or -EINVAL with err at
 * the key. */
int dt__async_read(const dt__toml *t, const char *section,
                   const dt__sig *sig, const dt__split *split, int *async,
                   dt__error *err) {
  *async = 0;
  const dt__toml *v = dt__toml_get(t, "async");
  if (v == NULL)
    return 0;
  if (dt__toml_want(v, DT__TOML_BOOL, section, "async = true", err) != 0)
    return -EINVAL;
  if (!v->u.b)
    return 0;
  if (sig->ret.tag != DT__T_VOID)
    return dt__error_set(err, v->line, v->col,
                         "%s: async = true needs a function that returns "
                         "void, and %s returns %s, which a caller that does "
                         "not wait would never get; remove async",
                         section, sig->name, sig->ret.name);
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->dir == DT__DIR_OUT || p->dir == DT__DIR_INOUT)
      return dt__error_set(err, v->line, v->col,
                           "%s: async = true cannot return %s buffer '%s' "
                           "to a caller that does not wait; remove async, "
                           "or make '%s' an in buffer if %s only reads it",
                           section, p->dir == DT__DIR_OUT ? "out" : "inout",
                           p->name, p->name, sig->name);
  }
  if (split->enabled)
    return dt__error_set(err, v->line, v->col,
                         "%s: async = true and split cannot go together: "
                         "the slices of a split call are one call; remove "
                         "one of them",
                         section);
  *async = 1;
  return 0;
}
