/* test_wire_task.c: unit tests of the task record (wire.c): the
 * fingerprint of a signature, the bounds of a call's size, buffer lengths
 * the caller gets wrong, and decoders fed truncated, corrupted and random
 * tasks, which must always be refused with a sentence, never crash or
 * read out of bounds (the suite runs under ASan: every record lives in a
 * block of exactly its size, tests/queue/wirefx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/common.h"
#include "config/config.h"
#include "config/sig.h"
#include "config/types.h"
#include "queue/wire.h"
#include "shim/ffitype.h"
#include "testutil.h"
#include "wirefx.h"

/* ---------------------------------------------------------- fingerprint */

static const dt__utype fp_types[] = {{"pt", 24, 8, 1}};
static const dt__utype fp_types_bigger[] = {{"pt", 32, 8, 1}};

typedef struct fp_entry {
  const char *symbol, *version, *library, *sig;
} fp_entry;

/* Builds a config by hand (no TOML) and returns its fingerprint. */
static uint64_t fp_of(const fp_entry *es, size_t n, const dt__utype *ut) {
  dt__config cfg;
  dt__offload offs[4];
  assert_true(n <= 4);
  memset(&cfg, 0, sizeof cfg);
  memset(offs, 0, sizeof offs);
  cfg.types = (dt__utype *)ut;
  cfg.ntypes = 1;
  cfg.offloads = offs;
  cfg.noffloads = n;
  for (size_t i = 0; i < n; i++) {
    snprintf(offs[i].symbol, sizeof offs[i].symbol, "%s", es[i].symbol);
    snprintf(offs[i].version, sizeof offs[i].version, "%s", es[i].version);
    snprintf(offs[i].library, sizeof offs[i].library, "%s", es[i].library);
    parse_sig(es[i].sig, ut, 1, &offs[i].sig);
    offs[i].line = (int)i * 10 + 3;
  }
  uint64_t a = dt__wire_fingerprint(&cfg);
  uint64_t b = dt__wire_fingerprint(&cfg);
  assert_true(a == b);
  return a;
}

/* The size of a call: dt__wire_result_bytes adds the header, the return
 * value and every present out buffer with its size word, before the call
 * runs; the bounded decode refuses, before allocating, a task whose
 * result would pass the limit (a tiny record asking for 1 GiB), and
 * decodes one within it; dt__wire_call_limit is the least of
 * max_call_size, map_size / 4 and the record limit. */
static void test_call_size_bounds(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("int f(out double y[n], size_t n, inout int z[4], in char c[n])",
            NULL, 0, &sig);
  double y[8];
  int z[4] = {0};
  char c[8] = {0};
  void *py = y, *pz = z, *pc = c;
  size_t n = 8;
  void *args[4] = {&py, &n, &pz, &pc};
  uint64_t rb = 0;
  assert_int_equal(dt__wire_result_bytes(&sig, args, &rb), 0);
  assert_true(rb == 20 + 8 + (8 + 64) + (8 + 16)); /* in c: not counted */
  void *none = NULL;
  void *args0[4] = {&none, &n, &pz, &pc};
  uint64_t rb0 = 0;
  assert_int_equal(dt__wire_result_bytes(&sig, args0, &rb0), 0);
  assert_true(rb0 == 20 + 8 + (8 + 16));

  /* Within the limit: decoded; one byte under: -EFBIG, nothing kept. */
  size_t size;
  uint8_t *rec = encode_task(&sig, args, 7, &size);
  dt__frame f;
  dt__error err;
  int drc = dt__wire_task_decode_limit(&sig, rec, size, NULL, NULL, NULL,
                                       NULL, rb, &f, &err);
  if (drc != 0)
    fail_msg("decode within the limit: %d: %s", drc, err.msg);
  dt__frame_free(&f);
  assert_int_equal(dt__wire_task_decode_limit(&sig, rec, size, NULL, NULL,
                                              NULL, NULL, rb - 1, &f, &err),
                   -EFBIG);
  assert_null(f.mem);
  assert_non_null(strstr(err.msg, "the runner refused it without running"));
  free(rec);

  /* A task of a few dozen bytes asking for 2^27 doubles. */
  dt__sig big;
  parse_sig("int g(out double y[n], size_t n)", NULL, 0, &big);
  size_t nbig = (size_t)1 << 27;
  void *args2[2] = {&py, &nbig};
  rec = encode_task(&big, args2, 9, &size);
  assert_true(size < 64);
  assert_int_equal(dt__wire_task_decode_limit(&big, rec, size, NULL, NULL,
                                              NULL, NULL, 256u << 20, &f,
                                              &err),
                   -EFBIG);
  assert_null(f.mem);
  free(rec);

  dt__config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.map_size = 4u << 20;
  cfg.max_call_size = 2u << 20;
  assert_true(dt__wire_call_limit(&cfg) == 1u << 20);
  cfg.max_call_size = 64u << 10;
  assert_true(dt__wire_call_limit(&cfg) == 64u << 10);
  cfg.map_size = 64ull << 30;
  cfg.max_call_size = 2ull << 30;
  assert_true(dt__wire_call_limit(&cfg) == 1u << 30);
}

