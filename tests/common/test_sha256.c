/* test_sha256.c: common/sha256.c against FIPS 180-4's examples and the
 * NIST vectors, fed whole and in every split of the message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"

/* The hex of SHA-256(data, n), fed in pieces of at most step bytes. */
static void hex_of(const void *data, size_t n, size_t step, char out[65]) {
  dt__sha256 c;
  uint8_t d[32];
  dt__sha256_init(&c);
  for (size_t at = 0; at < n; at += step)
    dt__sha256_add(&c, (const uint8_t *)data + at,
                   n - at < step ? n - at : step);
  dt__sha256_end(&c, d);
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_vectors(void **state) {
  (void)state;
  static const struct {
    const char *msg, *hex;
  } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc",
       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklm"
       "nopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"}};
  char got[65];
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    size_t n = strlen(v[i].msg);
    for (size_t step = 1; step <= (n ? n : 1); step++) {
      hex_of(v[i].msg, n, step, got);
      assert_string_equal(got, v[i].hex);
    }
  }
}

/* A million 'a' (crosses every padding case on the way). */
static void test_million(void **state) {
  (void)state;
  size_t n = 1000000;
  char *a = malloc(n), got[65];
  assert_non_null(a);
  memset(a, 'a', n);
  hex_of(a, n, n, got);
  assert_string_equal(
      got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  hex_of(a, n, 61, got);
  assert_string_equal(
      got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  free(a);
}

/* Messages of 55, 56, 63 and 64 bytes: the padding's edges.  Each must
 * differ from its neighbours and be the same whole or byte by byte. */
static void test_edges(void **state) {
  (void)state;
  char m[130], a[65], b[65], prev[65] = "";
  memset(m, 'x', sizeof m);
  for (size_t n = 50; n <= 130; n++) {
    hex_of(m, n, n, a);
    hex_of(m, n, 1, b);
    assert_string_equal(a, b);
    assert_string_not_equal(a, prev);
    memcpy(prev, a, sizeof a);
  }
  /* Known: 64 'x' */
  hex_of(m, 64, 64, a);
  assert_int_equal(strlen(a), 64);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_vectors),
                                     cmocka_unit_test(test_million),
                                     cmocka_unit_test(test_edges)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
