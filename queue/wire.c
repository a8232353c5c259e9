/* wire.c: the byte format of task and result records.
 *
 * A call the shim offloads travels as a task record from the calling
 * process to a runner, and its outcome comes back as a result record.
 * This file owns both formats: the configuration fingerprint that a task
 * carries, the byte counts of buffer parameters, encoding a call's
 * arguments, decoding them into a frame that ffi_call can use, and the
 * same two steps for the result.  Keeping every byte of the format in one
 * file means the two ends cannot disagree about it.
 *
 * The layout is the one described in queue/wire.h.  Two points it
 * leaves open are settled here:
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
 * the record.  No record or allocation may exceed WIRE_MAX_BYTES.
 *
 * There is no global state: every function works on what it is given and
 * may be called from any number of threads at once. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/config.h"
#include "config/sig.h"
#include "config/types.h"
#include "queue/wire.h"

/* The fixed part of a task: magic, version, flags, fingerprint, entry,
 * nargs, call_id and the caller's errno. */
#define TASK_HEADER 36
/* The fixed part of a result: magic, version, status, errno, call_id. */
#define RESULT_HEADER 20
/* The u32 length that stands for a NULL cstring. */
#define NULL_LEN 0xffffffffu
/* The largest record, and the largest block a runner allocates for one
 * call's buffers. */
#define WIRE_MAX_BYTES ((uint64_t)1 << 30)
/* Every buffer and string in a decoded frame starts on this boundary (or
 * on its element type's alignment when that is larger, up to FRAME_MAX). */
#define FRAME_ALIGN 16
#define FRAME_MAX_ALIGN 4096

static const uint8_t task_magic[4] = {'D', 'T', 'Q', '1'};
static const uint8_t result_magic[4] = {'D', 'T', 'R', '1'};

/* Writes a sentence into err (which may be NULL; a record has no line or
 * column, so they are 0) and returns rc, so that checks can be written
 * `return fail(...)`. */
static int fail(dt__error *err, int rc, const char *fmt, ...)
    DT__PRINTF(3, 4);
