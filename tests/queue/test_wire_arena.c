/* test_wire_arena.c: unit tests of buffers in the caller's arena
 * (queue/wire_task.c, queue/wire_result.c): a task with flag
 * DT__TASK_ARENA and its arena section (u32 slot, u64 stamp), whose in
 * and out buffers travel as presence 3 (u64 nbytes, u64 offset into the
 * arena) instead of as bytes, and a result whose out buffers in the
 * arena travel as u64 nbytes | DT__WIRE_IN_ARENA with no bytes.
 *
 * A static 1 MiB block stands in for the arena: the caller copies its in
 * buffers there, the runner's arena resolver hands the same block out,
 * the "function" writes its out buffers in place, and the caller copies
 * them back from there.  The encoders refuse placements the decoder would
 * refuse; the decoder refuses (-EPROTO, a sentence, nothing allocated)
 * sections it cannot use, overlapping, misaligned or far-off buffers, and
 * a resolver's failure; applying a result refuses a buffer said to be in
 * the arena where the call did not put it, and writes nothing then. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ffi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/config.h"
#include "config/sig.h"
#include "queue/wire.h"
#include "testutil.h"

#define FP 0x1122334455667788ull
#define SLOT 7u
#define STAMP 0xfeedface12345678ull
#define BLOCK_SIZE ((size_t)1 << 20)
#define HEADER 36 /* a task's fixed header */

/* The caller's arena data area, and what the runner's resolver maps. */
static _Alignas(4096) uint8_t g_block[BLOCK_SIZE];

/* Parses a signature that must be valid. */
static void parse_sig(const char *text, dt__sig *sig) {
  dt__error e = {0, 0, ""};
  int rc = dt__sig_parse(text, NULL, 0, sig, &e);
  if (rc != 0)
    fail_msg("\"%s\" failed (rc %d): %s", text, rc, e.msg);
}

