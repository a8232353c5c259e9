/* cond.h: the comparison grammar of retry_if and offload_if, "NAME OP
 * LITERAL" (config/cond.c). */
#ifndef DT_COND_H
#define DT_COND_H

#include "config/types.h"

/* A literal from the config, kept as written until it is bound to a
 * type. */
typedef enum dt__lit { DT__LIT_NONE, DT__LIT_INT, DT__LIT_FLOAT,
                       DT__LIT_BOOL, DT__LIT_NULL } dt__lit;

typedef enum dt__cmp { DT__CMP_EQ, DT__CMP_NE, DT__CMP_LT, DT__CMP_LE,
                       DT__CMP_GT, DT__CMP_GE } dt__cmp;

/* One comparison: retry_if's NAME is ret, offload_if's a parameter. */
typedef struct dt__cond {
  char name[64];  /* as written */
  int param;      /* bound to a parameter: its index; -1 otherwise */
  dt__cmp op;
  dt__lit lit;    /* the literal's kind */
  long long i;    /* DT__LIT_INT, DT__LIT_BOOL */
  unsigned long long u; /* DT__LIT_INT above LLONG_MAX (big set) */
  int big;        /* the literal is u, above every signed value */
  double d;       /* DT__LIT_FLOAT */
  int line, col;  /* where it was written (0: implied) */
} dt__cond;

int dt__cond_parse(const char *text, dt__cond *c);
const char *dt__cond_misfit(const dt__cond *c, const dt__type *t);
int dt__cond_eval(const dt__cond *c, const dt__type *t, uint64_t v);
void dt__cond_format(const dt__cond *c, char *out, size_t size);

#endif /* DT_COND_H */
