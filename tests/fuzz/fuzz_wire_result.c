/* fuzz_wire_result.c: the fuzz harness of the result decoder
 * (queue/wire_result.c), driven as a caller drives it (shim/trip.c,
 * apply_result): a result record from the queue applied to the call's
 * own arguments.
 *
 * Input: data[0] chooses the signature (tests/fuzz/fuzz_wire.h, modulo
 * their number), data[1] the caller's arguments (DT__FUZZ_ARG_*: the
 * count n every length is made of, which buffers and strings are NULL),
 * data[2] how the result is applied, and the rest is the result record,
 * exactly that many bytes.  The caller waits for call DT__FUZZ_CALL_ID.
 * data[2]:
 *   bit 0     dt__wire_result_apply_keep, with a keep that copies the
 *             returned string (as shim/rstring.c interns it), instead of
 *             dt__wire_result_apply
 *   bits 1-2  apply: the caller's string buffer holds 0 (none), 4, 64
 *             or 4096 bytes; apply_keep: bit 1 makes keep fail (-ENOMEM)
 *   bit 3     no return buffer (ret NULL)
 *   bit 4     no errno wanted (errnum NULL)
 *
 * What the decoder promises is checked: the record is validated whole
 * before anything is written, so a refusal (a negative errno, with a
 * message) and an error status leave the return buffer and every out
 * and inout buffer as they were (the status' detail may reach errno); a
 * string that does not fit is -ENOSPC with the size it needs, and the
 * same record then applies to a buffer of that size; a returned string
 * is NULL, in the caller's string buffer or keep's copy, or a place
 * inside one of the caller's own non-NULL buffers or strings.  The
 * arguments are malloc'd to their exact sizes (ASan sees a write past
 * one) and freed, with keep's copies.  Corpus:
 * tests/fuzz/corpus/wire_result/, made by tests/fuzz/gen_seeds.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/sig.h"
#include "queue/wire.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_wire.h"

/* The caller's string buffer sizes that data[2] bits 1-2 choose. */
static const size_t result_caps[] = {0, 4, 64, 4096};

/* What the harness's keep owns: the copies it made, and whether it
 * fails. */
typedef struct result_keep {
  bool fail;
  int n;
  char *copies[4];
} result_keep;

/* The keep of dt__wire_result_apply_keep: a NUL-terminated copy of the
 * len bytes at s (which must hold no NUL), owned by ctx (a result_keep);
 * -ENOMEM when told to fail. */
static int result_keep_fn(void *ctx, const char *s, size_t len,
                          const char **out) {
  result_keep *k = ctx;
  dt__fuzz_check(memchr(s, '\0', len) == NULL,
                 "keep is handed a string with a NUL inside");
  if (k->fail || k->n == (int)(sizeof k->copies / sizeof *k->copies))
    return -ENOMEM;
  char *c = malloc(len + 1);
  if (c == NULL)
    return -ENOMEM;
  memcpy(c, s, len);
  c[len] = '\0';
  k->copies[k->n++] = c;
  *out = c;
  return 0;
}

/* A copy of what apply may write in the caller's memory: the return
 * buffer and the out and inout buffers. */
typedef struct result_snap {
  unsigned char ret[32];
  void *bufs[DT__MAX_PARAMS];
} result_snap;

/* Takes a snapshot of c's out and inout buffers and of ret (NULL:
 * none); returns false when memory runs out. */
static bool result_take(result_snap *s, const dt__fuzz_call *c,
                        const unsigned char *ret) {
  memset(s, 0, sizeof *s);
  if (ret != NULL)
    memcpy(s->ret, ret, sizeof s->ret);
  for (int i = 0; i < c->sig->nparams; i++) {
    const dt__param *p = &c->sig->params[i];
    if (!p->is_buffer || p->dir == DT__DIR_IN || c->mem[i] == NULL)
      continue;
    s->bufs[i] = malloc(c->bytes[i] > 0 ? (size_t)c->bytes[i] : 1);
    if (s->bufs[i] == NULL)
      return false;
    memcpy(s->bufs[i], c->mem[i], (size_t)c->bytes[i]);
  }
  return true;
}

/* Whether c's buffers and ret are still what s holds. */
static bool result_same(const result_snap *s, const dt__fuzz_call *c,
                        const unsigned char *ret) {
  if (ret != NULL && memcmp(s->ret, ret, sizeof s->ret) != 0)
    return false;
  for (int i = 0; i < c->sig->nparams; i++)
    if (s->bufs[i] != NULL &&
        memcmp(s->bufs[i], c->mem[i], (size_t)c->bytes[i]) != 0)
      return false;
  return true;
}

