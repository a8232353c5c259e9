/* wire_task.c: task records, the first stage of the record format
 * (queue/wire.c has the rest of the overview).
 *
 * This file owns a call on its way to a runner: measuring it (the
 * record's size, and the block a runner will need for it, so that a call
 * no runner could take fails in the caller), encoding its arguments, with
 * in buffers either carried or referred to by the id of bytes stored once
 * in the queue, big buffers placed in the caller's arena (queue/arena.h),
 * and the object section that names the object defining the caller's
 * function; reading a task's fixed header and that section; and decoding
 * a task into a dt__frame whose argv ffi_call can use: every in buffer
 * and string carried in the record copied into one aligned block (kept
 * per thread for the next decode), zeroed room for the out buffers it
 * carries, the arena's buffers used where they lie (its out buffers
 * zeroed there), and each buffer's
 * size checked against the length arguments in the same record.  It
 * calls queue/wire.c and config/types.c, never queue/wire_result.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"
#include "config/sig.h"
#include "config/types.h"
#include "queue/wire.h"
#include "queue/wire_io.h"

/* The fixed part of a task: magic, version, flags, fingerprint, entry,
 * nargs, call_id and the caller's errno. */
#define TASK_HEADER 36
/* The fixed part of the object section: digest and path length. */
#define OBJ_HEADER 10
/* The arena section: slot and stamp. */
#define ARENA_HEADER 12
/* The largest offset into an arena a task may name (far below 2^63, so
 * that offset + length never overflows). */
#define ARENA_OFF_MAX ((uint64_t)1 << 40)
/* Every buffer and string in a decoded frame starts on FRAME_ALIGN (or
 * on its element type's alignment when that is larger: frame_align). */
#define FRAME_ALIGN 16

static const uint8_t task_magic[4] = {'D', 'T', 'Q', '1'};

/* ---------------------------------------------------------------- frames */


/* Places n bytes (at least 1, so that a present buffer of 0 bytes still
 * gets a pointer of its own) at the next multiple of align after *end.
 * Returns the offset, or false when the block would pass DT__WIRE_MAX_BYTES.
 * Both values stay far below 2^63, so nothing here overflows. */
static bool frame_place(uint64_t *end, uint64_t n, size_t align,
                        uint64_t *off) {
  uint64_t o = (*end + align - 1) / align * align;
  if (n > DT__WIRE_MAX_BYTES || o + (n == 0 ? 1 : n) > DT__WIRE_MAX_BYTES)
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

static int encode_task(const dt__sig *sig, uint64_t fingerprint,
                       uint32_t entry, uint64_t call_id, int caller_errno,
                       void **args, const uint64_t *refs,
                       const dt__wire_arena *ar, const dt__wire_obj *obj,
                       uint8_t *buf, size_t size);

/* Checks an object section before it is written: a path of len bytes
 * (NULL only when len is 0) with no NUL among them, and no longer than
 * DT__WIRE_PATH_MAX.  Returns 0, -EINVAL or -ENAMETOOLONG. */
static int obj_ok(const dt__wire_obj *obj) {
  if (obj->len > DT__WIRE_PATH_MAX)
    return -ENAMETOOLONG;
  if (obj->len > 0 &&
      (obj->path == NULL || memchr(obj->path, '\0', obj->len) != NULL))
    return -EINVAL;
  return 0;
}

/* Measures a call.  Besides the record, it sizes the block a runner will
 * allocate for it (out buffers included), so that a call no runner could
 * take fails here, in the caller, with -E2BIG.  obj (or NULL) is the
 * object section. */
static int plan_task(const dt__sig *sig, void **args, const uint64_t *refs,
                     const dt__wire_arena *ar, const dt__wire_obj *obj,
                     task_plan *pl) {
  uint64_t size = TASK_HEADER, mem = 0, off;

  if (!dt__wire_sig_ok(sig) || (args == NULL && sig->nparams > 0))
    return -EINVAL;
  if (obj != NULL) {
    int rc = obj_ok(obj);
    if (rc != 0)
      return rc;
    size += OBJ_HEADER + obj->len;
  }
  if (ar != NULL)
    size += ARENA_HEADER;
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
      if (n > DT__WIRE_MAX_BYTES)
        return -E2BIG;
      pl->len[i] = n;
      size += 8;
      if (ar != NULL && ar->off[i] != DT__NO_ID) {
        if (p->dir == DT__DIR_INOUT || ar->off[i] > ARENA_OFF_MAX ||
            ar->off[i] % dt__wire_frame_align(&p->type) != 0)
          return -EINVAL; /* see dt__wire_task_encode_arena */
        size += 8; /* its offset in the arena */
        continue;
      }
      if (refs != NULL && refs[i] != DT__NO_ID && p->dir == DT__DIR_IN)
        size += 8; /* a reference to bytes stored once in the queue */
      else if (p->dir != DT__DIR_OUT)
        size += n;
      if (!frame_place(&mem, n, dt__wire_frame_align(&p->type), &off))
        return -E2BIG;
    } else if (p->type.tag == DT__T_CSTRING) {
      const char *s;
      memcpy(&s, args[i], sizeof s);
      size += 4;
      if (s == NULL)
        continue;
      size_t n = strnlen(s, (size_t)DT__WIRE_MAX_BYTES + 1);
      if (n > DT__WIRE_MAX_BYTES)
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
    if (size > DT__WIRE_MAX_BYTES)
      return -E2BIG;
  }
  pl->size = size;
  return 0;
}

