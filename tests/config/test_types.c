/* test_types.c: unit tests of the scalar values of config/types.c.
 *
 * The wire form of every kind of scalar: an argument read and written in
 * its own width (integers widened by their signedness, bool as 0 or 1,
 * float and double as their bits), libffi's widened return buffer, the
 * check a decoder makes on a value it did not write, a count read from
 * an integer argument, and the helpers aggregates use (wrap, real). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <ffi.h>

#include "common/common.h"
#include "config/types.h"
#include "testutil.h"

/* The scalar type called name (it must exist). */
static dt__type type_of(const char *name) {
  dt__type t;
  if (dt__type_lookup(name, NULL, 0, &t) != 0)
    fail_msg("no type '%s'", name);
  return t;
}

/* Stores value at arg as an integer of size bytes, as C would pass it. */
static void put_int(void *arg, size_t size, int64_t value) {
  int8_t i8 = (int8_t)value;
  int16_t i16 = (int16_t)value;
  int32_t i32 = (int32_t)value;
  switch (size) {
  case 1:
    memcpy(arg, &i8, 1);
    break;
  case 2:
    memcpy(arg, &i16, 2);
    break;
  case 4:
    memcpy(arg, &i32, 4);
    break;
  default:
    memcpy(arg, &value, 8);
  }
}

/* An argument of every integer width goes to the wire widened by its
 * signedness, and comes back to the same bytes. */
static void test_get_set_integers(void **state) {
  (void)state;
  static const struct {
    const char *type;
    int64_t value;  /* what is stored in the argument */
    uint64_t wire;  /* its wire form */
  } cases[] = {
      {"int8", -5, (uint64_t)-5},        {"uint8", 250, 250},
      {"short", -300, (uint64_t)-300},   {"ushort", 65535, 65535},
      {"int", -70000, (uint64_t)-70000}, {"uint", 4000000000, 4000000000u},
      {"long", INT64_MIN, (uint64_t)INT64_MIN},
      {"size_t", 1ll << 40, 1ull << 40},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    dt__type t = type_of(cases[k].type);
    unsigned char arg[8] = {0}, back[8];
    put_int(arg, t.size, cases[k].value);
    uint64_t v = 0;
    assert_int_equal(dt__scalar_get(&t, arg, &v), 0);
    if (v != cases[k].wire)
      fail_msg("%s: wire form 0x%llx, want 0x%llx", cases[k].type,
               (unsigned long long)v, (unsigned long long)cases[k].wire);
    assert_true(dt__scalar_valid(&t, v));
    memset(back, 0xAA, sizeof back);
    dt__scalar_set(&t, v, back);
    assert_memory_equal(back, arg, t.size);
  }
}

/* bool reads as 0 or 1; float and double travel as their bits; types
 * without a scalar value are refused. */
static void test_get_set_other(void **state) {
  (void)state;
  dt__type b = type_of("bool"), f = type_of("float"), d = type_of("double");
  dt__type s = type_of("cstring"), vd = type_of("void");
  unsigned char byte = 2;
  uint64_t v = 9;
  assert_int_equal(dt__scalar_get(&b, &byte, &v), 0);
  assert_int_equal(v, 1);
  float x = 2.5f, xb = 0;
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  assert_int_equal(dt__scalar_get(&f, &x, &v), 0);
  assert_int_equal(v, bits);
  dt__scalar_set(&f, v, &xb);
  assert_true(xb == 2.5f);
  double y = -7.25, yb = 0;
  assert_int_equal(dt__scalar_get(&d, &y, &v), 0);
  dt__scalar_set(&d, v, &yb);
  assert_true(yb == -7.25);
  const char *str = "x";
  assert_int_equal(dt__scalar_get(&s, &str, &v), -EINVAL);
  assert_int_equal(dt__scalar_get(&vd, &str, &v), -EINVAL);
}

/* What a decoder accepts: values in range of the type, nothing else. */
static void test_valid(void **state) {
  (void)state;
  dt__type i8 = type_of("int8"), u8 = type_of("uint8");
  dt__type b = type_of("bool"), f = type_of("float"), d = type_of("double");
  dt__type s = type_of("cstring"), vd = type_of("void");
  assert_true(dt__scalar_valid(&i8, (uint64_t)-128));
  assert_false(dt__scalar_valid(&i8, 128));
  assert_false(dt__scalar_valid(&i8, (uint64_t)-129));
  assert_true(dt__scalar_valid(&u8, 255));
  assert_false(dt__scalar_valid(&u8, (uint64_t)-1));
  assert_true(dt__scalar_valid(&b, 1));
  assert_false(dt__scalar_valid(&b, 2));
  assert_true(dt__scalar_valid(&f, UINT32_MAX));
  assert_false(dt__scalar_valid(&f, (uint64_t)UINT32_MAX + 1));
  assert_true(dt__scalar_valid(&d, UINT64_MAX));
  assert_true(dt__scalar_valid(&s, 0));
  assert_false(dt__scalar_valid(&s, 1));
  assert_false(dt__scalar_valid(&vd, 1));
}

