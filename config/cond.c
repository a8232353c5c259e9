/* cond.c: one comparison written in the config, "NAME OP LITERAL".
 *
 * Two keys use it: retry_if = "ret < 0" (policy.c: which return values
 * are failures) and offload_if = "n >= 1000" (config.c: which calls are
 * worth sending to a runner; the others run in the caller, as NVBLAS
 * keeps small matrices on the CPU).  This file owns the small grammar (a
 * name, one of == != < <= > >=, then an integer, a float, true, false or
 * NULL), the check that a literal can be compared with a given type, and
 * the comparison itself, on a value in the wire form (config/types.c), so
 * that the same code judges a return value and an argument.  Nothing here
 * allocates; the messages are left to the callers, which know the key
 * and what to suggest. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cond.h"
#include "config/sig.h"
#include "config/types.h"

static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};

/* Parses text into *c (param = -1, line and col 0).  Returns 0, or
 * -EINVAL when text is not NAME OP LITERAL; the caller says so. */
int dt__cond_parse(const char *text, dt__cond *c) {
  /* Longer operators first, so that "<=" is not read as "<". */
  static const char *const by_len[] = {"==", "!=", "<=", ">=", "<", ">"};
  static const dt__cmp cmps[] = {DT__CMP_EQ, DT__CMP_NE, DT__CMP_LE,
                                 DT__CMP_GE, DT__CMP_LT, DT__CMP_GT};
  const char *s = text;
  memset(c, 0, sizeof *c);
  c->param = -1;
  while (*s == ' ')
    s++;
  size_t n = 0;
  if (!isalpha((unsigned char)*s) && *s != '_')
    return -EINVAL;
  while (isalnum((unsigned char)s[n]) || s[n] == '_')
    n++;
  if (n >= sizeof c->name)
    return -EINVAL;
  memcpy(c->name, s, n);
  c->name[n] = '\0';
  for (s += n; *s == ' '; s++)
    ;
  int op = -1;
  for (int i = 0; i < 6 && op < 0; i++)
    if (strncmp(s, by_len[i], strlen(by_len[i])) == 0) {
      op = i;
      s += strlen(by_len[i]);
    }
  if (op < 0)
    return -EINVAL;
  c->op = cmps[op];
  while (*s == ' ')
    s++;
  char lit[64];
  n = strcspn(s, " ");
  if (n == 0 || n >= sizeof lit)
    return -EINVAL;
  memcpy(lit, s, n);
  lit[n] = '\0';
  for (s += n; *s == ' '; s++)
    ;
  if (*s != '\0')
    return -EINVAL;
  if (strcmp(lit, "NULL") == 0) {
    c->lit = DT__LIT_NULL;
    return 0;
  }
  if (strcmp(lit, "true") == 0 || strcmp(lit, "false") == 0) {
    c->lit = DT__LIT_BOOL;
    c->i = lit[0] == 't';
    return 0;
  }
  /* An integer: decimal, or hexadecimal after 0x (a leading 0 is not
   * octal: "010" is ten), from INT64_MIN to UINT64_MAX. */
  const char *digits = lit;
  bool neg = false;
  if (*digits == '-' || *digits == '+')
    neg = *digits++ == '-';
  int base = 10;
  if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits += 2;
  }
  bool is_int = *digits != '\0';
  for (const char *q = digits; *q != '\0'; q++)
    if (!(base == 16 ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q)))
      is_int = false;
  char *end;
  if (is_int) {
    errno = 0;
    unsigned long long u = strtoull(digits, &end, base);
    if (errno != 0 || (neg && u > (unsigned long long)LLONG_MAX + 1))
      return -EINVAL; /* an integer, but out of range */
    c->lit = DT__LIT_INT;
    if (neg) {
      c->i = u == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)u;
    } else if (u > (unsigned long long)LLONG_MAX) {
      c->big = 1; /* above every signed value: kept as unsigned */
      c->u = u;
      c->i = LLONG_MAX;
    } else {
      c->i = (long long)u;
    }
    return 0;
  }
  double d = strtod(lit, &end);
  if (*end != '\0' || !isfinite(d))
    return -EINVAL;
  c->lit = DT__LIT_FLOAT;
  c->d = d;
  return 0;
}