static int fail(dt__error *err, int rc, const char *fmt, ...) {
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
static void clear(dt__error *err) {
  if (err != NULL) {
    err->line = 0;
    err->col = 0;
    err->msg[0] = '\0';
  }
}

/* -------------------------------------------------------------- writing */

/* A bounded cursor over an output buffer.  A write that does not fit sets
 * overflow and writes nothing; the caller checks overflow once at the end. */
typedef struct writer {
  uint8_t *p;
  size_t size;
  size_t pos;
  bool overflow;
} writer;

static void put_bytes(writer *w, const void *src, size_t n) {
  if (w->overflow || n > w->size - w->pos) {
    w->overflow = true;
    return;
  }
  if (n > 0)
    memcpy(w->p + w->pos, src, n);
  w->pos += n;
}

static void put_u8(writer *w, uint8_t v) { put_bytes(w, &v, 1); }

static void put_u16(writer *w, uint16_t v) {
  uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  put_bytes(w, b, sizeof b);
}

static void put_u32(writer *w, uint32_t v) {
  uint8_t b[4];
  for (int i = 0; i < 4; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  put_bytes(w, b, sizeof b);
}

static void put_u64(writer *w, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(v >> (8 * i));
  put_bytes(w, b, sizeof b);
}

/* -------------------------------------------------------------- reading */

/* A bounded cursor over a record.  Each get_ function returns false, and
 * leaves the cursor where it was, when the record has too few bytes left. */
typedef struct reader {
  const uint8_t *p;
  size_t size;
  size_t pos;
} reader;

static size_t left(const reader *r) { return r->size - r->pos; }

/* Points *out at the next n bytes of the record (no copy). */
static bool get_bytes(reader *r, uint64_t n, const uint8_t **out) {
  if (n > left(r))
    return false;
  *out = r->p + r->pos;
  r->pos += (size_t)n;
  return true;
}

static bool get_u8(reader *r, uint8_t *v) {
  const uint8_t *b;
  if (!get_bytes(r, 1, &b))
    return false;
  *v = b[0];
  return true;
}

static bool get_u16(reader *r, uint16_t *v) {
  const uint8_t *b;
  if (!get_bytes(r, 2, &b))
    return false;
  *v = (uint16_t)(b[0] | (unsigned)b[1] << 8);
  return true;
}

static bool get_u32(reader *r, uint32_t *v) {
  const uint8_t *b;
  if (!get_bytes(r, 4, &b))
    return false;
  *v = 0;
  for (int i = 0; i < 4; i++)
    *v |= (uint32_t)b[i] << (8 * i);
  return true;
}

static bool get_u64(reader *r, uint64_t *v) {
  const uint8_t *b;
  if (!get_bytes(r, 8, &b))
    return false;
  *v = 0;
  for (int i = 0; i < 8; i++)
    *v |= (uint64_t)b[i] << (8 * i);
  return true;
}

/* ------------------------------------------------------------- integers */

/* Converts a u32 read from a record to the int32 it encodes. */
static int32_t u32_to_i32(uint32_t v) {
  return v <= INT32_MAX ? (int32_t)v : -(int32_t)(~v) - 1;
}

/* ----------------------------------------------------------- fingerprint */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static void fnv_bytes(uint64_t *h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) {
    *h ^= b[i];
    *h *= FNV_PRIME;
  }
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
  uint64_t h = FNV_OFFSET;
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

static bool sig_ok(const dt__sig *sig) {
  return sig != NULL && sig->nparams >= 0 && sig->nparams <= DT__MAX_PARAMS;
}

/* *a *= b, or false when the product does not fit in 64 bits. */
static bool mul_ok(uint64_t *a, uint64_t b) {
  if (b != 0 && *a > UINT64_MAX / b)
    return false;
  *a *= b;
  return true;
}

/* The byte count of a buffer parameter for one call: element size times
 * LEN evaluated on the call's integer arguments (args as libffi passes
 * them).  Returns 0 and *nbytes, or -EOVERFLOW, or -ERANGE when a length
 * argument is negative.
 *
 * Each factor is read with its own width and
 * signedness; any negative factor is -ERANGE, even when another factor
 * is 0.  Returns -EINVAL when param is not a buffer of sig or its length
 * names something that is not an integer passed by value. */
int dt__wire_buffer_bytes(const dt__sig *sig, int param, void **args,
                          uint64_t *nbytes) {
  if (!sig_ok(sig) || param < 0 || param >= sig->nparams ||
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

/* The alignment a decoded buffer of type t gets: FRAME_ALIGN, or the
 * type's own alignment when that is a larger power of two. */
static size_t frame_align(const dt__type *t) {
  size_t a = t->align;
  if (a > FRAME_ALIGN && a <= FRAME_MAX_ALIGN && (a & (a - 1)) == 0)
    return a;
  return FRAME_ALIGN;
}

/* Places n bytes (at least 1, so that a present buffer of 0 bytes still
 * gets a pointer of its own) at the next multiple of align after *end.
 * Returns the offset, or false when the block would pass WIRE_MAX_BYTES.
 * Both values stay far below 2^63, so nothing here overflows. */
static bool frame_place(uint64_t *end, uint64_t n, size_t align,
                        uint64_t *off) {
  uint64_t o = (*end + align - 1) / align * align;
  if (n > WIRE_MAX_BYTES || o + (n == 0 ? 1 : n) > WIRE_MAX_BYTES)
    return false;
  *off = o;
  *end = o + (n == 0 ? 1 : n);
  return true;
}

/* ----------------------------------------------------------------- tasks */

/* What a call puts on the wire, computed once from the arguments: the
 * record's size, and per parameter the cstring length or buffer size
 * (UINT64_MAX for a NULL pointer). */
typedef struct task_plan {
  uint64_t size;
  uint64_t len[DT__MAX_PARAMS];
} task_plan;

/* Measures a call.  Besides the record, it sizes the block a runner will
 * allocate for it (out buffers included), so that a call no runner could
 * take fails here, in the caller, with -E2BIG. */
static int plan_task(const dt__sig *sig, void **args, const uint64_t *refs,
                     task_plan *pl) {
  uint64_t size = TASK_HEADER, mem = 0, off;

  if (!sig_ok(sig) || (args == NULL && sig->nparams > 0))
    return -EINVAL;
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    pl->len[i] = UINT64_MAX;
    if (p->is_buffer) {
      const void *ptr;
      memcpy(&ptr, args[i], sizeof ptr);
      size += 1;
      if (ptr == NULL)
        continue;
      uint64_t n;
      int rc = dt__wire_buffer_bytes(sig, i, args, &n);
      if (rc != 0)
        return rc;
      if (n > WIRE_MAX_BYTES)
        return -E2BIG;
      pl->len[i] = n;
      size += 8;
      if (refs != NULL && refs[i] != DT__NO_ID && p->dir == DT__DIR_IN)
        size += 8; /* a reference to bytes stored once in the queue */
      else if (p->dir != DT__DIR_OUT)
        size += n;
      if (!frame_place(&mem, n, frame_align(&p->type), &off))
        return -E2BIG;
    } else if (p->type.tag == DT__T_CSTRING) {
      const char *s;
      memcpy(&s, args[i], sizeof s);
      size += 4;
      if (s == NULL)
        continue;
      size_t n = strnlen(s, (size_t)WIRE_MAX_BYTES + 1);
      if (n > WIRE_MAX_BYTES)
        return -E2BIG;
      pl->len[i] = n;
      size += n;
      if (!frame_place(&mem, (uint64_t)n + 1, FRAME_ALIGN, &off))
        return -E2BIG;
    } else {
      uint64_t v;
      if (dt__scalar_get(&p->type, args[i], &v) != 0)
        return -EINVAL;
      size += 8;
    }
    if (size > WIRE_MAX_BYTES)
      return -E2BIG;
  }
  pl->size = size;
  return 0;
}

/* Computes the size of the task record for a call.
 *
 * Returns 0, -EINVAL (a signature that cannot
 * travel), -ERANGE (a negative length), -EOVERFLOW (a length that does
 * not fit in 64 bits) or -E2BIG (a record or a runner-side block larger
 * than 1 GiB). */
int dt__wire_task_size(const dt__sig *sig, void **args, size_t *size) {
  return dt__wire_task_size_refs(sig, args, NULL, size);
}

/* The same, with in buffers passed by reference: refs[i], when not
 * DT__NO_ID, names bytes already stored in the queue (fan-out stores a
 * buffer common to every slice once); the record then carries the id
 * and the size instead of the bytes.  refs may be NULL. */
int dt__wire_task_size_refs(const dt__sig *sig, void **args,
                            const uint64_t *refs, size_t *size) {
  task_plan pl;
  int rc = plan_task(sig, args, refs, &pl);
  if (rc != 0)
    return rc;
  *size = (size_t)pl.size;
  return 0;
}

/* Encodes the task into buf, which has exactly the size computed above
 * (buf need not be aligned: LMDB hands out reserved space).  Returns 0 or
 * a negative errno.
 *
 * buf is owned by the caller; nothing is
 * allocated.  -EINVAL when size is not what dt__wire_task_size computes
 * for these arguments (or a string changed length in between). */
int dt__wire_task_encode(const dt__sig *sig, uint64_t fingerprint,
                         uint32_t entry, uint64_t call_id, int caller_errno,
                         void **args, uint8_t *buf, size_t size) {
  return dt__wire_task_encode_refs(sig, fingerprint, entry, call_id,
                                   caller_errno, args, NULL, buf, size);
}

/* The same, with in buffers passed by reference: refs[i], when not
 * DT__NO_ID, names bytes already stored in the queue (fan-out stores a
 * buffer common to every slice once); the record then carries the id
 * and the size instead of the bytes.  refs may be NULL. */
int dt__wire_task_encode_refs(const dt__sig *sig, uint64_t fingerprint,
                              uint32_t entry, uint64_t call_id,
                              int caller_errno, void **args,
                              const uint64_t *refs, uint8_t *buf,
                              size_t size) {
  task_plan pl;
  int rc = plan_task(sig, args, refs, &pl);
  if (rc != 0)
    return rc;
  if (buf == NULL || pl.size != size)
    return -EINVAL;

  writer w = {buf, size, 0, false};
  put_bytes(&w, task_magic, sizeof task_magic);
  put_u16(&w, DT__WIRE_VERSION);
  put_u16(&w, 0);
  put_u64(&w, fingerprint);
  put_u32(&w, entry);
  put_u32(&w, (uint32_t)sig->nparams);
  put_u64(&w, call_id);
  put_u32(&w, (uint32_t)caller_errno);
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->is_buffer) {
      const void *ptr;
      memcpy(&ptr, args[i], sizeof ptr);
      if (ptr == NULL) {
        put_u8(&w, 0);
        continue;
      }
      if (refs != NULL && refs[i] != DT__NO_ID && p->dir == DT__DIR_IN) {
        put_u8(&w, 2);
        put_u64(&w, pl.len[i]);
        put_u64(&w, refs[i]);
        continue;
      }
      put_u8(&w, 1);
      put_u64(&w, pl.len[i]);
      if (p->dir != DT__DIR_OUT)
        put_bytes(&w, ptr, (size_t)pl.len[i]);
    } else if (p->type.tag == DT__T_CSTRING) {
      const char *s;
      memcpy(&s, args[i], sizeof s);
      if (s == NULL) {
        put_u32(&w, NULL_LEN);
        continue;
      }
      if (strnlen(s, (size_t)pl.len[i] + 1) != pl.len[i])
        return -EINVAL;
      put_u32(&w, (uint32_t)pl.len[i]);
      put_bytes(&w, s, (size_t)pl.len[i]);
    } else {
      uint64_t v;
      if (dt__scalar_get(&p->type, args[i], &v) != 0)
        return -EINVAL;
      put_u64(&w, v);
    }
  }
  if (w.overflow || w.pos != size)
    return -EINVAL;
  return 0;
}

/* Reads and checks the fixed header of a task.  Fills the out-parameters
 * that are not NULL. */
static int task_header(reader *r, uint64_t *fingerprint, uint32_t *entry,
                       uint32_t *nargs, uint64_t *call_id, int *caller_errno,
                       dt__error *err) {
  const uint8_t *magic = NULL;
  uint16_t version = 0, flags = 0;
  uint64_t fp = 0, id = 0;
  uint32_t e = 0, n = 0, en = 0;

  if (left(r) < TASK_HEADER)
    return fail(err, -EPROTO,
                "the task record has %zu bytes, fewer than the %d of its "
                "header",
                left(r), TASK_HEADER);
  get_bytes(r, sizeof task_magic, &magic);
  if (memcmp(magic, task_magic, sizeof task_magic) != 0)
    return fail(err, -EPROTO,
                "the record does not start with \"DTQ1\", so it is not a "
                "dtask task record");
  get_u16(r, &version);
  if (version != DT__WIRE_VERSION)
    return fail(err, -EPROTO,
                "the task record is in format version %u but this runner "
                "reads version %d; run the same dtask version on both "
                "sides",
                (unsigned)version, DT__WIRE_VERSION);
  get_u16(r, &flags);
  if (flags != 0)
    return fail(err, -EPROTO,
                "the task record has flags 0x%04x, which format version %d "
                "does not define",
                (unsigned)flags, DT__WIRE_VERSION);
  get_u64(r, &fp);
  get_u32(r, &e);
  get_u32(r, &n);
  get_u64(r, &id);
  get_u32(r, &en);
  if (caller_errno != NULL)
    *caller_errno = (int)en;
  if (fingerprint != NULL)
    *fingerprint = fp;
  if (entry != NULL)
    *entry = e;
  if (nargs != NULL)
    *nargs = n;
  if (call_id != NULL)
    *call_id = id;
  return 0;
}

/* Reads the fixed header of a task record.  Returns 0 or -EPROTO.
 *
 * Checks the magic, version and flags; the
 * out-parameters may be NULL. */
int dt__wire_task_peek(const uint8_t *rec, size_t size, uint64_t *fingerprint,
                       uint32_t *entry, uint64_t *call_id) {
  reader r = {rec, rec != NULL ? size : 0, 0};
  return task_header(&r, fingerprint, entry, NULL, call_id, NULL, NULL);
}

/* Decodes and validates a task against sig.  Any inconsistency (a length
 * past the end, a size that disagrees with the length arguments, trailing
 * bytes) is -EPROTO.  On success f owns its memory (dt__frame_free frees
 * it); on any failure f owns nothing (f->mem is NULL), so calling
 * dt__frame_free on it is harmless.  Returns 0, -EPROTO, -EINVAL for a
 * NULL argument or a signature that cannot travel, or -ENOMEM; on failure
 * err (which may be NULL) holds a sentence, with line and column 0, and
 * on success an empty message. */
int dt__wire_task_decode(const dt__sig *sig, const uint8_t *rec, size_t size,
                         dt__frame *f, dt__error *err) {
  return dt__wire_task_decode_refs(sig, rec, size, NULL, NULL, f, err);
}

/* The block of the last frame freed on this thread, kept for the next
 * decode: a worker decodes one task at a time, and a large call would
 * otherwise map fresh pages for its buffers every time and pay a page
 * fault for each (a 16 MiB in+out call: most of its cost).  Blocks are
 * KEEP_ALIGN-aligned (a type that wants more gets a block of its own);
 * at most FRAME_KEEP_MAX bytes are kept per thread. */
#define KEEP_ALIGN 64
#define FRAME_KEEP_MAX ((size_t)64 << 20)
static __thread void *t_keep __attribute__((tls_model("initial-exec")));
static __thread size_t t_keep_size __attribute__((tls_model("initial-exec")));

/* dt__wire_task_decode for records that may carry references; fetch
 * (with fctx) resolves them.  Without fetch, a reference is -EPROTO. */
int dt__wire_task_decode_refs(const dt__sig *sig, const uint8_t *rec,
                              size_t size, dt__fetch_fn fetch, void *fctx,
                              dt__frame *f, dt__error *err) {
  const uint8_t *data[DT__MAX_PARAMS] = {0};
  uint64_t ref[DT__MAX_PARAMS];
  uint64_t len[DT__MAX_PARAMS];
  uint64_t off[DT__MAX_PARAMS];
  uint32_t nargs = 0;
  int rc;

  clear(err);
  if (f == NULL || !sig_ok(sig))
    return fail(err, -EINVAL, "no frame or no valid signature");
  memset(f, 0, sizeof *f);

  reader r = {rec, rec != NULL ? size : 0, 0};
  rc = task_header(&r, NULL, &f->entry, &nargs, &f->call_id,
                   &f->caller_errno, err);
  if (rc != 0)
    return rc;
  if (nargs != (uint32_t)sig->nparams)
    return fail(err, -EPROTO,
                "the task has %u arguments but the signature of '%s' has "
                "%d",
                (unsigned)nargs, sig->name, sig->nparams);

  /* Pass 1: walk the arguments, check every length against what is left
   * and every value against its type, and remember where data is. */
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    size_t at = r.pos;
    len[i] = UINT64_MAX;
    f->argv[i] = &f->vals[i];
    if (p->is_buffer) {
      uint8_t present;
      if (!get_u8(&r, &present))
        goto truncated;
      ref[i] = DT__NO_ID;
      if (present > 2 || (present == 2 && (fetch == NULL ||
                                           p->dir != DT__DIR_IN)))
        return fail(err, -EPROTO,
                    "buffer '%s' (argument %d) has a presence byte of %u at "
                    "byte %zu; it must be 0 or 1 (or 2 for an in buffer "
                    "stored once in the queue)",
                    p->name, i + 1, (unsigned)present, at);
      if (present == 0)
        continue;
      if (!get_u64(&r, &len[i]))
        goto truncated;
      if (len[i] > WIRE_MAX_BYTES)
        return fail(err, -EPROTO,
                    "buffer '%s' claims %llu bytes, more than the 1 GiB a "
                    "task may carry",
                    p->name, (unsigned long long)len[i]);
      if (present == 2) {
        if (!get_u64(&r, &ref[i]))
          goto truncated;
      } else if (p->dir != DT__DIR_OUT && !get_bytes(&r, len[i], &data[i])) {
        goto truncated;
      }
    } else if (p->type.tag == DT__T_CSTRING) {
      uint32_t n;
      if (!get_u32(&r, &n))
        goto truncated;
      if (n == NULL_LEN)
        continue;
      len[i] = n;
      if (!get_bytes(&r, n, &data[i]))
        goto truncated;
      if (memchr(data[i], '\0', n) != NULL)
        return fail(err, -EPROTO,
                    "string '%s' (argument %d) contains a NUL byte inside "
                    "its %u bytes",
                    p->name, i + 1, (unsigned)n);
    } else {
      uint64_t v;
      if (!get_u64(&r, &v))
        goto truncated;
      if (!dt__scalar_valid(&p->type, v))
        return fail(err, -EPROTO,
                    "argument %d ('%s') holds 0x%llx, which is not a valid "
                    "%s",
                    i + 1, p->name, (unsigned long long)v, p->type.name);
      dt__scalar_set(&p->type, v, &f->vals[i]);
    }
    continue;
  truncated:
    return fail(err, -EPROTO,
                "the task record is truncated: it ends inside argument %d "
                "('%s'), which starts at byte %zu of %zu",
                i + 1, p->name, at, r.size);
  }
  if (left(&r) != 0)
    return fail(err, -EPROTO,
                "the task record has %zu bytes after its last argument",
                left(&r));

  /* Pass 2: every buffer's size must be what its length arguments say,
   * and everything must fit in one block. */
  uint64_t end = 0;
  size_t align = FRAME_ALIGN;
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (len[i] == UINT64_MAX)
      continue;
    uint64_t n = len[i];
    size_t a = FRAME_ALIGN;
    if (p->is_buffer) {
      uint64_t want;
      rc = dt__wire_buffer_bytes(sig, i, f->argv, &want);
      if (rc == -ERANGE)
        return fail(err, -EPROTO,
                    "the length of buffer '%s' is negative", p->name);
      if (rc != 0)
        return fail(err, -EPROTO,
                    "the length of buffer '%s' does not fit in 64 bits",
                    p->name);
      if (want != n)
        return fail(err, -EPROTO,
                    "buffer '%s' has %llu bytes but its length says %llu",
                    p->name, (unsigned long long)n,
                    (unsigned long long)want);
      a = frame_align(&p->type);
    } else {
      n += 1; /* the NUL */
    }
    if (!frame_place(&end, n, a, &off[i]))
      return fail(err, -EPROTO,
                  "the call's buffers and strings need more than the 1 GiB "
                  "a runner allocates for one task");
    if (a > align)
      align = a;
  }

  /* Pass 3: copy into one aligned block. */
  if (end > 0) {
    if (align < KEEP_ALIGN)
      align = KEEP_ALIGN;
    uint64_t total = (end + align - 1) / align * align;
    if (t_keep != NULL && t_keep_size >= total && align == KEEP_ALIGN) {
      f->mem = t_keep;
      f->mem_size = t_keep_size;
      t_keep = NULL;
    } else {
      f->mem = aligned_alloc(align, (size_t)total);
      f->mem_size = (size_t)total;
    }
    if (f->mem == NULL)
      return fail(err, -ENOMEM,
                  "the runner could not allocate %llu bytes for the call's "
                  "buffers",
                  (unsigned long long)total);
  }
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (!p->is_buffer && p->type.tag != DT__T_CSTRING)
      continue;
    f->vals[i].p = NULL;
    if (len[i] == UINT64_MAX)
      continue;
    uint8_t *dst = (uint8_t *)f->mem + off[i];
    if (p->is_buffer) {
      if (ref[i] != DT__NO_ID) {
        rc = fetch(fctx, ref[i], dst, len[i]);
        if (rc != 0) {
          dt__frame_free(f);
          return fail(err, rc == -ENOMEM ? -ENOMEM : -EPROTO,
                      "buffer '%s' refers to shared bytes %llu, which the "
                      "queue does not hold with %llu bytes (%s)",
                      p->name, (unsigned long long)ref[i],
                      (unsigned long long)len[i], strerror(-rc));
        }
      } else if (data[i] != NULL) {
        memcpy(dst, data[i], (size_t)len[i]);
      } else {
        memset(dst, 0, (size_t)len[i]);
      }
      f->bytes[i] = len[i];
    } else {
      memcpy(dst, data[i], (size_t)len[i]);
      dst[len[i]] = '\0';
      f->bytes[i] = len[i];
    }
    f->buf[i] = dst;
    f->vals[i].p = dst;
  }
  f->nargs = sig->nparams;
  return 0;
}

