/* test_names.c: unit tests of the door's name reader (config/names.c).
 *
 * The reader must never disagree with the full parser: for the plain
 * subset it returns the same symbol, version and library per entry, and
 * for anything it cannot read for certain it answers DT__NAMES_ASK (so
 * the engine's parser decides).  The agreement test reads every config
 * the project ships (run from the top of the tree, as `make check` does)
 * with both readers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "config/config.h"
#include "config/names.h"

#define MAXN 64

static dt__name names[MAXN];

/* Reads text with dt__names_read; *n gets the count.  Returns its result. */
static int rd(const char *text, size_t *n) {
  return dt__names_read(text, strlen(text), names, MAXN, n);
}

static void test_plain_subset(void **state) {
  (void)state;
  size_t n = 9;
  const char *t =
      "# a comment\n"
      "[queue]\npath = \"/dev/shm/x\"   # where\n"
      "[types]\nblob = { size = 16, align = 8 }\n"
      "[[offload]]\n"
      "signature = \"double cos(double x)\"\n"
      "library = 'libm.so.6'\n"
      "\n"
      "[[offload]]\r\n"
      "  signature = \"cstring crypt_r(cstring p, cstring s, inout blob d[1])\"\r\n"
      "  version   = \"XCRYPT_2.0\"\r\n"
      "  required  = false\r\n"
      "[[offload]]\n"
      "symbol = \"real_name\"\n"
      "signature = \"int alias(int x)\"\n"
      "[shim]\nstrict = false\n";
  assert_int_equal(rd(t, &n), 0);
  assert_int_equal(n, 3);
  assert_string_equal(names[0].symbol, "cos");
  assert_string_equal(names[0].library, "libm.so.6");
  assert_string_equal(names[0].version, "");
  assert_string_equal(names[1].symbol, "crypt_r");
  assert_string_equal(names[1].version, "XCRYPT_2.0");
  assert_string_equal(names[1].library, "");
  assert_string_equal(names[2].symbol, "real_name");
}

