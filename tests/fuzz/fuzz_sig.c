/* fuzz_sig.c: the fuzz harness of the signature parser (config/sig.c,
 * with the type table of config/types.c).
 *
 * The input is a signature, as [[offload]] signature holds it: the bytes
 * up to the first NUL (the config gives the parser a C string), parsed by
 * dt__sig_parse against the user types of tests/fuzz/fuzz_wire.h
 * (report, point, page, huge), as config.c parses it against [types].
 * A refusal must be -EINVAL with a message; an accepted signature must
 * be what sig.h describes (at most DT__MAX_PARAMS parameters, a buffer
 * with a direction, every length factor an integer parameter passed by
 * value, not the buffer itself), is described as dtask check describes
 * it (into /dev/null), and then travels: a caller's arguments are made
 * for it (two ways: every length 2 and every string "sN"; every pointer
 * NULL), the task is measured and encoded (dt__wire_task_size,
 * dt__wire_task_encode) and decoded as a runner does
 * (dt__wire_task_decode), and the frame must hold the caller's values,
 * strings and in bytes.  A signature whose buffers would exceed 64 KiB
 * is not sent.  Dictionary: tests/fuzz/sig.dict; corpus:
 * tests/fuzz/corpus/sig/. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "config/sig.h"
#include "queue/wire.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_wire.h"

/* Checks what sig.h promises of a parsed signature. */
static void sig_check(const dt__sig *sig) {
  dt__fuzz_check(sig->nparams >= 0 && sig->nparams <= DT__MAX_PARAMS,
                 "a signature with too many parameters");
  dt__fuzz_check(sig->ret.tag != DT__T_USER, "a user type returned by value");
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    dt__fuzz_check(p->is_buffer == (p->dir != DT__DIR_VALUE),
                   "a buffer without a direction, or a value with one");
    dt__fuzz_check(p->is_buffer || p->type.tag != DT__T_USER,
                   "a user type passed by value");
    dt__fuzz_check(p->type.tag != DT__T_VOID, "a parameter of type void");
    if (!p->is_buffer)
      continue;
    dt__fuzz_check(p->len.nfactors >= 0 &&
                       p->len.nfactors <= DT__MAX_LEN_FACTORS,
                   "a length of too many factors");
    for (int k = 0; k < p->len.nfactors; k++) {
      int j = p->len.factors[k];
      dt__fuzz_check(j >= 0 && j < sig->nparams && j != i,
                     "a length factor that names no other parameter");
      const dt__param *q = &sig->params[j];
      dt__fuzz_check(!q->is_buffer && dt__tag_is_integer(q->type.tag),
                     "a length factor that is not an integer value");
    }
  }
}

/* Sends a call of sig with arguments made under opts through the wire
 * as a caller and a runner do, and checks that the runner's frame holds
 * the caller's arguments. */
static void sig_travel(const dt__sig *sig, unsigned opts) {
  dt__fuzz_call call;
  if (dt__fuzz_call_make(&call, sig, opts, 1u << 16) != 0)
    return;
  size_t size = 0;
  int rc = dt__wire_task_size(sig, call.args, NULL, &size);
  if (rc == -E2BIG || rc == -EOVERFLOW) {
    dt__fuzz_call_free(&call);
    return;
  }
  dt__fuzz_check(rc == 0, "a parsed signature that cannot be measured");
  uint8_t *rec = malloc(size);
  if (rec == NULL) {
    dt__fuzz_call_free(&call);
    return;
  }
  rc = dt__wire_task_encode(sig, 7, 0, DT__FUZZ_CALL_ID, 0, call.args, NULL,
                            rec, size);
  dt__fuzz_check(rc == 0, "a measured task that cannot be encoded");
  dt__frame f;
  dt__error err;
  rc = dt__wire_task_decode(sig, rec, size, &f, &err);
  dt__fuzz_check(rc == 0, "an encoded task that the runner refuses");
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->is_buffer || p->type.tag == DT__T_CSTRING) {
      dt__fuzz_check((f.buf[i] == NULL) == (call.mem[i] == NULL),
                     "a pointer that became NULL, or stopped being NULL");
      if (call.mem[i] == NULL)
        continue;
      dt__fuzz_check(f.bytes[i] == call.bytes[i], "a buffer of another size");
      if (p->dir != DT__DIR_OUT)
        dt__fuzz_check(memcmp(f.buf[i], call.mem[i],
                              (size_t)call.bytes[i]) == 0,
                       "bytes that changed on the way");
      if (!p->is_buffer)
        dt__fuzz_check(((const char *)f.buf[i])[f.bytes[i]] == '\0',
                       "a string without its NUL");
    } else {
      uint64_t a = 0, b = 0;
      dt__fuzz_check(dt__scalar_get(&p->type, call.args[i], &a) == 0 &&
                         dt__scalar_get(&p->type, f.argv[i], &b) == 0 &&
                         a == b,
                     "a value that changed on the way");
    }
  }
  uint64_t rbytes = 0;
  dt__fuzz_check(dt__wire_result_bytes(sig, call.args, &rbytes) == 0,
                 "a call whose result cannot be measured");
  dt__frame_free(&f);
  free(rec);
  dt__fuzz_call_free(&call);
}

/* Parses data[0, size) up to its first NUL as a signature, checks and
 * describes what it accepts, and sends calls of it through the wire.
 * Always returns 0. */
int dt__fuzz_sig(const uint8_t *data, size_t size) {
  char *text = dt__fuzz_cstr(data, size);
  if (text == NULL)
    return 0;
  dt__sig sig;
  dt__error err;
  memset(&err, 0, sizeof err);
  int rc = dt__sig_parse(text, dt__fuzz_utypes, DT__FUZZ_NUTYPES, &sig, &err);
  free(text);
  if (rc != 0) {
    dt__fuzz_check(rc == -EINVAL, "a refusal that is not -EINVAL");
    dt__fuzz_check(err.msg[0] != '\0', "a refusal without a message");
    return 0;
  }
  sig_check(&sig);
  FILE *null = dt__fuzz_null();
  if (null != NULL)
    dt__sig_describe(&sig, null);
  sig_travel(&sig, 2);
  sig_travel(&sig, 1 | DT__FUZZ_ARG_NULL_IN | DT__FUZZ_ARG_NULL_OUT |
                       DT__FUZZ_ARG_NULL_STR);
  return 0;
}

DT__FUZZ_ENTRY(dt__fuzz_sig)