static uint64_t peek64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static void poke(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* A copy of n bytes in a block of exactly n bytes (ASan sees overreads). */
static uint8_t *exact_copy(const uint8_t *src, size_t n) {
  uint8_t *p = malloc(n > 0 ? n : 1);
  assert_non_null(p);
  if (n > 0)
    memcpy(p, src, n);
  return p;
}

/* The runner's arena resolver: records what it was asked for, then gives
 * g_block, or fails with rc and msg (rc 0: fails only when need passes
 * the block, -ENOSPC). */
typedef struct resolver {
  int calls;
  uint32_t slot;
  uint64_t stamp, need;
  int rc;
  const char *msg;
} resolver;

static int resolve(void *ctx, uint32_t slot, uint64_t stamp, uint64_t need,
                   uint8_t **data, dt__error *err) {
  resolver *r = ctx;
  r->calls++;
  r->slot = slot;
  r->stamp = stamp;
  r->need = need;
  int rc = r->rc != 0 ? r->rc : need > BLOCK_SIZE ? -ENOSPC : 0;
  if (rc != 0) {
    if (err != NULL)
      snprintf(err->msg, sizeof err->msg, "%s",
               r->msg != NULL ? r->msg : "the test arena is too small");
    return rc;
  }
  *data = g_block;
  return 0;
}

/* Decodes as a runner with an arena resolver (res NULL: none) would. */
static int decode(const dt__sig *sig, const uint8_t *rec, size_t size,
                  resolver *res, uint64_t limit, dt__frame *f,
                  dt__error *e) {
  return dt__wire_task_decode_limit(sig, rec, size, NULL, NULL,
                                    res != NULL ? resolve : NULL, res, limit,
                                    f, e);
}

/* A decode refused as malformed: -EPROTO, the phrase, nothing kept. */
static void refused(int rc, const dt__frame *f, const dt__error *e,
                    const char *phrase) {
  assert_int_equal(rc, -EPROTO);
  assert_null(f->mem);
  assert_contains(e->msg, phrase);
}

/* An arena description with no buffer placed. */
static void no_places(dt__wire_arena *ar) {
  ar->slot = SLOT;
  ar->stamp = STAMP;
  ar->data = g_block;
  for (int i = 0; i < DT__MAX_PARAMS; i++)
    ar->off[i] = DT__NO_ID;
}

/* Encodes an arena task for args into a malloc'd block of its size. */
static uint8_t *encode(const dt__sig *sig, void **args,
                       const dt__wire_arena *ar, uint64_t id, int caller_errno,
                       size_t *size) {
  assert_int_equal(dt__wire_task_size_arena(sig, args, ar, NULL, size), 0);
  uint8_t *rec = malloc(*size);
  assert_non_null(rec);
  assert_int_equal(dt__wire_task_encode_arena(sig, FP, 3, id, caller_errno,
                                              args, ar, NULL, rec, *size),
                   0);
  return rec;
}

/* The "pair" call: "int h(in double a[n], out double b[n], size_t n)" with
 * n = 8 (64 bytes each), a placed at off_a and b at off_b (DT__NO_ID: in
 * the record).  With both in the arena its record is PAIR_SIZE bytes:
 * header, arena section, a (presence A_AT, offset A_AT + 9), b (presence
 * B_AT, offset B_AT + 9), n. */
#define PAIR_N 8
#define A_AT (HEADER + 12)
#define B_AT (A_AT + 17)
#define PAIR_SIZE (B_AT + 17 + 8)
typedef struct pair {
  dt__sig sig;
  double a[PAIR_N], b[PAIR_N];
  double *pa, *pb;
  size_t n;
  void *args[3];
  dt__wire_arena ar;
} pair;

static void pair_init(pair *p, uint64_t off_a, uint64_t off_b) {
  parse_sig("int h(in double a[n], out double b[n], size_t n)", &p->sig);
  for (int i = 0; i < PAIR_N; i++) {
    p->a[i] = i + 0.5;
    p->b[i] = -1.0;
  }
  p->pa = p->a;
  p->pb = p->b;
  p->n = PAIR_N;
  p->args[0] = &p->pa;
  p->args[1] = &p->pb;
  p->args[2] = &p->n;
  no_places(&p->ar);
  p->ar.off[0] = off_a;
  p->ar.off[1] = off_b;
  if (off_a != DT__NO_ID)
    memcpy(g_block + off_a, p->a, sizeof p->a);
}

/* The pair's task, with both buffers in the arena (layout checked). */
static uint8_t *pair_task(pair *p, uint64_t off_a, uint64_t off_b,
                          size_t *size) {
  pair_init(p, off_a, off_b);
  uint8_t *rec = encode(&p->sig, p->args, &p->ar, 9, 0, size);
  assert_int_equal(*size, PAIR_SIZE);
  assert_int_equal(rec[A_AT], 3);
  assert_int_equal(peek64(rec + A_AT + 9), off_a);
  assert_int_equal(rec[B_AT], 3);
  assert_int_equal(peek64(rec + B_AT + 9), off_b);
  return rec;
}

/* A whole call through the arena: in and out buffers are used where they
 * lie (no copy, neither record carries their bytes), the inout buffer
 * travels in both records, and the caller ends with what the function
 * wrote, its return value and its errno. */
static void test_round_trip(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("int f(in char src[n], size_t n, out char dst[n], "
            "inout int io[k], size_t k)",
            &sig);
  enum { N = 3000, K = 4 };
  static char src[N], dst[N];
  int io[K] = {1, 2, 3, 4};
  for (int i = 0; i < N; i++) {
    src[i] = (char)(i * 7 + 1);
    dst[i] = (char)0xee;
  }
  char *psrc = src, *pdst = dst;
  int *pio = io;
  size_t n = N, k = K;
  void *args[] = {&psrc, &n, &pdst, &pio, &k};
  dt__wire_arena ar;
  no_places(&ar);
  ar.off[0] = 0;
  ar.off[2] = 4096;
  memset(g_block, 0x55, 2 * 4096);
  memcpy(g_block, src, N); /* the caller's copy in */

  size_t size;
  uint8_t *rec = encode(&sig, args, &ar, 42, 7, &size);
  /* header, arena section, src and dst as 17 bytes each, n and k, io
   * with its 16 bytes: src's 3000 are not there. */
  assert_int_equal(size, HEADER + 12 + 17 + 8 + 17 + (1 + 8 + 16) + 8);
  assert_true(size < N);
  assert_int_equal(rec[6] | rec[7] << 8, DT__TASK_ARENA);

  resolver res = {0};
  dt__frame f;
  dt__error e;
  assert_int_equal(decode(&sig, rec, size, &res, GiB, &f, &e), 0);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.slot, SLOT);
  assert_int_equal(res.stamp, STAMP);
  assert_int_equal(res.need, 4096 + N);
  assert_int_equal(f.call_id, 42);
  assert_int_equal(f.caller_errno, 7);
  assert_ptr_equal(f.buf[0], g_block);
  assert_ptr_equal(f.buf[2], g_block + 4096);
  void *argp;
  memcpy(&argp, f.argv[2], sizeof argp);
  assert_ptr_equal(argp, g_block + 4096);
  assert_int_equal(f.bytes[0], N);
  assert_int_equal(f.bytes[2], N);
  assert_int_equal(f.in_arena, 1u << 0 | 1u << 2);
  uint8_t *iop = f.buf[3];
  assert_non_null(f.mem);
  assert_true(iop >= (uint8_t *)f.mem &&
              iop + sizeof io <= (uint8_t *)f.mem + f.mem_size);
  assert_memory_equal(iop, io, sizeof io);

  /* The function: dst from src, in place; io times ten. */
  const char *fs = f.buf[0];
  char *fd = f.buf[2];
  for (int i = 0; i < N; i++)
    fd[i] = (char)(fs[i] ^ 0x5a);
  for (int j = 0; j < K; j++) {
    int v;
    memcpy(&v, iop + j * sizeof v, sizeof v);
    v *= 10;
    memcpy(iop + j * sizeof v, &v, sizeof v);
  }
  ffi_arg ret = 77;
  uint8_t *out = NULL;
  size_t rsize;
  assert_int_equal(dt__wire_result_encode(&sig, &f, &ret, 5, &out, &rsize),
                   0);
  dt__frame_free(&f);
  /* header, ret, dst's word alone, io's word and 16 bytes. */
  assert_int_equal(rsize, 20 + 8 + 8 + 8 + sizeof io);
  assert_int_equal(peek64(out + 28), (uint64_t)N | DT__WIRE_IN_ARENA);
  assert_int_equal(peek64(out + 36), sizeof io);
  assert_int_equal(dst[0], (char)0xee); /* nothing applied yet */

  ffi_arg cret = 0;
  int errnum = -1;
  assert_int_equal(dt__wire_result_apply_arena(&sig, args, &ar, 42, out,
                                               rsize, &cret, &errnum, NULL,
                                               NULL, &e),
                   0);
  for (int i = 0; i < N; i++)
    if (dst[i] != (char)(src[i] ^ 0x5a))
      fail_msg("dst[%d] is %d, want %d", i, dst[i], (char)(src[i] ^ 0x5a));
  int want[K] = {10, 20, 30, 40};
  assert_memory_equal(io, want, sizeof io);
  assert_int_equal((int)cret, 77);
  assert_int_equal(errnum, 5);
  assert_int_equal(src[1], (char)8); /* the in buffer is left alone */
  free(out);
  free(rec);
}