/* Computes the size of the task record for a call (args as libffi passes
 * them), with the object section obj (NULL: none), into *size.  Returns
 * 0, -EINVAL (a signature that cannot travel, or an object path holding
 * a NUL), -ENAMETOOLONG (an object path longer than DT__WIRE_PATH_MAX),
 * -ERANGE (a negative length), -EOVERFLOW (a length that does not fit in
 * 64 bits) or -E2BIG (a record or a runner-side block larger than
 * 1 GiB). */
int dt__wire_task_size(const dt__sig *sig, void **args,
                       const dt__wire_obj *obj, size_t *size) {
  return dt__wire_task_size_refs(sig, args, NULL, obj, size);
}

/* The same, with in buffers passed by reference: refs[i], when not
 * DT__NO_ID, names bytes already stored in the queue (fan-out stores a
 * buffer common to every slice once); the record then carries the id
 * and the size instead of the bytes.  refs may be NULL. */
int dt__wire_task_size_refs(const dt__sig *sig, void **args,
                            const uint64_t *refs, const dt__wire_obj *obj,
                            size_t *size) {
  task_plan pl;
  int rc = plan_task(sig, args, refs, NULL, obj, &pl);
  if (rc != 0)
    return rc;
  *size = (size_t)pl.size;
  return 0;
}

/* Computes the size of the task record for a call whose buffers ar
 * places in the caller's arena (each off[i] not DT__NO_ID: buffer i is
 * there, and the record carries its offset instead of its bytes); as
 * dt__wire_task_size otherwise, and -EINVAL for an inout buffer placed
 * there or an offset not aligned for its type. */
int dt__wire_task_size_arena(const dt__sig *sig, void **args,
                             const dt__wire_arena *ar,
                             const dt__wire_obj *obj, size_t *size) {
  task_plan pl;
  if (ar == NULL)
    return -EINVAL;
  int rc = plan_task(sig, args, NULL, ar, obj, &pl);
  if (rc != 0)
    return rc;
  *size = (size_t)pl.size;
  return 0;
}

/* Places the call's in and out buffers (not inout, not NULL) one after
 * the other in an arena from offset 0, each on its type's alignment
 * (dt__wire_frame_align) or on align when that is larger: ar->off[i]
 * gets buffer i's offset, DT__NO_ID for every other parameter.  *end
 * gets the bytes they span, *total the bytes of the buffers themselves.
 * Returns 0, or an error of dt__wire_buffer_bytes (-ERANGE, -EOVERFLOW,
 * -EINVAL). */
