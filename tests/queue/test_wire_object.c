/* test_wire_object.c: unit tests of a task's object section (wire.c):
 * the shared object a call names, by path and digest, round trip, every
 * truncation, and the records a runner must refuse (the suite runs under
 * ASan: every record lives in a block of exactly its size,
 * tests/queue/wirefx.h). */
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_object_round_trip),
      cmocka_unit_test(test_object_truncated_at_every_offset),
      cmocka_unit_test(test_object_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
