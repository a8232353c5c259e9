/* sig.h: the signature language, "int f(cstring s, out report r[1])"
 * (config/sig.c). */
#ifndef DT_SIG_H
#define DT_SIG_H

#include <stdio.h>

#include "common/error.h"
#include "config/types.h"

typedef enum dt__dir {
  DT__DIR_VALUE, /* a scalar or cstring passed by value */
  DT__DIR_IN,    /* buffer copied to the callee */
  DT__DIR_OUT,   /* buffer copied back to the caller */
  DT__DIR_INOUT  /* both */
} dt__dir;

#define DT__MAX_PARAMS 32
#define DT__MAX_LEN_FACTORS 4

/* LEN = constant * params[0] * params[1] * ...  (constant defaults to 1). */
typedef struct dt__len {
  uint64_t constant;
  int nfactors;
  int factors[DT__MAX_LEN_FACTORS]; /* parameter indices */
} dt__len;

typedef struct dt__param {
  char name[64];
  dt__dir dir;
  dt__type type; /* element type for buffers */
  int is_buffer; /* dir != VALUE */
  dt__len len;   /* for buffers */
  int col;       /* column inside the signature string, 1-based */
} dt__param;

typedef struct dt__sig {
  char name[128]; /* the function name written in the signature */
  dt__type ret;   /* DT__T_VOID, a scalar or DT__T_CSTRING */
  int nparams;
  dt__param params[DT__MAX_PARAMS];
} dt__sig;

int dt__sig_parse(const char *text, const dt__utype *utypes, size_t nutypes,
                  dt__sig *sig, dt__error *err);
void dt__sig_describe(const dt__sig *sig, FILE *out);
int dt__sig_find(const dt__sig *sig, const char *name);

#endif /* DT_SIG_H */
