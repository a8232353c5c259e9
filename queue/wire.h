/* wire.h: task and result records, the bytes that cross between a caller
 * and a runner (queue/wire.c, queue/wire_task.c, queue/wire_result.c).
 *
 * Records are versioned and little-endian whatever the host, and every
 * length is checked against the record's size on decode.  A task carries
 * the fingerprint of the offload entries of the config that made it, and
 * the index of its entry; a runner whose fingerprint differs refuses it.
 * Layout (all integers little-endian):
 *
 *   task   := "DTQ1" u16 version u16 flags u64 fingerprint u32 entry
 *             u32 nargs u64 call_id i32 errno (the caller's, which the
 *             function sees on entry), then the object section when
 *             flags has bit 0 (DT__TASK_OBJ), the arena section when it
 *             has bit 1 (DT__TASK_ARENA; no other bit is defined), then
 *             one item per parameter:
 *     object  u64 digest (the identity of the object that defines the
 *             caller's function: shim/image.h's dt__objid.digest), u16
 *             len, then len bytes of that object's absolute path (no
 *             NUL; len 0: no path; at most DT__WIRE_PATH_MAX bytes)
 *     arena   u32 slot u64 stamp: the caller's arena (queue/arena.h),
 *             whose data area holds the buffers of presence 3
 *     value   u64 (integers widened by their signedness, float/double
 *             as their IEEE bits)
 *     cstring u32 len (0xffffffff for NULL), len bytes, no NUL
 *     buffer  u8 present (0 for NULL, and then nothing follows), then
 *             u64 nbytes, and for in and inout buffers nbytes bytes;
 *             present 2 is an in buffer stored in the queue once (a
 *             fan-out call's common buffer): u64 nbytes, u64 blob id;
 *             present 3 is an in or out buffer in the caller's arena:
 *             u64 nbytes, u64 offset into its data area (a multiple
 *             of dt__wire_frame_align for its type, at least 16; no two
 *             such buffers overlap)
 *   result := "DTR1" u16 version u16 status i32 errno u64 call_id
 *             u64 ret (as a value above), then for a cstring return
 *             u32 len (0xffffffff NULL) + bytes, or, when the returned
 *             pointer lies inside an argument the runner received (a
 *             buffer's bytes, or a cstring's bytes and NUL), u32
 *             0xfffffffe, u32 parameter index, u64 offset into it (the
 *             caller returns its own pointer plus that offset); then for
 *             every out or inout buffer that was present, in parameter
 *             order, u64 nbytes + bytes, or, for an out buffer the task
 *             put in the arena, u64 nbytes | DT__WIRE_IN_ARENA and no
 *             bytes (the function wrote them there); when status != 0,
 *             u32 len + a message replace everything after call_id.
 */
#ifndef DT_WIRE_H
#define DT_WIRE_H

#include <limits.h>

#include "common/error.h"
#include "config/config.h"

/* 2: a returned cstring may point into an argument (0xfffffffe). */
#define DT__WIRE_VERSION 2

/* Task flags: an object section follows the fixed header; an arena
 * section follows that. */
#define DT__TASK_OBJ 0x0001u
#define DT__TASK_ARENA 0x0002u
/* A result's out buffer whose bytes are in the caller's arena. */
#define DT__WIRE_IN_ARENA ((uint64_t)1 << 63)
/* The longest object path a task carries: with its NUL, PATH_MAX. */
#define DT__WIRE_PATH_MAX (PATH_MAX - 1)

/* The object that defines the caller's function, as a task carries it.
 * To encode: path holds len bytes, none of them NUL (it need not end
 * with one), and len 0 sends the digest alone.  Decoded: path points
 * into the record (len bytes, not NUL-terminated), NULL when len is 0. */
typedef struct dt__wire_obj {
  uint64_t digest; /* dt__objid.digest of the defining object */
  const char *path;
  size_t len;
} dt__wire_obj;

/* No id: a buffer passed by value, no result to drop. */
#define DT__NO_ID UINT64_MAX

