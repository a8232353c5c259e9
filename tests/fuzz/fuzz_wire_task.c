/* fuzz_wire_task.c: the fuzz harness of the task decoder
 * (queue/wire_task.c), driven as a runner drives it (runner/worker.c,
 * serve_one), and of the result encoder the runner answers with.
 *
 * Input: data[0] chooses the entry's signature (tests/fuzz/fuzz_wire.h,
 * modulo their number), data[1] holds options, and the rest is the
 * claimed task record, exactly that many bytes (so ASan sees a read past
 * its end).  Options:
 *   bits 0-1  the runner's call limit (dt__wire_call_limit): 4 KiB,
 *             64 KiB, 1 MiB, or 40 bytes (less than any result with an
 *             out buffer)
 *   bit 2     every buffer stored once in the queue is missing (-ENOENT)
 *   bits 3-4  a returned string: NULL, the runner's own, a place inside
 *             an argument (its first byte), or its last byte
 *   bit 5     the errno the function leaves: EDOM instead of 0
 *   bit 6     the caller's arena is gone (-ESTALE); otherwise it is a
 *             block of ARENA_BYTES, and a task that names more is refused
 *
 * As serve_one does, the record's header is peeked
 * (dt__wire_task_peek), its object section read (dt__wire_task_obj: a
 * path must lie inside the record), and the task decoded with
 * dt__wire_task_decode_limit under the limit, references to shared
 * buffers resolved by a fetch that answers by the id (bytes, -ENOENT,
 * -ENOMEM, -EACCES), and buffers in the caller's arena by task_arena.  The same record then goes through
 * dt__wire_task_decode (no fetch, the 1 GiB record limit; skipped when
 * the limit refused it, which would make it allocate up to that), which
 * must agree: the same frame, or a refusal where only a reference could
 * make the difference.  A decoded call is "run": its out buffers are
 * written, a return value chosen, and the result encoded with
 * dt__wire_result_encode, which must succeed, and applied back onto the
 * frame's own arguments with dt__wire_result_apply, as the caller would
 * (the frame's argv is what the caller passed, as the runner received
 * it), which must accept it and give back the same value and errno.  A
 * refused task is answered as serve_one answers it
 * (dt__wire_result_error), and that record too must apply, as its
 * status.  Everything is freed (dt__frame_free).  Corpus:
 * tests/fuzz/corpus/wire_task/, made by tests/fuzz/gen_seeds.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/sig.h"
#include "queue/wire.h"
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_wire.h"

/* The runner's call limits that options bits 0-1 choose. */
static const uint64_t task_limits[] = {4096, 65536, 1u << 20, 40};

/* The fetch of buffers stored once in the queue (worker.c's fetch_blob):
 * ctx points at a bool, true when every fetch fails; otherwise id
 * modulo 4 answers with bytes, -ENOENT, -ENOMEM or -EACCES. */
static int task_fetch(void *ctx, uint64_t id, void *dst, uint64_t n) {
  if (*(const bool *)ctx)
    return -ENOENT;
  switch (id % 4) {
  case 0:
    for (uint64_t k = 0; k < n; k++)
      ((unsigned char *)dst)[k] = (unsigned char)(id + k);
    return 0;
  case 1:
    return -ENOENT;
  case 2:
    return -ENOMEM;
  default:
    return -EACCES;
  }
}

/* The caller's arena as task_arena gives it (worker.c's map_arena). */
#define ARENA_BYTES 65536
static uint8_t s_arena[ARENA_BYTES] __attribute__((aligned(4096)));

/* The decoder's arena (ctx: a bool, true when the arena is gone): the
 * block above for any slot and stamp, when need fits in it. */
static int task_arena(void *ctx, uint32_t slot, uint64_t stamp,
                      uint64_t need, uint8_t **data, dt__error *err) {
  (void)slot, (void)stamp;
  if (*(const bool *)ctx) {
    dt__error_set(err, 0, 0, "the caller's arena is gone");
    return -ESTALE;
  }
  if (need > ARENA_BYTES) {
    dt__error_set(err, 0, 0, "the arena has %d bytes, not %llu",
                  ARENA_BYTES, (unsigned long long)need);
    return -EPROTO;
  }
  *data = s_arena;
  return 0;
}

/* The caller's keep of a returned string: a copy in a static block. */
static int task_keep(void *ctx, const char *s, size_t len, const char **out) {
  static char kept[1 << 16];
  (void)ctx;
  if (len >= sizeof kept)
    return -ENOSPC;
  memcpy(kept, s, len);
  kept[len] = '\0';
  *out = kept;
  return 0;
}

