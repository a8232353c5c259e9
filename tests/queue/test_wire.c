/* test_wire.c: unit tests of the task and result records (wire.c).
 *
 * Most tests make real calls through the whole path: a libffi closure
 * with the function's signature stands in for the function; its handler
 * encodes a task (into a deliberately misaligned buffer), decodes it as a
 * runner would, calls the real function with ffi_call, encodes the result
 * and applies it to the caller's return buffer and memory.  The answer
 * must be byte for byte what a direct call gives.  The rest feed the
 * decoders truncated, corrupted and random records, which must always be
 * refused with a sentence, never crash or read out of bounds (the suite
 * runs under ASan: every record lives in a block of exactly its size). */
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


#define TEST_FP 0x0123456789abcdefull
#define TEST_ENTRY 5u

/* Parses a signature that must be valid. */
static void parse_sig(const char *text, const dt__utype *ut, size_t nut,
                      dt__sig *sig) {
  dt__error e = {0, 0, ""};
  int rc = dt__sig_parse(text, ut, nut, sig, &e);
  if (rc != 0)
    fail_msg("\"%s\" failed (rc %d) at column %d: %s", text, rc, e.col,
             e.msg);
}

/* Little-endian helpers for building and patching records by hand. */
static void poke64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void poke32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t peek64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* A copy of n bytes in a block of exactly n bytes, so that ASan reports
 * any read past the end.  Free with free(). */
static uint8_t *exact_copy(const uint8_t *src, size_t n) {
  uint8_t *p = malloc(n > 0 ? n : 1);
  assert_non_null(p);
  if (n > 0)
    memcpy(p, src, n);
  return p;
}

/* Encodes a task for args into a malloc'd block of exactly its size. */
static uint8_t *encode_task(const dt__sig *sig, void **args, uint64_t call_id,
                            size_t *size) {
  size_t n = 0;
  int rc = dt__wire_task_size(sig, args, NULL, &n);
  if (rc != 0)
    fail_msg("task size of %s: %d", sig->name, rc);
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  assert_int_equal(dt__wire_task_encode(sig, TEST_FP, TEST_ENTRY, call_id, 0,
                                        args, NULL, buf, n),
                   0);
  *size = n;
  return buf;
}

/* Runner side: decodes rec, calls real and encodes its result (malloc'd,
 * exactly sized, returned in *res and *rsize). */
static void run_task(const dt__sig *sig, void (*real)(void),
                     const uint8_t *rec, size_t size, uint8_t **res,
                     size_t *rsize) {
  ffi_cif cif;
  ffi_type *fret, *fargs[DT__MAX_PARAMS];
  dt__frame f;
  dt__error werr;
  union {
    ffi_arg a;
    double d;
    void *p;
    uint8_t b[16];
  } rbuf;

  dt__sig_ffi(sig, &fret, fargs);
  assert_int_equal(ffi_prep_cif(&cif, FFI_DEFAULT_ABI,
                                (unsigned)sig->nparams, fret, fargs),
                   FFI_OK);
  int rc = dt__wire_task_decode(sig, rec, size, &f, &werr);
  if (rc != 0)
    fail_msg("decode of %s: %d: %s", sig->name, rc, werr.msg);
  memset(&rbuf, 0, sizeof rbuf);
  errno = 0;
  ffi_call(&cif, real, &rbuf, f.argv);
  int e = errno;
  assert_int_equal(dt__wire_result_encode(sig, &f, &rbuf, e, res, rsize), 0);
  dt__frame_free(&f);
}

/* ------------------------------------------------- the closure harness */

/* One function made callable through the whole wire path. */
typedef struct rt {
  dt__sig sig;
  ffi_cif cif;
  ffi_type *fret, *fargs[DT__MAX_PARAMS]; /* the cif's (shim/ffitype.c) */
  void (*real)(void);
  ffi_closure *closure;
  void *code; /* call this as the function */
  uint64_t call_id;
  char *cstr; /* where returned strings land; starts small */
  size_t cstr_cap;
  int enospc; /* -ENOSPC answers seen (each one grows cstr) */
} rt;

/* Caller -> task -> runner -> ffi_call -> result -> caller.  Returns what
 * dt__wire_result_apply returns after growing cstr as often as needed. */
static int rt_pipe(rt *r, void **args, void *ret, int *err) {
  size_t size;
  dt__error werr = {0, 0, ""};
  int rc = dt__wire_task_size(&r->sig, args, NULL, &size);
  if (rc != 0)
    return rc;
  uint8_t *block = malloc(size + 1);
  assert_non_null(block);
  uint8_t *rec = block + 1; /* LMDB's reserved space need not be aligned */
  uint64_t id = ++r->call_id;
  assert_int_equal(dt__wire_task_encode(&r->sig, TEST_FP, TEST_ENTRY, id, 0,
                                        args, NULL, rec, size),
                   0);
  uint64_t fp = 0, cid = 0;
  uint32_t entry = 0;
  assert_int_equal(dt__wire_task_peek(rec, size, &fp, &entry, &cid), 0);
  assert_true(fp == TEST_FP);
  assert_int_equal(entry, TEST_ENTRY);
  assert_true(cid == id);

  uint8_t *res;
  size_t rsize;
  run_task(&r->sig, r->real, rec, size, &res, &rsize);
  free(block);
  uint8_t *res_odd = malloc(rsize + 1);
  assert_non_null(res_odd);
  memcpy(res_odd + 1, res, rsize);
  free(res);
  for (;;) {
    size_t need = 0;
    rc = dt__wire_result_apply(&r->sig, args, id, res_odd + 1, rsize, ret, err,
                               r->cstr, r->cstr_cap, &need, &werr);
    if (rc != -ENOSPC)
      break;
    r->enospc++;
    assert_true(need > r->cstr_cap);
    r->cstr = realloc(r->cstr, need);
    assert_non_null(r->cstr);
    r->cstr_cap = need;
  }
  if (rc != 0)
    print_message("apply of %s: %d: %s\n", r->sig.name, rc, werr.msg);
  free(res_odd);
  return rc;
}

/* The closure body: what the shim's stub will do, minus the queue. */
static void rt_handler(ffi_cif *cif, void *ret, void **args, void *data) {
  rt *r = data;
  int err = -1;
  (void)cif;
  int rc = rt_pipe(r, args, ret, &err);
  if (rc != 0)
    fail_msg("round trip of %s failed: %d", r->sig.name, rc);
  errno = err;
}

static rt *rt_new(const char *text, const dt__utype *ut, size_t nut,
                  void (*real)(void)) {
  rt *r = calloc(1, sizeof *r);
  assert_non_null(r);
  parse_sig(text, ut, nut, &r->sig);
  r->real = real;
  dt__sig_ffi(&r->sig, &r->fret, r->fargs);
  assert_int_equal(ffi_prep_cif(&r->cif, FFI_DEFAULT_ABI,
                                (unsigned)r->sig.nparams, r->fret, r->fargs),
                   FFI_OK);
  r->closure = ffi_closure_alloc(sizeof(ffi_closure), &r->code);
  assert_non_null(r->closure);
  assert_int_equal(
      ffi_prep_closure_loc(r->closure, &r->cif, rt_handler, r, r->code),
      FFI_OK);
  r->cstr_cap = 8;
  r->cstr = malloc(r->cstr_cap);
  assert_non_null(r->cstr);
  return r;
}

static void rt_free(rt *r) {
  ffi_closure_free(r->closure);
  free(r->cstr);
  free(r);
}

/* ------------------------------------------------------------- scalars */