int dt__wire_arena_place(const dt__sig *sig, void **args, size_t align,
                         dt__wire_arena *ar, uint64_t *end,
                         uint64_t *total) {
  uint64_t e = 0, t = 0;
  for (int i = 0; i < DT__MAX_PARAMS; i++)
    ar->off[i] = DT__NO_ID;
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    const void *ptr;
    uint64_t n;
    if (!p->is_buffer || p->dir == DT__DIR_INOUT)
      continue;
    memcpy(&ptr, args[i], sizeof ptr);
    if (ptr == NULL)
      continue;
    int rc = dt__wire_buffer_bytes(sig, i, args, &n);
    if (rc != 0)
      return rc;
    if (n > DT__WIRE_MAX_BYTES)
      return -EOVERFLOW;
    uint64_t a = dt__wire_frame_align(&p->type);
    if (a < align)
      a = align;
    ar->off[i] = (e + a - 1) / a * a; /* each < 2^30 + 2^12: no overflow */
    e = ar->off[i] + n;
    t += n;
  }
  *end = e;
  *total = t;
  return 0;
}

/* Encodes the task into buf, which the caller owns and which has exactly
 * the size dt__wire_task_size computed for the same arguments and obj
 * (buf need not be aligned: LMDB hands out reserved space).  With obj
 * (not NULL) the record has flag DT__TASK_OBJ and the object section.
 * Nothing is allocated.  Returns 0, an error of dt__wire_task_size, or
 * -EINVAL when size is not what it computes for these arguments (or a
 * string changed length in between). */
int dt__wire_task_encode(const dt__sig *sig, uint64_t fingerprint,
                         uint32_t entry, uint64_t call_id, int caller_errno,
                         void **args, const dt__wire_obj *obj, uint8_t *buf,
                         size_t size) {
  return dt__wire_task_encode_refs(sig, fingerprint, entry, call_id,
                                   caller_errno, args, NULL, obj, buf, size);
}

/* The same, with in buffers passed by reference: refs[i], when not
 * DT__NO_ID, names bytes already stored in the queue (fan-out stores a
 * buffer common to every slice once); the record then carries the id
 * and the size instead of the bytes.  refs may be NULL. */
int dt__wire_task_encode_refs(const dt__sig *sig, uint64_t fingerprint,
                              uint32_t entry, uint64_t call_id,
                              int caller_errno, void **args,
                              const uint64_t *refs, const dt__wire_obj *obj,
                              uint8_t *buf, size_t size) {
  return encode_task(sig, fingerprint, entry, call_id, caller_errno, args,
                     refs, NULL, obj, buf, size);
}

/* The same, with buffers in the caller's arena as ar places them (see
 * dt__wire_task_size_arena): the record has flag DT__TASK_ARENA, the
 * arena section, and each such buffer's length and offset.  The caller
 * has copied its in buffers there already. */
int dt__wire_task_encode_arena(const dt__sig *sig, uint64_t fingerprint,
                               uint32_t entry, uint64_t call_id,
                               int caller_errno, void **args,
                               const dt__wire_arena *ar,
                               const dt__wire_obj *obj, uint8_t *buf,
                               size_t size) {
  if (ar == NULL)
    return -EINVAL;
  return encode_task(sig, fingerprint, entry, call_id, caller_errno, args,
                     NULL, ar, obj, buf, size);
}