/* Whether two frames decoded from one record hold the same call. */
static bool task_same(const dt__sig *sig, const dt__frame *a,
                      const dt__frame *b) {
  if (a->call_id != b->call_id || a->entry != b->entry ||
      a->caller_errno != b->caller_errno || a->nargs != b->nargs)
    return false;
  for (int i = 0; i < sig->nparams; i++) {
    const dt__param *p = &sig->params[i];
    if (p->is_buffer || p->type.tag == DT__T_CSTRING) {
      if ((a->buf[i] == NULL) != (b->buf[i] == NULL) ||
          a->bytes[i] != b->bytes[i])
        return false;
      if (a->buf[i] != NULL &&
          memcmp(a->buf[i], b->buf[i], (size_t)a->bytes[i]) != 0)
        return false;
    } else if (memcmp(&a->vals[i], &b->vals[i], sizeof a->vals[i]) != 0) {
      return false;
    }
  }
  return true;
}

/* "Runs" the call decoded into f: writes its out and inout buffers,
 * chooses a return value (opts bits 3-4 for a string), encodes the result
 * as the worker does and applies it back onto f's arguments as the caller
 * does; both must succeed and agree. */
static void task_answer(const dt__sig *sig, dt__frame *f, unsigned opts) {
  union {
    uint64_t u;
    double d;
    void *p;
    unsigned char b[32];
  } ret, back;
  static const char own[] = "the runner's own string";
  memset(&ret, 0, sizeof ret);
  memset(&back, 0, sizeof back);
  for (int i = 0; i < sig->nparams; i++)
    if (sig->params[i].is_buffer && sig->params[i].dir != DT__DIR_IN &&
        f->buf[i] != NULL)
      memset(f->buf[i], 0xa0 + i, (size_t)f->bytes[i]);
  if (sig->ret.tag == DT__T_CSTRING) {
    unsigned how = (opts >> 3) & 3u;
    const char *s = how == 1 ? own : NULL;
    for (int i = 0; i < sig->nparams && how >= 2 && s == NULL; i++) {
      const dt__param *p = &sig->params[i];
      uint64_t n = f->bytes[i] + (p->is_buffer ? 0 : 1);
      if (f->buf[i] != NULL && n > 0) {
        s = (const char *)f->buf[i] + (how == 3 ? n - 1 : 0);
        if (p->is_buffer) /* a string the function wrote there */
          ((char *)f->buf[i])[n - 1] = '\0';
      }
    }
    ret.p = (void *)s;
  } else {
    uint64_t v = dt__scalar_wrap(&sig->ret, f->call_id * 0x9e3779b97f4a7c15ull);
    dt__scalar_ret_set(&sig->ret, dt__scalar_valid(&sig->ret, v) ? v : 0,
                       &ret);
  }
  int fn_errno = (opts & 0x20u) ? EDOM : 0;
  uint8_t *rec = NULL;
  size_t size = 0;
  int rc = dt__wire_result_encode(sig, f, &ret, fn_errno, &rec, &size);
  dt__fuzz_check(rc == 0, "the runner cannot encode the result of a call "
                          "it decoded");
  /* The caller knows where it put its buffers in the arena. */
  dt__wire_arena ar = {0, 0, s_arena, {0}};
  for (int i = 0; i < DT__MAX_PARAMS; i++)
    ar.off[i] = i < sig->nparams && (f->in_arena >> i & 1)
                    ? (uint64_t)((uint8_t *)f->buf[i] - s_arena)
                    : DT__NO_ID;
  int errnum = -1;
  dt__error err;
  rc = dt__wire_result_apply_arena(sig, f->argv, f->in_arena ? &ar : NULL,
                                   f->call_id, rec, size, &back, &errnum,
                                   task_keep, NULL, &err);
  dt__fuzz_check(rc == DT__ST_OK, "the caller refuses the result the runner "
                                  "encoded for the call it decoded");
  dt__fuzz_check(errnum == fn_errno, "the result's errno changed on the way");
  if (sig->ret.tag == DT__T_CSTRING) {
    const char *s = ret.p, *t = back.p;
    dt__fuzz_check((s == NULL) == (t == NULL) &&
                       (s == NULL || strcmp(s, t) == 0),
                   "the returned string changed on the way");
  } else {
    uint64_t a = 0, b = 0;
    dt__fuzz_check(dt__scalar_ret_get(&sig->ret, &ret, &a) == 0 &&
                       dt__scalar_ret_get(&sig->ret, &back, &b) == 0 && a == b,
                   "the return value changed on the way");
  }
  free(rec);
}