#define PICK(T, N)                                                           \
  static T pick_##N(T x, T y, int which) { return which ? y : x; }
PICK(_Bool, bool)
PICK(char, char)
PICK(signed char, schar)
PICK(unsigned char, uchar)
PICK(short, short)
PICK(unsigned short, ushort)
PICK(int, int)
PICK(unsigned, uint)
PICK(long, long)
PICK(unsigned long, ulong)
PICK(long long, llong)
PICK(unsigned long long, ullong)
PICK(int8_t, int8)
PICK(int16_t, int16)
PICK(int32_t, int32)
PICK(int64_t, int64)
PICK(uint8_t, uint8)
PICK(uint16_t, uint16)
PICK(uint32_t, uint32)
PICK(uint64_t, uint64)
PICK(size_t, size_t)
PICK(ssize_t, ssize_t)
PICK(off_t, off_t)
PICK(intptr_t, intptr)
PICK(uintptr_t, uintptr)

/* Calls pick_N through the wire with the extremes, 0, 1, -1 and two
 * values in between, every pair both ways, and compares each answer with
 * a direct call byte for byte. */
#define CHECK_PICK(T, N, LO, HI)                                             \
  do {                                                                       \
    rt *r_ = rt_new(#N " pick(" #N " x, " #N " y, int which)", NULL, 0,     \
                    (void (*)(void))pick_##N);                               \
    T (*fn_)(T, T, int) = (T(*)(T, T, int))r_->code;                         \
    const T v_[] = {(T)(LO), (T)(HI), (T)0,          (T)1,                   \
                    (T)-1,   (T)((HI) / 3), (T)((LO) / 7)};                  \
    for (size_t a_ = 0; a_ < sizeof v_ / sizeof *v_; a_++)                   \
      for (size_t b_ = 0; b_ < sizeof v_ / sizeof *v_; b_++)                 \
        for (int w_ = 0; w_ < 2; w_++) {                                     \
          T got_ = fn_(v_[a_], v_[b_], w_);                                  \
          T want_ = pick_##N(v_[a_], v_[b_], w_);                            \
          if (memcmp(&got_, &want_, sizeof got_) != 0)                       \
            fail_msg("%s: got 0x%llx, want 0x%llx", #N,                      \
                     (unsigned long long)got_, (unsigned long long)want_);   \
        }                                                                    \
    rt_free(r_);                                                             \
  } while (0)

static void test_every_integer_type(void **state) {
  (void)state;
  CHECK_PICK(_Bool, bool, 0, 1);
  CHECK_PICK(char, char, CHAR_MIN, CHAR_MAX);
  CHECK_PICK(signed char, schar, SCHAR_MIN, SCHAR_MAX);
  CHECK_PICK(unsigned char, uchar, 0, UCHAR_MAX);
  CHECK_PICK(short, short, SHRT_MIN, SHRT_MAX);
  CHECK_PICK(unsigned short, ushort, 0, USHRT_MAX);
  CHECK_PICK(int, int, INT_MIN, INT_MAX);
  CHECK_PICK(unsigned, uint, 0, UINT_MAX);
  CHECK_PICK(long, long, LONG_MIN, LONG_MAX);
  CHECK_PICK(unsigned long, ulong, 0, ULONG_MAX);
  CHECK_PICK(long long, llong, LLONG_MIN, LLONG_MAX);
  CHECK_PICK(unsigned long long, ullong, 0, ULLONG_MAX);
  CHECK_PICK(int8_t, int8, INT8_MIN, INT8_MAX);
  CHECK_PICK(int16_t, int16, INT16_MIN, INT16_MAX);
  CHECK_PICK(int32_t, int32, INT32_MIN, INT32_MAX);
  CHECK_PICK(int64_t, int64, INT64_MIN, INT64_MAX);
  CHECK_PICK(uint8_t, uint8, 0, UINT8_MAX);
  CHECK_PICK(uint16_t, uint16, 0, UINT16_MAX);
  CHECK_PICK(uint32_t, uint32, 0, UINT32_MAX);
  CHECK_PICK(uint64_t, uint64, 0, UINT64_MAX);
  CHECK_PICK(size_t, size_t, 0, SIZE_MAX);
  CHECK_PICK(ssize_t, ssize_t, -SSIZE_MAX - 1, SSIZE_MAX);
  CHECK_PICK(off_t, off_t, INT64_MIN, INT64_MAX);
  CHECK_PICK(intptr_t, intptr, INTPTR_MIN, INTPTR_MAX);
  CHECK_PICK(uintptr_t, uintptr, 0, UINTPTR_MAX);
}

/* Applies a result for a narrow integer return and checks the return
 * buffer holds it widened to ffi_arg, as a libffi closure must leave it. */
static int8_t ret_i8(void) { return -2; }
static uint16_t ret_u16(void) { return 0xfffe; }
static float ret_f(void) { return -1.5f; }
static _Bool ret_b(void) { return 1; }

static void test_narrow_returns_widened(void **state) {
  (void)state;
  struct {
    const char *sig;
    void (*fn)(void);
    ffi_arg want;
  } cases[] = {
      {"int8 f()", (void (*)(void))ret_i8, (ffi_arg)(ffi_sarg)-2},
      {"uint16 f()", (void (*)(void))ret_u16, 0xfffe},
      {"bool f()", (void (*)(void))ret_b, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    rt *r = rt_new(cases[i].sig, NULL, 0, cases[i].fn);
    ffi_arg ret;
    int err = -1;
    memset(&ret, 0x55, sizeof ret);
    assert_int_equal(rt_pipe(r, NULL, &ret, &err), 0);
    if (ret != cases[i].want)
      fail_msg("%s: ret 0x%llx, want 0x%llx", cases[i].sig,
               (unsigned long long)ret, (unsigned long long)cases[i].want);
    rt_free(r);
  }
  rt *r = rt_new("float f()", NULL, 0, (void (*)(void))ret_f);
  uint8_t ret[sizeof(ffi_arg)];
  int err = -1;
  memset(ret, 0x55, sizeof ret);
  assert_int_equal(rt_pipe(r, NULL, ret, &err), 0);
  float f;
  memcpy(&f, ret, sizeof f);
  assert_true(f == -1.5f);
  rt_free(r);
}

/* ---------------------------------------------------- floats and mixes */

typedef struct mixed_args {
  int8_t a;
  float b;
  uint16_t c;
  double d;
  int64_t e;
  float f;
  uint8_t g;
  double h;
} mixed_args;
static mixed_args mixed_seen;

static double mixed(int8_t a, float b, uint16_t c, double d, int64_t e,
                    float f, uint8_t g, double h) {
  memset(&mixed_seen, 0, sizeof mixed_seen);
  mixed_seen.a = a;
  mixed_seen.b = b;
  mixed_seen.c = c;
  mixed_seen.d = d;
  mixed_seen.e = e;
  mixed_seen.f = f;
  mixed_seen.g = g;
  mixed_seen.h = h;
  return (double)a * 1.5 + (double)b + (double)c * 0.25 + d + (double)e +
         (double)f * 2.0 + (double)g + h;
}

static float fmix(float a, int b, float c, short d) {
  return a * (float)b + c - (float)d;
}

static float fid(float x) { return x; }
static double did(double x) { return x; }

static void test_float_double_mixed_with_ints(void **state) {
  (void)state;
  rt *r = rt_new("double mixed(int8 a, float b, uint16 c, double d, int64 e, "
                 "float f, uint8 g, double h)",
                 NULL, 0, (void (*)(void))mixed);
  double (*fn)(int8_t, float, uint16_t, double, int64_t, float, uint8_t,
               double) =
      (double (*)(int8_t, float, uint16_t, double, int64_t, float, uint8_t,
                  double))r->code;
  const float fs[] = {0.0f, -0.0f, 1.25f, -3.5e30f, FLT_MIN, FLT_TRUE_MIN,
                      INFINITY};
  const double ds[] = {0.0, -0.0, 2.5, -1e300, DBL_MIN, DBL_TRUE_MIN,
                       -INFINITY, NAN};
  for (size_t i = 0; i < sizeof fs / sizeof *fs; i++)
    for (size_t j = 0; j < sizeof ds / sizeof *ds; j++) {
      int8_t a = (int8_t)(-100 + (int)i);
      int64_t e = (int64_t)j * -123456789012345ll;
      double want = mixed(a, fs[i], 65535, ds[j], e, -fs[i], 200, ds[j] / 3);
      mixed_args direct = mixed_seen;
      double got = fn(a, fs[i], 65535, ds[j], e, -fs[i], 200, ds[j] / 3);
      assert_memory_equal(&got, &want, sizeof got);
      assert_memory_equal(&mixed_seen, &direct, sizeof direct);
    }
  rt_free(r);

  r = rt_new("float fmix(float a, int b, float c, short d)", NULL, 0,
             (void (*)(void))fmix);
  float (*fm)(float, int, float, short) =
      (float (*)(float, int, float, short))r->code;
  for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) {
    float want = fmix(fs[i], -7, 0.5f, -32768);
    float got = fm(fs[i], -7, 0.5f, -32768);
    assert_memory_equal(&got, &want, sizeof got);
  }
  rt_free(r);

  /* NaN payloads and signs survive as bits. */
  r = rt_new("float fid(float x)", NULL, 0, (void (*)(void))fid);
  float (*fi)(float) = (float (*)(float))r->code;
  const uint32_t fbits[] = {0x7fc12345u, 0xffc00001u, 0x80000000u,
                            0x00000001u, 0x7f7fffffu};
  for (size_t i = 0; i < sizeof fbits / sizeof *fbits; i++) {
    float x, got;
    memcpy(&x, &fbits[i], sizeof x);
    got = fi(x);
    assert_memory_equal(&got, &x, sizeof x);
  }
  rt_free(r);
  r = rt_new("double did(double x)", NULL, 0, (void (*)(void))did);
  double (*di)(double) = (double (*)(double))r->code;
  const uint64_t dbits[] = {0x7ff8000000abcdefull, 0xfff0000000000000ull,
                            0x8000000000000000ull, 1};
  for (size_t i = 0; i < sizeof dbits / sizeof *dbits; i++) {
    double x, got;
    memcpy(&x, &dbits[i], sizeof x);
    got = di(x);
    assert_memory_equal(&got, &x, sizeof x);
  }
  rt_free(r);
}

static double many(int a0, double d0, int a1, double d1, int a2, double d2,
                   int a3, double d3, int a4, double d4, int a5, double d5,
                   int a6, double d6, int a7, double d7, int a8, double d8,
                   int a9, double d9) {
  const int a[10] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9};
  const double d[10] = {d0, d1, d2, d3, d4, d5, d6, d7, d8, d9};
  double s = 0;
  for (int i = 0; i < 10; i++)
    s = s * 3.0 + (double)a[i] * (i + 1) + d[i] / (i + 2);
  return s;
}