/* NULL if c's literal can be compared with a value of type t; otherwise
 * why not, as a phrase ("an integer must be compared with an integer"). */
const char *dt__cond_misfit(const dt__cond *c, const dt__type *t) {
  if (t->tag == DT__T_CSTRING) {
    if (c->lit != DT__LIT_NULL || (c->op != DT__CMP_EQ && c->op != DT__CMP_NE))
      return "a string can only be compared with NULL, with == or !=";
    return NULL;
  }
  if (t->tag == DT__T_VOID)
    return "void has no value to compare";
  if (c->lit == DT__LIT_NULL)
    return "only a string (cstring) can be compared with NULL";
  if (dt__tag_is_integer(t->tag) && c->lit == DT__LIT_FLOAT)
    return "an integer must be compared with an integer";
  return NULL;
}

/* Compares a with b under op. */
#define CMP(op, a, b)                                                        \
  ((op) == DT__CMP_EQ   ? (a) == (b)                                         \
   : (op) == DT__CMP_NE ? (a) != (b)                                         \
   : (op) == DT__CMP_LT ? (a) < (b)                                          \
   : (op) == DT__CMP_LE ? (a) <= (b)                                         \
   : (op) == DT__CMP_GT ? (a) > (b)                                          \
                        : (a) >= (b))

/* Whether v, a value of type t in the wire's form (for a cstring: 0 when
 * NULL), satisfies c. */
int dt__cond_eval(const dt__cond *c, const dt__type *t, uint64_t v) {
  if (t->tag == DT__T_CSTRING)
    return c->op == DT__CMP_EQ ? v == 0 : v != 0;
  if (t->tag == DT__T_FLOAT || t->tag == DT__T_DOUBLE) {
    double d = dt__scalar_real(t, v);
    double lit = c->lit == DT__LIT_FLOAT ? c->d : (double)c->i;
    return CMP(c->op, d, lit);
  }
  if (dt__tag_is_signed(t->tag)) {
    int64_t a = (int64_t)v;
    if (c->big) /* above every signed value */
      return c->op == DT__CMP_NE || c->op == DT__CMP_LT || c->op == DT__CMP_LE;
    long long b = c->i;
    return CMP(c->op, a, b);
  }
  /* Unsigned: a negative literal is below every value. */
  if (c->i < 0)
    return c->op == DT__CMP_NE || c->op == DT__CMP_GT || c->op == DT__CMP_GE;
  uint64_t b = c->big ? c->u : (uint64_t)c->i;
  return CMP(c->op, v, b);
}

/* Renders c as "NAME OP LITERAL" into out. */
void dt__cond_format(const dt__cond *c, char *out, size_t size) {
  if (c->lit == DT__LIT_NULL)
    snprintf(out, size, "%s %s NULL", c->name, ops[c->op]);
  else if (c->lit == DT__LIT_FLOAT) {
    /* The shortest form that reads back as the same double. */
    char num[40];
    for (int prec = 6; prec <= 17; prec++) {
      snprintf(num, sizeof num, "%.*g", prec, c->d);
      if (strtod(num, NULL) == c->d)
        break;
    }
    snprintf(out, size, "%s %s %s", c->name, ops[c->op], num);
  } else if (c->big)
    snprintf(out, size, "%s %s %llu", c->name, ops[c->op], c->u);
  else if (c->lit == DT__LIT_BOOL)
    snprintf(out, size, "%s %s %s", c->name, ops[c->op],
             c->i ? "true" : "false");
  else
    snprintf(out, size, "%s %s %lld", c->name, ops[c->op], c->i);
}
