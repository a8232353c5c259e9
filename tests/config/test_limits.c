/* test_limits.c: unit tests of config/limits.c, the keys max_concurrency,
 * concurrency_key, rate_limit and cache in [[offload]] (the first two
 * also in [defaults]): what each parses to in dt__limits, what is
 * refused with line:col and what to write instead, and the lines
 * dt__limits_describe prints for dtask check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "config/config.h"
#include "config/limits.h"
#include "testutil.h"

static dt__error err;

/* A signature with one parameter of every kind concurrency_key looks at:
 * integers by value (user, c, ok), a buffer, a cstring, a double. */
#define SIG                                                                  \
  "signature = \"int f(int user, in uint8 buf[n], size_t n, cstring name, " \
  "double x, char c, bool ok)\"\n"

/* Parses text, which must be valid; the caller frees the config. */
static dt__config *one(const char *text) {
  dt__config *cfg = NULL;
  parse_ok(text, &cfg);
  return cfg;
}

/* ---------------------------------------------------------------- read */

/* An entry without any of the keys has no limit and no cache. */
static void test_no_limits(void **state) {
  (void)state;
  dt__config *cfg = one("[[offload]]\n" SIG);
  const dt__limits *l = &cfg->offloads[0].limits;
  assert_int_equal(l->max_concurrency, 0);
  assert_int_equal(l->key_param, -1);
  assert_int_equal(l->rate_interval_ns, 0);
  assert_int_equal(l->cache, 0);
  assert_int_equal(l->cache_ttl_ns, 0);
  assert_int_equal(l->cache_max_bytes, DT__CACHE_DEFAULT_MAX_BYTES);
  dt__config_free(cfg);
}

/* Every key of [[offload]], each into its field. */
static void test_entry_keys(void **state) {
  (void)state;
  dt__config *cfg = one("[[offload]]\n" SIG
                        "max_concurrency = 3\n"
                        "concurrency_key = \"user\"\n"
                        "rate_limit = \"2.5/min\"\n"
                        "cache = { ttl = \"1h\", max_bytes = \"256MiB\" }\n");
  const dt__limits *l = &cfg->offloads[0].limits;
  assert_int_equal(l->max_concurrency, 3);
  assert_int_equal(l->key_param, 0);
  assert_int_equal(l->rate_interval_ns, 24 * SEC);
  assert_int_equal(l->rate_burst, 1);
  assert_string_equal(l->rate_text, "2.5/min");
  assert_int_equal(l->cache, 1);
  assert_int_equal(l->cache_ttl_ns, 3600 * SEC);
  assert_int_equal(l->cache_max_bytes, 256 * MiB);
  assert_int_equal(l->cache_line, 6);
  assert_int_equal(l->cache_col, 9);
  dt__config_free(cfg);
}

/* The rate's units and the table form with a burst; concurrency_key on
 * each integer kind (char and bool count). */