/* Where a call's big buffers lie in the caller's arena (queue/arena.h),
 * as the caller placed them: its waiter slot and the stamp of its arena
 * file, the caller's own mapping of the data area, and each buffer's
 * offset in it (DT__NO_ID: carried in the record).  Only in and out
 * buffers go there. */
typedef struct dt__wire_arena {
  uint32_t slot;
  uint64_t stamp;
  uint8_t *data;
  uint64_t off[DT__MAX_PARAMS];
} dt__wire_arena;

/* Result statuses. */
enum {
  DT__ST_OK = 0,
  DT__ST_MALFORMED = 1,   /* the task record failed validation */
  DT__ST_FINGERPRINT = 2, /* the runner serves a different config */
  DT__ST_NO_ENTRY = 3,    /* entry index out of range */
  DT__ST_NO_SYMBOL = 4,   /* the runner cannot find the function */
  DT__ST_NOMEM = 5,       /* the runner could not allocate */
  DT__ST_CRASH = 6,       /* the worker died running the call */
  DT__ST_TIMEOUT = 7,     /* the call ran past its timeout; its worker
                             was killed */
  DT__ST_LOST = 8,        /* the function ran (or may have), but its
                             result could not be stored: never run again */
  DT__ST_TOO_BIG = 9      /* refused before running: the call asks for
                             more than [queue] max_call_size allows */
};

/* The most bytes one call's task or result may take: the config's
 * max_call_size, a quarter of its map_size and the record limit, the
 * least of them (queue/wire.c). */
uint64_t dt__wire_call_limit(const dt__config *cfg);
/* The bytes of the result record of a call with args (a returned
 * string's bytes, unknown before it runs, not counted) (wire_result.c). */
int dt__wire_result_bytes(const dt__sig *sig, void **args, uint64_t *bytes);

uint64_t dt__wire_fingerprint(const dt__config *cfg);
size_t dt__wire_frame_align(const dt__type *t);
int dt__wire_buffer_bytes(const dt__sig *sig, int param, void **args,
                          uint64_t *nbytes);

/* Tasks, written by the caller.  refs[i], when not DT__NO_ID, names an
 * in buffer already stored in the queue; refs may be NULL.  obj, when
 * not NULL, is the object defining the function (the object section);
 * NULL writes none. */
int dt__wire_task_size(const dt__sig *sig, void **args,
                       const dt__wire_obj *obj, size_t *size);
int dt__wire_task_encode(const dt__sig *sig, uint64_t fingerprint,
                         uint32_t entry, uint64_t call_id, int caller_errno,
                         void **args, const dt__wire_obj *obj, uint8_t *buf,
                         size_t size);
int dt__wire_task_size_refs(const dt__sig *sig, void **args,
                            const uint64_t *refs, const dt__wire_obj *obj,
                            size_t *size);
int dt__wire_task_encode_refs(const dt__sig *sig, uint64_t fingerprint,
                              uint32_t entry, uint64_t call_id,
                              int caller_errno, void **args,
                              const uint64_t *refs, const dt__wire_obj *obj,
                              uint8_t *buf, size_t size);
/* The same with buffers in the caller's arena: ar (not NULL) says where
 * (its off[i] for buffer i, DT__NO_ID: in the record), as arena_place
 * places them. */
int dt__wire_arena_place(const dt__sig *sig, void **args, size_t align,
                         dt__wire_arena *ar, uint64_t *end, uint64_t *total);
int dt__wire_task_size_arena(const dt__sig *sig, void **args,
                             const dt__wire_arena *ar,
                             const dt__wire_obj *obj, size_t *size);
int dt__wire_task_encode_arena(const dt__sig *sig, uint64_t fingerprint,
                               uint32_t entry, uint64_t call_id,
                               int caller_errno, void **args,
                               const dt__wire_arena *ar,
                               const dt__wire_obj *obj, uint8_t *buf,
                               size_t size);

/* A decoded call, ready for ffi_call: argv[i] points at the i-th argument
 * as libffi wants it.  Owns one heap block (freed by dt__frame_free) that
 * holds an aligned copy of the in buffers and cstrings and zeroed space
 * for out buffers. */