/* A result's message reaches the caller with its control bytes escaped:
 * it is printed, and another process wrote it. */
static void test_result_message_escaped(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("int h(int a)", NULL, 0, &sig);
  uint8_t *res = NULL;
  size_t rsize = 0;
  assert_int_equal(dt__wire_result_error(3, DT__ST_MALFORMED, 0,
                                         "a\x1b[2Jb\nc\\d\x7f", &res,
                                         &rsize),
                   0);
  int a = 1, e = 0;
  void *args[1] = {&a};
  dt__error err;
  assert_int_equal(dt__wire_result_apply(&sig, args, 3, res, rsize, NULL, &e,
                                         NULL, 0, NULL, &err),
                   DT__ST_MALFORMED);
  assert_string_equal(err.msg, "a\\x1b[2Jb\\x0ac\\\\d\\x7f");
  /* Another call's id is refused. */
  assert_int_equal(dt__wire_result_apply(&sig, args, 4, res, rsize, NULL, &e,
                                         NULL, 0, NULL, &err),
                   -EPROTO);
  free(res);
}

static void test_fingerprint(void **state) {
  (void)state;
  const char *crc = "ulong crc32(ulong crc, in uint8 buf[len], uint len)";
  const char *rep = "int rep(cstring period, out pt r[1])";
  fp_entry base[] = {{"crc32", "", "", crc}, {"rep", "V1", "", rep}};
  uint64_t fb = fp_of(base, 2, fp_types);
  /* The same text gives the same value; a parameter's name does not
   * matter (it does not change how the call travels). */
  fp_entry same[] = {{"crc32", "", "", crc}, {"rep", "V1", "", rep}};
  assert_true(fp_of(same, 2, fp_types) == fb);
  fp_entry renamed[] = {
      {"crc32", "", "", "ulong crc32(ulong c, in uint8 b[n], uint n)"},
      {"rep", "V1", "", rep}};
  assert_true(fp_of(renamed, 2, fp_types) == fb);

  /* Any change to an entry changes the value, and the values differ from
   * one another. */
  const fp_entry variants[][2] = {
      {{"crc32c", "", "", crc}, {"rep", "V1", "", rep}},
      {{"crc32", "", "", crc}, {"rep", "V2", "", rep}},
      {{"crc32", "", "libz.so.1", crc}, {"rep", "V1", "", rep}},
      {{"crc32", "", "",
        "long crc32(ulong crc, in uint8 buf[len], uint len)"},
       {"rep", "V1", "", rep}},
      {{"crc32", "", "",
        "ulong crc32(ulong crc, in uint16 buf[len], uint len)"},
       {"rep", "V1", "", rep}},
      {{"crc32", "", "",
        "ulong crc32(ulong crc, inout uint8 buf[len], uint len)"},
       {"rep", "V1", "", rep}},
      {{"crc32", "", "",
        "ulong crc32(ulong crc, in uint8 buf[len*2], uint len)"},
       {"rep", "V1", "", rep}},
      {{"crc32", "", "",
        "ulong crc32(ulong crc, in uint8 buf[crc], uint len)"},
       {"rep", "V1", "", rep}},
      {{"crc32", "", "",
        "ulong crc32(ulong crc, in uint8 buf[len], int len)"},
       {"rep", "V1", "", rep}},
      {{"crc32", "", "", crc}, {"rep", "V1", "", "int rep(cstring period)"}},
      {{"crc32", "", "", crc},
       {"rep", "V1", "", "int rep(cstring period, in pt r[1])"}},
      {{"rep", "V1", "", rep}, {"crc32", "", "", crc}},
  };
  size_t nv = sizeof variants / sizeof *variants;
  uint64_t fv[16];
  for (size_t i = 0; i < nv; i++)
    fv[i] = fp_of(variants[i], 2, fp_types);
  fv[nv++] = fp_of(base, 2, fp_types_bigger); /* a type's size changed */
  fv[nv++] = fp_of(base, 1, fp_types);        /* an entry removed */
  fv[nv++] = fp_of(base, 0, fp_types);        /* no entries */
  for (size_t i = 0; i < nv; i++) {
    if (fv[i] == fb)
      fail_msg("variant %zu has the base fingerprint", i);
    for (size_t j = 0; j < i; j++)
      if (fv[i] == fv[j])
        fail_msg("variants %zu and %zu share a fingerprint", j, i);
  }
  (void)dt__wire_fingerprint(NULL);
}

