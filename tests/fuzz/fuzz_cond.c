/* fuzz_cond.c: the fuzz harness of the comparison grammar of retry_if and
 * offload_if (config/cond.c).
 *
 * The input is a comparison, "NAME OP LITERAL", as the config's string
 * holds it: the bytes up to the first NUL, parsed by dt__cond_parse.  A
 * refusal must be -EINVAL.  An accepted comparison is unbound (param -1,
 * no position), formats (dt__cond_format) to text that parses back to
 * the same comparison (tests/config/test_cond.c's round trip: a whole
 * float may come back as an integer of the same value), and is then
 * bound, as config.c and policy.c bind it, to each type of a set: where
 * dt__cond_misfit allows it, it is evaluated (dt__cond_eval) on every
 * boundary value of the type's wire form, and for the types that have no
 * NaN the comparison and its complement (== and !=, < and >=, <= and >)
 * must never both hold nor both fail.  Dictionary: tests/fuzz/cond.dict;
 * corpus: tests/fuzz/corpus/cond/. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cond.h"
#include "config/types.h"
#include "fuzz/fuzz.h"

/* The types a comparison is bound to. */
static const char *const cond_types[] = {
    "bool", "char", "uchar", "short", "int", "uint", "long", "ulong",
    "int8", "uint16", "int64", "uint64", "size_t", "ssize_t", "float",
    "double", "cstring"};

/* The wire values every bound comparison is evaluated on (each wrapped
 * to the type). */
static const uint64_t cond_values[] = {
    0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
    0x80000000u, 0xffffffffu, INT64_MAX, (uint64_t)INT64_MIN, UINT64_MAX,
    UINT64_MAX - 1, 0x3ff0000000000000ull /* 1.0 */,
    0x7ff8000000000000ull /* NaN */, 0x3f800000u /* 1.0f */};

/* The operator that holds exactly when op does not. */
static dt__cmp cond_complement(dt__cmp op) {
  switch (op) {
  case DT__CMP_EQ:
    return DT__CMP_NE;
  case DT__CMP_NE:
    return DT__CMP_EQ;
  case DT__CMP_LT:
    return DT__CMP_GE;
  case DT__CMP_GE:
    return DT__CMP_LT;
  case DT__CMP_LE:
    return DT__CMP_GT;
  case DT__CMP_GT:
    break;
  }
  return DT__CMP_LE;
}

/* Formats c and parses the text back: it must be the same comparison. */
static void cond_round_trip(const dt__cond *c) {
  char out[256];
  dt__cond b;
  dt__cond_format(c, out, sizeof out);
  dt__fuzz_check(dt__cond_parse(out, &b) == 0,
                 "a comparison formats to text that does not parse");
  bool same_value =
      c->lit == b.lit
          ? c->i == b.i && c->big == b.big && c->u == b.u &&
                memcmp(&c->d, &b.d, sizeof c->d) == 0
      : c->lit == DT__LIT_FLOAT && b.lit == DT__LIT_INT
          ? (b.big ? (double)b.u == c->d : (double)b.i == c->d)
          : false;
  dt__fuzz_check(strcmp(c->name, b.name) == 0 && c->op == b.op && same_value,
                 "a comparison formats to text that parses to another");
}

/* Binds c to the type named name and evaluates it, with its complement,
 * on every value of cond_values. */
static void cond_bind(const dt__cond *c, const char *name) {
  dt__type t;
  if (dt__type_lookup(name, NULL, 0, &t) != 0)
    return;
  if (dt__cond_misfit(c, &t) != NULL)
    return;
  dt__cond not = *c;
  not.op = cond_complement(c->op);
  bool real = t.tag == DT__T_FLOAT || t.tag == DT__T_DOUBLE;
  for (size_t i = 0; i < sizeof cond_values / sizeof *cond_values; i++) {
    uint64_t v = t.tag == DT__T_CSTRING ? cond_values[i]
                                        : dt__scalar_wrap(&t, cond_values[i]);
    if (t.tag != DT__T_CSTRING && !dt__scalar_valid(&t, v))
      continue;
    int a = dt__cond_eval(c, &t, v);
    int b = dt__cond_eval(&not, &t, v);
    if (!real)
      dt__fuzz_check((a != 0) != (b != 0),
                     "a comparison and its complement agree");
  }
}

/* Parses data[0, size) up to its first NUL as a comparison, and checks,
 * formats, binds and evaluates what it accepts.  Always returns 0. */
int dt__fuzz_cond(const uint8_t *data, size_t size) {
  char *text = dt__fuzz_cstr(data, size);
  if (text == NULL)
    return 0;
  dt__cond c;
  int rc = dt__cond_parse(text, &c);
  free(text);
  if (rc != 0) {
    dt__fuzz_check(rc == -EINVAL, "a refusal that is not -EINVAL");
    return 0;
  }
  dt__fuzz_check(c.param == -1 && c.line == 0 && c.col == 0,
                 "a parsed comparison that is already bound");
  cond_round_trip(&c);
  for (size_t i = 0; i < sizeof cond_types / sizeof *cond_types; i++)
    cond_bind(&c, cond_types[i]);
  return 0;
}

DT__FUZZ_ENTRY(dt__fuzz_cond)