/* Answers a task that could not be decoded as serve_one does, and
 * applies the error record as a caller would: its status comes back. */
static void task_refuse(const dt__sig *sig, uint64_t call_id, int rc,
                        const dt__error *derr) {
  int status = rc == -ENOMEM  ? DT__ST_NOMEM
               : rc == -EFBIG ? DT__ST_TOO_BIG
                              : DT__ST_MALFORMED;
  uint8_t *rec = NULL;
  size_t size = 0;
  dt__fuzz_check(derr->msg[0] != '\0', "a refused task without a message");
  dt__fuzz_check(dt__wire_result_error(call_id, status, 0, derr->msg, &rec,
                                       &size) == 0,
                 "the runner cannot encode an error result");
  void *argv[DT__MAX_PARAMS];
  uint64_t zero[DT__MAX_PARAMS] = {0};
  for (int i = 0; i < DT__MAX_PARAMS; i++)
    argv[i] = &zero[i];
  int errnum = -1;
  dt__error err;
  int got = dt__wire_result_apply(sig, argv, call_id, rec, size, NULL,
                                  &errnum, NULL, 0, NULL, &err);
  dt__fuzz_check(got == status && errnum == 0,
                 "the caller reads another status than the runner sent");
  free(rec);
}

/* Decodes the task record data[2, size) for the signature data[0]
 * chooses, as a runner does, under the options data[1]; checks and
 * answers it as described above.  Always returns 0. */
int dt__fuzz_wire_task(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  dt__sig sig;
  if (dt__fuzz_sig_pick(data[0], &sig) != 0)
    return 0;
  unsigned opts = data[1];
  const uint8_t *rec = data + 2;
  size_t n = size - 2;

  uint64_t fp = 0, call_id = 0;
  uint32_t entry = 0;
  if (dt__wire_task_peek(rec, n, &fp, &entry, &call_id) != 0)
    call_id = DT__FUZZ_CALL_ID; /* serve_one answers the id it claimed */
  dt__wire_obj obj;
  dt__error derr;
  int has = dt__wire_task_obj(rec, n, &obj, &derr);
  dt__fuzz_check(has == 1 || has == 0 || has == -EPROTO,
                 "an object section's answer that is none of 1, 0, -EPROTO");
  if (has == 1 && obj.len > 0)
    dt__fuzz_check((const uint8_t *)obj.path >= rec &&
                       (const uint8_t *)obj.path + obj.len <= rec + n &&
                       memchr(obj.path, '\0', obj.len) == NULL,
                   "an object path outside the record, or with a NUL");

  bool fail_all = (opts & 0x04u) != 0, gone = (opts & 0x40u) != 0;
  uint64_t limit = task_limits[opts & 3u];
  dt__frame f;
  int rc = dt__wire_task_decode_limit(&sig, rec, n, task_fetch, &fail_all,
                                      task_arena, &gone, limit, &f, &derr);
  if (rc == -EFBIG || rc == -ENOMEM) {
    dt__fuzz_check(f.mem == NULL, "a refused task that holds memory");
    task_refuse(&sig, call_id, rc, &derr);
    return 0;
  }
  dt__frame g;
  dt__error gerr;
  int grc = dt__wire_task_decode(&sig, rec, n, &g, &gerr);
  if (rc != 0) {
    dt__fuzz_check(rc < 0 && f.mem == NULL,
                   "a refused task that holds memory");
    dt__fuzz_check(grc != 0, "dt__wire_task_decode takes a task that "
                             "dt__wire_task_decode_limit refuses");
    task_refuse(&sig, call_id, rc, &derr);
    return 0;
  }
  dt__fuzz_check(f.nargs == sig.nparams, "a frame of another arity");
  for (int i = 0; i < sig.nparams; i++)
    dt__fuzz_check(!(f.in_arena >> i & 1) ||
                       ((uint8_t *)f.buf[i] >= s_arena &&
                        (uint8_t *)f.buf[i] + f.bytes[i] <=
                            s_arena + ARENA_BYTES),
                   "a buffer of the arena that lies outside it");
  if (grc == 0)
    dt__fuzz_check(task_same(&sig, &f, &g),
                   "the two decoders read one task differently");
  else
    dt__fuzz_check(grc == -EPROTO, "dt__wire_task_decode refuses a task "
                                   "for another reason than a reference");
  dt__frame_free(&g);
  task_answer(&sig, &f, opts);
  dt__frame_free(&f);
  dt__frame_free(&f); /* safe twice, as promised */
  return 0;
}

DT__FUZZ_ENTRY(dt__fuzz_wire_task)