static void test_ten_ints_and_ten_doubles(void **state) {
  (void)state;
  char text[1024];
  size_t n = (size_t)snprintf(text, sizeof text, "double many(");
  for (int i = 0; i < 10; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "%sint a%d, double d%d",
                          i ? ", " : "", i, i);
  snprintf(text + n, sizeof text - n, ")");
  rt *r = rt_new(text, NULL, 0, (void (*)(void))many);
  typedef double (*many_fn)(int, double, int, double, int, double, int,
                            double, int, double, int, double, int, double,
                            int, double, int, double, int, double);
  many_fn fn = (many_fn)r->code;
  double want = many(-1, 0.5, 2, -1.5, INT_MIN, 1e10, INT_MAX, -0.0, 5, 3.25,
                     -6, 1e-300, 7, 8.5, -8, -9.75, 9, 10.0, 10, 1.0 / 3);
  double got = fn(-1, 0.5, 2, -1.5, INT_MIN, 1e10, INT_MAX, -0.0, 5, 3.25, -6,
                  1e-300, 7, 8.5, -8, -9.75, 9, 10.0, 10, 1.0 / 3);
  assert_memory_equal(&got, &want, sizeof got);
  assert_int_equal(r->sig.nparams, 20);
  rt_free(r);
}

/* ------------------------------------------------------------ cstrings */

static uint64_t fnv(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  if (s == NULL)
    return 7;
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
  return h;
}

static uint64_t cs_info(const char *a, int k, const char *b) {
  uint64_t la = a != NULL ? strlen(a) : UINT64_MAX;
  return (fnv(a) ^ (fnv(b) * 31)) + (uint64_t)(int64_t)k + la * 1000003;
}

static void test_cstring_args(void **state) {
  (void)state;
  rt *r = rt_new("uint64 cs_info(cstring a, int k, cstring b)", NULL, 0,
                 (void (*)(void))cs_info);
  uint64_t (*fn)(const char *, int, const char *) =
      (uint64_t (*)(const char *, int, const char *))r->code;
  size_t big = (size_t)1 << 20;
  char *lng = malloc(big + 1);
  assert_non_null(lng);
  for (size_t i = 0; i < big; i++)
    lng[i] = (char)('a' + i % 26);
  lng[big] = '\0';
  const char *as[] = {NULL, "", lng, "h\xc3\xa9llo, wire", "x"};
  const char *bs[] = {NULL, "x", "tail", "", lng};
  for (size_t i = 0; i < sizeof as / sizeof *as; i++) {
    int k = (int)i * 1000 - 2500;
    uint64_t want = cs_info(as[i], k, bs[i]);
    uint64_t got = fn(as[i], k, bs[i]);
    assert_true(got == want);
  }
  free(lng);
  rt_free(r);
}

static char long_ret[5001];

static const char *cs_ret(int which) {
  switch (which) {
  case 0:
    return NULL;
  case 1:
    return "";
  case 2:
    return "hello";
  default:
    return long_ret;
  }
}

static void test_cstring_return(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof long_ret - 1; i++)
    long_ret[i] = (char)('A' + i % 23);
  long_ret[sizeof long_ret - 1] = '\0';
  rt *r = rt_new("cstring cs_ret(int which)", NULL, 0,
                 (void (*)(void))cs_ret);
  const char *(*fn)(int) = (const char *(*)(int))r->code;

  assert_null(fn(0));
  const char *s = fn(1);
  assert_ptr_equal(s, r->cstr);
  assert_string_equal(s, "");
  s = fn(2);
  assert_ptr_equal(s, r->cstr);
  assert_string_equal(s, "hello");
  assert_int_equal(r->enospc, 0);
  /* Too long for 8 bytes: one -ENOSPC, then the grown buffer fits. */
  s = fn(3);
  assert_int_equal(r->enospc, 1);
  assert_int_equal(r->cstr_cap, sizeof long_ret);
  assert_ptr_equal(s, r->cstr);
  assert_string_equal(s, long_ret);
  s = fn(3);
  assert_int_equal(r->enospc, 1);
  assert_string_equal(s, long_ret);
  assert_null(fn(0));
  rt_free(r);
}