/* ----------------------------------------------------- length errors */

static void test_buffer_bytes_errors(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("int f(in int xs[n*m*3], int n, int16 m, out uint32 ys[k], "
            "uint64 k, out uint8 zs[k])",
            NULL, 0, &sig);
  int n = 2, *xs = &n;
  int16_t m = 5;
  uint64_t k = 4;
  uint32_t ys[4];
  uint8_t zs[4];
  uint32_t *yp = ys;
  uint8_t *zp = zs;
  void *args[] = {&xs, &n, &m, &yp, &k, &zp};
  uint64_t nb = 0;
  assert_int_equal(dt__wire_buffer_bytes(&sig, 0, args, &nb), 0);
  assert_true(nb == 4 * 2 * 5 * 3);
  assert_int_equal(dt__wire_buffer_bytes(&sig, 3, args, &nb), 0);
  assert_true(nb == 16);
  assert_int_equal(dt__wire_buffer_bytes(&sig, 1, args, &nb), -EINVAL);
  assert_int_equal(dt__wire_buffer_bytes(&sig, 6, args, &nb), -EINVAL);
  assert_int_equal(dt__wire_buffer_bytes(&sig, -1, args, &nb), -EINVAL);

  n = -1;
  assert_int_equal(dt__wire_buffer_bytes(&sig, 0, args, &nb), -ERANGE);
  size_t size;
  assert_int_equal(dt__wire_task_size(&sig, args, NULL, &size), -ERANGE);
  n = 0;
  m = -1; /* negative wins over a zero factor */
  assert_int_equal(dt__wire_buffer_bytes(&sig, 0, args, &nb), -ERANGE);
  m = 5;
  n = 2;

  k = UINT64_MAX;
  assert_int_equal(dt__wire_buffer_bytes(&sig, 3, args, &nb), -EOVERFLOW);
  assert_int_equal(dt__wire_buffer_bytes(&sig, 5, args, &nb), 0);
  assert_true(nb == UINT64_MAX);
  assert_int_equal(dt__wire_task_size(&sig, args, NULL, &size), -EOVERFLOW);
  /* 2 GiB of out buffer fits in a small task, but no runner would
   * allocate it: the caller is told now. */
  k = (uint64_t)1 << 31;
  yp = NULL;
  assert_int_equal(dt__wire_task_size(&sig, args, NULL, &size), -E2BIG);
  /* Buffers passed as NULL are not measured. */
  zp = NULL;
  k = UINT64_MAX;
  n = -5;
  xs = NULL;
  assert_int_equal(dt__wire_task_size(&sig, args, NULL, &size), 0);
  assert_int_equal(size, 36 + 1 + 8 + 8 + 1 + 8 + 1);

  /* An in buffer over 1 GiB is refused before any of it is read. */
  dt__sig big;
  parse_sig("void g(in uint8 b[n], uint64 n)", NULL, 0, &big);
  uint64_t bn = ((uint64_t)1 << 30) + 1;
  uint8_t one = 0, *bp = &one;
  void *bargs[] = {&bp, &bn};
  assert_int_equal(dt__wire_task_size(&big, bargs, NULL, &size), -E2BIG);
}