/* Frees the frame's block; f itself belongs to the
 * caller.  Safe on a zeroed frame, a frame whose decode failed, and twice. */
void dt__frame_free(dt__frame *f) {
  if (f == NULL)
    return;
  if (f->mem != NULL && f->mem_size <= FRAME_KEEP_MAX &&
      (t_keep == NULL || f->mem_size > t_keep_size)) {
    free(t_keep);
    t_keep = f->mem;
    t_keep_size = f->mem_size;
  } else {
    free(f->mem);
  }
  f->mem = NULL;
  f->mem_size = 0;
  for (int i = 0; i < DT__MAX_PARAMS; i++) {
    f->buf[i] = NULL;
    f->bytes[i] = 0;
  }
}

/* --------------------------------------------------------------- results */

/* Starts a result record: allocates size bytes and writes the header. */
static int result_start(writer *w, uint64_t size, int status, int err,
                        uint64_t call_id) {
  if (size > WIRE_MAX_BYTES)
    return -E2BIG;
  w->p = malloc((size_t)size);
  if (w->p == NULL)
    return -ENOMEM;
  w->size = (size_t)size;
  w->pos = 0;
  w->overflow = false;
  put_bytes(w, result_magic, sizeof result_magic);
  put_u16(w, DT__WIRE_VERSION);
  put_u16(w, (uint16_t)status);
  put_u32(w, (uint32_t)err);
  put_u64(w, call_id);
  return 0;
}