static void test_rates_and_keys(void **state) {
  (void)state;
  static const struct {
    const char *rate;
    uint64_t ns;
  } rates[] = {{"100/s", 10000000ull},
               {"2.5/min", 24 * SEC},
               {"3/h", 1200 * SEC},
               {"1/s", SEC},
               {"0.5/s", 2 * SEC},
               {"1000000000/s", 1}};
  for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
    char text[512];
    snprintf(text, sizeof text, "[[offload]]\n" SIG "rate_limit = \"%s\"\n",
             rates[i].rate);
    dt__config *cfg = one(text);
    const dt__limits *l = &cfg->offloads[0].limits;
    if (l->rate_interval_ns != rates[i].ns || l->rate_burst != 1)
      fail_msg("rate_limit \"%s\": interval %llu ns burst %u, expected %llu "
               "ns burst 1",
               rates[i].rate, (unsigned long long)l->rate_interval_ns,
               l->rate_burst, (unsigned long long)rates[i].ns);
    assert_string_equal(l->rate_text, rates[i].rate);
    dt__config_free(cfg);
  }
  dt__config *cfg = one("[[offload]]\n" SIG
                        "rate_limit = { rate = \"100/s\", burst = 20 }\n");
  assert_int_equal(cfg->offloads[0].limits.rate_interval_ns, 10000000ull);
  assert_int_equal(cfg->offloads[0].limits.rate_burst, 20);
  assert_string_equal(cfg->offloads[0].limits.rate_text, "100/s");
  dt__config_free(cfg);
  cfg = one("[[offload]]\n" SIG "rate_limit = { rate = \"3/h\" }\n");
  assert_int_equal(cfg->offloads[0].limits.rate_interval_ns, 1200 * SEC);
  assert_int_equal(cfg->offloads[0].limits.rate_burst, 1);
  dt__config_free(cfg);
  cfg = one("[[offload]]\n" SIG
            "rate_limit = { rate = \"1/s\", burst = 1000000 }\n");
  assert_int_equal(cfg->offloads[0].limits.rate_burst, 1000000);
  dt__config_free(cfg);

  static const char *const keys[] = {"user", "n", "c", "ok"};
  static const int idx[] = {0, 2, 5, 6};
  for (size_t i = 0; i < 4; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "[[offload]]\n" SIG "max_concurrency = 1\n"
             "concurrency_key = \"%s\"\n",
             keys[i]);
    cfg = one(text);
    assert_int_equal(cfg->offloads[0].limits.key_param, idx[i]);
    dt__config_free(cfg);
  }
}

/* cache = true / false, and the table's keys alone. */
static void test_cache_forms(void **state) {
  (void)state;
  dt__config *cfg = one("[[offload]]\n" SIG "cache = true\n"
                        "[[offload]]\nsignature = \"int g(int v)\"\n"
                        "cache = false\n"
                        "[[offload]]\nsignature = \"int h(int v)\"\n"
                        "cache = { ttl = \"30s\" }\n"
                        "[[offload]]\nsignature = \"int k(int v)\"\n"
                        "cache = { max_bytes = \"1KiB\" }\n"
                        "[[offload]]\nsignature = \"int m(int v)\"\n"
                        "cache = {}\n");
  assert_int_equal(cfg->noffloads, 5);
  const dt__limits *l = &cfg->offloads[0].limits;
  assert_int_equal(l->cache, 1);
  assert_int_equal(l->cache_ttl_ns, 0);
  assert_int_equal(l->cache_max_bytes, DT__CACHE_DEFAULT_MAX_BYTES);
  assert_int_equal(l->cache_line, 3);
  assert_int_equal(l->cache_col, 9);
  assert_int_equal(cfg->offloads[1].limits.cache, 0);
  l = &cfg->offloads[2].limits;
  assert_int_equal(l->cache, 1);
  assert_int_equal(l->cache_ttl_ns, 30 * SEC);
  assert_int_equal(l->cache_max_bytes, DT__CACHE_DEFAULT_MAX_BYTES);
  l = &cfg->offloads[3].limits;
  assert_int_equal(l->cache, 1);
  assert_int_equal(l->cache_ttl_ns, 0);
  assert_int_equal(l->cache_max_bytes, 1024);
  assert_int_equal(cfg->offloads[4].limits.cache, 1);
  dt__config_free(cfg);
  /* Exactly half of map_size is allowed. */
  cfg = one("[queue]\nmap_size = \"64MiB\"\n"
            "[[offload]]\nsignature = \"int g(int v)\"\n"
            "cache = { max_bytes = \"32MiB\" }\n");
  assert_int_equal(cfg->offloads[0].limits.cache_max_bytes, 32 * MiB);
  dt__config_free(cfg);
}

/* [defaults]: max_concurrency and rate_limit are every entry's unless it
 * says otherwise; an entry's rate_limit replaces the whole rate (burst
 * included). */
