/* wire.c: the byte format of task and result records, and what both of
 * its ends derive from the config and from a call.
 *
 * A call the shim offloads travels as a task record from the calling
 * process to a runner, and its outcome comes back as a result record.
 * The format is kept in three files of one stage each, so that every byte
 * of it is still written in one place per direction:
 *   - this file: the configuration fingerprint that a task carries, the
 *     byte counts of buffer parameters (which the encoder, the decoder
 *     and the caller applying a result must agree on), the check of a
 *     signature and the reporting of a bad record;
 *   - queue/wire_task.c: encoding a call's arguments as a task, and
 *     decoding a task into a frame that ffi_call can use;
 *   - queue/wire_result.c: encoding the outcome as a result, and applying
 *     a result in the caller.
 * The two stage files call this one and queue/wire_io.h (the bounded
 * byte writer and reader), never each other.
 *
 * The layout is the one described in queue/wire.h.  Two points it leaves
 * open are settled in the stage files:
 *   - a buffer whose present byte is 0 (a NULL pointer) is followed by
 *     nothing: no nbytes, no data;
 *   - in a result whose status is not 0, the u32 length and the message
 *     follow the call_id directly (there is no ret field).
 *
 * Records are read and written a byte at a time with shifts, so they are
 * little-endian on every host and the buffers may have any alignment (the
 * queue hands out LMDB reserved space).  Every length is checked against
 * what is left of the record before it is used, so a truncated, corrupted
 * or hostile record yields an error with a sentence, never a read outside
 * the record.  No record or allocation may exceed DT__WIRE_MAX_BYTES.
 * Scalars are in the wire form of config/types.c.
 *
 * There is no global state: every function works on what it is given and
 * may be called from any number of threads at once. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"
#include "common/fnv.h"
#include "config/config.h"
#include "config/sig.h"
#include "config/types.h"
#include "queue/wire.h"
#include "queue/wire_io.h"

/* ------------------------------------------------------------- reporting */

/* Writes a sentence into err (which may be NULL; a record has no line or
 * column, so they are 0) and returns rc, so that checks can be written
 * `return dt__wire_fail(...)`. */
