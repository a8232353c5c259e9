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
static char pool[DT__NAMES_POOL(4096, MAXN)];

/* Reads text with dt__names_read; *n gets the count.  Returns its result. */
static int rd(const char *text, size_t *n) {
  assert_true(strlen(text) <= 4096);
  return dt__names_read(text, strlen(text), names, MAXN, pool, n);
}

static void test_plain_subset(void **state) {
  (void)state;
  size_t n = 9;
  const char *t =
      "# a comment\n"
      "[queue]\npath = \"/dev/shm/x\"   # where\n"
      "backend = \"redis\"\nurl = \"redis://[::1]:6379/0\"\n"
      "password_file = \"~/.redis.pass\"\nname = \"q-1\"\n"
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
      /* the entries, or [shim], written inline at the top (found by
       * the config fuzzer: they were skipped, so nothing was watched) */
      "offload = [ { signature = \"int f(int x)\" } ]\n",
      "title = \"x\"\noffload = [{signature=\"ulong crc32(ulong c)\"}]\n",
      "shim = { strict = true }\n[[offload]]\nsignature = \"int f(int x)\"\n",
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
    /* No entry is left for the door to watch: one counted before its
     * name was read would be a NULL name (the door's walk then failed
     * with "watching the loaded objects failed: Invalid argument"). */
    if (n != 0)
      fail_msg("text %zu: DT__NAMES_ASK with %zu entries", i, n);
  }
}

static void test_bound_and_overflow(void **state) {
  (void)state;
  const char *t = "[[offload]]\nsignature = \"int a(int x)\"\n"
                  "[[offload]]\nsignature = \"int b(int x)\"\n"
                  "[[offload]]\nsignature = \"int c(int x)\"\n";
  assert_int_equal(dt__names_bound(t, strlen(t)), 3);
  size_t n;
  assert_int_equal(dt__names_read(t, strlen(t), names, 2, pool, &n), -E2BIG);
  assert_int_equal(dt__names_read(t, strlen(t), names, 3, pool, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(rd("", &n), 0);
  assert_int_equal(n, 0);
}

/* The pool bound holds when every string is as long as it can be. */
static void test_pool_bound(void **state) {
  (void)state;
  char t[4096];
  int k = snprintf(t, sizeof t,
                   "[[offload]]\nsymbol=\"%0127d\"\nversion=\"%063d\"\n"
                   "library=\"%0255d\"\nsignature=\"int f(int x)\"\n",
                   0, 0, 0);
  assert_true(k > 0 && (size_t)k < sizeof t);
  char small[DT__NAMES_POOL(sizeof t, 1)];
  memset(small, 'x', sizeof small);
  size_t n;
  assert_int_equal(dt__names_read(t, (size_t)k, names, 1, small, &n), 0);
  assert_int_equal(strlen(names[0].symbol), 127);
  assert_int_equal(strlen(names[0].version), 63);
  assert_int_equal(strlen(names[0].library), 255);
  /* one character more than dt__offload holds: the parser decides */
  k = snprintf(t, sizeof t, "[[offload]]\nsymbol=\"%0128d\"\n", 0);
  assert_int_equal(dt__names_read(t, (size_t)k, names, 1, small, &n),
                   DT__NAMES_ASK);
}

static void test_load(void **state) {
  (void)state;
  dt__names nm;
  assert_int_equal(dt__names_load("/nonexistent-dtask/x.toml", 0, 0, &nm),
                   -ENOENT);
  assert_int_equal(dt__names_load("/", 0, 0, &nm), -EINVAL);
  assert_int_equal(dt__names_load("demo/math.toml", 48, 8, &nm), 0);
  assert_int_equal(nm.n, 3);
  /* the room is zeroed, aligned, and before the entries */
  assert_int_equal((uintptr_t)nm.room % 16, 0);
  for (size_t i = 0; i < 48 + 3 * 8; i++)
    assert_int_equal(nm.room[i], 0);
  assert_true((char *)nm.entries >= nm.room + 48 + 3 * 8);
  assert_true((char *)(nm.entries + nm.n) <= (char *)nm.map + nm.mapsz);
  munmap(nm.map, nm.mapsz);
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
    dt__names nm;
    int r = dt__names_load(files[i], 0, 0, &nm);
    if (r < 0)
      fail_msg("%s: %s (run from the top of the tree)", files[i], strerror(-r));
    size_t n = nm.n;
    const dt__name *got = nm.entries;
    if (r != 0)
      fail_msg("%s: the door's reader answers %d, not 0: the shipped configs "
               "should stay in the plain subset", files[i], r);
    dt__config *cfg = NULL;
    dt__error err = {0};
    if (dt__config_load(files[i], &cfg, &err) != 0)
      fail_msg("%s: %s", files[i], err.msg);
    assert_int_equal(n, cfg->noffloads);
    for (size_t k = 0; k < n; k++) {
      if (strcmp(got[k].symbol, cfg->offloads[k].symbol) != 0 ||
          strcmp(got[k].version, cfg->offloads[k].version) != 0 ||
          strcmp(got[k].library, cfg->offloads[k].library) != 0)
        fail_msg("%s entry %zu: door %s@%s in '%s', parser %s@%s in '%s'",
                 files[i], k, got[k].symbol, got[k].version,
                 got[k].library, cfg->offloads[k].symbol,
                 cfg->offloads[k].version, cfg->offloads[k].library);
    }
    dt__config_free(cfg);
    munmap(nm.map, nm.mapsz);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_subset),
      cmocka_unit_test(test_multiline_signature),
      cmocka_unit_test(test_asks_the_parser),
      cmocka_unit_test(test_bound_and_overflow),
      cmocka_unit_test(test_pool_bound),
      cmocka_unit_test(test_load),
      cmocka_unit_test(test_agrees_with_parser),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