/* Frees a snapshot's copies. */
static void result_drop(result_snap *s) {
  for (int i = 0; i < DT__MAX_PARAMS; i++)
    free(s->bufs[i]);
}

/* Whether p, a returned string the caller got, is a place inside one of
 * c's non-NULL buffers (its bytes) or strings (its bytes and NUL). */
static bool result_in_args(const dt__fuzz_call *c, const char *p) {
  for (int i = 0; i < c->sig->nparams; i++) {
    const dt__param *q = &c->sig->params[i];
    if (c->mem[i] == NULL || (!q->is_buffer && q->type.tag != DT__T_CSTRING))
      continue;
    const char *b = c->mem[i];
    uint64_t lim = c->bytes[i] + (q->is_buffer ? 0 : 1);
    if (p >= b && (uint64_t)(p - b) < lim)
      return true;
  }
  return false;
}

/* Applies the result record data[3, size) to a call of the signature
 * data[0] chooses, with the arguments data[1] makes, the way data[2]
 * says, and checks the promises above.  Always returns 0. */
int dt__fuzz_wire_result(const uint8_t *data, size_t size) {
  if (size < 3)
    return 0;
  dt__sig sig;
  if (dt__fuzz_sig_pick(data[0], &sig) != 0)
    return 0;
  dt__fuzz_call call;
  if (dt__fuzz_call_make(&call, &sig, data[1], 1u << 16) != 0)
    return 0;
  unsigned how = data[2];
  const uint8_t *rec = data + 3;
  size_t n = size - 3;

  unsigned char ret[32];
  memset(ret, 0x5a, sizeof ret);
  unsigned char *retp = (how & 0x08u) ? NULL : ret;
  int errnum = -12345;
  int *errp = (how & 0x10u) ? NULL : &errnum;
  size_t cap = result_caps[(how >> 1) & 3u];
  char *cstr = cap > 0 ? malloc(cap) : NULL;
  result_keep keep = {(how & 0x02u) != 0, 0, {NULL}};
  result_snap snap;
  dt__error err;
  memset(&snap, 0, sizeof snap);
  if ((cap > 0 && cstr == NULL) || !result_take(&snap, &call, retp))
    goto out;

  size_t need = 0;
  int rc;
  if (how & 0x01u)
    rc = dt__wire_result_apply_keep(&sig, call.args, DT__FUZZ_CALL_ID, rec, n,
                                    retp, errp, result_keep_fn, &keep, &err);
  else
    rc = dt__wire_result_apply(&sig, call.args, DT__FUZZ_CALL_ID, rec, n,
                               retp, errp, cstr, cap, &need, &err);
  if (rc == -ENOSPC && !(how & 0x01u)) {
    /* The caller grows its buffer and applies the same record again. */
    dt__fuzz_check(need > cap, "-ENOSPC, asking for no more room");
    dt__fuzz_check(result_same(&snap, &call, retp) && errnum == -12345,
                   "a string that did not fit, and something was written");
    char *bigger = realloc(cstr, need);
    if (bigger == NULL)
      goto out;
    cstr = bigger;
    cap = need;
    rc = dt__wire_result_apply(&sig, call.args, DT__FUZZ_CALL_ID, rec, n,
                               retp, errp, cstr, cap, &need, &err);
    dt__fuzz_check(rc >= 0, "a record that fit no longer applies");
  }
  if (rc < 0) {
    dt__fuzz_check(err.msg[0] != '\0', "a refused result without a message");
    dt__fuzz_check(result_same(&snap, &call, retp) && errnum == -12345,
                   "a refused result wrote into the caller's memory");
  } else if (rc > 0) {
    dt__fuzz_check(result_same(&snap, &call, retp),
                   "an error result wrote the return value or a buffer");
  } else if (sig.ret.tag == DT__T_CSTRING && retp != NULL) {
    const char *s;
    memcpy(&s, retp, sizeof s);
    bool kept = false;
    for (int i = 0; i < keep.n; i++)
      kept = kept || s == keep.copies[i];
    dt__fuzz_check(s == NULL || (cstr != NULL && s == cstr) || kept ||
                       result_in_args(&call, s),
                   "a returned string that points outside the caller's "
                   "own memory");
  }
out:
  result_drop(&snap);
  for (int i = 0; i < keep.n; i++)
    free(keep.copies[i]);
  free(cstr);
  dt__fuzz_call_free(&call);
  return 0;
}

DT__FUZZ_ENTRY(dt__fuzz_wire_result)
