/* test_wire_result.c: unit tests of the result record (wire.c): a round
 * trip with out and inout buffers and a returned string (growing the
 * caller's string buffer on -ENOSPC), error results, and results that are
 * malformed, flipped or random, which must always be refused with a
 * sentence, never crash or read out of bounds (the suite runs under ASan:
 * every record lives in a block of exactly its size,
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

/* A function returning int8 -2, whose result is then made not to fit. */
static int8_t r8(void) { return -2; }

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
  rt *r = rt_new("int8 r8()", NULL, 0, (void (*)(void))r8);
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
      cmocka_unit_test(test_result_round_trip_and_enospc),
      cmocka_unit_test(test_result_malformed),
      cmocka_unit_test(test_result_header_flips),
      cmocka_unit_test(test_result_error_round_trip),
      cmocka_unit_test(test_result_garbage_never_crashes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