/* -------------------------------------------------------------- buffers */

static int sum4(const int *xs) {
  if (xs == NULL)
    return -1;
  return xs[0] + xs[1] * 2 + xs[2] * 3 + xs[3] * 4;
}

static int fill_saw_garbage;

static void fill(double *ys, int n, double base) {
  for (int i = 0; i < n; i++) {
    if (ys[i] != 0.0)
      fill_saw_garbage = 1;
    ys[i] = base + i * 0.5;
  }
}

static long scale(int32_t *m, uint16_t rows, size_t cols, int32_t k) {
  long s = 0;
  size_t n = (size_t)rows * cols * 2;
  for (size_t i = 0; i < n; i++) {
    m[i] = m[i] * k + (int32_t)i;
    s += m[i];
  }
  return s;
}

static int nulls(const int *a, int *b, int n) {
  int r = (a != NULL ? 1 : 0) + (b != NULL ? 2 : 0);
  if (b != NULL)
    for (int i = 0; i < n; i++)
      b[i] = a != NULL ? a[i] * 2 : -i;
  return r;
}

static void test_buffer_constant_length(void **state) {
  (void)state;
  rt *r = rt_new("int sum4(in int xs[4])", NULL, 0, (void (*)(void))sum4);
  int (*fn)(const int *) = (int (*)(const int *))r->code;
  const int xs[4] = {INT_MIN / 8, -3, 77, 1 << 20};
  assert_int_equal(fn(xs), sum4(xs));
  assert_int_equal(fn(NULL), -1);
  rt_free(r);
}

static void test_buffer_param_length(void **state) {
  (void)state;
  rt *r = rt_new("void fill(out double ys[n], int n, double base)", NULL, 0,
                 (void (*)(void))fill);
  void (*fn)(double *, int, double) =
      (void (*)(double *, int, double))r->code;
  const int ns[] = {0, 1, 7, 1000};
  for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
    int n = ns[t];
    double *got = malloc(sizeof(double) * (size_t)(n + 1));
    double *want = calloc((size_t)n + 1, sizeof(double));
    memset(got, 0xaa, sizeof(double) * (size_t)(n + 1));
    fill_saw_garbage = 0;
    fill(want, n, -2.25);
    fn(got, n, -2.25);
    /* The runner handed the function zeroed memory, not the caller's. */
    assert_int_equal(fill_saw_garbage, 0);
    if (n > 0)
      assert_memory_equal(got, want, sizeof(double) * (size_t)n);
    /* Nothing past the buffer was written. */
    uint8_t pat[sizeof(double)];
    memset(pat, 0xaa, sizeof pat);
    assert_memory_equal(&got[n], pat, sizeof pat);
    free(got);
    free(want);
  }
  rt_free(r);
}

static void test_buffer_product_length(void **state) {
  (void)state;
  rt *r = rt_new("long scale(inout int32 m[rows*cols*2], uint16 rows, "
                 "size_t cols, int32 k)",
                 NULL, 0, (void (*)(void))scale);
  long (*fn)(int32_t *, uint16_t, size_t, int32_t) =
      (long (*)(int32_t *, uint16_t, size_t, int32_t))r->code;
  int32_t got[3 * 5 * 2 + 1], want[3 * 5 * 2 + 1];
  for (int i = 0; i < 31; i++)
    got[i] = want[i] = i * 7 - 100;
  long lw = scale(want, 3, 5, -3);
  long lg = fn(got, 3, 5, -3);
  assert_int_equal(lg, lw);
  assert_memory_equal(got, want, sizeof got);
  assert_int_equal(got[30], 30 * 7 - 100);
  rt_free(r);
}

static void test_buffer_null(void **state) {
  (void)state;
  rt *r = rt_new("int nulls(in int a[n], out int b[n], int n)", NULL, 0,
                 (void (*)(void))nulls);
  int (*fn)(const int *, int *, int) =
      (int (*)(const int *, int *, int))r->code;
  const int a[4] = {1, -2, 3, -4};
  int got[4], want[4];
  memset(got, 0x11, sizeof got);
  memset(want, 0x11, sizeof want);
  assert_int_equal(fn(a, got, 4), nulls(a, want, 4));
  assert_memory_equal(got, want, sizeof got);
  assert_int_equal(fn(NULL, got, 4), nulls(NULL, want, 4));
  assert_memory_equal(got, want, sizeof got);
  assert_int_equal(fn(a, NULL, 4), 1);
  /* The length of a NULL buffer is never read, even when negative. */
  assert_int_equal(fn(NULL, NULL, -1), 0);
  rt_free(r);
}

typedef struct pt {
  double x, y;
  int32_t tag;
} pt;

static void move(pt *p, const pt *d, int k) {
  for (int i = 0; i < k; i++) {
    p->x += d[i].x;
    p->y -= d[i].y;
    p->tag ^= d[i].tag;
  }
}

static void test_buffer_struct_type(void **state) {
  (void)state;
  const dt__utype ut[] = {{"pt", sizeof(pt), _Alignof(pt), 1}};
  rt *r = rt_new("void move(inout pt p[1], in pt d[k], int k)", ut, 1,
                 (void (*)(void))move);
  void (*fn)(pt *, const pt *, int) = (void (*)(pt *, const pt *, int))r->code;
  pt got, want, d[3];
  memset(&got, 0, sizeof got);
  memset(d, 0, sizeof d);
  got.x = 1.5;
  got.y = -2;
  got.tag = 0x1234;
  want = got;
  for (int i = 0; i < 3; i++) {
    d[i].x = i + 0.25;
    d[i].y = -i * 3.0;
    d[i].tag = 1 << (i * 5);
  }
  move(&want, d, 3);
  fn(&got, d, 3);
  assert_memory_equal(&got, &want, sizeof got);
  rt_free(r);
}

static int set_errno(int e) {
  errno = e;
  return e ? -1 : 0;
}

static void test_errno_propagates(void **state) {
  (void)state;
  rt *r = rt_new("int set_errno(int e)", NULL, 0, (void (*)(void))set_errno);
  int (*fn)(int) = (int (*)(int))r->code;
  errno = 0;
  assert_int_equal(fn(EDOM), -1);
  assert_int_equal(errno, EDOM);
  errno = 0;
  assert_int_equal(fn(ENAMETOOLONG), -1);
  assert_int_equal(errno, ENAMETOOLONG);
  rt_free(r);
}

static void touch(int *x, int v) { *x = v * 3; }

static void test_void_return(void **state) {
  (void)state;
  rt *r = rt_new("void touch(out int x[1], int v)", NULL, 0,
                 (void (*)(void))touch);
  void (*fn)(int *, int) = (void (*)(int *, int))r->code;
  int x = 0;
  fn(&x, -14);
  assert_int_equal(x, -42);

  /* A void return leaves the return buffer alone. */
  int v = 5, *xp = &x, err = -1;
  void *args[] = {&xp, &v};
  uint8_t ret[16], pat[16];
  memset(ret, 0x5a, sizeof ret);
  memset(pat, 0x5a, sizeof pat);
  assert_int_equal(rt_pipe(r, args, ret, &err), 0);
  assert_memory_equal(ret, pat, sizeof pat);
  assert_int_equal(x, 15);
  assert_int_equal(err, 0);
  rt_free(r);
}

/* A frame puts every buffer and string on a 16-byte boundary (or the
 * element type's larger alignment), zeroes out buffers, terminates
 * strings, and points argv at vals. */