static void test_defaults_inherited(void **state) {
  (void)state;
  dt__config *cfg = one(
      "[defaults]\nmax_concurrency = 4\n"
      "rate_limit = { rate = \"10/s\", burst = 5 }\n"
      "[[offload]]\nsignature = \"int a(int v)\"\n"
      "[[offload]]\nsignature = \"int b(int v)\"\nmax_concurrency = 2\n"
      "[[offload]]\nsignature = \"int c(int v)\"\nrate_limit = \"1/s\"\n"
      "[[offload]]\nsignature = \"int d(int user)\"\n"
      "concurrency_key = \"user\"\n");
  assert_int_equal(cfg->noffloads, 4);
  assert_int_equal(cfg->defaults_limits.max_concurrency, 4);
  assert_int_equal(cfg->defaults_limits.rate_interval_ns, 100000000ull);
  assert_int_equal(cfg->defaults_limits.rate_burst, 5);
  const dt__limits *a = &cfg->offloads[0].limits;
  assert_int_equal(a->max_concurrency, 4);
  assert_int_equal(a->rate_interval_ns, 100000000ull);
  assert_int_equal(a->rate_burst, 5);
  assert_string_equal(a->rate_text, "10/s");
  assert_int_equal(a->key_param, -1);
  assert_int_equal(a->cache, 0);
  const dt__limits *b = &cfg->offloads[1].limits;
  assert_int_equal(b->max_concurrency, 2);
  assert_int_equal(b->rate_interval_ns, 100000000ull);
  const dt__limits *c = &cfg->offloads[2].limits;
  assert_int_equal(c->max_concurrency, 4);
  assert_int_equal(c->rate_interval_ns, SEC);
  assert_int_equal(c->rate_burst, 1);
  assert_string_equal(c->rate_text, "1/s");
  /* concurrency_key with max_concurrency from [defaults]: accepted. */
  const dt__limits *d = &cfg->offloads[3].limits;
  assert_int_equal(d->max_concurrency, 4);
  assert_int_equal(d->key_param, 0);
  dt__config_free(cfg);

  cfg = one("[defaults]\nrate_limit = \"3/h\"\n"
            "[[offload]]\nsignature = \"int a(int v)\"\n");
  assert_int_equal(cfg->offloads[0].limits.rate_interval_ns, 1200 * SEC);
  assert_int_equal(cfg->offloads[0].limits.rate_burst, 1);
  dt__config_free(cfg);
}

/* -------------------------------------------------------------- errors */

/* concurrency_key and cache belong to one entry: refused in [defaults]
 * as unknown keys there. */
static void test_defaults_refuse_entry_keys(void **state) {
  (void)state;
  assert_cfg_error("[defaults]\nconcurrency_key = \"user\"\n", 2, 1,
                   "concurrency_key");
  assert_cfg_error("[defaults]\ncache = true\n", 2, 1, "cache");
  assert_cfg_error("[defaults]\nmax_concurrency = 0\n", 2, 19,
                   "[defaults]: max_concurrency = 0: write how many calls "
                   "may run at once across the pool, at least 1");
  assert_cfg_error("[defaults]\nrate_limit = \"fast\"\n", 2, 14,
                   "[defaults]: rate_limit \"fast\" is not a rate");
  assert_cfg_error("[defaults]\nrate_limit = { rate = \"1/s\", bust = 2 }\n",
                   2, 30, "unknown key 'bust' in [defaults]'s rate_limit "
                          "table");
}

static void test_max_concurrency_errors(void **state) {
  (void)state;
  assert_cfg_error("[[offload]]\n" SIG "max_concurrency = 0\n", 3, 19,
                   "max_concurrency = 0: write how many calls may run at "
                   "once across the pool, at least 1 (remove the key for "
                   "no limit)");
  assert_cfg_error("[[offload]]\n" SIG "max_concurrency = -1\n", 3, 19,
                   "max_concurrency = -1: write how many calls");
  assert_cfg_error("[[offload]]\n" SIG "max_concurrency = 4294967296\n", 3,
                   19, "max_concurrency = 4294967296");
  assert_cfg_error("[[offload]]\n" SIG "max_concurrency = \"2\"\n", 3, 19,
                   "must be an integer, not a string; write for example: "
                   "max_concurrency = 4");
}