static void test_encode_wrong_size(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("int f(cstring s, int n)", NULL, 0, &sig);
  const char *s = "abc";
  int n = 1;
  void *args[] = {&s, &n};
  size_t size;
  assert_int_equal(dt__wire_task_size(&sig, args, NULL, &size), 0);
  assert_int_equal(size, 36 + 4 + 3 + 8);
  uint8_t buf[64];
  assert_int_equal(
      dt__wire_task_encode(&sig, 1, 0, 1, 0, args, NULL, buf, size - 1),
      -EINVAL);
  assert_int_equal(
      dt__wire_task_encode(&sig, 1, 0, 1, 0, args, NULL, buf, size + 1),
      -EINVAL);
  assert_int_equal(
      dt__wire_task_encode(&sig, 1, 0, 1, 0, args, NULL, buf, size), 0);
  /* The bytes, spelled out: little-endian whatever the host. */
  const uint8_t want[] = {'D', 'T', 'Q', '1', DT__WIRE_VERSION, 0, 0, 0, 1, 0, 0, 0, 0, 0,
                          0,   0,   0,   0,   0, 0, 2, 0, 0, 0, 1, 0, 0, 0,
                          0,   0,   0,   0,   0, 0, 0, 0, 3, 0, 0, 0, 'a',
                          'b', 'c', 1,   0,   0, 0, 0, 0, 0, 0};
  assert_int_equal(sizeof want, size);
  assert_memory_equal(buf, want, size);
}

/* --------------------------------------------------- malformed tasks */

/* The rich signature: a value, strings, in/out/inout buffers, NULLs. */
#define RICH_SIG                                                             \
  "int rich(int8 a, cstring s, in int16 xs[n], out double ys[n*2], "        \
  "inout uint8 zs[3], int n, cstring t, in int ws[n])"

static int rich(int8_t a, const char *s, const int16_t *xs, double *ys,
                uint8_t *zs, int n, const char *t, const int *ws) {
  int r = a + (s != NULL ? (int)strlen(s) : 0) + (t != NULL ? 1000 : 0) +
          (ws != NULL ? 2000 : 0);
  for (int i = 0; i < n; i++) {
    r += xs[i];
    ys[2 * i] = xs[i] * 0.5;
    ys[2 * i + 1] = -xs[i];
  }
  for (int i = 0; i < 3; i++)
    zs[i] = (uint8_t)(zs[i] + 1);
  return r;
}

typedef struct rich_call {
  int8_t a;
  const char *s, *t;
  int16_t xs[4];
  double ys[8];
  uint8_t zs[3];
  int n;
  const int16_t *xp;
  double *yp;
  uint8_t *zp;
  const int *wp;
  void *args[8];
} rich_call;

static void rich_init(rich_call *c) {
  memset(c, 0, sizeof *c);
  c->a = -5;
  c->s = "hello";
  c->t = NULL;
  for (int i = 0; i < 4; i++)
    c->xs[i] = (int16_t)(i * 1000 - 1500);
  c->zs[0] = 9;
  c->zs[1] = 255;
  c->zs[2] = 0;
  c->n = 4;
  c->xp = c->xs;
  c->yp = c->ys;
  c->zp = c->zs;
  c->wp = NULL;
  void *args[8] = {&c->a, &c->s, &c->xp, &c->yp, &c->zp, &c->n, &c->t, &c->wp};
  memcpy(c->args, args, sizeof args);
}

/* Values, strings, in/out/inout buffers and NULLs in one call. */
static void test_rich_round_trip(void **state) {
  (void)state;
  rt *r = rt_new(RICH_SIG, NULL, 0, (void (*)(void))rich);
  typedef int (*rich_fn)(int8_t, const char *, const int16_t *, double *,
                         uint8_t *, int, const char *, const int *);
  rich_fn fn = (rich_fn)r->code;
  rich_call got, want;
  rich_init(&got);
  rich_init(&want);
  const int ws[4] = {1, 2, 3, 4};
  int rg = fn(got.a, got.s, got.xp, got.yp, got.zp, got.n, "t", ws);
  int rw = rich(want.a, want.s, want.xp, want.yp, want.zp, want.n, "t", ws);
  assert_int_equal(rg, rw);
  assert_memory_equal(got.ys, want.ys, sizeof got.ys);
  assert_memory_equal(got.zs, want.zs, sizeof got.zs);
  rt_free(r);
}