static void test_frame_layout(void **state) {
  (void)state;
  const dt__utype ut[] = {{"big", 128, 64, 1}};
  dt__sig sig;
  parse_sig("int lay(in uint8 a[3], cstring s, out big b[1], in uint16 "
            "c[n], int n, cstring e, cstring z, out uint8 w[n])",
            ut, 1, &sig);
  uint8_t a[3] = {1, 2, 3};
  const char *s = "str", *e = "", *z = NULL;
  uint8_t b[128];
  uint16_t c[1];
  uint8_t w[1];
  int n = 0;
  uint8_t *ap = a, *bp = b, *wp = w;
  uint16_t *cp = c;
  void *args[] = {&ap, &s, &bp, &cp, &n, &e, &z, &wp};
  size_t size;
  uint8_t *rec = encode_task(&sig, args, 9, &size);
  dt__frame f;
  dt__error werr;
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), 0);
  assert_true(f.call_id == 9);
  assert_int_equal(f.entry, TEST_ENTRY);
  assert_int_equal(f.nargs, 8);
  for (int i = 0; i < 8; i++)
    assert_ptr_equal(f.argv[i], &f.vals[i]);
  assert_true((uintptr_t)f.buf[0] % 16 == 0);
  assert_memory_equal(f.buf[0], a, 3);
  assert_true((uintptr_t)f.buf[1] % 16 == 0);
  assert_string_equal(f.buf[1], "str");
  assert_true((uintptr_t)f.buf[2] % 64 == 0);
  assert_int_equal(f.bytes[2], 128);
  for (int i = 0; i < 128; i++)
    assert_int_equal(((uint8_t *)f.buf[2])[i], 0);
  /* A present buffer of 0 bytes still gets a pointer of its own. */
  assert_non_null(f.buf[3]);
  assert_int_equal(f.bytes[3], 0);
  assert_non_null(f.buf[7]);
  assert_ptr_not_equal(f.buf[3], f.buf[7]);
  assert_string_equal(f.buf[5], "");
  assert_null(f.buf[6]);
  assert_null(f.vals[6].p);
  for (int i = 0; i < 8; i++)
    if (i != 4)
      assert_ptr_equal(f.vals[i].p, f.buf[i]);
  int nv;
  memcpy(&nv, &f.vals[4], sizeof nv);
  assert_int_equal(nv, 0);
  dt__frame_free(&f);
  dt__frame_free(&f); /* twice is harmless */
  free(rec);
}

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

/* A small deterministic generator (xorshift64*). */
static uint64_t rng(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545f4914f6cdd1dull;
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

/* --------------------------------------------------- object sections */

#define OBJ_SIG "int of(int x, cstring s)"
#define OBJ_PATH "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"
#define OBJ_DIGEST 0x1a2b3c4d5e6f7081ull

/* Encodes of(x, s) with the object section obj into a block of exactly
 * its size. */
static uint8_t *encode_obj_task(const dt__sig *sig, void **args,
                                const dt__wire_obj *obj, size_t *size) {
  size_t n = 0;
  int rc = dt__wire_task_size(sig, args, obj, &n);
  if (rc != 0)
    fail_msg("task size with an object section: %d", rc);
  uint8_t *buf = malloc(n);
  assert_non_null(buf);
  assert_int_equal(dt__wire_task_encode(sig, TEST_FP, TEST_ENTRY, 11, 0, args,
                                        obj, buf, n),
                   0);
  *size = n;
  return buf;
}

/* A task names the object defining the caller's function: flag 1, then
 * u64 digest, u16 length and the path's bytes right after the fixed
 * header; the arguments follow and decode as before. */
static void test_object_round_trip(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig(OBJ_SIG, NULL, 0, &sig);
  int x = -7;
  const char *s = "abc";
  void *args[] = {&x, &s};
  size_t plain = 0;
  assert_int_equal(dt__wire_task_size(&sig, args, NULL, &plain), 0);
  dt__wire_obj obj = {OBJ_DIGEST, OBJ_PATH, strlen(OBJ_PATH)};
  size_t size;
  uint8_t *rec = encode_obj_task(&sig, args, &obj, &size);
  assert_int_equal(size, plain + 8 + 2 + strlen(OBJ_PATH));
  assert_int_equal(rec[6], 1); /* flags, little-endian */
  assert_int_equal(rec[7], 0);
  assert_true(peek64(rec + 36) == OBJ_DIGEST);
  assert_int_equal(rec[44] | rec[45] << 8, (int)strlen(OBJ_PATH));
  assert_memory_equal(rec + 46, OBJ_PATH, strlen(OBJ_PATH));

  dt__wire_obj got;
  dt__error werr = {0, 0, "stale"};
  memset(&got, 0x55, sizeof got);
  assert_int_equal(dt__wire_task_obj(rec, size, &got, &werr), 1);
  assert_string_equal(werr.msg, "");
  assert_true(got.digest == OBJ_DIGEST);
  assert_int_equal(got.len, strlen(OBJ_PATH));
  assert_ptr_equal(got.path, (const char *)rec + 46); /* in place */
  assert_memory_equal(got.path, OBJ_PATH, got.len);
  uint64_t fp = 0, id = 0;
  uint32_t entry = 0;
  assert_int_equal(dt__wire_task_peek(rec, size, &fp, &entry, &id), 0);
  assert_true(fp == TEST_FP && id == 11);
  assert_int_equal(entry, TEST_ENTRY);
  dt__frame f;
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), 0);
  int got_x;
  memcpy(&got_x, f.argv[0], sizeof got_x);
  assert_int_equal(got_x, -7);
  assert_string_equal((const char *)f.buf[1], "abc");
  assert_true(f.call_id == 11);
  dt__frame_free(&f);
  free(rec);

  /* A digest without a path (the caller could not name the file). */
  dt__wire_obj bare = {OBJ_DIGEST + 1, NULL, 0};
  rec = encode_obj_task(&sig, args, &bare, &size);
  assert_int_equal(size, plain + 10);
  assert_int_equal(dt__wire_task_obj(rec, size, &got, &werr), 1);
  assert_true(got.digest == OBJ_DIGEST + 1);
  assert_null(got.path);
  assert_int_equal(got.len, 0);
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), 0);
  dt__frame_free(&f);
  free(rec);

  /* Without one: flags 0, the record of old, and obj is zeroed. */
  rec = encode_obj_task(&sig, args, NULL, &size);
  assert_int_equal(size, plain);
  assert_int_equal(rec[6], 0);
  memset(&got, 0x55, sizeof got);
  assert_int_equal(dt__wire_task_obj(rec, size, &got, NULL), 0);
  assert_true(got.digest == 0);
  assert_null(got.path);
  assert_int_equal(got.len, 0);
  assert_int_equal(dt__wire_task_obj(rec, size, NULL, &werr), -EINVAL);
  free(rec);

  /* The longest path a task may carry. */
  char *longest = malloc(DT__WIRE_PATH_MAX);
  assert_non_null(longest);
  memset(longest, 'p', DT__WIRE_PATH_MAX);
  longest[0] = '/';
  dt__wire_obj lo = {7, longest, DT__WIRE_PATH_MAX};
  rec = encode_obj_task(&sig, args, &lo, &size);
  assert_int_equal(dt__wire_task_obj(rec, size, &got, &werr), 1);
  assert_int_equal(got.len, DT__WIRE_PATH_MAX);
  assert_memory_equal(got.path, longest, DT__WIRE_PATH_MAX);
  assert_int_equal(dt__wire_task_decode(&sig, rec, size, &f, &werr), 0);
  dt__frame_free(&f);
  free(rec);
  free(longest);
}

