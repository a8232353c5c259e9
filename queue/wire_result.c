/* wire_result.c: result records, the second stage of the record format
 * (queue/wire.c has the rest of the overview).
 *
 * This file owns the outcome of a call on its way back: encoding what a
 * runner's ffi_call produced (the return value in the wire form, a
 * returned string, or where it points inside the call's own arguments,
 * every out and inout buffer of the frame), encoding an
 * error result with its status, detail and message, and, in the caller,
 * applying a result: validating the whole record against the call's own
 * signature and arguments before writing anything into the caller's
 * memory.  It calls queue/wire.c and config/types.c, never
 * queue/wire_task.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"
#include "common/log.h"
#include "config/sig.h"
#include "config/types.h"
#include "queue/wire.h"
#include "queue/wire_io.h"

#define RESULT_HEADER DT__WIRE_RESULT_HEADER

static const uint8_t result_magic[4] = {'D', 'T', 'R', '1'};

/* Converts a u32 read from a record to the int32 it encodes. */
static int32_t u32_to_i32(uint32_t v) {
  return v <= INT32_MAX ? (int32_t)v : -(int32_t)(~v) - 1;
}

/* --------------------------------------------------------------- results */

/* Starts a result record: allocates size bytes and writes the header. */
static int result_start(dt__wire_writer *w, uint64_t size, int status, int err,
                        uint64_t call_id) {
  if (size > DT__WIRE_MAX_BYTES)
    return -E2BIG;
  w->p = malloc((size_t)size);
  if (w->p == NULL)
    return -ENOMEM;
  w->size = (size_t)size;
  w->pos = 0;
  w->overflow = false;
  dt__wire_put_bytes(w, result_magic, sizeof result_magic);
  dt__wire_put_u16(w, DT__WIRE_VERSION);
  dt__wire_put_u16(w, (uint16_t)status);
  dt__wire_put_u32(w, (uint32_t)err);
  dt__wire_put_u64(w, call_id);
  return 0;
}

/* Where the string s, returned by the call made with f, lies inside one
 * of the call's arguments as the runner received them: a buffer's bytes,
 * or a cstring's bytes and its NUL.  Returns the parameter index, with
 * *off the offset of s in it, or -1 when s points elsewhere. */
static int ret_into_arg(const dt__sig *sig, const dt__frame *f, const char *s,
                        uint64_t *off) {
  uintptr_t a = (uintptr_t)s;
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (f->buf[i] == NULL || (!p->is_buffer && p->type.tag != DT__T_CSTRING))
      continue;
    uintptr_t b = (uintptr_t)f->buf[i];
    uint64_t n = f->bytes[i] + (p->is_buffer ? 0 : 1);
    if (a >= b && a - b < n) {
      *off = a - b;
      return i;
    }
  }
  return -1;
}

/* The size in bytes of the result record that a call with args (as
 * libffi passes them) makes when it succeeds: the header, the return
 * value, a returned string's length word (its bytes cannot be known
 * before the call), and the size word and bytes of every out or inout
 * buffer whose pointer is not NULL.  The caller computes it before it
 * queues the call, so that a call whose result could not be stored is
 * never run by a worker.  Returns 0 and *bytes, or a negative errno
 * (-EINVAL, -ERANGE, -EOVERFLOW) from a buffer's length. */
int dt__wire_result_bytes(const dt__sig *sig, void **args, uint64_t *bytes) {
  uint64_t total = RESULT_HEADER + 8;
  if (!dt__wire_sig_ok(sig) || bytes == NULL ||
      (args == NULL && sig->nparams > 0))
    return -EINVAL;
  if (sig->ret.tag == DT__T_CSTRING)
    total += 4;
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    void *ptr;
    uint64_t n;
    if (!p->is_buffer || p->dir == DT__DIR_IN)
      continue;
    memcpy(&ptr, args[i], sizeof ptr);
    if (ptr == NULL)
      continue;
    int rc = dt__wire_buffer_bytes(sig, i, args, &n);
    if (rc != 0)
      return rc;
    if (n > UINT64_MAX - 8 - total)
      return -EOVERFLOW;
    total += 8 + n;
  }
  *bytes = total;
  return 0;
}