/* Encodes the result of a call made with f (ret is libffi's return buffer,
 * err the errno after the call) into a malloc'd record (*out, *size), owned
 * by the caller.
 *
 * ret is libffi's return buffer for the call made
 * with f.  On success *out is a malloc'd record of *size bytes, owned by
 * the caller (free).  Returns 0, -EINVAL (f does not match sig), -E2BIG
 * (a returned string or the record is too large) or -ENOMEM; on failure
 * *out is NULL.  Out and inout buffers travel from f->buf/f->bytes. */
int dt__wire_result_encode(const dt__sig *sig, const dt__frame *f,
                           const void *ret, int err, uint8_t **out,
                           size_t *size) {
  uint64_t total = RESULT_HEADER + 8, v;
  const char *s = NULL;
  size_t slen = 0;
  writer w;
  int rc;

  if (out == NULL || size == NULL)
    return -EINVAL;
  *out = NULL;
  *size = 0;
  if (!sig_ok(sig) || f == NULL || f->nargs != sig->nparams ||
      (ret == NULL && sig->ret.tag != DT__T_VOID))
    return -EINVAL;
  if (dt__scalar_ret_get(&sig->ret, ret, &v) != 0)
    return -EINVAL;
  if (sig->ret.tag == DT__T_CSTRING) {
    memcpy(&s, ret, sizeof s);
    total += 4;
    if (s != NULL) {
      slen = strnlen(s, (size_t)WIRE_MAX_BYTES + 1);
      if (slen > WIRE_MAX_BYTES)
        return -E2BIG;
      total += slen;
    }
  }
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->is_buffer && p->dir != DT__DIR_IN && f->buf[i] != NULL) {
      if (f->bytes[i] > WIRE_MAX_BYTES)
        return -E2BIG;
      total += 8 + f->bytes[i];
      if (total > WIRE_MAX_BYTES)
        return -E2BIG;
    }
  }
  rc = result_start(&w, total, DT__ST_OK, err, f->call_id);
  if (rc != 0)
    return rc;
  put_u64(&w, v);
  if (sig->ret.tag == DT__T_CSTRING) {
    put_u32(&w, s != NULL ? (uint32_t)slen : NULL_LEN);
    if (s != NULL)
      put_bytes(&w, s, slen);
  }
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->is_buffer && p->dir != DT__DIR_IN && f->buf[i] != NULL) {
      put_u64(&w, f->bytes[i]);
      put_bytes(&w, f->buf[i], (size_t)f->bytes[i]);
    }
  }
  if (w.overflow || w.pos != w.size) {
    free(w.p);
    return -EINVAL;
  }
  *out = w.p;
  *size = w.size;
  return 0;
}