/* The encoders refuse what no decoder takes: an inout buffer in the
 * arena, an offset not aligned for the element type or past any arena,
 * and no arena at all; an aligned offset is taken. */
static void test_encode_refuses(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("int f(in char src[n], size_t n, out char dst[n], "
            "inout int io[k], size_t k)",
            &sig);
  char src[16] = "abc", dst[16];
  int io[2] = {1, 2};
  char *psrc = src, *pdst = dst;
  int *pio = io;
  size_t n = sizeof src, k = 2, size = 0;
  void *args[] = {&psrc, &n, &pdst, &pio, &k};
  dt__wire_arena ar;
  no_places(&ar);
  ar.off[3] = 8192; /* the inout io */
  uint8_t buf[256];
  assert_int_equal(dt__wire_task_size_arena(&sig, args, &ar, NULL, &size),
                   -EINVAL);
  assert_int_equal(dt__wire_task_encode_arena(&sig, FP, 0, 1, 0, args, &ar,
                                              NULL, buf, HEADER + 12 + 80),
                   -EINVAL);
  assert_int_equal(dt__wire_task_size_arena(&sig, args, NULL, NULL, &size),
                   -EINVAL);

  dt__sig dsig;
  parse_sig("int g(in double xs[n], size_t n)", &dsig);
  double xs[4] = {1, 2, 3, 4};
  double *pxs = xs;
  size_t dn = 4;
  void *dargs[] = {&pxs, &dn};
  no_places(&ar);
  ar.off[0] = 16;
  assert_int_equal(dt__wire_task_size_arena(&dsig, dargs, &ar, NULL, &size),
                   0);
  assert_int_equal(size, HEADER + 12 + 17 + 8);
  assert_int_equal(dt__wire_task_encode_arena(&dsig, FP, 0, 1, 0, dargs, &ar,
                                              NULL, buf, size),
                   0);
  ar.off[0] = 4;
  size_t bad = 0;
  assert_int_equal(dt__wire_task_size_arena(&dsig, dargs, &ar, NULL, &bad),
                   -EINVAL);
  assert_int_equal(dt__wire_task_encode_arena(&dsig, FP, 0, 1, 0, dargs, &ar,
                                              NULL, buf, size),
                   -EINVAL);
  ar.off[0] = ((uint64_t)1 << 40) + 4096;
  assert_int_equal(dt__wire_task_size_arena(&dsig, dargs, &ar, NULL, &bad),
                   -EINVAL);
  assert_int_equal(dt__wire_task_encode_arena(&dsig, FP, 0, 1, 0, dargs, NULL,
                                              NULL, buf, size),
                   -EINVAL);
}

