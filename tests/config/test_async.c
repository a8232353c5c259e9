/* test_async.c: unit tests of config/async.c, the [[offload]] key
 * async = true, and of drain_timeout (config/policy.c): what is taken,
 * what is refused with file:line:col and what to write instead. */
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
#include "testutil.h"

static dt__error err;

/* Parses text, which must be valid; the caller frees the config. */
static dt__config *one(const char *text) {
  dt__config *cfg = NULL;
  parse_ok(text, &cfg);
  return cfg;
}

/* async = true on a void function with in buffers and strings; false and
 * absent are not async; drain_timeout from [defaults] and per entry. */
static void test_async_read(void **state) {
  (void)state;
  dt__config *cfg = one(
      "[defaults]\ndrain_timeout = \"2s\"\n"
      "[[offload]]\nsignature = \"void f(in uint8 d[n], size_t n, cstring "
      "s)\"\nasync = true\n"
      "[[offload]]\nsignature = \"void g(int v)\"\nasync = true\n"
      "drain_timeout = \"250ms\"\n"
      "[[offload]]\nsignature = \"void h(int v)\"\nasync = false\n"
      "[[offload]]\nsignature = \"int k(int v)\"\n");
  assert_int_equal(cfg->noffloads, 4);
  assert_true(cfg->offloads[0].async);
  assert_int_equal(cfg->offloads[0].policy.drain_timeout_ns, 2000000000ull);
  assert_true(cfg->offloads[1].async);
  assert_int_equal(cfg->offloads[1].policy.drain_timeout_ns, 250000000ull);
  assert_false(cfg->offloads[2].async);
  assert_false(cfg->offloads[3].async);
  dt__config_free(cfg);
  cfg = one("[[offload]]\nsignature = \"void f(int v)\"\nasync = true\n");
  assert_int_equal(cfg->offloads[0].policy.drain_timeout_ns, 30000000000ull);
  dt__config_free(cfg);
}

/* Each combination that cannot be async, at the key, saying what to
 * write. */
static void test_async_errors(void **state) {
  (void)state;
  assert_cfg_error("[[offload]]\nsignature = \"int f(int v)\"\n"
                   "async = true\n",
                   3, 9, "async = true needs a function that returns void, "
                         "and f returns int");
  assert_cfg_error("[[offload]]\nsignature = \"cstring f(int v)\"\n"
                   "async = true\n",
                   3, 9, "f returns cstring");
  assert_cfg_error("[[offload]]\nsignature = \"void f(out int v[1])\"\n"
                   "async = true\n",
                   3, 9, "cannot return out buffer 'v' to a caller that "
                         "does not wait");
  assert_cfg_error("[[offload]]\nsignature = \"void f(inout int v[1])\"\n"
                   "async = true\n",
                   3, 9, "cannot return inout buffer 'v'");
  assert_cfg_error("[[offload]]\nsignature = \"void f(in int v[n], size_t "
                   "n)\"\nsplit = { over = \"n\" }\naggregate = \"none\"\n"
                   "async = true\n",
                   5, 9, "async = true and split cannot go together");
  assert_cfg_error("[[offload]]\nsignature = \"void f(int v)\"\n"
                   "async = \"yes\"\n",
                   3, 9, "must be a boolean");
  assert_cfg_error("[defaults]\nasync = true\n", 2, 1, "async");
  assert_cfg_error("[[offload]]\nsignature = \"void f(int v)\"\n"
                   "drain_timeout = \"soon\"\n",
                   3, 17, "drain_timeout");
  assert_cfg_error("[[offload]]\nsignature = \"void f(int v)\"\n"
                   "asynk = true\n",
                   3, 1, "did you mean 'async'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_async_read),
      cmocka_unit_test(test_async_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