static void test_concurrency_key_errors(void **state) {
  (void)state;
  assert_cfg_error("[[offload]]\n" SIG "concurrency_key = \"user\"\n", 3, 19,
                   "concurrency_key limits calls per value of 'user', and "
                   "no max_concurrency says how many; add max_concurrency "
                   "= 1 (or more)");
  assert_cfg_error("[[offload]]\n" SIG "max_concurrency = 2\n"
                   "concurrency_key = \"usr\"\n",
                   4, 19,
                   "concurrency_key \"usr\" is not a parameter of f; write "
                   "the name of an integer parameter");
  assert_cfg_error("[[offload]]\n" SIG "max_concurrency = 2\n"
                   "concurrency_key = \"buf\"\n",
                   4, 19,
                   "concurrency_key \"buf\" is a buffer of uint8; write the "
                   "name of an integer parameter passed by value");
  assert_cfg_error("[[offload]]\n" SIG "max_concurrency = 2\n"
                   "concurrency_key = \"name\"\n",
                   4, 19, "concurrency_key \"name\" is a cstring; write");
  assert_cfg_error("[[offload]]\n" SIG "max_concurrency = 2\n"
                   "concurrency_key = \"x\"\n",
                   4, 19, "concurrency_key \"x\" is a double; write");
  assert_cfg_error("[[offload]]\n" SIG "max_concurrency = 2\n"
                   "concurrency_key = 0\n",
                   4, 19, "concurrency_key = \"user_id\"");
}

static void test_rate_limit_errors(void **state) {
  (void)state;
  static const char *const bad[] = {"0/s", "fast", "10/d", "-1/s", "10",
                                    "/s",  "10/",  "10/s ", "nan/s",
                                    "inf/s", "2000000000/s", "0.00001/h"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char text[512], phrase[128];
    snprintf(text, sizeof text, "[[offload]]\n" SIG "rate_limit = \"%s\"\n",
             bad[i]);
    snprintf(phrase, sizeof phrase, "rate_limit \"%s\" is not a rate; write "
                                    "a positive number of calls per second, "
                                    "minute or hour",
             bad[i]);
    assert_cfg_error(text, 3, 14, phrase);
  }
  assert_cfg_error("[[offload]]\n" SIG "rate_limit = 10\n", 3, 14,
                   "must be a string, not an integer; write for example: "
                   "rate_limit = \"100/s\"");
  assert_cfg_error("[[offload]]\n" SIG "rate_limit = { burst = 2 }\n", 3, 14,
                   "rate_limit's table has no rate; write rate_limit = "
                   "\"100/s\"");
  assert_cfg_error("[[offload]]\n" SIG
                   "rate_limit = { rate = \"1/s\", every = 2 }\n",
                   3, 30,
                   "unknown key 'every' in [[offload]] #1 (f)'s rate_limit "
                   "table; write rate_limit = \"100/s\"");
  assert_cfg_error("[[offload]]\n" SIG
                   "rate_limit = { rate = \"1/s\", burst = 0 }\n",
                   3, 38,
                   "burst = 0: write how many calls may start at once after "
                   "a quiet spell, 1 to 1000000");
  assert_cfg_error("[[offload]]\n" SIG
                   "rate_limit = { rate = \"1/s\", burst = 1000001 }\n",
                   3, 38, "burst = 1000001");
  assert_cfg_error("[[offload]]\n" SIG
                   "rate_limit = { rate = \"1/s\", burst = \"2\" }\n",
                   3, 38, "burst = 20");
  assert_cfg_error("[[offload]]\n" SIG "rate_limit = { rate = 5 }\n", 3, 23,
                   "must be a string");
}

/* A rate written with more digits than dt__limits keeps of its text is
 * still a rate: accepted (its text shortened for dtask check), or
 * refused with a message that says why; never called "not a rate". */
static void test_rate_limit_long_text(void **state) {
  (void)state;
  const char *text = "[[offload]]\n" SIG
                     "rate_limit = \"100.00000000000000000000000000/s\"\n";
  dt__config *c = NULL;
  memset(&err, 0, sizeof err);
  int rc = dt__config_parse(text, strlen(text), "test.toml", &c, &err);
  if (rc == 0) {
    assert_int_equal(c->offloads[0].limits.rate_interval_ns, 10000000ull);
    dt__config_free(c);
    return;
  }
  if (strstr(err.msg, "is not a rate") != NULL)
    fail_msg("a valid rate of 32 characters was refused as not a rate: %s",
             err.msg);
}