static void test_task_truncated_at_every_offset(void **state) {
  (void)state;
  dt__sig sig;
  rich_call c;
  parse_sig(RICH_SIG, NULL, 0, &sig);
  rich_init(&c);
  size_t size;
  uint8_t *rec = encode_task(&sig, c.args, 1, &size);
  assert_int_equal(size, 36 + 8 + 4 + 5 + (1 + 8 + 8) + (1 + 8) +
                             (1 + 8 + 3) + 8 + 4 + 1);
  for (size_t len = 0; len < size; len++) {
    uint8_t *cut = exact_copy(rec, len);
    dt__frame f;
    dt__error werr = {0, 0, ""};
    int rc = dt__wire_task_decode(&sig, cut, len, &f, &werr);
    if (rc != -EPROTO)
      fail_msg("a task cut to %zu of %zu bytes decoded with %d", len, size,
               rc);
    assert_true(werr.msg[0] != '\0');
    assert_null(f.mem);
    dt__frame_free(&f);
    assert_int_equal(dt__wire_task_peek(cut, len, NULL, NULL, NULL),
                     len < 36 ? -EPROTO : 0);
    free(cut);
  }
  /* The whole record decodes. */
  dt__frame f;
  dt__error werr;
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), 0);
  dt__frame_free(&f);
  /* A NULL record is short, not a crash. */
  assert_int_equal(dt__wire_task_decode(&sig, NULL, 40, &f, &werr), -EPROTO);
  /* Trailing bytes are refused. */
  for (size_t extra = 1; extra <= 9; extra += 8) {
    uint8_t *longer = calloc(1, size + extra);
    memcpy(longer, rec, size);
    assert_int_equal(
        dt__wire_task_decode(&sig, longer, size + extra, &f, &werr), -EPROTO);
    assert_contains(werr.msg, "after its last argument");
    free(longer);
  }
  free(rec);
}

/* The decoders report through a dt__error with no location (line and
 * column 0, whatever they held), and accept a NULL one. */
static void test_decoders_error_convention(void **state) {
  (void)state;
  dt__sig sig;
  rich_call c;
  parse_sig(RICH_SIG, NULL, 0, &sig);
  rich_init(&c);
  size_t size;
  uint8_t *rec = encode_task(&sig, c.args, 1, &size);
  dt__frame f;
  dt__error werr = {3, 4, "stale"};
  assert_int_equal(dt__wire_task_decode(&sig, rec, size - 1, &f, &werr),
                   -EPROTO);
  assert_int_equal(werr.line, 0);
  assert_int_equal(werr.col, 0);
  assert_contains(werr.msg, "truncated");
  assert_int_equal(dt__wire_task_decode(&sig, rec, size - 1, &f, NULL),
                   -EPROTO);
  werr.line = 3;
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), 0);
  assert_int_equal(werr.line, 0);
  assert_string_equal(werr.msg, "");
  dt__frame_free(&f);
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, NULL), 0);
  dt__frame_free(&f);
  free(rec);

  uint8_t *res;
  size_t rsize;
  int err = 0;
  assert_int_equal(
      dt__wire_result_error(7, DT__ST_CRASH, 9, "boom", &res, &rsize), 0);
  werr.line = 3;
  werr.col = 4;
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 7, res, rsize, NULL,
                                         &err, NULL, 0, NULL, &werr),
                   DT__ST_CRASH);
  assert_int_equal(werr.line, 0);
  assert_int_equal(werr.col, 0);
  assert_string_equal(werr.msg, "boom");
  assert_int_equal(err, 9);
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 7, res, rsize, NULL,
                                         &err, NULL, 0, NULL, NULL),
                   DT__ST_CRASH);
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 8, res, rsize, NULL,
                                         &err, NULL, 0, NULL, NULL),
                   -EPROTO);
  free(res);
}