/* The encoders' one body: refs and ar may each be NULL. */
static int encode_task(const dt__sig *sig, uint64_t fingerprint,
                       uint32_t entry, uint64_t call_id, int caller_errno,
                       void **args, const uint64_t *refs,
                       const dt__wire_arena *ar, const dt__wire_obj *obj,
                       uint8_t *buf, size_t size) {
  task_plan pl;
  int rc = plan_task(sig, args, refs, ar, obj, &pl);
  if (rc != 0)
    return rc;
  if (buf == NULL || pl.size != size)
    return -EINVAL;

  dt__wire_writer w = {buf, size, 0, false};
  dt__wire_put_bytes(&w, task_magic, sizeof task_magic);
  dt__wire_put_u16(&w, DT__WIRE_VERSION);
  dt__wire_put_u16(&w, (uint16_t)((obj != NULL ? DT__TASK_OBJ : 0) |
                                  (ar != NULL ? DT__TASK_ARENA : 0)));
  dt__wire_put_u64(&w, fingerprint);
  dt__wire_put_u32(&w, entry);
  dt__wire_put_u32(&w, (uint32_t)sig->nparams);
  dt__wire_put_u64(&w, call_id);
  dt__wire_put_u32(&w, (uint32_t)caller_errno);
  if (obj != NULL) {
    dt__wire_put_u64(&w, obj->digest);
    dt__wire_put_u16(&w, (uint16_t)obj->len);
    dt__wire_put_bytes(&w, obj->path, obj->len);
  }
  if (ar != NULL) {
    dt__wire_put_u32(&w, ar->slot);
    dt__wire_put_u64(&w, ar->stamp);
  }
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->is_buffer) {
      const void *ptr;
      memcpy(&ptr, args[i], sizeof ptr);
      if (ptr == NULL) {
        dt__wire_put_u8(&w, 0);
        continue;
      }
      if (ar != NULL && ar->off[i] != DT__NO_ID) {
        dt__wire_put_u8(&w, 3);
        dt__wire_put_u64(&w, pl.len[i]);
        dt__wire_put_u64(&w, ar->off[i]);
        continue;
      }
      if (refs != NULL && refs[i] != DT__NO_ID && p->dir == DT__DIR_IN) {
        dt__wire_put_u8(&w, 2);
        dt__wire_put_u64(&w, pl.len[i]);
        dt__wire_put_u64(&w, refs[i]);
        continue;
      }
      dt__wire_put_u8(&w, 1);
      dt__wire_put_u64(&w, pl.len[i]);
      if (p->dir != DT__DIR_OUT)
        dt__wire_put_bytes(&w, ptr, (size_t)pl.len[i]);
    } else if (p->type.tag == DT__T_CSTRING) {
      const char *s;
      memcpy(&s, args[i], sizeof s);
      if (s == NULL) {
        dt__wire_put_u32(&w, DT__WIRE_NULL_LEN);
        continue;
      }
      if (strnlen(s, (size_t)pl.len[i] + 1) != pl.len[i])
        return -EINVAL;
      dt__wire_put_u32(&w, (uint32_t)pl.len[i]);
      dt__wire_put_bytes(&w, s, (size_t)pl.len[i]);
    } else {
      uint64_t v;
      if (dt__scalar_get(&p->type, args[i], &v) != 0)
        return -EINVAL;
      dt__wire_put_u64(&w, v);
    }
  }
  if (w.overflow || w.pos != size)
    return -EINVAL;
  return 0;
}

/* Reads and checks the object section of a task whose flags announce
 * one (r is just past the fixed header): every length against what is
 * left, the path's length against DT__WIRE_PATH_MAX, and no NUL in it.
 * Fills *obj (path pointing into the record) when obj is not NULL.
 * Returns 0 or -EPROTO with a sentence in err. */
static int task_obj(dt__wire_reader *r, dt__wire_obj *obj, dt__error *err) {
  uint64_t digest = 0;
  uint16_t len = 0;
  const uint8_t *path = NULL;
  size_t at = r->pos;

  if (!dt__wire_get_u64(r, &digest) || !dt__wire_get_u16(r, &len))
    return dt__wire_fail(
        err, -EPROTO,
        "the task record is truncated: it ends inside its object section, "
        "which starts at byte %zu of %zu",
        at, r->size);
  if (len > DT__WIRE_PATH_MAX)
    return dt__wire_fail(
        err, -EPROTO,
        "the task names an object path of %u bytes, longer than the %d a "
        "path may have",
        (unsigned)len, DT__WIRE_PATH_MAX);
  if (!dt__wire_get_bytes(r, len, &path))
    return dt__wire_fail(
        err, -EPROTO,
        "the task record is truncated: its object path claims %u bytes but "
        "only %zu are left",
        (unsigned)len, dt__wire_left(r));
  if (len > 0 && memchr(path, '\0', len) != NULL)
    return dt__wire_fail(
        err, -EPROTO,
        "the task names an object path with a NUL byte inside its %u bytes",
        (unsigned)len);
  if (obj != NULL) {
    obj->digest = digest;
    obj->path = len > 0 ? (const char *)path : NULL;
    obj->len = len;
  }
  return 0;
}

