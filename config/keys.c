/* keys.c: the checks every table of the config shares: its keys against
 * the allowed ones (with a "did you mean" hint), an integer member within
 * its range, and a name that must be a C identifier.  Each error names
 * the line and column and what to write instead.  Used by config/config.c
 * and config/offload.c; calls only the TOML tree's accessors and
 * config/units.c's hint. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "config/keys.h"
#include "config/toml.h"
#include "config/units.h"

/* Rejects any member of table t not listed in allowed, extra or extra2
 * (each list NULL-terminated; extra and extra2 may be NULL), naming
 * section ("[queue]") and the closest allowed key when there is one, or
 * else every allowed key.  Returns 0, or -EINVAL with err located at the
 * key. */
int dt__keys_check(const dt__toml *t, const char *const *allowed,
                   const char *const *extra, const char *const *extra2,
                   const char *section, dt__error *err) {
  const char *all[48];
  size_t n = 0;
  for (const char *const *a = allowed; *a != NULL && n < 47; a++)
    all[n++] = *a;
  for (const char *const *a = extra; a != NULL && *a != NULL && n < 47; a++)
    all[n++] = *a;
  for (const char *const *a = extra2; a != NULL && *a != NULL && n < 47; a++)
    all[n++] = *a;
  all[n] = NULL;
  for (size_t i = 0; i < t->u.list.n; i++) {
    const dt__toml *m = t->u.list.items[i];
    bool ok = false;
    for (const char *const *a = all; *a != NULL; a++)
      if (strcmp(*a, m->key) == 0)
        ok = true;
    if (ok)
      continue;
    const char *hint = dt__did_you_mean(m->key, all);
    char list[512] = "";
    size_t used = 0;
    for (const char *const *a = all; *a != NULL && used < sizeof list; a++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                               used ? ", " : "", *a);
    if (hint != NULL)
      return dt__error_set(err, m->key_line, m->key_col,
                           "unknown key '%s' in %s; did you mean '%s'?",
                           m->key, section, hint);
    return dt__error_set(err, m->key_line, m->key_col,
                         "unknown key '%s' in %s; the keys are: %s", m->key,
                         section, list);
  }
  return 0;
}

/* Reads the integer member v of section into *out if it is within
 * [lo, hi]; example is what to write instead (dt__toml_want).  Returns
 * 0, or -EINVAL with err located at v. */
int dt__keys_int(const dt__toml *v, const char *section, long long lo,
                 long long hi, const char *example, long long *out,
                 dt__error *err) {
  if (dt__toml_want(v, DT__TOML_INT, section, example, err) != 0)
    return -EINVAL;
  if (v->u.i < lo || v->u.i > hi)
    return dt__error_set(err, v->line, v->col,
                         "'%s' in %s is %lld; it must be between %lld and "
                         "%lld",
                         v->key, section, v->u.i, lo, hi);
  *out = v->u.i;
  return 0;
}

/* True if s is a C identifier: a letter or '_', then letters, digits or
 * '_'. */
bool dt__keys_identifier(const char *s) {
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
    return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  return true;
}
