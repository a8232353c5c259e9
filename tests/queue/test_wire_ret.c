/* test_wire_ret.c: unit tests of a returned cstring's two forms in a
 * result record (queue/wire_result.c, wire format version 2): the
 * string's bytes, handed to the caller's keep function, or its place in
 * one of the call's own arguments (u32 0xfffffffe, u32 parameter, u64
 * offset), which the caller turns into its own pointer plus the offset.
 *
 * Each call goes the runner's way: the task is encoded from the caller's
 * arguments and decoded into a frame, the "function" returns a pointer
 * into the frame (or elsewhere), the result is encoded from the frame and
 * applied to the caller's arguments.  Malformed places are refused with a
 * sentence, and nothing is written then. */
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
/* Where the cstring section of a result starts: magic, version, status,
 * errno, call_id, then the u64 return value. */
#define CSTR_AT 28

/* Parses a signature that must be valid. */
static void parse_sig(const char *text, dt__sig *sig) {
  dt__error e = {0, 0, ""};
  int rc = dt__sig_parse(text, NULL, 0, sig, &e);
  if (rc != 0)
    fail_msg("\"%s\" failed (rc %d): %s", text, rc, e.msg);
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void poke(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

/* Encodes the call of sig with args as a task and decodes it as a runner
 * would, into *f (the caller frees it with dt__frame_free). */
static void to_frame(const dt__sig *sig, void **args, uint64_t id,
                     dt__frame *f) {
  size_t size;
  assert_int_equal(dt__wire_task_size(sig, args, NULL, &size), 0);
  uint8_t *rec = malloc(size);
  assert_non_null(rec);
  assert_int_equal(
      dt__wire_task_encode(sig, FP, 0, id, 0, args, NULL, rec, size), 0);
  dt__error e;
  assert_int_equal(dt__wire_task_decode(sig, rec, size, f, &e), 0);
  free(rec);
}

/* Encodes the result of the frame's call returning the string r (errno
 * 0); *size gets the record's size; the caller frees it. */
static uint8_t *result_of(const dt__sig *sig, const dt__frame *f,
                          const char *r, size_t *size) {
  ffi_arg ret = 0;
  memcpy(&ret, &r, sizeof r);
  uint8_t *out = NULL;
  assert_int_equal(dt__wire_result_encode(sig, f, &ret, 0, &out, size), 0);
  return out;
}

/* A keep function that records what it was given and returns a copy in
 * its own buffer (or fails with ctx's rc). */
typedef struct keeper {
  int calls;
  int rc;
  size_t len;
  char buf[64];
} keeper;

static int keep(void *ctx, const char *s, size_t len, const char **out) {
  keeper *k = ctx;
  k->calls++;
  k->len = len;
  if (k->rc != 0)
    return k->rc;
  assert_true(len < sizeof k->buf);
  memcpy(k->buf, s, len);
  k->buf[len] = '\0';
  *out = k->buf;
  return 0;
}

/* A strchr-like call: the pointer into the cstring argument comes back as
 * the caller's own pointer, at any offset up to the NUL, and keep is
 * never called; the record carries the place, not the bytes. */
static void test_into_cstring(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("cstring find(cstring s, int c)", &sig);
  const char *s = "hello, world";
  int ch = ',';
  void *args[] = {&s, &ch};
  size_t n = strlen(s);
  for (size_t off = 0; off <= n; off += (off == 0 ? 5 : n - 5)) {
    dt__frame f;
    to_frame(&sig, args, 10 + off, &f);
    size_t rsize;
    uint8_t *res = result_of(&sig, &f, (const char *)f.buf[0] + off, &rsize);
    dt__frame_free(&f);
    assert_int_equal(rsize, CSTR_AT + 4 + 4 + 8);
    assert_int_equal(le(res + CSTR_AT, 4), 0xfffffffeu);
    assert_int_equal(le(res + CSTR_AT + 4, 4), 0);
    assert_int_equal(le(res + CSTR_AT + 8, 8), off);
    ffi_arg ret = 0;
    int err = -1;
    keeper k = {0};
    dt__error e;
    assert_int_equal(dt__wire_result_apply_keep(&sig, args, 10 + off, res,
                                                rsize, &ret, &err, keep, &k,
                                                &e),
                     0);
    const char *got;
    memcpy(&got, &ret, sizeof got);
    assert_ptr_equal(got, s + off);
    assert_int_equal(k.calls, 0);
    assert_int_equal(err, 0);
    /* The copying form needs no buffer for it either. */
    ret = 0;
    assert_int_equal(dt__wire_result_apply(&sig, args, 10 + off, res, rsize,
                                           &ret, &err, NULL, 0, NULL, &e),
                     0);
    memcpy(&got, &ret, sizeof got);
    assert_ptr_equal(got, s + off);
    free(res);
  }
}

/* A pointer into an inout buffer the function rewrote: the caller gets
 * its own buffer's pointer, and the buffer holds the new bytes. */
static void test_into_inout_buffer(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("cstring tok(inout char b[n], size_t n)", &sig);
  char b[16] = "key=value";
  size_t n = sizeof b;
  char *bp = b;
  void *args[] = {&bp, &n};
  dt__frame f;
  to_frame(&sig, args, 7, &f);
  char *wb = f.buf[0];
  wb[3] = '\0'; /* as strtok would */
  size_t rsize;
  uint8_t *res = result_of(&sig, &f, wb + 4, &rsize);
  dt__frame_free(&f);
  assert_int_equal(le(res + CSTR_AT, 4), 0xfffffffeu);
  assert_int_equal(le(res + CSTR_AT + 4, 4), 0);
  assert_int_equal(le(res + CSTR_AT + 8, 8), 4);
  ffi_arg ret = 0;
  int err = -1;
  keeper k = {0};
  dt__error e;
  assert_int_equal(dt__wire_result_apply_keep(&sig, args, 7, res, rsize, &ret,
                                              &err, keep, &k, &e),
                   0);
  const char *got;
  memcpy(&got, &ret, sizeof got);
  assert_ptr_equal(got, b + 4);
  assert_string_equal(got, "value");
  assert_string_equal(b, "key");
  assert_int_equal(k.calls, 0);
  free(res);
}

/* A pointer into an out buffer, the second buffer parameter: its index
 * travels, and the caller's pointer is that buffer's. */
static void test_into_out_buffer(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("cstring fmt(in char src[n], size_t n, out char dst[n])", &sig);
  char src[8] = "abcdefg", dst[8] = "";
  size_t n = sizeof src;
  char *sp = src, *dp = dst;
  void *args[] = {&sp, &n, &dp};
  dt__frame f;
  to_frame(&sig, args, 8, &f);
  memcpy(f.buf[2], "ABCDEFG", 8);
  size_t rsize;
  uint8_t *res = result_of(&sig, &f, (char *)f.buf[2] + 2, &rsize);
  dt__frame_free(&f);
  assert_int_equal(le(res + CSTR_AT + 4, 4), 2);
  assert_int_equal(le(res + CSTR_AT + 8, 8), 2);
  ffi_arg ret = 0;
  int err = -1;
  dt__error e;
  assert_int_equal(dt__wire_result_apply_keep(&sig, args, 8, res, rsize, &ret,
                                              &err, keep, &(keeper){0}, &e),
                   0);
  const char *got;
  memcpy(&got, &ret, sizeof got);
  assert_ptr_equal(got, dst + 2);
  assert_string_equal(got, "CDEFG");
  free(res);
}

/* A string that points elsewhere travels as bytes and goes to keep; a
 * failing keep writes nothing and says why; NULL stays NULL. */
static void test_bytes_and_keep(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("cstring name(cstring s, int c)", &sig);
  const char *s = "abc";
  int ch = 0;
  void *args[] = {&s, &ch};
  static const char table[] = "from a static table";
  dt__frame f;
  to_frame(&sig, args, 9, &f);
  size_t rsize, nsize;
  uint8_t *res = result_of(&sig, &f, table, &rsize);
  uint8_t *nul = result_of(&sig, &f, NULL, &nsize);
  dt__frame_free(&f);
  assert_int_equal(le(res + CSTR_AT, 4), strlen(table));
  assert_memory_equal(res + CSTR_AT + 4, table, strlen(table));
  ffi_arg ret = 0, pat;
  memset(&ret, 0x5a, sizeof ret);
  pat = ret;
  int err = -7;
  keeper k = {.rc = -ENOMEM};
  dt__error e;
  assert_int_equal(dt__wire_result_apply_keep(&sig, args, 9, res, rsize, &ret,
                                              &err, keep, &k, &e),
                   -ENOMEM);
  assert_int_equal(k.calls, 1);
  assert_memory_equal(&ret, &pat, sizeof ret);
  assert_int_equal(err, -7);
  assert_contains(e.msg, "cannot be kept");
  k.rc = 0;
  assert_int_equal(dt__wire_result_apply_keep(&sig, args, 9, res, rsize, &ret,
                                              &err, keep, &k, &e),
                   0);
  assert_int_equal(k.len, strlen(table));
  const char *got;
  memcpy(&got, &ret, sizeof got);
  assert_ptr_equal(got, k.buf);
  assert_string_equal(got, table);
  /* Without a keep function a string cannot land anywhere. */
  assert_int_equal(dt__wire_result_apply_keep(&sig, args, 9, res, rsize, &ret,
                                              &err, NULL, NULL, &e),
                   -EINVAL);
  /* NULL. */
  k.calls = 0;
  assert_int_equal(le(nul + CSTR_AT, 4), 0xffffffffu);
  assert_int_equal(dt__wire_result_apply_keep(&sig, args, 9, nul, nsize, &ret,
                                              &err, keep, &k, &e),
                   0);
  memcpy(&got, &ret, sizeof got);
  assert_null(got);
  assert_int_equal(k.calls, 0);
  free(res);
  free(nul);
}

/* Applies a patched record that must be refused: -EPROTO, a sentence
 * holding phrase, nothing written. */
static void refused(const dt__sig *sig, void **args, uint64_t id,
                    const uint8_t *rec, size_t size, const char *phrase) {
  ffi_arg ret, pat;
  memset(&ret, 0x33, sizeof ret);
  pat = ret;
  int err = -99;
  keeper k = {0};
  dt__error e = {0, 0, ""};
  assert_int_equal(dt__wire_result_apply_keep(sig, args, id, rec, size, &ret,
                                              &err, keep, &k, &e),
                   -EPROTO);
  assert_memory_equal(&ret, &pat, sizeof ret);
  assert_int_equal(err, -99);
  assert_int_equal(k.calls, 0);
  assert_contains(e.msg, phrase);
}

/* The decoder is strict: a place must name a buffer or string parameter
 * that this caller passed, lie inside it as this caller sizes it, and be
 * whole; a version 1 record is refused. */
static void test_place_strict(void **state) {
  (void)state;
  dt__sig sig;
  parse_sig("cstring f(cstring s, inout char b[n], size_t n)", &sig);
  const char *s = "four";
  char b[6] = "12345";
  char *bp = b;
  size_t n = sizeof b;
  void *args[] = {&s, &bp, &n};
  dt__frame f;
  to_frame(&sig, args, 5, &f);
  size_t rsize;
  uint8_t *res = result_of(&sig, &f, (char *)f.buf[1] + 1, &rsize);
  dt__frame_free(&f);
  assert_int_equal(le(res + CSTR_AT + 4, 4), 1);
  /* The record as it came is fine. */
  ffi_arg ret;
  int err;
  dt__error e;
  uint8_t *good = malloc(rsize);
  memcpy(good, res, rsize);
  assert_int_equal(dt__wire_result_apply_keep(&sig, args, 5, good, rsize,
                                              &ret, &err, keep, &(keeper){0},
                                              &e),
                   0);
  uint8_t *bad = malloc(rsize);
  /* A parameter out of range, or a scalar one. */
  memcpy(bad, res, rsize);
  poke(bad + CSTR_AT + 4, 3, 4);
  refused(&sig, args, 5, bad, rsize, "not a buffer or a string");
  poke(bad + CSTR_AT + 4, 2, 4);
  refused(&sig, args, 5, bad, rsize, "not a buffer or a string");
  poke(bad + CSTR_AT + 4, 0xffffffffu, 4);
  refused(&sig, args, 5, bad, rsize, "not a buffer or a string");
  /* Outside the buffer (6 bytes), or the string (4 bytes and a NUL). */
  memcpy(bad, res, rsize);
  poke(bad + CSTR_AT + 8, 6, 8);
  refused(&sig, args, 5, bad, rsize, "points 6 bytes into 'b', which has 6");
  poke(bad + CSTR_AT + 8, UINT64_MAX, 8);
  refused(&sig, args, 5, bad, rsize, "which has 6");
  poke(bad + CSTR_AT + 4, 0, 4);
  poke(bad + CSTR_AT + 8, 5, 8);
  refused(&sig, args, 5, bad, rsize, "points 5 bytes into 's', which has 5");
  poke(bad + CSTR_AT + 8, 4, 8); /* the NUL: fine */
  assert_int_equal(dt__wire_result_apply_keep(&sig, args, 5, bad, rsize, &ret,
                                              &err, keep, &(keeper){0}, &e),
                   0);
  const char *got;
  memcpy(&got, &ret, sizeof got);
  assert_ptr_equal(got, s + 4);
  /* A parameter this caller passed as NULL. */
  memcpy(bad, res, rsize);
  const char *nulls = NULL;
  void *nargs[] = {&nulls, &bp, &n};
  poke(bad + CSTR_AT + 4, 0, 4);
  poke(bad + CSTR_AT + 8, 0, 8);
  refused(&sig, nargs, 5, bad, rsize, "passed as NULL");
  /* Cut anywhere inside the place, or after it (the buffer follows). */
  for (size_t cut = CSTR_AT + 1; cut < rsize; cut++) {
    uint8_t *c = malloc(cut);
    memcpy(c, res, cut);
    refused(&sig, args, 5, c, cut, "truncated");
    free(c);
  }
  /* The old format's version. */
  memcpy(bad, res, rsize);
  poke(bad + 4, 1, 2);
  refused(&sig, args, 5, bad, rsize, "version 1");
  assert_int_equal(DT__WIRE_VERSION, 2);
  free(bad);
  free(good);
  free(res);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_into_cstring),
      cmocka_unit_test(test_into_inout_buffer),
      cmocka_unit_test(test_into_out_buffer),
      cmocka_unit_test(test_bytes_and_keep),
      cmocka_unit_test(test_place_strict),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