static void test_task_header_flips(void **state) {
  (void)state;
  dt__sig sig;
  rich_call c;
  parse_sig(RICH_SIG, NULL, 0, &sig);
  rich_init(&c);
  size_t size;
  uint8_t *rec = encode_task(&sig, c.args, 77, &size);
  const uint8_t masks[] = {0x01, 0x80, 0xff};
  for (size_t off = 0; off < 32; off++)
    for (size_t k = 0; k < sizeof masks; k++) {
      uint8_t *bad = exact_copy(rec, size);
      bad[off] ^= masks[k];
      dt__frame f;
      dt__error werr = {0, 0, ""};
      int rc = dt__wire_task_decode(&sig, bad, size, &f, &werr);
      uint64_t fp = 0, id = 0;
      uint32_t entry = 0;
      int prc = dt__wire_task_peek(bad, size, &fp, &entry, &id);
      if (off < 8 || (off >= 20 && off < 24)) {
        /* magic, version, flags, nargs: refused */
        if (rc != -EPROTO)
          fail_msg("flipping byte %zu with 0x%02x: decode gave %d", off,
                   masks[k], rc);
        assert_true(werr.msg[0] != '\0');
        /* Flag 1 is defined (an object section follows): the header is
         * fine, and the arguments read as an object section are not. */
        if (off < 8)
          assert_int_equal(prc, off == 6 && masks[k] == 0x01 ? 0 : -EPROTO);
      } else {
        /* fingerprint, entry, call_id: decoded, and peek shows the
         * change, so the runner's own checks see it. */
        assert_int_equal(rc, 0);
        assert_int_equal(prc, 0);
        assert_true(fp != TEST_FP || entry != TEST_ENTRY || id != 77);
        assert_int_equal(f.entry, entry);
        assert_true(f.call_id == id);
        dt__frame_free(&f);
      }
      free(bad);
    }
  /* The messages say what is wrong. */
  dt__frame f;
  dt__error werr;
  uint8_t *bad = exact_copy(rec, size);
  bad[4] = 9;
  assert_int_equal(dt__wire_task_decode(&sig, bad, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "version 9");
  bad[4] = DT__WIRE_VERSION;
  bad[0] = 'X';
  assert_int_equal(dt__wire_task_decode(&sig, bad, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "DTQ1");
  free(bad);
  /* A record for another signature: the count of arguments differs. */
  dt__sig other;
  parse_sig("int other(int x)", NULL, 0, &other);
  assert_int_equal(dt__wire_task_decode(&other, rec, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "8 arguments");
  free(rec);
}

static void test_task_garbage_never_crashes(void **state) {
  (void)state;
  dt__sig sig;
  rich_call c;
  parse_sig(RICH_SIG, NULL, 0, &sig);
  rich_init(&c);
  size_t size;
  uint8_t *rec = encode_task(&sig, c.args, 1, &size);
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int decoded = 0;
  for (int it = 0; it < 6000; it++) {
    size_t len;
    uint8_t *g;
    switch (it % 4) {
    case 0: /* noise */
      len = (size_t)(rng(&seed) % 200);
      g = malloc(len > 0 ? len : 1);
      for (size_t i = 0; i < len; i++)
        g[i] = (uint8_t)rng(&seed);
      break;
    case 1: /* a valid header, then noise */
      len = 36 + (size_t)(rng(&seed) % 120);
      g = malloc(len);
      for (size_t i = 0; i < len; i++)
        g[i] = (uint8_t)rng(&seed);
      memcpy(g, rec, 36);
      break;
    case 2: /* a valid record with a few bytes changed */
      len = size;
      g = exact_copy(rec, size);
      for (int k = 0, nk = 1 + (int)(rng(&seed) % 4); k < nk; k++)
        g[36 + rng(&seed) % (size - 36)] = (uint8_t)rng(&seed);
      break;
    default: /* changed and cut */
      len = 36 + (size_t)(rng(&seed) % (size - 36));
      g = exact_copy(rec, len);
      if (len > 36)
        g[36 + rng(&seed) % (len - 36)] ^= (uint8_t)(1 + rng(&seed) % 255);
      break;
    }
    dt__frame f;
    dt__error werr;
    int rc = dt__wire_task_decode(&sig, g, len, &f, &werr);
    if (rc == 0)
      decoded++;
    else if (rc != -EPROTO)
      fail_msg("iteration %d: decode gave %d", it, rc);
    dt__frame_free(&f);
    (void)dt__wire_task_peek(g, len, NULL, NULL, NULL);
    free(g);
  }
  /* Some changes (inside in-buffer data) leave a valid record. */
  assert_true(decoded > 0);
  free(rec);
}

static void test_task_buffer_size_mismatch(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("int f(in int xs[n], int n)", NULL, 0, &sig);
  int xs[4] = {1, 2, 3, 4}, n = 4, *xp = xs;
  void *args[] = {&xp, &n};
  size_t size;
  uint8_t *rec = encode_task(&sig, args, 1, &size);
  assert_int_equal(size, 36 + 1 + 8 + 16 + 8);
  dt__frame f;
  dt__error werr;
  poke64(rec + 61, 5);
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "buffer 'xs' has 16 bytes but its length says 20");
  poke64(rec + 61, (uint64_t)-1);
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "negative");
  free(rec);

  /* An out buffer carries only its size, which is checked the same way. */
  parse_sig("void g(out int ys[n], int n)", NULL, 0, &sig);
  rec = encode_task(&sig, args, 1, &size);
  assert_int_equal(size, 36 + 1 + 8 + 8);
  poke64(rec + 37, 12);
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "buffer 'ys' has 12 bytes but its length says 16");
  /* A presence byte other than 0 or 1. */
  poke64(rec + 37, 16);
  rec[36] = 2;
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "presence");
  free(rec);

  /* A runner never allocates more than 1 GiB for one task. */
  parse_sig("void big(out uint8 b[n], uint64 n)", NULL, 0, &sig);
  uint8_t hand[36 + 1 + 8 + 8];
  uint8_t one = 0, *bp = &one;
  uint64_t bn = 1;
  void *bargs[] = {&bp, &bn};
  assert_int_equal(
      dt__wire_task_encode(&sig, 0, 0, 1, 0, bargs, NULL, hand, sizeof hand),
      0);
  poke64(hand + 37, (uint64_t)1 << 31);
  poke64(hand + 45, (uint64_t)1 << 31);
  assert_int_equal(dt__wire_task_decode(&sig, hand, sizeof hand, &f, &werr),
                   -EPROTO);
  assert_contains(werr.msg, "1 GiB");
}

