/* fuzz_wire.h: the calls the wire harnesses (tests/fuzz/fuzz_wire_task.c,
 * fuzz_wire_result.c, fuzz_sig.c) and their seed generator
 * (tests/fuzz/gen_seeds.c) make: a fixed set of signatures, chosen by an
 * input's first byte, and a caller's arguments for any signature, made
 * the same way by every one of them (so that a seed encoded by the
 * generator fits the arguments a harness sets up for it).
 *
 * Everything here is static or static inline: several harnesses may be
 * included into one translation unit (tests/fuzz/test_corpus.c). */
#ifndef DT_FUZZ_WIRE_H
#define DT_FUZZ_WIRE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/sig.h"
#include "config/types.h"
#include "queue/wire.h"

/* The call id every caller of the harnesses waits for, and every task of
 * the seeds carries. */
#define DT__FUZZ_CALL_ID 42u

/* The user types the signatures name: a plain struct, a small odd one,
 * one aligned past the frame's 16 bytes, and one aligned past the 4096
 * a frame honours. */
static const dt__utype dt__fuzz_utypes[] = {
    {"report", 32, 8, 1},
    {"point", 12, 4, 2},
    {"page", 64, 64, 3},
    {"huge", 8192, 8192, 4},
};
#define DT__FUZZ_NUTYPES (sizeof dt__fuzz_utypes / sizeof *dt__fuzz_utypes)

/* The signatures a wire input's first byte chooses from (modulo their
 * number): every kind of parameter and return, lengths of one and of
 * several factors, signed and unsigned length types. */
static const char *const dt__fuzz_sigs[] = {
    "int build_report(cstring period, out report r[1])",
    "ulong crc32(ulong crc, in uint8 buf[len], uint len)",
    "int score_batch(in report rows[n], size_t n, in double weights[m], "
    "size_t m, out double scores[n])",
    "double cos(double x)",
    "cstring name_of(inout char buf[n], size_t n, cstring fallback)",
    "void fill(out int32 a[2 * n * m], int n, short m, inout uint16 b[n])",
    "long legacy_lookup(int customer, out double balance[1])",
    "bool pick(float f, int8 c, uint64 u, char ch, bool b, ssize_t s)",
    "cstring dup(cstring s)",
    "void nothing(void)",
    "int paged(in page p[k], int k, out huge h[1], inout point q[k])",
    "float mix(in uint8 a[n], out uint8 b[n], inout uint8 c[n], size_t n, "
    "cstring s, double d, uint16 w)",
};
#define DT__FUZZ_NSIGS (sizeof dt__fuzz_sigs / sizeof *dt__fuzz_sigs)

/* Parses signature number (i modulo their number) into *sig; 0, or the
 * parser's error (a bug in the table). */
static inline int dt__fuzz_sig_pick(unsigned i, dt__sig *sig) {
  dt__error err;
  return dt__sig_parse(dt__fuzz_sigs[i % DT__FUZZ_NSIGS], dt__fuzz_utypes,
                       DT__FUZZ_NUTYPES, sig, &err);
}

/* The options of a caller's arguments, an input byte:
 *   bits 0-1  n: every integer passed by value is n (so every length
 *             is its constant times n to the power of its factors)
 *   bit 2     out and inout buffers are NULL
 *   bit 3     in buffers are NULL
 *   bit 4     cstrings are NULL
 *   bit 5     cstrings are empty */
#define DT__FUZZ_ARG_N(o) ((o) & 3u)
#define DT__FUZZ_ARG_NULL_OUT 0x04u
#define DT__FUZZ_ARG_NULL_IN 0x08u
#define DT__FUZZ_ARG_NULL_STR 0x10u
#define DT__FUZZ_ARG_EMPTY_STR 0x20u

/* A caller's arguments, as libffi passes them: args[i] points at
 * vals[i], the value itself or the buffer's or string's pointer; the
 * buffers and strings are malloc'd to their exact size (at least 1 byte),
 * so that ASan sees a byte written past one. */
typedef struct dt__fuzz_call {
  const dt__sig *sig;
  void *args[DT__MAX_PARAMS];
  union {
    uint64_t u;
    double d;
    float f;
    void *p;
    unsigned char b[8];
  } vals[DT__MAX_PARAMS];
  void *mem[DT__MAX_PARAMS];      /* each buffer or string, or NULL */
  uint64_t bytes[DT__MAX_PARAMS]; /* a buffer's size, a string's length */
} dt__fuzz_call;

/* Frees what dt__fuzz_call_make allocated for c (safe twice). */
static inline void dt__fuzz_call_free(dt__fuzz_call *c) {
  for (int i = 0; i < DT__MAX_PARAMS; i++) {
    free(c->mem[i]);
    c->mem[i] = NULL;
  }
}

/* Makes the arguments of a call of sig under opts (DT__FUZZ_ARG_*):
 * integers are n, bools 1, floats and doubles 1.5, strings "s0", "s1"...
 * (by parameter index), and buffers of the size their length says,
 * filled with a pattern.  Returns 0; -E2BIG, with nothing allocated,
 * when a buffer would be larger than max_bytes; -ENOMEM; or the error of
 * dt__wire_buffer_bytes for a length it cannot compute. */
static inline int dt__fuzz_call_make(dt__fuzz_call *c, const dt__sig *sig,
                                     unsigned opts, uint64_t max_bytes) {
  memset(c, 0, sizeof *c);
  c->sig = sig;
  uint64_t n = DT__FUZZ_ARG_N(opts);
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    c->args[i] = &c->vals[i];
    if (p->is_buffer || p->type.tag == DT__T_CSTRING)
      continue;
    uint64_t v = n;
    if (p->type.tag == DT__T_BOOL)
      v = 1;
    else if (p->type.tag == DT__T_FLOAT || p->type.tag == DT__T_DOUBLE)
      v = dt__scalar_from_real(&p->type, 1.5);
    dt__scalar_set(&p->type, v, &c->vals[i]);
  }
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->type.tag == DT__T_CSTRING && !p->is_buffer) {
      if (opts & DT__FUZZ_ARG_NULL_STR)
        continue;
      char *s = malloc(16);
      if (s == NULL)
        goto nomem;
      if (opts & DT__FUZZ_ARG_EMPTY_STR)
        s[0] = '\0';
      else
        snprintf(s, 16, "s%d", i);
      c->mem[i] = s;
      c->vals[i].p = s;
      c->bytes[i] = strlen(s);
      continue;
    }
    if (!p->is_buffer)
      continue;
    if ((p->dir == DT__DIR_IN && (opts & DT__FUZZ_ARG_NULL_IN)) ||
        (p->dir != DT__DIR_IN && (opts & DT__FUZZ_ARG_NULL_OUT)))
      continue;
    uint64_t bytes;
    int rc = dt__wire_buffer_bytes(sig, i, c->args, &bytes);
    if (rc != 0) {
      dt__fuzz_call_free(c);
      return rc;
    }
    if (bytes > max_bytes) {
      dt__fuzz_call_free(c);
      return -E2BIG;
    }
    unsigned char *b = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (b == NULL)
      goto nomem;
    for (uint64_t k = 0; k < bytes; k++)
      b[k] = (unsigned char)(i * 31 + k);
    c->mem[i] = b;
    c->vals[i].p = b;
    c->bytes[i] = bytes;
  }
  return 0;
nomem:
  dt__fuzz_call_free(c);
  return -ENOMEM;
}

#endif /* DT_FUZZ_WIRE_H */