int dt__wire_fail(dt__error *err, int rc, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    err->line = 0;
    err->col = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* Empties err (which may be NULL) before a decode, so that it holds a
 * sentence exactly when the decode fails. */
void dt__wire_clear(dt__error *err) {
  if (err != NULL) {
    err->line = 0;
    err->col = 0;
    err->msg[0] = '\0';
  }
}

/* True if sig can describe a record: not NULL, at most DT__MAX_PARAMS
 * parameters. */
bool dt__wire_sig_ok(const dt__sig *sig) {
  return sig != NULL && sig->nparams >= 0 && sig->nparams <= DT__MAX_PARAMS;
}

/* ----------------------------------------------------------- fingerprint */

/* Hashes n bytes at p into *h (FNV-1a 64). */
static void fnv_bytes(uint64_t *h, const void *p, size_t n) {
  *h = dt__fnv(*h, p, n);
}

/* Hashes v as 8 little-endian bytes, whatever the host. */
static void fnv_u64(uint64_t *h, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  fnv_bytes(h, b, sizeof b);
}

/* Hashes a string with its length first, so that field boundaries are
 * part of the hash ("ab","c" differs from "a","bc"). */
static void fnv_str(uint64_t *h, const char *s, size_t max) {
  size_t n = s != NULL ? strnlen(s, max) : 0;
  fnv_u64(h, n);
  if (n > 0)
    fnv_bytes(h, s, n);
}

/* A name for each tag that does not depend on the order of the enum, so
 * that the fingerprint survives a reordering of dt__tag. */
static const char *tag_key(dt__tag tag) {
  switch (tag) {
  case DT__T_VOID: return "void";
  case DT__T_BOOL: return "bool";
  case DT__T_CHAR: return "char";
  case DT__T_SCHAR: return "schar";
  case DT__T_UCHAR: return "uchar";
  case DT__T_SHORT: return "short";
  case DT__T_USHORT: return "ushort";
  case DT__T_INT: return "int";
  case DT__T_UINT: return "uint";
  case DT__T_LONG: return "long";
  case DT__T_ULONG: return "ulong";
  case DT__T_LLONG: return "llong";
  case DT__T_ULLONG: return "ullong";
  case DT__T_INT8: return "int8";
  case DT__T_INT16: return "int16";
  case DT__T_INT32: return "int32";
  case DT__T_INT64: return "int64";
  case DT__T_UINT8: return "uint8";
  case DT__T_UINT16: return "uint16";
  case DT__T_UINT32: return "uint32";
  case DT__T_UINT64: return "uint64";
  case DT__T_SIZE: return "size_t";
  case DT__T_SSIZE: return "ssize_t";
  case DT__T_OFF: return "off_t";
  case DT__T_INTPTR: return "intptr";
  case DT__T_UINTPTR: return "uintptr";
  case DT__T_FLOAT: return "float";
  case DT__T_DOUBLE: return "double";
  case DT__T_CSTRING: return "cstring";
  case DT__T_USER: return "user";
  }
  return "?";
}

/* Hashes a type: its tag, size and alignment, and a user type's name. */
static void fnv_type(uint64_t *h, const dt__type *t) {
  fnv_str(h, tag_key(t->tag), 16);
  fnv_u64(h, t->size);
  fnv_u64(h, t->align);
  if (t->tag == DT__T_USER)
    fnv_str(h, t->utype != NULL ? t->utype->name : t->name, 64);
}

/* A stable 64-bit fingerprint of the offload entries of cfg: symbol,
 * version and the signature as parsed (types, directions, lengths).
 *
 * FNV-1a 64 over a canonical rendering: a format
 * tag and the number of entries, then per entry its symbol, version,
 * library and function name, return type, timeout, and per parameter its
 * direction, type and length (constant and factor indices).  Every
 * integer is hashed as 8 little-endian bytes and every string with its
 * length, so the value depends only on the config, never on the host's
 * byte order or on memory contents past a string's end. */
uint64_t dt__wire_fingerprint(const dt__config *cfg) {
  uint64_t h = DT__FNV_OFFSET;
  fnv_str(&h, "dtask offload fingerprint", 64);
  fnv_u64(&h, DT__WIRE_VERSION);
  if (cfg == NULL)
    return h;
  fnv_u64(&h, cfg->noffloads);
  for (size_t e = 0; e < cfg->noffloads; e++) {
    const dt__offload *o = &cfg->offloads[e];
    const dt__sig *sig = &o->sig;
    fnv_str(&h, o->symbol, sizeof o->symbol);
    fnv_str(&h, o->version, sizeof o->version);
    fnv_str(&h, o->library, sizeof o->library);
    fnv_str(&h, sig->name, sizeof sig->name);
    fnv_type(&h, &sig->ret);
    /* The runner enforces the timeout: a different one is another
     * config. */
    fnv_u64(&h, o->policy.timeout_ns);
    fnv_u64(&h, (uint64_t)(int64_t)sig->nparams);
    for (int i = 0; i < sig->nparams && i < DT__MAX_PARAMS; i++) {
      const dt__param *p = &sig->params[i];
      fnv_u64(&h, (uint64_t)p->dir);
      fnv_type(&h, &p->type);
      if (p->is_buffer) {
        fnv_u64(&h, p->len.constant);
        fnv_u64(&h, (uint64_t)(int64_t)p->len.nfactors);
        for (int k = 0; k < p->len.nfactors && k < DT__MAX_LEN_FACTORS; k++)
          fnv_u64(&h, (uint64_t)(int64_t)p->len.factors[k]);
      }
    }
  }
  return h;
}

/* --------------------------------------------------------------- buffers */

/* *a *= b, or false when the product does not fit in 64 bits. */
static bool mul_ok(uint64_t *a, uint64_t b) {
  if (b != 0 && *a > UINT64_MAX / b)
    return false;
  *a *= b;
  return true;
}

/* The alignment a buffer or string of type t starts on wherever a call's
 * arguments are laid out again (a worker's decoded frame, an async call's
 * copy): 16 bytes, or the type's own alignment when that is a larger
 * power of two, up to a page. */
size_t dt__wire_frame_align(const dt__type *t) {
  size_t a = t->align;
  if (a > 16 && a <= 4096 && (a & (a - 1)) == 0)
    return a;
  return 16;
}

/* The byte count of a buffer parameter for one call: element size times
 * LEN evaluated on the call's integer arguments (args as libffi passes
 * them).  Returns 0 and *nbytes, or -EOVERFLOW, or -ERANGE when a length
 * argument is negative.
 *
 * Each factor is read with its own width and signedness
 * (dt__scalar_count); any negative factor is -ERANGE, even when another
 * factor is 0.  Returns -EINVAL when param is not a buffer of sig or its
 * length names something that is not an integer passed by value. */
int dt__wire_buffer_bytes(const dt__sig *sig, int param, void **args,
                          uint64_t *nbytes) {
  if (!dt__wire_sig_ok(sig) || param < 0 || param >= sig->nparams ||
      !sig->params[param].is_buffer)
    return -EINVAL;
  const dt__param *p = &sig->params[param];
  if (p->len.nfactors < 0 || p->len.nfactors > DT__MAX_LEN_FACTORS)
    return -EINVAL;
  uint64_t vals[DT__MAX_LEN_FACTORS];
  for (int k = 0; k < p->len.nfactors; k++) {
    int j = p->len.factors[k];
    if (j < 0 || j >= sig->nparams || j == param)
      return -EINVAL;
    const dt__param *q = &sig->params[j];
    if (q->is_buffer)
      return -EINVAL;
    int rc = dt__scalar_count(&q->type, args[j], &vals[k]);
    if (rc != 0)
      return rc;
  }
  uint64_t n = p->type.size;
  if (!mul_ok(&n, p->len.constant))
    return -EOVERFLOW;
  for (int k = 0; k < p->len.nfactors; k++)
    if (!mul_ok(&n, vals[k]))
      return -EOVERFLOW;
  *nbytes = n;
  return 0;
}

/* The most bytes one call may take in the queue in each direction (its
 * task, its result): cfg's [queue] max_call_size, a quarter of map_size
 * (what the queue lets one record take) and DT__WIRE_MAX_BYTES, the
 * least of them.  Both the caller (before queueing) and the worker
 * (before allocating for a task) check against it.  cfg NULL: the
 * record limit alone. */
uint64_t dt__wire_call_limit(const dt__config *cfg) {
  uint64_t lim = DT__WIRE_MAX_BYTES;
  if (cfg == NULL)
    return lim;
  if (cfg->max_call_size > 0 && cfg->max_call_size < lim)
    lim = cfg->max_call_size;
  if (cfg->map_size / 4 < lim)
    lim = cfg->map_size / 4;
  return lim;
}