/* Every cut of a record with an object section is refused by the
 * decoder; the object section alone is read once it is whole; peek reads
 * the fixed header only. */
static void test_object_truncated_at_every_offset(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig(OBJ_SIG, NULL, 0, &sig);
  int x = 3;
  const char *s = "abc";
  void *args[] = {&x, &s};
  dt__wire_obj obj = {OBJ_DIGEST, OBJ_PATH, strlen(OBJ_PATH)};
  size_t size;
  uint8_t *rec = encode_obj_task(&sig, args, &obj, &size);
  size_t obj_end = 36 + 10 + strlen(OBJ_PATH);
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
    if (len >= 36 && len < obj_end)
      assert_contains(werr.msg, "truncated");
    dt__wire_obj got;
    werr.msg[0] = '\0';
    rc = dt__wire_task_obj(cut, len, &got, &werr);
    assert_int_equal(rc, len < obj_end ? -EPROTO : 1);
    if (len >= 36 && len < obj_end)
      assert_contains(werr.msg, "object");
    assert_int_equal(dt__wire_task_peek(cut, len, NULL, NULL, NULL),
                     len < 36 ? -EPROTO : 0);
    free(cut);
  }
  free(rec);
}

/* Flags other than bit 0 are refused; a path with a NUL byte or longer
 * than DT__WIRE_PATH_MAX is refused by the encoder and, written by hand,
 * by every reader. */
static void test_object_refused(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig(OBJ_SIG, NULL, 0, &sig);
  int x = 3;
  const char *s = "abc";
  void *args[] = {&x, &s};
  dt__wire_obj obj = {OBJ_DIGEST, OBJ_PATH, strlen(OBJ_PATH)};
  size_t size;
  uint8_t *rec = encode_obj_task(&sig, args, &obj, &size);
  dt__frame f;
  dt__error werr;
  dt__wire_obj got;

  /* A bad flag. */
  const uint16_t flags[] = {0x0004, 0x0006, 0x0100, 0x8001};
  for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
    uint8_t *bad = exact_copy(rec, size);
    bad[6] = (uint8_t)flags[i];
    bad[7] = (uint8_t)(flags[i] >> 8);
    char want[32];
    snprintf(want, sizeof want, "flags 0x%04x", (unsigned)flags[i]);
    assert_int_equal(dt__wire_task_decode(&sig, bad, size, &f, &werr),
                     -EPROTO);
    assert_contains(werr.msg, want);
    assert_int_equal(dt__wire_task_obj(bad, size, &got, &werr), -EPROTO);
    assert_contains(werr.msg, want);
    assert_int_equal(dt__wire_task_peek(bad, size, NULL, NULL, NULL), -EPROTO);
    free(bad);
  }

  /* A NUL inside the path. */
  const char nul_path[] = "/usr/lib/lib\0evil.so";
  dt__wire_obj nul = {1, nul_path, sizeof nul_path - 1};
  size_t n = 0;
  uint8_t buf[256];
  assert_int_equal(dt__wire_task_size(&sig, args, &nul, &n), -EINVAL);
  assert_int_equal(
      dt__wire_task_encode(&sig, 1, 0, 1, 0, args, &nul, buf, sizeof buf),
      -EINVAL);
  dt__wire_obj nopath = {1, NULL, 4};
  assert_int_equal(dt__wire_task_size(&sig, args, &nopath, &n), -EINVAL);
  uint8_t *bad = exact_copy(rec, size);
  bad[46 + 5] = '\0';
  assert_int_equal(dt__wire_task_obj(bad, size, &got, &werr), -EPROTO);
  assert_contains(werr.msg, "NUL");
  assert_int_equal(dt__wire_task_decode(&sig, bad, size, &f, &werr), -EPROTO);
  assert_contains(werr.msg, "NUL");
  /* (peek reads the fixed header, which is fine) */
  assert_int_equal(dt__wire_task_peek(bad, size, NULL, NULL, NULL), 0);
  free(bad);

  /* Too long: refused by the encoder... */
  size_t big = (size_t)DT__WIRE_PATH_MAX + 1;
  char *longer = malloc(big + 1);
  assert_non_null(longer);
  memset(longer, 'q', big);
  longer[0] = '/';
  dt__wire_obj toolong = {1, longer, big};
  assert_int_equal(dt__wire_task_size(&sig, args, &toolong, &n),
                   -ENAMETOOLONG);
  assert_int_equal(
      dt__wire_task_encode(&sig, 1, 0, 1, 0, args, &toolong, buf, sizeof buf),
      -ENAMETOOLONG);
  /* ... and by the readers, whether the bytes are all there or not. */
  size_t hsize = 36 + 10 + big;
  uint8_t *hand = malloc(hsize);
  assert_non_null(hand);
  memcpy(hand, rec, 36);
  poke64(hand + 36, 1);
  hand[44] = (uint8_t)big;
  hand[45] = (uint8_t)(big >> 8);
  memcpy(hand + 46, longer, big);
  assert_int_equal(dt__wire_task_obj(hand, hsize, &got, &werr), -EPROTO);
  assert_contains(werr.msg, "longer than");
  assert_int_equal(dt__wire_task_decode(&sig, hand, hsize, &f, &werr),
                   -EPROTO);
  assert_contains(werr.msg, "longer than");
  hand[44] = 0xff;
  hand[45] = 0xff;
  assert_int_equal(dt__wire_task_obj(hand, 46, &got, &werr), -EPROTO);
  assert_contains(werr.msg, "longer than");
  /* A length within bounds that runs past the end of the record. */
  hand[44] = 100;
  hand[45] = 0;
  assert_int_equal(dt__wire_task_obj(hand, 46 + 99, &got, &werr), -EPROTO);
  assert_contains(werr.msg, "truncated");
  free(hand);
  free(longer);

  /* Random changes inside the object section never crash a reader. */
  uint64_t seed = 0x243f6a8885a308d3ull;
  for (int it = 0; it < 2000; it++) {
    uint8_t *g = exact_copy(rec, size);
    for (int k = 0, nk = 1 + (int)(rng(&seed) % 3); k < nk; k++)
      g[36 + rng(&seed) % (10 + strlen(OBJ_PATH))] = (uint8_t)rng(&seed);
    size_t len = it % 2 ? size : 36 + (size_t)(rng(&seed) % (size - 36));
    int rc = dt__wire_task_decode(&sig, g, len, &f, &werr);
    assert_true(rc == 0 || rc == -EPROTO);
    dt__frame_free(&f);
    rc = dt__wire_task_obj(g, len, &got, &werr);
    assert_true(rc == 1 || rc == -EPROTO);
    if (rc == 1)
      assert_true(got.len == 0 || (got.path != NULL &&
                                   memchr(got.path, '\0', got.len) == NULL));
    free(g);
  }
  free(rec);
}

/* ------------------------------------------------------------- results */

#define RR_SIG "cstring rr(out int ys[n], inout uint8 zs[2], int n, in int q[1])"

static const char *rr(int *ys, uint8_t *zs, int n, const int *q) {
  for (int i = 0; i < n; i++)
    ys[i] = q[0] * (i + 1);
  if (zs != NULL) {
    zs[0] = (uint8_t)(zs[0] * 2);
    zs[1] = (uint8_t)(zs[1] + 3);
  }
  errno = ERANGE;
  return q[0] < 0 ? NULL : "result-string";
}

typedef struct rr_call {
  int ys[8];
  uint8_t zs[2];
  int n;
  int q;
  int *yp;
  uint8_t *zp;
  const int *qp;
  void *args[4];
} rr_call;