/* Reads and checks the fixed header of a task (not its object section,
 * which task_obj reads next when *has_obj says there is one).  Fills the
 * out-parameters that are not NULL. */
static int task_header(dt__wire_reader *r, uint64_t *fingerprint,
                       uint32_t *entry, uint32_t *nargs, uint64_t *call_id,
                       int *caller_errno, bool *has_obj, bool *has_arena,
                       dt__error *err) {
  const uint8_t *magic = NULL;
  uint16_t version = 0, flags = 0;
  uint64_t fp = 0, id = 0;
  uint32_t e = 0, n = 0, en = 0;

  if (dt__wire_left(r) < TASK_HEADER)
    return dt__wire_fail(
        err, -EPROTO,
        "the task record has %zu bytes, fewer than the %d of its "
        "header",
        dt__wire_left(r), TASK_HEADER);
  dt__wire_get_bytes(r, sizeof task_magic, &magic);
  if (memcmp(magic, task_magic, sizeof task_magic) != 0)
    return dt__wire_fail(
        err, -EPROTO,
        "the record does not start with \"DTQ1\", so it is not a "
        "dtask task record");
  dt__wire_get_u16(r, &version);
  if (version != DT__WIRE_VERSION)
    return dt__wire_fail(
        err, -EPROTO,
        "the task record is in format version %u but this runner "
        "reads version %d; run the same dtask version on both "
        "sides",
        (unsigned)version, DT__WIRE_VERSION);
  dt__wire_get_u16(r, &flags);
  if ((flags & ~(DT__TASK_OBJ | DT__TASK_ARENA)) != 0)
    return dt__wire_fail(
        err, -EPROTO,
        "the task record has flags 0x%04x, which format version %d "
        "does not define (only 0x%04x, an object section, and 0x%04x, an "
        "arena section, are defined)",
        (unsigned)flags, DT__WIRE_VERSION, DT__TASK_OBJ, DT__TASK_ARENA);
  dt__wire_get_u64(r, &fp);
  dt__wire_get_u32(r, &e);
  dt__wire_get_u32(r, &n);
  dt__wire_get_u64(r, &id);
  dt__wire_get_u32(r, &en);
  if (has_obj != NULL)
    *has_obj = (flags & DT__TASK_OBJ) != 0;
  if (has_arena != NULL)
    *has_arena = (flags & DT__TASK_ARENA) != 0;
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

/* Reads the fixed header of a task record, checking its magic, version
 * and flags, and fills the out-parameters that are not NULL.  Returns 0
 * or -EPROTO.  The object section that may follow is read by
 * dt__wire_task_obj (and checked by the decoders), not here. */
int dt__wire_task_peek(const uint8_t *rec, size_t size, uint64_t *fingerprint,
                       uint32_t *entry, uint64_t *call_id) {
  dt__wire_reader r = {rec, rec != NULL ? size : 0, 0};
  return task_header(&r, fingerprint, entry, NULL, call_id, NULL, NULL, NULL,
                     NULL);
}

/* Reads the object section of a task record: the identity and the path
 * of the object that defines the caller's function, which a runner
 * compares with its own (runner/worker.c).  Returns 1 and fills *obj (its
 * path points into rec, len bytes, no NUL terminator) when the task has
 * one, 0 with *obj zeroed when it has none, or -EPROTO for a record whose
 * header or object section is bad, with a sentence in err (which may be
 * NULL; empty on success), or -EINVAL when obj is NULL. */
int dt__wire_task_obj(const uint8_t *rec, size_t size, dt__wire_obj *obj,
                      dt__error *err) {
  dt__wire_reader r = {rec, rec != NULL ? size : 0, 0};
  bool has = false;
  dt__wire_clear(err);
  if (obj == NULL)
    return dt__wire_fail(err, -EINVAL, "no place for the object section");
  memset(obj, 0, sizeof *obj);
  int rc = task_header(&r, NULL, NULL, NULL, NULL, NULL, &has, NULL, err);
  if (rc == 0 && has)
    rc = task_obj(&r, obj, err);
  if (rc != 0)
    return rc;
  return has ? 1 : 0;
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
  return dt__wire_task_decode_limit(sig, rec, size, fetch, fctx, NULL, NULL,
                                    DT__WIRE_MAX_BYTES, f, err);
}

/* dt__wire_task_decode_refs under a bound that the runner chooses (its
 * dt__wire_call_limit): before anything is allocated, the result record
 * the call's out and inout buffers will make (a returned string not
 * counted), and the bytes of the buffers stored once in the queue that it
 * refers to, must each be at most limit bytes.  A task that asks for more is -EFBIG, with a
 * sentence saying how much it asks, and nothing allocated: a record of
 * a few bytes cannot make a worker allocate and clear gigabytes, or run
 * a function whose result it could not store. */
int dt__wire_task_decode_limit(const dt__sig *sig, const uint8_t *rec,
                               size_t size, dt__fetch_fn fetch, void *fctx,
                               dt__arena_fn arena, void *actx, uint64_t limit,
                               dt__frame *f, dt__error *err) {
  const uint8_t *data[DT__MAX_PARAMS] = {0};
  uint64_t ref[DT__MAX_PARAMS];
  uint64_t len[DT__MAX_PARAMS];
  uint64_t off[DT__MAX_PARAMS];
  uint64_t aoff[DT__MAX_PARAMS]; /* offset in the arena, or DT__NO_ID */
  uint32_t nargs = 0, aslot = 0;
  uint64_t astamp = 0;
  int rc;

  dt__wire_clear(err);
  if (f == NULL || !dt__wire_sig_ok(sig))
    return dt__wire_fail(err, -EINVAL, "no frame or no valid signature");
  memset(f, 0, sizeof *f);

  dt__wire_reader r = {rec, rec != NULL ? size : 0, 0};
  bool has_obj = false, has_arena = false;
  rc = task_header(&r, NULL, &f->entry, &nargs, &f->call_id,
                   &f->caller_errno, &has_obj, &has_arena, err);
  if (rc == 0 && has_obj)
    rc = task_obj(&r, NULL, err); /* checked and skipped: see task_obj */
  if (rc != 0)
    return rc;
  if (has_arena && (!dt__wire_get_u32(&r, &aslot) ||
                    !dt__wire_get_u64(&r, &astamp)))
    return dt__wire_fail(err, -EPROTO,
                         "the task record is truncated: it ends inside its "
                         "arena section");
  if (has_arena && arena == NULL)
    return dt__wire_fail(err, -EPROTO,
                         "the task's buffers are in its caller's arena, "
                         "which this reader cannot reach (a queue whose "
                         "workers run on another host carries them in the "
                         "record)");
  if (nargs != (uint32_t)sig->nparams)
    return dt__wire_fail(
        err, -EPROTO,
        "the task has %u arguments but the signature of '%s' has "
        "%d",
        (unsigned)nargs, sig->name, sig->nparams);

  /* Pass 1: walk the arguments, check every length against what is left
   * and every value against its type, and remember where data is. */
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    size_t at = r.pos;
    len[i] = UINT64_MAX;
    aoff[i] = DT__NO_ID;
    f->argv[i] = &f->vals[i];
    if (p->is_buffer) {
      uint8_t present;
      if (!dt__wire_get_u8(&r, &present))
        goto truncated;
      ref[i] = DT__NO_ID;
      if (present > 3 ||
          (present == 2 && (fetch == NULL || p->dir != DT__DIR_IN)) ||
          (present == 3 && (!has_arena || p->dir == DT__DIR_INOUT)))
        return dt__wire_fail(
            err, -EPROTO,
            "buffer '%s' (argument %d) has a presence byte of %u at "
            "byte %zu; it must be 0 or 1 (or 2 for an in buffer "
            "stored once in the queue, or 3 for an in or out buffer in "
            "the arena the task names)",
            p->name, i + 1, (unsigned)present, at);
      if (present == 0)
        continue;
      if (!dt__wire_get_u64(&r, &len[i]))
        goto truncated;
      if (len[i] > DT__WIRE_MAX_BYTES)
        return dt__wire_fail(
            err, -EPROTO,
            "buffer '%s' claims %llu bytes, more than the 1 GiB a "
            "task may carry",
            p->name, (unsigned long long)len[i]);
      if (present == 2) {
        if (!dt__wire_get_u64(&r, &ref[i]))
          goto truncated;
      } else if (present == 3) {
        if (!dt__wire_get_u64(&r, &aoff[i]))
          goto truncated;
        if (aoff[i] > ARENA_OFF_MAX ||
            aoff[i] % dt__wire_frame_align(&p->type) != 0)
          return dt__wire_fail(
              err, -EPROTO,
              "buffer '%s' (argument %d) lies at offset %llu of the "
              "arena, which is %s",
              p->name, i + 1, (unsigned long long)aoff[i],
              aoff[i] > ARENA_OFF_MAX ? "past any arena"
                                      : "not aligned for its type");
      } else if (p->dir != DT__DIR_OUT &&
                 !dt__wire_get_bytes(&r, len[i], &data[i])) {
        goto truncated;
      }
    } else if (p->type.tag == DT__T_CSTRING) {
      uint32_t n;
      if (!dt__wire_get_u32(&r, &n))
        goto truncated;
      if (n == DT__WIRE_NULL_LEN)
        continue;
      len[i] = n;
      if (!dt__wire_get_bytes(&r, n, &data[i]))
        goto truncated;
      if (memchr(data[i], '\0', n) != NULL)
        return dt__wire_fail(
            err, -EPROTO,
            "string '%s' (argument %d) contains a NUL byte inside "
            "its %u bytes",
            p->name, i + 1, (unsigned)n);
    } else {
      uint64_t v;
      if (!dt__wire_get_u64(&r, &v))
        goto truncated;
      if (!dt__scalar_valid(&p->type, v))
        return dt__wire_fail(
            err, -EPROTO,
            "argument %d ('%s') holds 0x%llx, which is not a valid "
            "%s",
            i + 1, p->name, (unsigned long long)v, p->type.name);
      dt__scalar_set(&p->type, v, &f->vals[i]);
    }
    continue;
  truncated:
    return dt__wire_fail(
        err, -EPROTO,
        "the task record is truncated: it ends inside argument %d "
        "('%s'), which starts at byte %zu of %zu",
        i + 1, p->name, at, r.size);
  }
  if (dt__wire_left(&r) != 0)
    return dt__wire_fail(
        err, -EPROTO, "the task record has %zu bytes after its last argument",
        dt__wire_left(&r));

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
        return dt__wire_fail(err, -EPROTO,
                             "the length of buffer '%s' is negative", p->name);
      if (rc != 0)
        return dt__wire_fail(
            err, -EPROTO, "the length of buffer '%s' does not fit in 64 bits",
            p->name);
      if (want != n)
        return dt__wire_fail(
            err, -EPROTO, "buffer '%s' has %llu bytes but its length says %llu",
            p->name, (unsigned long long)n, (unsigned long long)want);
      a = dt__wire_frame_align(&p->type);
      if (aoff[i] != DT__NO_ID)
        continue; /* where it lies: checked against the others below */
    } else {
      n += 1; /* the NUL */
    }
    if (!frame_place(&end, n, a, &off[i]))
      return dt__wire_fail(
          err, -EPROTO,
          "the call's buffers and strings need more than the 1 GiB "
          "a runner allocates for one task");
    if (a > align)
      align = a;
  }

  /* The bound, before any allocation, on what the record does not carry
   * itself: the result that the out and inout buffers will make, and the
   * bytes of buffers stored once in the queue that it refers to.  (In
   * buffers and strings carried in the record are bounded by its size.) */
  uint64_t result = DT__WIRE_RESULT_HEADER + 8 +
                    (sig->ret.tag == DT__T_CSTRING ? 4 : 0);
  uint64_t shared = 0;
  for (int i = 0; i < sig->nparams; i++) {
    if (!sig->params[i].is_buffer || len[i] == UINT64_MAX)
      continue;
    if (sig->params[i].dir != DT__DIR_IN)
      result += 8 + (aoff[i] != DT__NO_ID ? 0 : len[i]); /* <= 1 GiB each */
    else if (ref[i] != DT__NO_ID)
      shared += len[i];
  }
  if (result > limit || shared > limit)
    return dt__wire_fail(
        err, -EFBIG,
        "the call asks for %llu bytes of %s, more than the %llu bytes one "
        "call may take ([queue] max_call_size, at most a quarter of "
        "map_size); the runner refused it without running it",
        (unsigned long long)(result > limit ? result : shared),
        result > limit ? "result" : "buffers stored once in the queue",
        (unsigned long long)limit);

  /* The arena's buffers: none overlaps another, and the caller's arena
   * holds them all. */
  uint64_t need = 0;
  for (int i = 0; i < sig->nparams; i++) {
    if (aoff[i] == DT__NO_ID)
      continue;
    uint64_t e = aoff[i] + len[i]; /* both < 2^41: no overflow */
    for (int j = 0; j < i; j++)
      if (aoff[j] != DT__NO_ID && aoff[i] < aoff[j] + len[j] &&
          aoff[j] < e)
        return dt__wire_fail(
            err, -EPROTO,
            "buffers '%s' and '%s' overlap in the arena",
            sig->params[j].name, sig->params[i].name);
    if (e > need)
      need = e;
  }
  uint8_t *adata = NULL;
  if (has_arena) {
    rc = arena(actx, aslot, astamp, need, &adata, err);
    if (rc != 0)
      return rc == -ENOMEM ? -ENOMEM : -EPROTO;
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
      return dt__wire_fail(
          err, -ENOMEM,
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
    uint8_t *dst = aoff[i] != DT__NO_ID ? adata + aoff[i]
                                        : (uint8_t *)f->mem + off[i];
    if (p->is_buffer) {
      if (aoff[i] != DT__NO_ID) {
        /* Used where it lies; an out buffer starts from zeros there too,
         * as one in the block does (not from an earlier call's bytes). */
        if (p->dir == DT__DIR_OUT)
          memset(dst, 0, (size_t)len[i]);
        f->in_arena |= 1u << i;
      } else if (ref[i] != DT__NO_ID) {
        rc = fetch(fctx, ref[i], dst, len[i]);
        if (rc != 0) {
          dt__frame_free(f);
          return dt__wire_fail(
              err, rc == -ENOMEM ? -ENOMEM : -EPROTO,
              "buffer '%s' refers to shared bytes %llu, which the "
              "queue does not hold with %llu bytes (%s)",
              p->name, (unsigned long long)ref[i], (unsigned long long)len[i],
              strerror(-rc));
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

/* Frees the frame's block, or keeps it for this thread's next decode; f
 * itself belongs to the caller.  Safe on a zeroed frame, a frame whose
 * decode failed, and twice. */
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
  f->in_arena = 0;
  for (int i = 0; i < DT__MAX_PARAMS; i++) {
    f->buf[i] = NULL;
    f->bytes[i] = 0;
  }
}
