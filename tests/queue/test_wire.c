/* test_wire.c: unit tests of the task and result records (wire.c),
 * through real calls.
 *
 * A libffi closure with the function's signature stands in for the
 * function; its handler encodes a task (into a deliberately misaligned
 * buffer), decodes it as a runner would, calls the real function with
 * ffi_call, encodes the result and applies it to the caller's return
 * buffer and memory (tests/queue/wirefx.h).  The answer must be byte for
 * byte what a direct call gives: every integer type, floats mixed with
 * integers, strings, buffers of every kind of length, errno, void, and
 * the frame's layout.  Sizes and fingerprints: test_wire_task.c; object
 * sections: test_wire_object.c; results: test_wire_result.c. */
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