/* Encodes the result of a call made with f: ret is libffi's return buffer
 * for it and err the errno after it; out and inout buffers travel from
 * f->buf/f->bytes.  A returned string that points inside one of f's
 * buffers or strings travels as that place (parameter and offset), not as
 * bytes.  On success *out is a malloc'd record of *size bytes,
 * owned by the caller (free).  Returns 0, -EINVAL (f does not match sig),
 * -E2BIG (a returned string or the record is too large) or -ENOMEM; on
 * failure *out is NULL. */
int dt__wire_result_encode(const dt__sig *sig, const dt__frame *f,
                           const void *ret, int err, uint8_t **out,
                           size_t *size) {
  uint64_t total = RESULT_HEADER + 8, v;
  const char *s = NULL;
  size_t slen = 0;
  int into = -1;
  uint64_t into_off = 0;
  dt__wire_writer w;
  int rc;

  if (out == NULL || size == NULL)
    return -EINVAL;
  *out = NULL;
  *size = 0;
  if (!dt__wire_sig_ok(sig) || f == NULL || f->nargs != sig->nparams ||
      (ret == NULL && sig->ret.tag != DT__T_VOID))
    return -EINVAL;
  if (dt__scalar_ret_get(&sig->ret, ret, &v) != 0)
    return -EINVAL;
  if (sig->ret.tag == DT__T_CSTRING) {
    memcpy(&s, ret, sizeof s);
    total += 4;
    if (s != NULL)
      into = ret_into_arg(sig, f, s, &into_off);
    if (into >= 0) {
      total += 12;
    } else if (s != NULL) {
      slen = strnlen(s, (size_t)DT__WIRE_MAX_BYTES + 1);
      if (slen > DT__WIRE_MAX_BYTES)
        return -E2BIG;
      total += slen;
    }
  }
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->is_buffer && p->dir != DT__DIR_IN && f->buf[i] != NULL) {
      if (f->bytes[i] > DT__WIRE_MAX_BYTES)
        return -E2BIG;
      total += 8 + ((f->in_arena >> i & 1) ? 0 : f->bytes[i]);
      if (total > DT__WIRE_MAX_BYTES)
        return -E2BIG;
    }
  }
  rc = result_start(&w, total, DT__ST_OK, err, f->call_id);
  if (rc != 0)
    return rc;
  dt__wire_put_u64(&w, v);
  if (sig->ret.tag == DT__T_CSTRING) {
    if (into >= 0) {
      dt__wire_put_u32(&w, DT__WIRE_ARG_LEN);
      dt__wire_put_u32(&w, (uint32_t)into);
      dt__wire_put_u64(&w, into_off);
    } else {
      dt__wire_put_u32(&w, s != NULL ? (uint32_t)slen : DT__WIRE_NULL_LEN);
      if (s != NULL)
        dt__wire_put_bytes(&w, s, slen);
    }
  }
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->is_buffer && p->dir != DT__DIR_IN && f->buf[i] != NULL) {
      if (f->in_arena >> i & 1) { /* written where the caller reads it */
        dt__wire_put_u64(&w, f->bytes[i] | DT__WIRE_IN_ARENA);
        continue;
      }
      dt__wire_put_u64(&w, f->bytes[i]);
      dt__wire_put_bytes(&w, f->buf[i], (size_t)f->bytes[i]);
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
  dt__wire_writer w;
  if (out == NULL || size == NULL)
    return -EINVAL;
  *out = NULL;
  *size = 0;
  if (status <= 0 || status > UINT16_MAX)
    return -EINVAL;
  if (msg == NULL)
    msg = "";
  size_t n = strnlen(msg, (size_t)DT__WIRE_MAX_BYTES);
  int rc = result_start(&w, (uint64_t)RESULT_HEADER + 4 + n, status, detail,
                        call_id);
  if (rc != 0)
    return rc;
  dt__wire_put_u32(&w, (uint32_t)n);
  dt__wire_put_bytes(&w, msg, n);
  if (w.overflow || w.pos != w.size) {
    free(w.p);
    return -EINVAL;
  }
  *out = w.p;
  *size = w.size;
  return 0;
}

/* Copies n bytes of a message from a record into err (if not NULL) as a
 * C string, truncated to its size, with its control bytes escaped
 * (dt__escape): another process wrote it, and it is printed. */