static void rr_init(rr_call *c, int n, int q) {
  memset(c, 0, sizeof *c);
  memset(c->ys, 0x33, sizeof c->ys);
  c->zs[0] = 5;
  c->zs[1] = 6;
  c->n = n;
  c->q = q;
  c->yp = c->ys;
  c->zp = c->zs;
  c->qp = &c->q;
  void *args[4] = {&c->yp, &c->zp, &c->n, &c->qp};
  memcpy(c->args, args, sizeof args);
}

/* Makes the result record of rr for a call (runner side). */
static uint8_t *rr_result(const dt__sig *sig, rr_call *c, uint64_t id,
                          size_t *rsize) {
  size_t size;
  uint8_t *rec = encode_task(sig, c->args, id, &size), *res;
  run_task(sig, (void (*)(void))rr, rec, size, &res, rsize);
  free(rec);
  return res;
}

static void test_result_round_trip_and_enospc(void **state) {
  (void)state;
  dt__sig sig;
  rr_call c;
  parse_sig(RR_SIG, NULL, 0, &sig);
  rr_init(&c, 4, 7);
  size_t rsize;
  uint8_t *res = rr_result(&sig, &c, 42, &rsize);
  rr_call before = c;
  uint8_t ret[sizeof(ffi_arg)], pat[sizeof(ffi_arg)];
  memset(ret, 0x77, sizeof ret);
  memset(pat, 0x77, sizeof pat);
  int err = -12345;
  char small[8] = "";
  dt__error werr;
  size_t need = 0;
  /* Too small: nothing at all is written. */
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 42, res, rsize, ret,
                                         &err, small, sizeof small, &need,
                                         &werr),
                   -ENOSPC);
  assert_int_equal(need, strlen("result-string") + 1);
  assert_memory_equal(ret, pat, sizeof pat);
  assert_int_equal(err, -12345);
  assert_memory_equal(c.ys, before.ys, sizeof c.ys);
  assert_memory_equal(c.zs, before.zs, sizeof c.zs);
  assert_string_equal(small, "");
  /* The same record with room. */
  char *big = malloc(need);
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 42, res, rsize, ret,
                                         &err, big, need, NULL, &werr),
                   0);
  char *got;
  memcpy(&got, ret, sizeof got);
  assert_ptr_equal(got, big);
  assert_string_equal(big, "result-string");
  assert_int_equal(err, ERANGE);
  for (int i = 0; i < 4; i++)
    assert_int_equal(c.ys[i], 7 * (i + 1));
  assert_memory_equal(&c.ys[4], &before.ys[4], 4 * sizeof(int));
  assert_int_equal(c.zs[0], 10);
  assert_int_equal(c.zs[1], 9);
  free(big);
  free(res);

  /* A NULL string comes back as a NULL pointer, with no buffer needed. */
  rr_init(&c, 2, -1);
  res = rr_result(&sig, &c, 43, &rsize);
  memset(ret, 0x77, sizeof ret);
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 43, res, rsize, ret,
                                         &err, NULL, 0, NULL, &werr),
                   0);
  memcpy(&got, ret, sizeof got);
  assert_null(got);
  assert_int_equal(c.ys[1], -2);
  free(res);
}

static void test_result_malformed(void **state) {
  (void)state;
  dt__sig sig;
  rr_call c;
  parse_sig(RR_SIG, NULL, 0, &sig);
  rr_init(&c, 4, 7);
  size_t rsize;
  uint8_t *res = rr_result(&sig, &c, 42, &rsize);
  assert_int_equal(rsize, 20 + 8 + 4 + 13 + 8 + 16 + 8 + 2);
  char cstr[64];
  dt__error werr;
  int err = -12345;
  uint8_t ret[sizeof(ffi_arg)], pat[sizeof(ffi_arg)];
  memset(pat, 0x77, sizeof pat);
  rr_call before = c;

  /* The wrong call. */
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 41, res, rsize, ret,
                                         &err, cstr, sizeof cstr, NULL, &werr),
                   -EPROTO);
  assert_contains(werr.msg, "answers call 42, not call 41");

  /* Cut at every offset, or one byte too long: refused, nothing written. */
  for (size_t len = 0; len <= rsize + 1; len++) {
    if (len == rsize)
      continue;
    uint8_t *cut = calloc(1, len > 0 ? len : 1);
    memcpy(cut, res, len < rsize ? len : rsize);
    memset(ret, 0x77, sizeof ret);
    memset(cstr, 0, sizeof cstr);
    werr.msg[0] = '\0';
    int rc = dt__wire_result_apply(&sig, c.args, 42, cut, len, ret, &err, cstr,
                                   sizeof cstr, NULL, &werr);
    if (rc != -EPROTO)
      fail_msg("a result of %zu of %zu bytes gave %d", len, rsize, rc);
    assert_true(werr.msg[0] != '\0');
    assert_memory_equal(ret, pat, sizeof pat);
    assert_int_equal(err, -12345);
    assert_memory_equal(c.ys, before.ys, sizeof c.ys);
    assert_memory_equal(c.zs, before.zs, sizeof c.zs);
    assert_int_equal(cstr[0], 0);
    free(cut);
  }

  /* The caller's length says 5 ints, the result carries 4. */
  c.n = 5;
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 42, res, rsize, ret,
                                         &err, cstr, sizeof cstr, NULL, &werr),
                   -EPROTO);
  assert_contains(werr.msg, "16 bytes for buffer 'ys'");
  assert_contains(werr.msg, "says 20");
  c.n = 4;
  /* The caller passed NULL but a buffer came back. */
  c.zp = NULL;
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 42, res, rsize, ret,
                                         &err, cstr, sizeof cstr, NULL, &werr),
                   -EPROTO);
  c.zp = c.zs;
  assert_memory_equal(c.ys, before.ys, sizeof c.ys);
  assert_int_equal(err, -12345);
  free(res);

  /* The runner got zs as NULL but the caller expects it back. */
  rr_init(&c, 4, 7);
  c.zp = NULL;
  res = rr_result(&sig, &c, 44, &rsize);
  c.zp = c.zs;
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 44, res, rsize, ret,
                                         &err, cstr, sizeof cstr, NULL, &werr),
                   -EPROTO);
  assert_contains(werr.msg, "truncated");
  free(res);
}

static void test_result_header_flips(void **state) {
  (void)state;
  dt__sig sig;
  rr_call c;
  parse_sig(RR_SIG, NULL, 0, &sig);
  rr_init(&c, 4, 7);
  size_t rsize;
  uint8_t *res = rr_result(&sig, &c, 42, &rsize);
  char cstr[64];
  dt__error werr;
  for (size_t off = 0; off < 20; off++) {
    uint8_t *bad = exact_copy(res, rsize);
    bad[off] ^= 0x40;
    uint8_t ret[sizeof(ffi_arg)];
    int err = -1;
    int rc = dt__wire_result_apply(&sig, c.args, 42, bad, rsize, ret, &err,
                                   cstr, sizeof cstr, NULL, &werr);
    if (off < 6 || off >= 12)
      assert_int_equal(rc, -EPROTO); /* magic, version, call_id */
    else if (off < 8)
      assert_true(rc != 0); /* status: read as an error result */
    else
      assert_int_equal(err, ERANGE ^ (0x40 << (8 * (off - 8)))); /* errno */
    free(bad);
  }
  free(res);

  /* A return value that does not fit its type. */
  dt__sig s8;
  parse_sig("int8 r8()", NULL, 0, &s8);
  rt *r = rt_new("int8 r8()", NULL, 0, (void (*)(void))ret_i8);
  size_t size;
  uint8_t *rec = encode_task(&r->sig, NULL, 5, &size);
  run_task(&r->sig, r->real, rec, size, &res, &rsize);
  assert_int_equal(rsize, 28);
  assert_true(peek64(res + 20) == (uint64_t)-2);
  poke64(res + 20, 0x80);
  ffi_arg ret;
  int err;
  assert_int_equal(dt__wire_result_apply(&s8, NULL, 5, res, rsize, &ret, &err,
                                         NULL, 0, NULL, &werr),
                   -EPROTO);
  assert_contains(werr.msg, "not a valid int8");
  free(rec);
  free(res);
  rt_free(r);
}