/* A return buffer holds narrow integers widened to ffi_arg or ffi_sarg,
 * and reads back to the same wire value. */
static void test_ret(void **state) {
  (void)state;
  dt__type i8 = type_of("int8"), u16 = type_of("uint16");
  dt__type b = type_of("bool"), ll = type_of("llong"), f = type_of("float");
  union {
    ffi_arg a;
    ffi_sarg s;
    double d;
    unsigned char bytes[16];
  } ret;
  uint64_t v = 0;
  memset(&ret, 0xAA, sizeof ret);
  dt__scalar_ret_set(&i8, (uint64_t)-5, &ret);
  assert_true(ret.s == -5);
  assert_int_equal(dt__scalar_ret_get(&i8, &ret, &v), 0);
  assert_int_equal((int64_t)v, -5);
  memset(&ret, 0xAA, sizeof ret);
  dt__scalar_ret_set(&u16, 65535, &ret);
  assert_true(ret.a == 65535);
  assert_int_equal(dt__scalar_ret_get(&u16, &ret, &v), 0);
  assert_int_equal(v, 65535);
  ret.a = 2;
  assert_int_equal(dt__scalar_ret_get(&b, &ret, &v), 0);
  assert_int_equal(v, 1);
  dt__scalar_ret_set(&ll, (uint64_t)INT64_MIN, &ret);
  assert_int_equal(dt__scalar_ret_get(&ll, &ret, &v), 0);
  assert_int_equal(v, (uint64_t)INT64_MIN);
  dt__scalar_ret_set(&f, dt__scalar_from_real(&f, 0.5), &ret);
  assert_int_equal(dt__scalar_ret_get(&f, &ret, &v), 0);
  assert_true(dt__scalar_real(&f, v) == 0.5);
  /* void and cstring have no value in the ret field. */
  dt__type vd = type_of("void"), s = type_of("cstring");
  assert_int_equal(dt__scalar_ret_get(&vd, &ret, &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(dt__scalar_ret_get(&s, &ret, &v), 0);
  assert_int_equal(v, 0);
}

/* A count is an integer argument that must not be negative. */
static void test_count(void **state) {
  (void)state;
  dt__type i16 = type_of("int16"), u64 = type_of("uint64");
  dt__type d = type_of("double");
  uint64_t n = 0;
  int16_t a = 300;
  assert_int_equal(dt__scalar_count(&i16, &a, &n), 0);
  assert_int_equal(n, 300);
  a = -1;
  assert_int_equal(dt__scalar_count(&i16, &a, &n), -ERANGE);
  uint64_t big = UINT64_MAX;
  assert_int_equal(dt__scalar_count(&u64, &big, &n), 0);
  assert_int_equal(n, UINT64_MAX);
  double x = 3;
  assert_int_equal(dt__scalar_count(&d, &x, &n), -EINVAL);
}

/* wrap narrows as C arithmetic in the type would; real and from_real
 * convert the wire form of floats and doubles. */
static void test_wrap_and_real(void **state) {
  (void)state;
  dt__type i8 = type_of("int8"), u16 = type_of("uint16");
  dt__type i64 = type_of("int64"), f = type_of("float");
  dt__type d = type_of("double");
  assert_int_equal((int64_t)dt__scalar_wrap(&i8, 200), -56);
  assert_int_equal(dt__scalar_wrap(&u16, 0x12345), 0x2345);
  assert_int_equal(dt__scalar_wrap(&i64, UINT64_MAX), UINT64_MAX);
  /* 0.1 rounds to the float 0.1f. */
  assert_true(dt__scalar_real(&f, dt__scalar_from_real(&f, 0.1)) ==
              (double)0.1f);
  assert_true(dt__scalar_real(&d, dt__scalar_from_real(&d, 0.1)) == 0.1);
  assert_true(dt__scalar_from_real(&f, 1.0) <= UINT32_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_set_integers),
      cmocka_unit_test(test_get_set_other),
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_ret),
      cmocka_unit_test(test_count),
      cmocka_unit_test(test_wrap_and_real),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