/* Encodes an error result (status != DT__ST_OK) with a message and a
 * detail: for DT__ST_CRASH the worker's signal number, or 256 + its exit
 * status when it exited; 0 otherwise.  The caller reads the detail where
 * a result's errno goes.
 *
 * status must be 1..65535; detail travels in the errno field; msg may be
 * NULL (an empty message).  *out is malloc'd and owned by the caller
 * (free).  Returns 0, -EINVAL, -E2BIG or -ENOMEM. */
int dt__wire_result_error(uint64_t call_id, int status, int detail,
                          const char *msg, uint8_t **out, size_t *size) {
  writer w;
  if (out == NULL || size == NULL)
    return -EINVAL;
  *out = NULL;
  *size = 0;
  if (status <= 0 || status > UINT16_MAX)
    return -EINVAL;
  if (msg == NULL)
    msg = "";
  size_t n = strnlen(msg, (size_t)WIRE_MAX_BYTES);
  int rc = result_start(&w, (uint64_t)RESULT_HEADER + 4 + n, status, detail,
                        call_id);
  if (rc != 0)
    return rc;
  put_u32(&w, (uint32_t)n);
  put_bytes(&w, msg, n);
  if (w.overflow || w.pos != w.size) {
    free(w.p);
    return -EINVAL;
  }
  *out = w.p;
  *size = w.size;
  return 0;
}