static void test_result_error_round_trip(void **state) {
  (void)state;
  dt__sig sig;
  rr_call c;
  parse_sig(RR_SIG, NULL, 0, &sig);
  rr_init(&c, 4, 7);
  const char *text = "the runner serves a different config; restart it";
  uint8_t *res;
  size_t rsize;
  assert_int_equal(
      dt__wire_result_error(99, DT__ST_FINGERPRINT, -77, text, &res, &rsize),
      0);
  assert_int_equal(rsize, 20 + 4 + strlen(text));
  uint8_t ret[sizeof(ffi_arg)], pat[sizeof(ffi_arg)];
  memset(ret, 0x77, sizeof ret);
  memset(pat, 0x77, sizeof pat);
  int err = -12345;
  char cstr[64] = "";
  dt__error werr;
  rr_call before = c;
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 99, res, rsize, ret,
                                         &err, cstr, sizeof cstr, NULL, &werr),
                   DT__ST_FINGERPRINT);
  assert_string_equal(werr.msg, text);
  assert_int_equal(err, -77); /* the detail, where errno goes */
  assert_memory_equal(ret, pat, sizeof pat);
  assert_memory_equal(c.ys, before.ys, sizeof c.ys);
  assert_memory_equal(c.zs, before.zs, sizeof c.zs);
  assert_string_equal(cstr, "");
  /* A message longer than a dt__error holds gets a truncated, terminated
   * copy. */
  char lng[sizeof werr.msg + 100];
  memset(lng, 'm', sizeof lng - 1);
  lng[sizeof lng - 1] = '\0';
  uint8_t *lres;
  size_t lsize;
  assert_int_equal(
      dt__wire_result_error(99, DT__ST_FINGERPRINT, -77, lng, &lres, &lsize),
      0);
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 99, lres, lsize, ret,
                                         &err, cstr, sizeof cstr, NULL, &werr),
                   DT__ST_FINGERPRINT);
  assert_int_equal(strlen(werr.msg), sizeof werr.msg - 1);
  assert_memory_equal(werr.msg, lng, sizeof werr.msg - 1);
  free(lres);
  /* Wrong call, cut, or too long: malformed. */
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 98, res, rsize, ret,
                                         &err, cstr, sizeof cstr, NULL, &werr),
                   -EPROTO);
  for (size_t len = 0; len < rsize; len++) {
    uint8_t *cut = exact_copy(res, len);
    assert_int_equal(dt__wire_result_apply(&sig, c.args, 99, cut, len, ret,
                                           &err, cstr, sizeof cstr, NULL,
                                           &werr),
                     -EPROTO);
    free(cut);
  }
  uint8_t *longer = calloc(1, rsize + 1);
  memcpy(longer, res, rsize);
  assert_int_equal(dt__wire_result_apply(&sig, c.args, 99, longer, rsize + 1,
                                         ret, &err, cstr, sizeof cstr, NULL,
                                         &werr),
                   -EPROTO);
  free(longer);
  free(res);

  /* Every status and its detail travel; a NULL message is an empty one. */
  for (int st = DT__ST_MALFORMED; st <= DT__ST_TIMEOUT; st++) {
    assert_int_equal(dt__wire_result_error(7, st, 256 + st, NULL, &res, &rsize),
                     0);
    assert_int_equal(dt__wire_result_apply(&sig, c.args, 7, res, rsize, ret,
                                           &err, cstr, sizeof cstr, NULL,
                                           &werr),
                     st);
    assert_string_equal(werr.msg, "");
    assert_int_equal(err, 256 + st);
    free(res);
  }
  assert_int_equal(dt__wire_result_error(7, DT__ST_OK, 0, "x", &res, &rsize),
                   -EINVAL);
  assert_null(res);
  assert_int_equal(dt__wire_result_error(7, 70000, 0, "x", &res, &rsize),
                   -EINVAL);
}

static void test_result_garbage_never_crashes(void **state) {
  (void)state;
  dt__sig sig;
  rr_call c;
  parse_sig(RR_SIG, NULL, 0, &sig);
  rr_init(&c, 4, 7);
  size_t rsize;
  uint8_t *res = rr_result(&sig, &c, 42, &rsize);
  uint64_t seed = 12345;
  char cstr[16];
  dt__error werr;
  for (int it = 0; it < 4000; it++) {
    size_t len;
    uint8_t *g;
    if (it % 2 == 0) { /* a valid header, then noise */
      len = 20 + (size_t)(rng(&seed) % 80);
      g = malloc(len);
      for (size_t i = 0; i < len; i++)
        g[i] = (uint8_t)rng(&seed);
      memcpy(g, res, 20);
      if (it % 4 == 0) {
        g[6] = 0;
        g[7] = 0;
      }
    } else { /* the valid record with a few bytes changed, maybe cut */
      len = it % 3 == 0 ? 20 + (size_t)(rng(&seed) % (rsize - 20)) : rsize;
      g = exact_copy(res, len);
      for (int k = 0, nk = 1 + (int)(rng(&seed) % 3); k < nk && len > 20; k++)
        g[20 + rng(&seed) % (len - 20)] = (uint8_t)rng(&seed);
    }
    rr_call w;
    rr_init(&w, 4, 7);
    uint8_t ret[sizeof(ffi_arg)];
    int err;
    int rc = dt__wire_result_apply(&sig, w.args, 42, g, len, ret, &err, cstr,
                                   sizeof cstr, NULL, &werr);
    if (rc < 0 && rc != -EPROTO && rc != -ENOSPC)
      fail_msg("iteration %d: apply gave %d", it, rc);
    free(g);
  }
  free(res);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_integer_type),
      cmocka_unit_test(test_narrow_returns_widened),
      cmocka_unit_test(test_float_double_mixed_with_ints),
      cmocka_unit_test(test_ten_ints_and_ten_doubles),
      cmocka_unit_test(test_cstring_args),
      cmocka_unit_test(test_cstring_return),
      cmocka_unit_test(test_buffer_constant_length),
      cmocka_unit_test(test_buffer_param_length),
      cmocka_unit_test(test_buffer_product_length),
      cmocka_unit_test(test_buffer_null),
      cmocka_unit_test(test_buffer_struct_type),
      cmocka_unit_test(test_errno_propagates),
      cmocka_unit_test(test_void_return),
      cmocka_unit_test(test_frame_layout),
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
      cmocka_unit_test(test_object_round_trip),
      cmocka_unit_test(test_object_truncated_at_every_offset),
      cmocka_unit_test(test_object_refused),
      cmocka_unit_test(test_result_round_trip_and_enospc),
      cmocka_unit_test(test_result_malformed),
      cmocka_unit_test(test_result_header_flips),
      cmocka_unit_test(test_result_error_round_trip),
      cmocka_unit_test(test_result_garbage_never_crashes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