static void test_cache_errors(void **state) {
  (void)state;
  assert_cfg_error("[[offload]]\n" SIG "cache = \"yes\"\n", 3, 9,
                   "must be a boolean, not a string; write for example: "
                   "cache = true, or cache = { ttl = \"1h\", max_bytes = "
                   "\"256MiB\" }");
  assert_cfg_error("[[offload]]\n" SIG "cache = 1\n", 3, 9,
                   "must be a boolean");
  assert_cfg_error("[[offload]]\n" SIG "cache = { ttl = \"0s\" }\n", 3, 17,
                   "cache ttl \"0s\": write how long an answer is given "
                   "again, more than 0 and at most a year (leave ttl out for "
                   "answers that never expire)");
  assert_cfg_error("[[offload]]\n" SIG "cache = { ttl = \"0\" }\n", 3, 17,
                   "more than 0");
  assert_cfg_error("[[offload]]\n" SIG "cache = { ttl = \"soon\" }\n", 3, 17,
                   "'ttl' in [[offload]] #1 (f)");
  assert_cfg_error("[[offload]]\n" SIG "cache = { ttl = 60 }\n", 3, 17,
                   "ttl = \"1h\"");
  assert_cfg_error("[[offload]]\n" SIG "cache = { ttl = \"9000h\" }\n", 3, 17,
                   "at most a year");
  assert_cfg_error("[[offload]]\n" SIG "cache = { max_bytes = \"10\" }\n", 3,
                   23, "cache max_bytes \"10\" holds no answer; write at "
                       "least \"1KiB\"");
  assert_cfg_error("[[offload]]\n" SIG "cache = { max_bytes = \"1023\" }\n",
                   3, 23, "write at least \"1KiB\"");
  assert_cfg_error("[[offload]]\n" SIG "cache = { max_bytes = 4096 }\n", 3,
                   23, "max_bytes = \"256MiB\"");
  assert_cfg_error("[[offload]]\n" SIG "cache = { size = \"1MiB\" }\n", 3, 11,
                   "unknown key 'size' in [[offload]] #1 (f)'s cache table; "
                   "write cache = true, or cache = { ttl = \"1h\"");
}

/* Entries whose answers cannot be kept: named, with what to do. */
static void test_cache_refused_entries(void **state) {
  (void)state;
  assert_cfg_error("[[offload]]\nsignature = \"int f(inout int b[n], size_t "
                   "n)\"\ncache = true\n",
                   3, 9,
                   "cache cannot keep answers of f: its inout buffer 'b' is "
                   "both an argument and a result");
  assert_cfg_error("[[offload]]\nsignature = \"int f(inout int b[n], size_t "
                   "n)\"\ncache = true\n",
                   3, 9, "remove cache, or split it into an in and an out "
                         "buffer");
  assert_cfg_error("[[offload]]\nsignature = \"void f(int v)\"\n"
                   "async = true\ncache = true\n",
                   4, 9,
                   "cache cannot go with this entry: an async call has no "
                   "answer to keep; remove cache");
  assert_cfg_error("[[offload]]\nsignature = \"int f(in int v[n], size_t "
                   "n)\"\nsplit = { over = \"n\" }\naggregate = \"sum\"\n"
                   "cache = true\n",
                   5, 9,
                   "cache cannot go with this entry: the slices of a split "
                   "call are answered one by one");
  assert_cfg_error("[[offload]]\nsignature = \"void f(void)\"\n"
                   "cache = true\n",
                   3, 9, "a function without arguments or result has "
                         "nothing to keep");
  /* cache = false asks nothing: accepted on any of them. */
  dt__config *cfg = one("[[offload]]\nsignature = \"int f(inout int b[n], "
                        "size_t n)\"\ncache = false\n");
  assert_int_equal(cfg->offloads[0].limits.cache, 0);
  dt__config_free(cfg);
  /* An out buffer is a result: allowed. */
  cfg = one("[[offload]]\nsignature = \"int f(in int a[n], out int b[n], "
            "size_t n)\"\ncache = true\n");
  assert_int_equal(cfg->offloads[0].limits.cache, 1);
  dt__config_free(cfg);
}