static void test_task_bad_values(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("int h(int8 a, bool b, float c, uint16 d, cstring s)", NULL, 0,
            &sig);
  int8_t a = -1;
  _Bool b = 1;
  float c = 2.5f;
  uint16_t d = 9;
  const char *s = "abc";
  void *args[] = {&a, &b, &c, &d, &s};
  size_t size;
  uint8_t *rec = encode_task(&sig, args, 1, &size);
  assert_true(peek64(rec + 36) == UINT64_MAX); /* -1 widened */
  assert_true(peek64(rec + 44) == 1);
  /* A bool byte other than 0 or 1 travels as 1. */
  uint8_t odd_bool = 2;
  void *odd_args[] = {&a, &odd_bool, &c, &d, &s};
  uint8_t odd[36 + 8 * 4 + 4 + 3];
  assert_int_equal(dt__wire_task_encode(&sig, 0, 0, 1, 0, odd_args, NULL, odd,
                                        sizeof odd),
                   0);
  assert_true(peek64(odd + 44) == 1);
  struct {
    size_t off;
    uint64_t v;
    int ok;
  } cases[] = {
      {36, 200, 0},
      {36, (uint64_t)-128, 1},
      {36, (uint64_t)-129, 0},
      {36, 127, 1},
      {44, 2, 0},
      {44, 0, 1},
      {52, (uint64_t)1 << 32, 0},
      {60, 65536, 0},
      {60, 65535, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint8_t *bad = exact_copy(rec, size);
    poke64(bad + cases[i].off, cases[i].v);
    dt__frame f;
    dt__error werr = {0, 0, ""};
    int rc = dt__wire_task_decode(&sig, bad, size, &f, &werr);
    if (rc != (cases[i].ok ? 0 : -EPROTO))
      fail_msg("case %zu: rc %d (%s)", i, rc, werr.msg);
    if (!cases[i].ok)
      assert_contains(werr.msg, "not a valid");
    dt__frame_free(&f);
    free(bad);
  }
  /* A string with a NUL inside. */
  uint8_t *bad = exact_copy(rec, size);
  bad[68 + 4 + 1] = '\0';
  dt__frame f;
  dt__error werr;
  assert_int_equal(dt__wire_task_decode(&sig, bad, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "NUL");
  /* A string longer than the record. */
  memcpy(bad, rec, size);
  poke32(bad + 68, 4);
  assert_int_equal(dt__wire_task_decode(&sig, bad, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "truncated");
  free(bad);
  free(rec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fingerprint),
      cmocka_unit_test(test_call_size_bounds),
      cmocka_unit_test(test_result_message_escaped),
      cmocka_unit_test(test_buffer_bytes_errors),
      cmocka_unit_test(test_encode_wrong_size),
      cmocka_unit_test(test_rich_round_trip),
      cmocka_unit_test(test_task_truncated_at_every_offset),
      cmocka_unit_test(test_decoders_error_convention),
      cmocka_unit_test(test_task_header_flips),
      cmocka_unit_test(test_task_garbage_never_crashes),
      cmocka_unit_test(test_task_buffer_size_mismatch),
      cmocka_unit_test(test_task_bad_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