/* Copies n bytes of a message from a record into err (if not NULL) as a
 * C string, truncated to its size. */
static void copy_message(dt__error *err, const uint8_t *b, size_t n) {
  if (err == NULL)
    return;
  if (n > sizeof err->msg - 1)
    n = sizeof err->msg - 1;
  if (n > 0)
    memcpy(err->msg, b, n);
  err->msg[n] = '\0';
}

/* Caller side: validates a result record against the call's signature and
 * arguments (args as libffi passes them), then writes what it carries
 * into the caller's memory.  Returns the record's status (>= 0), or
 * -EPROTO for a malformed record, -ENOSPC for a returned string that does
 * not fit, -EINVAL for a NULL signature or arguments; err (which may be
 * NULL) gets the sentence for a negative return and the record's message
 * for a status other than 0, with line and column 0, and is empty
 * otherwise.
 *
 * The whole record is validated before anything is written: the header,
 * the call id, the return value against its type, a returned string (no
 * NUL inside), one size-checked entry for each out or inout buffer whose
 * pointer in args is not NULL (its size must be the one this caller
 * computes from its own arguments), and no trailing bytes.  Then, for
 * status 0: ret (libffi's buffer, at least sizeof(ffi_arg); may be NULL)
 * gets the value as a libffi closure returns it (nothing for void; for
 * cstring the pointer cstr, or NULL), the returned string is copied into
 * cstr with its NUL, buffers are copied into the caller's memory,
 * *errnum gets the callee's errno, and 0 is returned.  A string that does
 * not fit (cstr_cap < len + 1) returns -ENOSPC with *need = len + 1 and
 * writes nothing else: grow cstr and apply the same record again.  For a
 * status other than 0 the message is copied into err (truncated to its
 * size), the record's detail into *errnum, and the status is returned;
 * nothing else is written.  Nothing is allocated; all memory belongs to
 * the caller. */