static void copy_message(dt__error *err, const uint8_t *b, size_t n) {
  if (err == NULL)
    return;
  dt__escape(err->msg, sizeof err->msg, (const char *)b, n);
}

/* Reads the place a returned string has in one of the call's arguments
 * (u32 parameter index, u64 offset; the u32 length marker already read)
 * and checks it against this caller's own arguments: a buffer or cstring
 * parameter passed as non-NULL, and an offset inside the buffer's bytes
 * (as this caller computes them) or the string's bytes and NUL.  Sets
 * *into to the caller's pointer plus the offset.  Returns 0 or -EPROTO
 * (err says why). */
static int ret_place(const dt__sig *sig, void **args, dt__wire_reader *r,
                     const char **into, dt__error *err) {
  uint32_t pi;
  uint64_t off, lim;
  const char *base;
  if (!dt__wire_get_u32(r, &pi) || !dt__wire_get_u64(r, &off))
    return dt__wire_fail(err, -EPROTO,
                         "the result record is truncated inside the place "
                         "of its returned string");
  if (pi >= (uint32_t)sig->nparams ||
      (!sig->params[pi].is_buffer &&
       sig->params[pi].type.tag != DT__T_CSTRING))
    return dt__wire_fail(err, -EPROTO,
                         "the returned string points into argument %u, which "
                         "is not a buffer or a string of this signature",
                         pi + 1);
  const dt__param *p = &sig->params[pi];
  memcpy(&base, args[pi], sizeof base);
  if (base == NULL)
    return dt__wire_fail(err, -EPROTO,
                         "the returned string points into '%s', which this "
                         "caller passed as NULL",
                         p->name);
  if (p->is_buffer) {
    if (dt__wire_buffer_bytes(sig, (int)pi, args, &lim) != 0)
      return dt__wire_fail(err, -EPROTO,
                           "the returned string points into buffer '%s', "
                           "whose size this call's arguments do not give",
                           p->name);
  } else {
    lim = (uint64_t)strlen(base) + 1;
  }
  if (off >= lim)
    return dt__wire_fail(err, -EPROTO,
                         "the returned string points %llu bytes into '%s', "
                         "which has %llu",
                         (unsigned long long)off, p->name,
                         (unsigned long long)lim);
  *into = base + off;
  return 0;
}

/* Caller side: validates a result record against the call's signature and
 * arguments (args as libffi passes them), then writes what it carries
 * into the caller's memory.  Returns the record's status (>= 0), or
 * -EPROTO for a malformed record, keep's negative errno when it cannot
 * keep a returned string, -EINVAL for a NULL signature or arguments; err
 * (which may be NULL) gets the sentence for a negative return and the
 * record's message for a status other than 0, with line and column 0,
 * and is empty otherwise.
 *
 * The whole record is validated before anything is written: the header,
 * the call id, the return value against its type, a returned string (no
 * NUL inside) or its place in an argument (a buffer or cstring parameter
 * that this caller passed as non-NULL, and an offset inside its bytes,
 * or a cstring's bytes and NUL), one size-checked entry for each out or
 * inout buffer whose pointer in args is not NULL (its size must be the
 * one this caller computes from its own arguments), and no trailing
 * bytes.  Then, for status 0, a returned string's bytes go to keep (with
 * kctx), which says where the caller keeps them; if it fails, nothing is
 * written.  ret (libffi's buffer, at least sizeof(ffi_arg); may be NULL)
 * gets the value as a libffi closure returns it (nothing for void; for
 * cstring keep's pointer, the caller's own argument pointer plus the
 * offset, or NULL), buffers are copied into the caller's memory,
 * *errnum gets the callee's errno, and 0 is returned.  For a status
 * other than 0 the message is copied into err (truncated to its size),
 * the record's detail into *errnum, and the status is returned; nothing
 * else is written.  Nothing is allocated here. */
int dt__wire_result_apply_keep(const dt__sig *sig, void **args,
                               uint64_t call_id, const uint8_t *rec,
                               size_t size, void *ret, int *errnum,
                               dt__wire_keep_fn keep, void *kctx,
                               dt__error *err) {
  return dt__wire_result_apply_arena(sig, args, NULL, call_id, rec, size,
                                     ret, errnum, keep, kctx, err);
}

/* dt__wire_result_apply_keep for a call whose task placed buffers in the
 * caller's arena as ar says (NULL: none).  An out buffer the result says
 * is in the arena is copied from there, and must be one the task put
 * there (-EPROTO otherwise); one it carries is copied from the record. */