/* Presence 3 needs an arena section, and an in or out buffer: a task
 * without the section, or a signature that makes the buffer inout, is
 * refused before the resolver is asked. */
static void test_decode_presence(void **state) {
  (void)state;
  pair p;
  size_t size;
  uint8_t *rec = pair_task(&p, 0, 128, &size);
  /* The same arguments with the section cut out and its flag cleared. */
  uint8_t *cut = malloc(size - 12);
  assert_non_null(cut);
  memcpy(cut, rec, HEADER);
  memcpy(cut + HEADER, rec + HEADER + 12, size - HEADER - 12);
  poke(cut + 6, 0, 2);
  resolver res = {0};
  dt__frame f;
  dt__error e;
  refused(decode(&p.sig, cut, size - 12, &res, GiB, &f, &e), &f, &e,
          "presence byte of 3");
  assert_contains(e.msg, "'a' (argument 1)");
  dt__sig inout;
  parse_sig("int h(inout double a[n], out double b[n], size_t n)", &inout);
  refused(decode(&inout, rec, size, &res, GiB, &f, &e), &f, &e,
          "presence byte of 3");
  assert_int_equal(res.calls, 0);
  /* The untouched record decodes (the refusals were the edits). */
  assert_int_equal(decode(&p.sig, rec, size, &res, GiB, &f, &e), 0);
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.need, 128 + sizeof p.a);
  dt__frame_free(&f);
  free(cut);
  free(rec);
}

/* A task whose buffers are in an arena cannot be decoded without a
 * resolver, by any decoder. */
static void test_decode_no_resolver(void **state) {
  (void)state;
  pair p;
  size_t size;
  uint8_t *rec = pair_task(&p, 0, 64, &size);
  dt__frame f;
  dt__error e;
  refused(decode(&p.sig, rec, size, NULL, GiB, &f, &e), &f, &e,
          "cannot reach");
  refused(dt__wire_task_decode(&p.sig, rec, size, &f, &e), &f, &e,
          "cannot reach");
  refused(dt__wire_task_decode_refs(&p.sig, rec, size, NULL, NULL, &f, &e),
          &f, &e, "cannot reach");
  free(rec);
}

/* Arena buffers that share a byte are refused, in either order, before
 * the resolver is asked; buffers that only touch are taken. */
static void test_decode_overlap(void **state) {
  (void)state;
  static const uint64_t offs[][2] = {{0, 32}, {64, 16}, {0, 0}};
  for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
    pair p;
    size_t size;
    uint8_t *rec = pair_task(&p, offs[i][0], offs[i][1], &size);
    resolver res = {0};
    dt__frame f;
    dt__error e;
    refused(decode(&p.sig, rec, size, &res, GiB, &f, &e), &f, &e,
            "buffers 'a' and 'b' overlap in the arena");
    assert_int_equal(res.calls, 0);
    free(rec);
  }
  pair p;
  size_t size;
  uint8_t *rec = pair_task(&p, 64, 0, &size);
  resolver res = {0};
  dt__frame f;
  dt__error e;
  assert_int_equal(decode(&p.sig, rec, size, &res, GiB, &f, &e), 0);
  assert_int_equal(res.need, 128);
  assert_ptr_equal(f.buf[0], g_block + 64);
  assert_ptr_equal(f.buf[1], g_block);
  dt__frame_free(&f);
  free(rec);
}

/* An offset not aligned for the element type, or past the largest an
 * arena may have (with no overflow on the way), is refused. */