typedef struct dt__frame {
  uint64_t call_id;
  uint32_t entry;
  int caller_errno; /* errno in the caller when it made the call */
  int nargs;
  void *argv[DT__MAX_PARAMS];
  union {
    uint64_t u;
    int64_t i;
    double d;
    float f;
    void *p;
    unsigned char bytes[8];
  } vals[DT__MAX_PARAMS];
  void *buf[DT__MAX_PARAMS];    /* buffer/cstring pointers (NULL if NULL) */
  uint64_t bytes[DT__MAX_PARAMS]; /* buffer sizes */
  void *mem;       /* the block all buffers live in, but: */
  size_t mem_size; /* its size (it may be a larger block, reused) */
  uint32_t in_arena; /* bit i: buffer i lies in the caller's arena */
} dt__frame;

/* Copies the n bytes stored in the queue under id into dst; 0 or a
 * negative errno (-ENOENT, -EPROTO for another size). */
typedef int (*dt__fetch_fn)(void *ctx, uint64_t id, void *dst, uint64_t n);
/* Gives *data the data area of the caller's arena that a task names
 * (slot, stamp), with at least need bytes, mapped for the call; 0 or a
 * negative errno, with a sentence in err. */
typedef int (*dt__arena_fn)(void *ctx, uint32_t slot, uint64_t stamp,
                            uint64_t need, uint8_t **data, dt__error *err);

/* Tasks, read by the runner. */
int dt__wire_task_peek(const uint8_t *rec, size_t size, uint64_t *fingerprint,
                       uint32_t *entry, uint64_t *call_id);
int dt__wire_task_obj(const uint8_t *rec, size_t size, dt__wire_obj *obj,
                      dt__error *err);
int dt__wire_task_decode(const dt__sig *sig, const uint8_t *rec, size_t size,
                         dt__frame *f, dt__error *err);
int dt__wire_task_decode_refs(const dt__sig *sig, const uint8_t *rec,
                              size_t size, dt__fetch_fn fetch, void *fctx,
                              dt__frame *f, dt__error *err);
int dt__wire_task_decode_limit(const dt__sig *sig, const uint8_t *rec,
                               size_t size, dt__fetch_fn fetch, void *fctx,
                               dt__arena_fn arena, void *actx, uint64_t limit,
                               dt__frame *f, dt__error *err);
void dt__frame_free(dt__frame *f);

/* Results, written by the runner and read by the caller. */
int dt__wire_result_encode(const dt__sig *sig, const dt__frame *f,
                           const void *ret, int err, uint8_t **out,
                           size_t *size);
int dt__wire_result_error(uint64_t call_id, int status, int detail,
                          const char *msg, uint8_t **out, size_t *size);
int dt__wire_result_apply(const dt__sig *sig, void **args, uint64_t call_id,
                          const uint8_t *rec, size_t size, void *ret,
                          int *errnum, char *cstr, size_t cstr_cap,
                          size_t *need, dt__error *err);
/* Where the caller keeps a returned string: given its len bytes in the
 * record (no NUL inside, none after), sets *out to a NUL-terminated copy
 * that the caller's memory owns; returns 0 or a negative errno. */
typedef int (*dt__wire_keep_fn)(void *ctx, const char *s, size_t len,
                                const char **out);
int dt__wire_result_apply_keep(const dt__sig *sig, void **args,
                               uint64_t call_id, const uint8_t *rec,
                               size_t size, void *ret, int *errnum,
                               dt__wire_keep_fn keep, void *kctx,
                               dt__error *err);
/* The same for a call whose buffers ar placed in the arena (NULL: none). */
int dt__wire_result_apply_arena(const dt__sig *sig, void **args,
                                const dt__wire_arena *ar, uint64_t call_id,
                                const uint8_t *rec, size_t size, void *ret,
                                int *errnum, dt__wire_keep_fn keep,
                                void *kctx, dt__error *err);

#endif /* DT_WIRE_H */