int dt__wire_result_apply(const dt__sig *sig, void **args, uint64_t call_id,
                          const uint8_t *rec, size_t size, void *ret,
                          int *errnum, char *cstr, size_t cstr_cap, size_t *need,
                          dt__error *err) {
  const uint8_t *magic = NULL, *sbytes = NULL, *bdata[DT__MAX_PARAMS] = {0};
  uint64_t bytes[DT__MAX_PARAMS] = {0};
  uint16_t version = 0, status = 0;
  uint32_t e32 = 0, slen = NULL_LEN;
  uint64_t id = 0, v = 0;

  clear(err);
  if (!sig_ok(sig) || (args == NULL && sig->nparams > 0))
    return fail(err, -EINVAL, "no valid signature or arguments");

  reader r = {rec, rec != NULL ? size : 0, 0};
  if (left(&r) < RESULT_HEADER)
    return fail(err, -EPROTO,
                "the result record has %zu bytes, fewer than the %d of its "
                "header",
                left(&r), RESULT_HEADER);
  get_bytes(&r, sizeof result_magic, &magic);
  if (memcmp(magic, result_magic, sizeof result_magic) != 0)
    return fail(err, -EPROTO,
                "the record does not start with \"DTR1\", so it is not a "
                "dtask result record");
  get_u16(&r, &version);
  if (version != DT__WIRE_VERSION)
    return fail(err, -EPROTO,
                "the result record is in format version %u but this shim "
                "reads version %d; run the same dtask version on both "
                "sides",
                (unsigned)version, DT__WIRE_VERSION);
  get_u16(&r, &status);
  get_u32(&r, &e32);
  get_u64(&r, &id);
  if (id != call_id)
    return fail(err, -EPROTO,
                "the result record answers call %llu, not call %llu",
                (unsigned long long)id, (unsigned long long)call_id);

  if (status != DT__ST_OK) {
    uint32_t n;
    const uint8_t *b;
    if (!get_u32(&r, &n) || !get_bytes(&r, n, &b))
      return fail(err, -EPROTO,
                  "the err result of call %llu is truncated inside its "
                  "message",
                  (unsigned long long)id);
    if (left(&r) != 0)
      return fail(err, -EPROTO,
                  "the err result of call %llu has %zu bytes after its "
                  "message",
                  (unsigned long long)id, left(&r));
    copy_message(err, b, n);
    if (errnum != NULL)
      *errnum = u32_to_i32(e32);
    return status;
  }

  if (!get_u64(&r, &v))
    return fail(err, -EPROTO,
                "the result record is truncated inside its return value");
  if (!dt__scalar_valid(&sig->ret, v))
    return fail(err, -EPROTO,
                "the result record returns 0x%llx, which is not a valid %s",
                (unsigned long long)v, sig->ret.name);
  if (sig->ret.tag == DT__T_CSTRING) {
    if (!get_u32(&r, &slen))
      return fail(err, -EPROTO,
                  "the result record is truncated inside its returned "
                  "string's length");
    if (slen != NULL_LEN) {
      if (!get_bytes(&r, slen, &sbytes))
        return fail(err, -EPROTO,
                    "the result record is truncated inside its returned "
                    "string of %u bytes",
                    (unsigned)slen);
      if (memchr(sbytes, '\0', slen) != NULL)
        return fail(err, -EPROTO,
                    "the returned string contains a NUL byte inside its %u "
                    "bytes",
                    (unsigned)slen);
    }
  }
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    void *ptr;
    if (!p->is_buffer || p->dir == DT__DIR_IN)
      continue;
    memcpy(&ptr, args[i], sizeof ptr);
    if (ptr == NULL)
      continue;
    uint64_t want;
    int rc = dt__wire_buffer_bytes(sig, i, args, &want);
    if (rc != 0)
      return fail(err, -EPROTO,
                  "the size of buffer '%s' cannot be computed from this "
                  "call's arguments (%s)",
                  p->name,
                  rc == -ERANGE      ? "a length argument is negative"
                  : rc == -EOVERFLOW ? "it does not fit in 64 bits"
                                     : "its length is not valid");
    if (!get_u64(&r, &bytes[i]))
      return fail(err, -EPROTO,
                  "the result record is truncated before buffer '%s'",
                  p->name);
    if (bytes[i] != want)
      return fail(err, -EPROTO,
                  "the result carries %llu bytes for buffer '%s' but this "
                  "call's length says %llu",
                  (unsigned long long)bytes[i], p->name,
                  (unsigned long long)want);
    if (!get_bytes(&r, bytes[i], &bdata[i]))
      return fail(err, -EPROTO,
                  "the result record is truncated inside buffer '%s'",
                  p->name);
  }
  if (left(&r) != 0)
    return fail(err, -EPROTO,
                "the result record has %zu bytes after its last buffer "
                "(a buffer the caller passed as NULL came back?)",
                left(&r));
  if (slen != NULL_LEN && (cstr == NULL || cstr_cap < (size_t)slen + 1)) {
    if (need != NULL)
      *need = (size_t)slen + 1;
    return fail(err, -ENOSPC,
                "the returned string needs %zu bytes but the buffer has %zu",
                (size_t)slen + 1, cstr != NULL ? cstr_cap : (size_t)0);
  }

  /* Everything checked: write. */
  if (sig->ret.tag == DT__T_CSTRING) {
    char *p = NULL;
    if (slen != NULL_LEN) {
      if (slen > 0)
        memcpy(cstr, sbytes, slen);
      cstr[slen] = '\0';
      p = cstr;
    }
    if (ret != NULL)
      memcpy(ret, &p, sizeof p);
  } else if (ret != NULL) {
    dt__scalar_ret_set(&sig->ret, v, ret);
  }
  for (int i = 0; i < sig->nparams; i++) {
    if (bdata[i] == NULL)
      continue;
    void *ptr;
    memcpy(&ptr, args[i], sizeof ptr);
    if (bytes[i] > 0)
      memcpy(ptr, bdata[i], (size_t)bytes[i]);
  }
  if (errnum != NULL)
    *errnum = u32_to_i32(e32);
  return DT__ST_OK;
}