int dt__wire_result_apply_arena(const dt__sig *sig, void **args,
                                const dt__wire_arena *ar, uint64_t call_id,
                                const uint8_t *rec, size_t size, void *ret,
                                int *errnum, dt__wire_keep_fn keep,
                                void *kctx, dt__error *err) {
  const uint8_t *magic = NULL, *sbytes = NULL, *bdata[DT__MAX_PARAMS] = {0};
  uint64_t bytes[DT__MAX_PARAMS] = {0};
  uint16_t version = 0, status = 0;
  uint32_t e32 = 0, slen = DT__WIRE_NULL_LEN;
  uint64_t id = 0, v = 0;
  const char *into = NULL; /* a returned pointer into an argument */

  dt__wire_clear(err);
  if (!dt__wire_sig_ok(sig) || (args == NULL && sig->nparams > 0))
    return dt__wire_fail(err, -EINVAL, "no valid signature or arguments");

  dt__wire_reader r = {rec, rec != NULL ? size : 0, 0};
  if (dt__wire_left(&r) < RESULT_HEADER)
    return dt__wire_fail(
        err, -EPROTO,
        "the result record has %zu bytes, fewer than the %d of its "
        "header",
        dt__wire_left(&r), RESULT_HEADER);
  dt__wire_get_bytes(&r, sizeof result_magic, &magic);
  if (memcmp(magic, result_magic, sizeof result_magic) != 0)
    return dt__wire_fail(
        err, -EPROTO,
        "the record does not start with \"DTR1\", so it is not a "
        "dtask result record");
  dt__wire_get_u16(&r, &version);
  if (version != DT__WIRE_VERSION)
    return dt__wire_fail(
        err, -EPROTO,
        "the result record is in format version %u but this shim "
        "reads version %d; run the same dtask version on both "
        "sides",
        (unsigned)version, DT__WIRE_VERSION);
  dt__wire_get_u16(&r, &status);
  dt__wire_get_u32(&r, &e32);
  dt__wire_get_u64(&r, &id);
  if (id != call_id)
    return dt__wire_fail(err, -EPROTO,
                         "the result record answers call %llu, not call %llu",
                         (unsigned long long)id, (unsigned long long)call_id);

  if (status != DT__ST_OK) {
    uint32_t n;
    const uint8_t *b;
    if (!dt__wire_get_u32(&r, &n) || !dt__wire_get_bytes(&r, n, &b))
      return dt__wire_fail(
          err, -EPROTO,
          "the err result of call %llu is truncated inside its "
          "message",
          (unsigned long long)id);
    if (dt__wire_left(&r) != 0)
      return dt__wire_fail(
          err, -EPROTO,
          "the err result of call %llu has %zu bytes after its "
          "message",
          (unsigned long long)id, dt__wire_left(&r));
    copy_message(err, b, n);
    if (errnum != NULL)
      *errnum = u32_to_i32(e32);
    return status;
  }

  if (!dt__wire_get_u64(&r, &v))
    return dt__wire_fail(
        err, -EPROTO, "the result record is truncated inside its return value");
  if (!dt__scalar_valid(&sig->ret, v))
    return dt__wire_fail(
        err, -EPROTO,
        "the result record returns 0x%llx, which is not a valid %s",
        (unsigned long long)v, sig->ret.name);
  if (sig->ret.tag == DT__T_CSTRING) {
    if (!dt__wire_get_u32(&r, &slen))
      return dt__wire_fail(err, -EPROTO,
                           "the result record is truncated inside its returned "
                           "string's length");
    if (slen == DT__WIRE_ARG_LEN) {
      int rc = ret_place(sig, args, &r, &into, err);
      if (rc != 0)
        return rc;
    } else if (slen != DT__WIRE_NULL_LEN) {
      if (!dt__wire_get_bytes(&r, slen, &sbytes))
        return dt__wire_fail(
            err, -EPROTO,
            "the result record is truncated inside its returned "
            "string of %u bytes",
            (unsigned)slen);
      if (memchr(sbytes, '\0', slen) != NULL)
        return dt__wire_fail(
            err, -EPROTO,
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
      return dt__wire_fail(
          err, -EPROTO,
          "the size of buffer '%s' cannot be computed from this "
          "call's arguments (%s)",
          p->name,
          rc == -ERANGE      ? "a length argument is negative"
          : rc == -EOVERFLOW ? "it does not fit in 64 bits"
                             : "its length is not valid");
    if (!dt__wire_get_u64(&r, &bytes[i]))
      return dt__wire_fail(err, -EPROTO,
                           "the result record is truncated before buffer '%s'",
                           p->name);
    bool in_arena = (bytes[i] & DT__WIRE_IN_ARENA) != 0;
    bytes[i] &= ~DT__WIRE_IN_ARENA;
    if (in_arena && (ar == NULL || ar->off[i] == DT__NO_ID))
      return dt__wire_fail(err, -EPROTO,
                           "the result says buffer '%s' is in the arena, "
                           "where this call did not put it",
                           p->name);
    if (bytes[i] != want)
      return dt__wire_fail(
          err, -EPROTO,
          "the result carries %llu bytes for buffer '%s' but this "
          "call's length says %llu",
          (unsigned long long)bytes[i], p->name, (unsigned long long)want);
    if (in_arena)
      bdata[i] = ar->data + ar->off[i];
    else if (!dt__wire_get_bytes(&r, bytes[i], &bdata[i]))
      return dt__wire_fail(err, -EPROTO,
                           "the result record is truncated inside buffer '%s'",
                           p->name);
  }
  if (dt__wire_left(&r) != 0)
    return dt__wire_fail(
        err, -EPROTO,
        "the result record has %zu bytes after its last buffer "
        "(a buffer the caller passed as NULL came back?)",
        dt__wire_left(&r));

  /* Everything checked: keep the string, then write. */
  if (sig->ret.tag == DT__T_CSTRING) {
    const char *p = into;
    if (slen != DT__WIRE_NULL_LEN && slen != DT__WIRE_ARG_LEN) {
      int rc = keep != NULL ? keep(kctx, (const char *)sbytes, slen, &p)
                            : -EINVAL;
      if (rc < 0)
        return dt__wire_fail(err, rc,
                             "the returned string of %u bytes cannot be "
                             "kept: %s",
                             (unsigned)slen, strerror(-rc));
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
    if (bytes[i] > 0 && ptr != (const void *)bdata[i])
      memcpy(ptr, bdata[i], (size_t)bytes[i]);
  }
  if (errnum != NULL)
    *errnum = u32_to_i32(e32);
  return DT__ST_OK;
}

/* dt__wire_result_apply's keep: copies the string into the caller's
 * buffer (struct copy_to), or asks for a larger one. */
struct copy_to {
  char *cstr;
  size_t cap;
  size_t need; /* set with -ENOSPC */
};
static int copy_keep(void *ctx, const char *s, size_t len, const char **out) {
  struct copy_to *c = ctx;
  if (c->cstr == NULL || c->cap < len + 1) {
    c->need = len + 1;
    return -ENOSPC;
  }
  if (len > 0)
    memcpy(c->cstr, s, len);
  c->cstr[len] = '\0';
  *out = c->cstr;
  return 0;
}

/* dt__wire_result_apply_keep with the returned string copied into cstr
 * (cstr_cap bytes, the caller's), where ret then points.  A string that
 * does not fit (cstr_cap < len + 1) returns -ENOSPC with *need = len + 1
 * and writes nothing else: grow cstr and apply the same record again.
 * A string returned as a place in an argument needs no cstr.  Returns as
 * dt__wire_result_apply_keep does. */
int dt__wire_result_apply(const dt__sig *sig, void **args, uint64_t call_id,
                          const uint8_t *rec, size_t size, void *ret,
                          int *errnum, char *cstr, size_t cstr_cap,
                          size_t *need, dt__error *err) {
  struct copy_to c = {cstr, cstr_cap, 0};
  int rc = dt__wire_result_apply_keep(sig, args, call_id, rec, size, ret,
                                      errnum, copy_keep, &c, err);
  if (rc == -ENOSPC && c.need != 0) {
    if (need != NULL)
      *need = c.need;
    dt__wire_fail(err, -ENOSPC,
                  "the returned string needs %zu bytes but the buffer has %zu",
                  c.need, cstr != NULL ? cstr_cap : (size_t)0);
  }
  return rc;
}
