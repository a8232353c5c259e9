/* model.c: the life of the model in draft/draft.h, what dtask sig's
 * readers fill and its rules read: allocation and release of types and
 * functions.  Nothing here knows where a description came from. */
#include <stdlib.h>
#include <string.h>

#include "draft/draft.h"

/* Returns a zeroed type of the given kind, owned by the caller (free it
 * with dt__ctype_free), or NULL when out of memory. */
dt__ctype *dt__ctype_new(dt__ckind kind) {
  dt__ctype *t = calloc(1, sizeof *t);
  if (t != NULL)
    t->kind = kind;
  return t;
}

/* Frees t and the chain of pointees it owns; NULL is allowed.  The
 * chain is walked, not recursed, so no depth costs stack. */
void dt__ctype_free(dt__ctype *t) {
  while (t != NULL) {
    dt__ctype *next = t->pointee;
    free(t);
    t = next;
  }
}

/* Frees the types f owns and zeroes everything but its name, which the
 * caller set to say which function it wants. */
void dt__cfunc_clear(dt__cfunc *f) {
  char name[sizeof f->name];
  memcpy(name, f->name, sizeof name);
  dt__ctype_free(f->ret);
  for (int i = 0; i < f->nparams && i < DT__MAX_PARAMS; i++)
    dt__ctype_free(f->params[i].type);
  memset(f, 0, sizeof *f);
  memcpy(f->name, name, sizeof name);
  for (int i = 0; i < DT__MAX_PARAMS; i++)
    f->params[i].attr_len = -1;
}