static void test_multiline_signature(void **state) {
  (void)state;
  size_t n = 0;
  const char *t = "[[offload]]\n"
                  "signature = \"\"\"double fx_mixed(int a, double b,\n"
                  "                  float c)\"\"\"   # trailing comment\n"
                  "library = \"libfix.so\"\n"
                  "[[offload]]\n"
                  "signature = '''\n"
                  "  int g(int x)'''\n";
  assert_int_equal(rd(t, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(names[0].symbol, "fx_mixed");
  assert_string_equal(names[0].library, "libfix.so");
  assert_string_equal(names[1].symbol, "g");
}

static void test_asks_the_parser(void **state) {
  (void)state;
  static const char *const texts[] = {
      /* an escape in a name */
      "[[offload]]\nsignature = \"int f\\u0041(int x)\"\n",
      /* an escape in a multi-line signature */
      "[[offload]]\nsignature = \"\"\"int f(int \\\nx)\"\"\"\n",
      /* an unterminated multi-line signature */
      "[[offload]]\nsignature = \"\"\"int f(int x)\n",
      /* a multi-line string elsewhere in an entry */
      "[[offload]]\nsignature = \"int f(int x)\"\nlibrary = \"\"\"l.so\"\"\"\n",
      /* a multi-line array */
      "[[offload]]\nsignature = \"int f(int x)\"\nsplit = [\n \"a\"]\n",
      /* quoted and dotted keys, quoted and dotted headers */
      "[[offload]]\n\"signature\" = \"int f(int x)\"\n",
      "[[offload]]\nsignature = \"int f(int x)\"\npolicy.on_crash = \"x\"\n",
      "[\"offload\"]\nx = 1\n",
      "[a.b]\nx = 1\n[[offload]]\nsignature = \"int f(int x)\"\n",
      /* what only the engine may decide */
      "[[offload]]\nsignature = \"int f(int x)\"\nrequired = true\n",
      "[shim]\nstrict = true\n[[offload]]\nsignature = \"int f(int x)\"\n",
      /* an entry with no name */
      "[[offload]]\nlibrary = \"l.so\"\n",
      "[[offload]]\nsignature = \"no parenthesis\"\n",
      /* [offload] as a table, another array of tables */
      "[offload]\nsignature = \"int f(int x)\"\n",
      "[[other]]\nx = 1\n",
      /* not TOML */
      "[[offload]\nsignature = \"int f(int x)\"\n",
      "[[offload]]\nsignature \"int f(int x)\"\n",
      "[[offload]]\nsignature = \"int f(int x)\" junk\n",
      "[[offload]]\nsignature = \"int f(int x)\n",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    size_t n;
    int r = rd(texts[i], &n);
    if (r != DT__NAMES_ASK)
      fail_msg("text %zu read as %d, not DT__NAMES_ASK:\n%s", i, r, texts[i]);
  }
}

static void test_bound_and_overflow(void **state) {
  (void)state;
  const char *t = "[[offload]]\nsignature = \"int a(int x)\"\n"
                  "[[offload]]\nsignature = \"int b(int x)\"\n"
                  "[[offload]]\nsignature = \"int c(int x)\"\n";
  assert_int_equal(dt__names_bound(t, strlen(t)), 3);
  size_t n;
  assert_int_equal(dt__names_read(t, strlen(t), names, 2, &n), -E2BIG);
  assert_int_equal(dt__names_read(t, strlen(t), names, 3, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(rd("", &n), 0);
  assert_int_equal(n, 0);
}

static void test_map(void **state) {
  (void)state;
  const char *text;
  size_t len;
  assert_int_equal(dt__names_map("/nonexistent-dtask/x.toml", &text, &len),
                   -ENOENT);
  assert_int_equal(dt__names_map("/", &text, &len), -EINVAL);
  assert_int_equal(dt__names_map("config/dtask.example.toml", &text, &len),
                   0);
  assert_true(len > 0);
  assert_int_equal(memcmp(text, "#", 1), 0);
  munmap((void *)text, len);
}

/* Every config the project ships: the plain subset, and the same names as
 * the full parser. */
static void test_agrees_with_parser(void **state) {
  (void)state;
  static const char *const files[] = {
      "config/dtask.example.toml",
      "demo/dtask.toml",
      "demo/math.toml",
      "bench/argsize.toml",
      "bench/coldstart.toml",
      "bench/exec.toml",
      "bench/fanout.toml",
      "bench/offload.toml",
      "bench/sync.toml",
      "tests/fixtures/failure/fl.toml",
      "tests/fixtures/failure/fl_entry.toml",
      "tests/fixtures/fanout/fan.toml",
      "tests/fixtures/interpose/fix.toml",
      "tests/fixtures/interpose/libm.toml",
      "tests/fixtures/objects/objects.toml",
      "tests/fixtures/objects/objects_lib.toml",
      "tests/fixtures/offload/ol.toml",
      "tests/fixtures/offload/ol_b.toml",
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    const char *text;
    size_t len, n;
    int r = dt__names_map(files[i], &text, &len);
    if (r != 0)
      fail_msg("%s: %s (run from the top of the tree)", files[i], strerror(-r));
    r = dt__names_read(text, len, names, MAXN, &n);
    munmap((void *)text, len);
    if (r != 0)
      fail_msg("%s: the door's reader answers %d, not 0: the shipped configs "
               "should stay in the plain subset", files[i], r);
    dt__config *cfg = NULL;
    dt__error err = {0};
    if (dt__config_load(files[i], &cfg, &err) != 0)
      fail_msg("%s: %s", files[i], err.msg);
    assert_int_equal(n, cfg->noffloads);
    for (size_t k = 0; k < n; k++) {
      if (strcmp(names[k].symbol, cfg->offloads[k].symbol) != 0 ||
          strcmp(names[k].version, cfg->offloads[k].version) != 0 ||
          strcmp(names[k].library, cfg->offloads[k].library) != 0)
        fail_msg("%s entry %zu: door %s@%s in '%s', parser %s@%s in '%s'",
                 files[i], k, names[k].symbol, names[k].version,
                 names[k].library, cfg->offloads[k].symbol,
                 cfg->offloads[k].version, cfg->offloads[k].library);
    }
    dt__config_free(cfg);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_subset),
      cmocka_unit_test(test_multiline_signature),
      cmocka_unit_test(test_asks_the_parser),
      cmocka_unit_test(test_bound_and_overflow),
      cmocka_unit_test(test_map),
      cmocka_unit_test(test_agrees_with_parser),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