/* An lmdb queue keeps the cache in its map: at most half of map_size. */
static void test_cache_max_bytes_vs_map(void **state) {
  (void)state;
  assert_cfg_error("[queue]\nmap_size = \"64MiB\"\n"
                   "[[offload]]\nsignature = \"int g(int v)\"\n"
                   "cache = { max_bytes = \"33MiB\" }\n",
                   5, 9,
                   "the cache's max_bytes (34603008 bytes) must leave room "
                   "for the calls in [queue] map_size (67108864 bytes): "
                   "write at most half of it, or raise map_size");
  /* The default max_bytes (64MiB) against a small map. */
  assert_cfg_error("[queue]\nmap_size = \"100MiB\"\n"
                   "[[offload]]\nsignature = \"int g(int v)\"\n"
                   "cache = true\n",
                   5, 9, "the cache's max_bytes (67108864 bytes)");
  /* [queue] after the entry in the file: still read first. */
  assert_cfg_error("[[offload]]\nsignature = \"int g(int v)\"\n"
                   "cache = { max_bytes = \"33MiB\" }\n"
                   "[queue]\nmap_size = \"64MiB\"\n",
                   3, 9, "at most half of it");
}

/* ------------------------------------------------------------ describe */

/* The text dt__limits_describe prints for entry i of cfg (malloc'd). */
static char *describe(const dt__config *cfg, size_t i) {
  char *buf = NULL;
  size_t n = 0;
  FILE *out = open_memstream(&buf, &n);
  assert_non_null(out);
  dt__limits_describe(&cfg->offloads[i].limits, &cfg->offloads[i].sig, out);
  fclose(out);
  return buf;
}

static void test_describe(void **state) {
  (void)state;
  dt__config *cfg = one(
      "[[offload]]\n" SIG "max_concurrency = 3\nconcurrency_key = \"user\"\n"
      "rate_limit = { rate = \"100/s\", burst = 20 }\n"
      "cache = { ttl = \"1h\", max_bytes = \"1MiB\" }\n"
      "[[offload]]\nsignature = \"int g(int v)\"\nmax_concurrency = 1\n"
      "rate_limit = \"2.5/min\"\ncache = true\n"
      "[[offload]]\nsignature = \"int h(int v)\"\n");
  char *s = describe(cfg, 0);
  assert_string_equal(
      s, "      max_concurrency 3: at most 3 calls running at once across "
         "the pool per value of user; more wait in the queue\n"
         "      rate_limit 100/s, burst 20: calls start at most one every "
         "0.01s across the pool (GCRA)\n"
         "      cache: answers kept in the queue for equal arguments, ttl "
         "3600s, max_bytes 1048576 (least recently used first out)\n");
  free(s);
  s = describe(cfg, 1);
  assert_string_equal(
      s, "      max_concurrency 1: at most 1 call running at once across "
         "the pool; more wait in the queue\n"
         "      rate_limit 2.5/min, burst 1: calls start at most one every "
         "24s across the pool (GCRA)\n"
         "      cache: answers kept in the queue for equal arguments, no "
         "ttl, max_bytes 67108864 (least recently used first out)\n");
  free(s);
  s = describe(cfg, 2);
  assert_string_equal(s, "");
  free(s);
  dt__config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_limits),
      cmocka_unit_test(test_entry_keys),
      cmocka_unit_test(test_rates_and_keys),
      cmocka_unit_test(test_cache_forms),
      cmocka_unit_test(test_defaults_inherited),
      cmocka_unit_test(test_defaults_refuse_entry_keys),
      cmocka_unit_test(test_max_concurrency_errors),
      cmocka_unit_test(test_concurrency_key_errors),
      cmocka_unit_test(test_rate_limit_errors),
      cmocka_unit_test(test_rate_limit_long_text),
      cmocka_unit_test(test_cache_errors),
      cmocka_unit_test(test_cache_refused_entries),
      cmocka_unit_test(test_cache_max_bytes_vs_map),
      cmocka_unit_test(test_describe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