static void test_decode_bad_offset(void **state) {
  (void)state;
  static const struct {
    uint64_t off;
    const char *phrase;
  } bad[] = {{4, "not aligned"},
             {8200 + 4, "not aligned"},
             {(uint64_t)1 << 41, "past any arena"},
             {UINT64_MAX - 15, "past any arena"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pair p;
    size_t size;
    uint8_t *rec = pair_task(&p, 0, 64, &size);
    poke(rec + B_AT + 9, bad[i].off, 8);
    resolver res = {0};
    dt__frame f;
    dt__error e;
    refused(decode(&p.sig, rec, size, &res, GiB, &f, &e), &f, &e,
            bad[i].phrase);
    assert_contains(e.msg, "buffer 'b' (argument 2)");
    assert_int_equal(res.calls, 0);
    free(rec);
  }
}

/* The resolver is asked for the end of the furthest buffer; its refusal
 * (a stale arena, one too small for that end) is -EPROTO with its own
 * sentence, -ENOMEM stays -ENOMEM, and nothing is kept. */
static void test_decode_resolver_fails(void **state) {
  (void)state;
  pair p;
  size_t size;
  uint8_t *rec = pair_task(&p, 256, 0, &size);
  resolver res = {0, 0, 0, 0, -ESTALE, "slot 7's arena is stale (test)"};
  dt__frame f;
  dt__error e;
  refused(decode(&p.sig, rec, size, &res, GiB, &f, &e), &f, &e,
          "slot 7's arena is stale (test)");
  assert_int_equal(res.calls, 1);
  assert_int_equal(res.need, 256 + sizeof p.a);
  res.rc = -ENOMEM;
  assert_int_equal(decode(&p.sig, rec, size, &res, GiB, &f, &e), -ENOMEM);
  assert_null(f.mem);
  free(rec);

  /* b ends 48 bytes past the block: the resolver says no. */
  rec = pair_task(&p, 0, BLOCK_SIZE - 16, &size);
  resolver small = {0};
  refused(decode(&p.sig, rec, size, &small, GiB, &f, &e), &f, &e,
          "the test arena is too small");
  assert_int_equal(small.need, BLOCK_SIZE + 48);
  free(rec);
}

/* The runner's bound counts an out buffer in the arena as its size word
 * alone: the result it makes is 36 bytes, not 100. */
static void test_decode_limit(void **state) {
  (void)state;
  pair p;
  size_t size;
  uint8_t *rec = pair_task(&p, 0, 64, &size);
  resolver res = {0};
  dt__frame f;
  dt__error e;
  assert_int_equal(decode(&p.sig, rec, size, &res, 36, &f, &e), 0);
  dt__frame_free(&f);
  assert_int_equal(decode(&p.sig, rec, size, &res, 35, &f, &e), -EFBIG);
  assert_null(f.mem);
  free(rec);
  pair_init(&p, 0, DT__NO_ID); /* b carried: its bytes count */
  rec = encode(&p.sig, p.args, &p.ar, 9, 0, &size);
  assert_int_equal(decode(&p.sig, rec, size, &res, 36 + 64, &f, &e), 0);
  dt__frame_free(&f);
  assert_int_equal(decode(&p.sig, rec, size, &res, 36 + 63, &f, &e),
                   -EFBIG);
  free(rec);
}

/* An arena task cut at every length, or with a byte too many, is
 * refused with a sentence, and never read past its end (ASan). */
static void test_truncated(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("int f(in char src[n], size_t n, out char dst[n], "
            "inout int io[k], size_t k)",
            &sig);
  char src[40] = "the in buffer", dst[40];
  int io[3] = {1, 2, 3};
  char *psrc = src, *pdst = dst;
  int *pio = io;
  size_t n = sizeof src, k = 3;
  void *args[] = {&psrc, &n, &pdst, &pio, &k};
  dt__wire_arena ar;
  no_places(&ar);
  ar.off[0] = 4096;
  ar.off[2] = 0;
  size_t size;
  uint8_t *rec = encode(&sig, args, &ar, 1, 0, &size);
  for (size_t len = 0; len < size; len++) {
    uint8_t *part = exact_copy(rec, len);
    resolver res = {0};
    dt__frame f;
    dt__error e = {0, 0, ""};
    int rc = decode(&sig, part, len, &res, GiB, &f, &e);
    if (rc != -EPROTO || f.mem != NULL || e.msg[0] == '\0')
      fail_msg("cut at %zu of %zu: rc %d (%s)", len, size, rc, e.msg);
    free(part);
  }
  uint8_t *more = calloc(1, size + 1);
  assert_non_null(more);
  memcpy(more, rec, size);
  resolver res = {0};
  dt__frame f;
  dt__error e;
  refused(decode(&sig, more, size + 1, &res, GiB, &f, &e), &f, &e,
          "after its last argument");
  assert_int_equal(decode(&sig, rec, size, &res, GiB, &f, &e), 0);
  dt__frame_free(&f);
  free(more);
  free(rec);
}

/* The pair's call run through the arena: b written in place, returning
 * 3, errno 0; the result record (36 bytes, b's word at 28). */
static uint8_t *pair_result(pair *p, size_t *rsize) {
  size_t size;
  uint8_t *rec = pair_task(p, 0, 64, &size);
  resolver res = {0};
  dt__frame f;
  dt__error e;
  assert_int_equal(decode(&p->sig, rec, size, &res, GiB, &f, &e), 0);
  double *b = f.buf[1];
  for (int i = 0; i < PAIR_N; i++)
    b[i] = 2 * ((const double *)f.buf[0])[i];
  ffi_arg ret = 3;
  uint8_t *out = NULL;
  assert_int_equal(dt__wire_result_encode(&p->sig, &f, &ret, 0, &out, rsize),
                   0);
  dt__frame_free(&f);
  free(rec);
  assert_int_equal(*rsize, 36);
  assert_int_equal(peek64(out + 28), sizeof p->b | DT__WIRE_IN_ARENA);
  return out;
}

/* A result that says a buffer is in the arena where this call did not
 * put it (no arena, or that buffer carried), or with another size, is
 * refused and writes nothing; the call's own arena is applied. */
static void test_apply_refuses(void **state) {
  (void)state;
  pair p;
  size_t rsize;
  uint8_t *out = pair_result(&p, &rsize);
  dt__wire_arena other = p.ar;
  other.off[1] = DT__NO_ID;
  const dt__wire_arena *ars[] = {NULL, &other};
  for (size_t i = 0; i < 2; i++) {
    ffi_arg ret = 99;
    int errnum = -1;
    dt__error e;
    int rc = dt__wire_result_apply_arena(&p.sig, p.args, ars[i], 9, out,
                                         rsize, &ret, &errnum, NULL, NULL, &e);
    assert_int_equal(rc, -EPROTO);
    assert_contains(e.msg, "did not put it");
    assert_contains(e.msg, "'b'");
    assert_true(p.b[0] == -1.0 && p.b[PAIR_N - 1] == -1.0);
    assert_int_equal(ret, 99);
    assert_int_equal(errnum, -1);
  }
  dt__error e;
  int errnum = -1;
  ffi_arg ret = 99;
  assert_int_equal(dt__wire_result_apply_keep(&p.sig, p.args, 9, out, rsize,
                                              &ret, &errnum, NULL, NULL, &e),
                   -EPROTO);
  assert_contains(e.msg, "did not put it");
  poke(out + 28, (sizeof p.b - 8) | DT__WIRE_IN_ARENA, 8);
  assert_int_equal(dt__wire_result_apply_arena(&p.sig, p.args, &p.ar, 9, out,
                                               rsize, &ret, &errnum, NULL,
                                               NULL, &e),
                   -EPROTO);
  assert_contains(e.msg, "this call's length says 64");
  assert_true(p.b[0] == -1.0);
  poke(out + 28, sizeof p.b | DT__WIRE_IN_ARENA, 8);
  assert_int_equal(dt__wire_result_apply_arena(&p.sig, p.args, &p.ar, 9, out,
                                               rsize, &ret, &errnum, NULL,
                                               NULL, &e),
                   0);
  for (int i = 0; i < PAIR_N; i++)
    assert_true(p.b[i] == 2 * (i + 0.5));
  assert_int_equal((int)ret, 3);
  assert_int_equal(errnum, 0);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_encode_refuses),
      cmocka_unit_test(test_decode_presence),
      cmocka_unit_test(test_decode_no_resolver),
      cmocka_unit_test(test_decode_overlap),
      cmocka_unit_test(test_decode_bad_offset),
      cmocka_unit_test(test_decode_resolver_fails),
      cmocka_unit_test(test_decode_limit),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_apply_refuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
