/* test_policy.c: unit tests of failure policies (policy.c).
 *
 * The keys go through dt__config_parse, as a person writes them: their
 * defaults, [defaults] inherited and overridden per entry, every error
 * with its line and column, and the checks against the return type.  The
 * run-time decisions are tested directly: retry conditions and which
 * return values are failures (a fan-out slice's errno rule) on real
 * libffi return buffers, the backoff's bounds, the value returned instead
 * of a call, and errno names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ffi.h>

#include "common/common.h"
#include "config/cond.h"
#include "config/config.h"
#include "config/policy.h"
#include "config/sig.h"
#include "queue/wire.h"
#include "testutil.h"

#define MS 1000000ull

static dt__error err;


static void test_defaults(void **state) {
  (void)state;
  dt__config *cfg = parse_one("[[offload]]\nsignature = \"int f(int x)\"\n");
  const dt__policy *p = &cfg->offloads[0].policy;
  assert_int_equal(p->on_crash.kind, DT__ON_SIGNAL);
  assert_int_equal(p->on_timeout.kind, DT__ON_SIGNAL);
  assert_int_equal(p->on_unavailable.kind, DT__ON_LOCAL);
  assert_int_equal(p->timeout_ns, 0);
  assert_int_equal(p->retries, 3);
  assert_int_equal(p->retry_wait_ns, 100 * MS);
  assert_int_equal(p->retry_max_wait_ns, 5 * SEC);
  assert_int_equal(p->wait_for_runner_ns, 30 * SEC);
  assert_int_equal(p->has_retry_if, 0);
  dt__config_free(cfg);
}

static void test_every_key(void **state) {
  (void)state;
  dt__config *cfg = parse_one(
      "[[offload]]\n"
      "signature = \"int f(int x)\"\n"
      "on_crash = \"retry\"\n"
      "on_timeout = { return = -1, errno = \"ETIMEDOUT\" }\n"
      "on_unavailable = \"wait\"\n"
      "timeout = \"2s\"\n"
      "retries = 5\n"
      "retry_wait = \"10ms\"\n"
      "retry_max_wait = \"1s\"\n"
      "retry_on_errno = [\"EAGAIN\", \"EINTR\", 110]\n"
      "retry_if = \"ret == -1\"\n"
      "wait_for_runner = \"500ms\"\n");
  const dt__policy *p = &cfg->offloads[0].policy;
  assert_int_equal(p->on_crash.kind, DT__ON_RETRY);
  assert_int_equal(p->on_timeout.kind, DT__ON_RETURN);
  assert_int_equal((int64_t)p->on_timeout.value, -1);
  assert_int_equal(p->on_timeout.err, ETIMEDOUT);
  assert_int_equal(p->on_unavailable.kind, DT__ON_WAIT);
  assert_int_equal(p->timeout_ns, 2 * SEC);
  assert_int_equal(p->retries, 5);
  assert_int_equal(p->retry_wait_ns, 10 * MS);
  assert_int_equal(p->retry_max_wait_ns, 1 * SEC);
  assert_int_equal(p->nretry_errnos, 3);
  assert_int_equal(p->retry_errnos[0], EAGAIN);
  assert_int_equal(p->retry_errnos[1], EINTR);
  assert_int_equal(p->retry_errnos[2], 110);
  assert_int_equal(p->retry_if.op, DT__CMP_EQ);
  assert_int_equal(p->retry_if.i, -1);
  assert_int_equal(p->wait_for_runner_ns, 500 * MS);
  dt__config_free(cfg);
}

static void test_defaults_table_inherited_and_overridden(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  parse_ok("[defaults]\ntimeout = \"3s\"\non_crash = \"retry\"\n"
           "retries = 2\n"
           "[[offload]]\nsignature = \"int f(int x)\"\n"
           "[[offload]]\nsignature = \"int g(int x)\"\ntimeout = \"1s\"\n"
           "on_crash = { return = 7, errno = \"EIO\" }\n",
           &cfg);
  const dt__policy *f = &cfg->offloads[0].policy, *g = &cfg->offloads[1].policy;
  assert_int_equal(f->timeout_ns, 3 * SEC);
  assert_int_equal(f->on_crash.kind, DT__ON_RETRY);
  assert_int_equal(f->retries, 2);
  assert_int_equal(g->timeout_ns, 1 * SEC);
  assert_int_equal(g->on_crash.kind, DT__ON_RETURN);
  assert_int_equal(g->on_crash.value, 7);
  assert_int_equal(g->on_crash.err, EIO);
  assert_int_equal(g->retries, 2);
  dt__config_free(cfg);
}

static void test_timeout_is_part_of_the_fingerprint(void **state) {
  (void)state;
  dt__config *a = parse_one("[[offload]]\nsignature = \"int f(int x)\"\n");
  dt__config *b = parse_one("[[offload]]\nsignature = \"int f(int x)\"\n"
                      "timeout = \"1s\"\n");
  dt__config *c = parse_one("[[offload]]\nsignature = \"int f(int x)\"\n"
                      "retries = 9\n");
  assert_true(dt__wire_fingerprint(a) != dt__wire_fingerprint(b));
  /* Caller-side settings do not concern the runner. */
  assert_true(dt__wire_fingerprint(a) == dt__wire_fingerprint(c));
  dt__config_free(a);
  dt__config_free(b);
  dt__config_free(c);
}

static void test_errors(void **state) {
  (void)state;
  const char *head = "[[offload]]\nsignature = \"int f(int x)\"\n";
  char text[512];
#define WITH(line) (snprintf(text, sizeof text, "%s%s\n", head, line), text)
  assert_cfg_error(WITH("on_crash = \"explode\""), 3, 12,
                   "write \"signal\", \"retry\" or { return = -1");
  assert_cfg_error(WITH("on_crash = \"local\""), 3, 12, "\"signal\"");
  assert_cfg_error(WITH("on_unavailable = \"signal\""), 3, 18,
                   "write \"wait\", \"local\" or");
  assert_cfg_error(WITH("on_crash = 3"), 3, 12, "must be \"signal\"");
  assert_cfg_error(WITH("on_crash = { return = -1, errno = \"EWHAT\" }"), 3,
                   35, "\"EWHAT\" is not an errno name");
  assert_cfg_error(WITH("on_crash = { retrun = -1 }"), 3, 14,
                   "unknown key 'retrun' in 'on_crash'");
  assert_cfg_error(WITH("on_crash = { return = \"x\" }"), 3, 23,
                   "must be a number");
  assert_cfg_error(WITH("on_crash = { errno = \"EIO\" }"), 3, 12,
                   "write on_crash = { return = -1, errno = \"EIO\" }");
  assert_cfg_error(WITH("on_crash = { return = 3000000000 }"), 3, 12,
                   "cannot hold 3000000000");
  assert_cfg_error(WITH("on_crash = { return = 1.5 }"), 3, 12,
                   "cannot hold 1.5");
  assert_cfg_error(WITH("timeout = \"5 parsecs\""), 3, 11, "'timeout' in");
  assert_cfg_error(WITH("timeout = 5"), 3, 11, "timeout = \"5s\"");
  assert_cfg_error(WITH("timeout = \"200h\""), 3, 11, "longer than");
  assert_cfg_error(WITH("retries = -1"), 3, 11, "between 0 and 100");
  assert_cfg_error(WITH("retry_on_errno = []"), 3, 18, "list 1 to 16");
  assert_cfg_error(WITH("retry_on_errno = \"EAGAIN\""), 3, 18,
                   "[\"EAGAIN\", \"ETIMEDOUT\"]");
  assert_cfg_error(WITH("retry_on_errno = [\"EAGAIN\", \"EAGIAN\"]"), 3, 29,
                   "\"EAGIAN\" is not an errno name");
  assert_cfg_error(WITH("retry_if = \"ret <> 0\""), 3, 12,
                   "is not a comparison of the return value");
  assert_cfg_error(WITH("retry_if = \"x < 0\""), 3, 12, "\"ret < 0\"");
  assert_cfg_error(WITH("retry_if = \"ret < 0 1\""), 3, 12, "not a comparison");
  assert_cfg_error(WITH("retry_if = \"ret == NULL\""), 3, 12,
                   "not a pointer");
  assert_cfg_error(WITH("retry_if = \"ret < 0.5\""), 3, 12,
                   "compare it with an integer");
  assert_cfg_error(WITH("retires = 3"), 3, 1,
                   "did you mean 'retries'?");
#undef WITH
  /* Checks against other return types. */
  assert_cfg_error("[[offload]]\nsignature = \"void v(int x)\"\n"
                   "on_crash = { return = 0, errno = \"EIO\" }\n",
                   3, 12, "returns void, so on_crash cannot return a value");
  assert_cfg_error("[[offload]]\nsignature = \"void v(int x)\"\n"
                   "retry_on_errno = [\"EAGAIN\"]\n",
                   3, 18, "no return value to tell a failure by");
  assert_cfg_error("[[offload]]\nsignature = \"size_t u(int x)\"\n"
                   "retry_on_errno = [\"EAGAIN\"]\n",
                   3, 18, "add for example retry_if = \"ret == 0\"");
  assert_cfg_error("[[offload]]\nsignature = \"cstring s(int x)\"\n"
                   "on_crash = { return = 1 }\n",
                   3, 12, "the only value on_crash can return is NULL");
  assert_cfg_error("[[offload]]\nsignature = \"cstring s(int x)\"\n"
                   "retry_if = \"ret < 0\"\n",
                   3, 12, "retry_if = \"ret == NULL\"");
  assert_cfg_error("[[offload]]\nsignature = \"uint8 b(int x)\"\n"
                   "on_timeout = { return = 256 }\n",
                   3, 14, "write an integer between 0 and 255");
  /* A bad value in [defaults] is reported where it was written, naming
   * the entry it does not fit. */
  assert_cfg_error("[defaults]\non_crash = { return = -1, errno = \"EIO\" }\n"
                   "[[offload]]\nsignature = \"void v(int x)\"\n",
                   2, 12, "[[offload]] #1 (v): v returns void");
  assert_cfg_error("[defaults]\nsignature = \"int f()\"\n", 2, 1,
                   "unknown key 'signature' in [defaults]");
}

static void test_implied_retry_if(void **state) {
  (void)state;
  dt__config *a = parse_one("[[offload]]\nsignature = \"ssize_t f(int x)\"\n"
                      "retry_on_errno = [\"EAGAIN\"]\n");
  assert_int_equal(a->offloads[0].policy.has_retry_if, 1);
  assert_int_equal(a->offloads[0].policy.retry_if.op, DT__CMP_LT);
  assert_int_equal(a->offloads[0].policy.retry_if.i, 0);
  dt__config *b = parse_one("[[offload]]\nsignature = \"cstring f(int x)\"\n"
                      "retry_on_errno = [\"EAGAIN\"]\n");
  assert_int_equal(b->offloads[0].policy.retry_if.op, DT__CMP_EQ);
  assert_int_equal(b->offloads[0].policy.retry_if.lit, DT__LIT_NULL);
  dt__config_free(a);
  dt__config_free(b);
}

/* libffi's return buffer for an int: an ffi_sarg. */
static void set_int_ret(void *ret, long v) {
  ffi_sarg s = (ffi_sarg)v;
  memcpy(ret, &s, sizeof s);
}

static void test_should_retry(void **state) {
  (void)state;
  dt__config *cfg = parse_one("[[offload]]\nsignature = \"int f(int x)\"\n"
                        "retry_on_errno = [\"EAGAIN\", \"ETIMEDOUT\"]\n"
                        "retry_if = \"ret <= -1\"\n");
  const dt__policy *p = &cfg->offloads[0].policy;
  const dt__sig *sig = &cfg->offloads[0].sig;
  unsigned char ret[sizeof(ffi_arg)];
  set_int_ret(ret, -1);
  assert_true(dt__policy_should_retry(p, sig, ret, EAGAIN));
  assert_true(dt__policy_should_retry(p, sig, ret, ETIMEDOUT));
  assert_false(dt__policy_should_retry(p, sig, ret, EIO));
  set_int_ret(ret, 0);
  assert_false(dt__policy_should_retry(p, sig, ret, EAGAIN));
  set_int_ret(ret, -7);
  assert_true(dt__policy_should_retry(p, sig, ret, EAGAIN));
  dt__config_free(cfg);

  /* retry_if alone: the errno does not matter. */
  cfg = parse_one("[[offload]]\nsignature = \"int16 f(int x)\"\n"
            "retry_if = \"ret == 11\"\n");
  p = &cfg->offloads[0].policy;
  sig = &cfg->offloads[0].sig;
  set_int_ret(ret, 11);
  assert_true(dt__policy_should_retry(p, sig, ret, 0));
  set_int_ret(ret, 12);
  assert_false(dt__policy_should_retry(p, sig, ret, 0));
  dt__config_free(cfg);

  /* Unsigned returns, and a negative literal below every value. */
  cfg = parse_one("[[offload]]\nsignature = \"size_t f(int x)\"\n"
            "retry_if = \"ret > -1\"\n");
  p = &cfg->offloads[0].policy;
  sig = &cfg->offloads[0].sig;
  size_t big = (size_t)-1;
  memcpy(ret, &big, sizeof big);
  assert_true(dt__policy_should_retry(p, sig, ret, 0));
  dt__config_free(cfg);

  /* Doubles. */
  cfg = parse_one("[[offload]]\nsignature = \"double f(int x)\"\n"
            "retry_if = \"ret < 0.5\"\n");
  p = &cfg->offloads[0].policy;
  sig = &cfg->offloads[0].sig;
  double d = 0.25;
  memcpy(ret, &d, sizeof d);
  assert_true(dt__policy_should_retry(p, sig, ret, 0));
  d = 0.75;
  memcpy(ret, &d, sizeof d);
  assert_false(dt__policy_should_retry(p, sig, ret, 0));
  dt__config_free(cfg);

  /* Strings: NULL means failure. */
  cfg = parse_one("[[offload]]\nsignature = \"cstring f(int x)\"\n"
            "retry_on_errno = [\"ENOMEM\"]\n");
  p = &cfg->offloads[0].policy;
  sig = &cfg->offloads[0].sig;
  char *s = NULL;
  memcpy(ret, &s, sizeof s);
  assert_true(dt__policy_should_retry(p, sig, ret, ENOMEM));
  s = "x";
  memcpy(ret, &s, sizeof s);
  assert_false(dt__policy_should_retry(p, sig, ret, ENOMEM));
  dt__config_free(cfg);

  /* No retry settings: never. */
  cfg = parse_one("[[offload]]\nsignature = \"int f(int x)\"\n");
  set_int_ret(ret, -1);
  assert_false(dt__policy_should_retry(&cfg->offloads[0].policy,
                                       &cfg->offloads[0].sig, ret, EAGAIN));
  dt__config_free(cfg);
}

/* Whether the value in ret (libffi's return buffer) is a failure of
 * cfg's only entry. */
static int fails(const dt__config *cfg, const void *ret) {
  return dt__policy_is_failure(&cfg->offloads[0].policy,
                               &cfg->offloads[0].sig, ret);
}

/* Which return values make a fan-out slice fail (shim/fanout.c takes errno
 * from the first failing slice): retry_if when given, otherwise the C
 * convention (ret < 0 for signed integers, NULL for strings); nothing
 * else is a failure. */
static void test_is_failure(void **state) {
  (void)state;
  unsigned char ret[16];
  /* Signed integers, every width: below 0. */
  static const char *const sgn[] = {"int", "int8", "short", "long",
                                    "ssize_t", "int64", "off_t"};
  for (size_t i = 0; i < sizeof sgn / sizeof *sgn; i++) {
    char text[128];
    snprintf(text, sizeof text, "[[offload]]\nsignature = \"%s f(int x)\"\n",
             sgn[i]);
    dt__config *cfg = parse_one(text);
    set_int_ret(ret, -1);
    assert_true(fails(cfg, ret));
    set_int_ret(ret, -128);
    assert_true(fails(cfg, ret));
    set_int_ret(ret, 0);
    assert_false(fails(cfg, ret));
    set_int_ret(ret, 1);
    assert_false(fails(cfg, ret));
    dt__config_free(cfg);
  }
  /* int8 -1 as libffi widens it (sign-extended ffi_sarg). */
  dt__config *cfg = parse_one("[[offload]]\nsignature = \"int8 f(int x)\"\n");
  ffi_sarg m1 = -1;
  memcpy(ret, &m1, sizeof m1);
  assert_true(fails(cfg, ret));
  dt__config_free(cfg);
  /* Unsigned, bool, float, double: no convention, never a failure. */
  static const char *const never[] = {"size_t", "uint", "uint8", "bool",
                                      "ulong"};
  for (size_t i = 0; i < sizeof never / sizeof *never; i++) {
    char text[128];
    snprintf(text, sizeof text, "[[offload]]\nsignature = \"%s f(int x)\"\n",
             never[i]);
    cfg = parse_one(text);
    ffi_arg all = (ffi_arg)-1;
    memcpy(ret, &all, sizeof all);
    assert_false(fails(cfg, ret));
    memset(ret, 0, sizeof ret);
    assert_false(fails(cfg, ret));
    dt__config_free(cfg);
  }
  cfg = parse_one("[[offload]]\nsignature = \"double f(int x)\"\n");
  double d = -1.0;
  memcpy(ret, &d, sizeof d);
  assert_false(fails(cfg, ret));
  dt__config_free(cfg);
  cfg = parse_one("[[offload]]\nsignature = \"float f(int x)\"\n");
  float fl = -1.0f;
  memset(ret, 0, sizeof ret);
  memcpy(ret, &fl, sizeof fl);
  assert_false(fails(cfg, ret));
  dt__config_free(cfg);
  /* Strings: NULL. */
  cfg = parse_one("[[offload]]\nsignature = \"cstring f(int x)\"\n");
  char *str = NULL;
  memcpy(ret, &str, sizeof str);
  assert_true(fails(cfg, ret));
  str = "";
  memcpy(ret, &str, sizeof str);
  assert_false(fails(cfg, ret));
  dt__config_free(cfg);

  /* retry_if replaces the convention, whatever the type. */
  cfg = parse_one("[[offload]]\nsignature = \"int f(int x)\"\n"
            "retry_if = \"ret == 1\"\n");
  set_int_ret(ret, -1);
  assert_false(fails(cfg, ret));
  set_int_ret(ret, 1);
  assert_true(fails(cfg, ret));
  dt__config_free(cfg);
  cfg = parse_one("[[offload]]\nsignature = \"size_t f(int x)\"\n"
            "retry_if = \"ret == 0\"\n");
  size_t z = 0;
  memcpy(ret, &z, sizeof z);
  assert_true(fails(cfg, ret));
  z = 7;
  memcpy(ret, &z, sizeof z);
  assert_false(fails(cfg, ret));
  dt__config_free(cfg);
  cfg = parse_one("[[offload]]\nsignature = \"double f(int x)\"\n"
            "retry_if = \"ret < 0.5\"\n");
  d = 0.25;
  memcpy(ret, &d, sizeof d);
  assert_true(fails(cfg, ret));
  d = 0.5;
  memcpy(ret, &d, sizeof d);
  assert_false(fails(cfg, ret));
  dt__config_free(cfg);
  cfg = parse_one("[[offload]]\nsignature = \"cstring f(int x)\"\n"
            "retry_if = \"ret != NULL\"\n");
  str = "x";
  memcpy(ret, &str, sizeof str);
  assert_true(fails(cfg, ret));
  str = NULL;
  memcpy(ret, &str, sizeof str);
  assert_false(fails(cfg, ret));
  dt__config_free(cfg);
  /* retry_on_errno alone implies ret < 0: the same failures. */
  cfg = parse_one("[[offload]]\nsignature = \"long f(int x)\"\n"
            "retry_on_errno = [\"EAGAIN\"]\n");
  set_int_ret(ret, -3);
  assert_true(fails(cfg, ret));
  set_int_ret(ret, 3);
  assert_false(fails(cfg, ret));
  dt__config_free(cfg);
}

static void test_backoff_full_jitter(void **state) {
  (void)state;
  dt__policy p;
  dt__policy_defaults(&p);
  p.retry_wait_ns = 100 * MS;
  p.retry_max_wait_ns = 1 * SEC;
  /* The cap doubles per attempt up to retry_max_wait. */
  const uint64_t caps[] = {100 * MS, 200 * MS, 400 * MS, 800 * MS, 1 * SEC,
                           1 * SEC};
  for (int a = 1; a <= 6; a++) {
    assert_int_equal(dt__policy_backoff_ns(&p, a, caps[a - 1]),
                     caps[a - 1]);
    assert_int_equal(dt__policy_backoff_ns(&p, a, caps[a - 1] + 1), 0);
    uint64_t x = 0x123456789abcdefull, max = 0, min = UINT64_MAX;
    for (int i = 0; i < 2000; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      uint64_t w = dt__policy_backoff_ns(&p, a, x);
      assert_true(w <= caps[a - 1]);
      if (w > max)
        max = w;
      if (w < min)
        min = w;
    }
    /* Full jitter: spread over the whole interval. */
    assert_true(min < caps[a - 1] / 10);
    assert_true(max > caps[a - 1] - caps[a - 1] / 10);
  }
  /* Huge attempt numbers do not overflow. */
  assert_true(dt__policy_backoff_ns(&p, 1000, UINT64_MAX - 1) <= 1 * SEC);
}

static void test_store_return(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  parse_ok("[[offload]]\nsignature = \"int8 a(int x)\"\n"
           "on_crash = { return = -3 }\n"
           "[[offload]]\nsignature = \"double b(int x)\"\n"
           "on_crash = { return = 2.5 }\n"
           "[[offload]]\nsignature = \"float c(int x)\"\n"
           "on_crash = { return = 4 }\n"
           "[[offload]]\nsignature = \"cstring d(int x)\"\n"
           "on_crash = { return = 0, errno = \"ENOENT\" }\n"
           "[[offload]]\nsignature = \"bool e(int x)\"\n"
           "on_crash = { return = true }\n",
           &cfg);
  union {
    ffi_sarg s;
    double d;
    float f;
    char *p;
    ffi_arg a;
    unsigned char b[16];
  } ret;
  memset(&ret, 0x55, sizeof ret);
  dt__policy_store_return(&cfg->offloads[0].policy.on_crash,
                          &cfg->offloads[0].sig, &ret);
  assert_int_equal(ret.s, -3); /* widened to ffi_sarg, as libffi wants */
  dt__policy_store_return(&cfg->offloads[1].policy.on_crash,
                          &cfg->offloads[1].sig, &ret);
  assert_true(ret.d == 2.5);
  dt__policy_store_return(&cfg->offloads[2].policy.on_crash,
                          &cfg->offloads[2].sig, &ret);
  assert_true(ret.f == 4.0f);
  dt__policy_store_return(&cfg->offloads[3].policy.on_crash,
                          &cfg->offloads[3].sig, &ret);
  assert_null(ret.p);
  assert_int_equal(cfg->offloads[3].policy.on_crash.err, ENOENT);
  dt__policy_store_return(&cfg->offloads[4].policy.on_crash,
                          &cfg->offloads[4].sig, &ret);
  assert_int_equal(ret.a, 1);
  dt__config_free(cfg);
}

static void test_errno_names(void **state) {
  (void)state;
  assert_int_equal(dt__errno_parse("EAGAIN"), EAGAIN);
  assert_int_equal(dt__errno_parse("EWOULDBLOCK"), EAGAIN);
  assert_int_equal(dt__errno_parse("ETIMEDOUT"), ETIMEDOUT);
  assert_int_equal(dt__errno_parse("EHWPOISON"), EHWPOISON);
  assert_int_equal(dt__errno_parse("eagain"), -1);
  assert_int_equal(dt__errno_parse(""), -1);
  assert_string_equal(dt__errno_name(EAGAIN), "EAGAIN");
  assert_string_equal(dt__errno_name(EDEADLK), "EDEADLK");
  assert_string_equal(dt__errno_name(EIO), "EIO");
  assert_null(dt__errno_name(0));
  assert_null(dt__errno_name(100000));
  /* Every number from 1 to the last Linux errno has a name. */
  for (int e = 1; e <= EHWPOISON; e++)
    if (e != 41 && e != 58) /* unassigned on Linux */
      assert_non_null(dt__errno_name(e));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_every_key),
      cmocka_unit_test(test_defaults_table_inherited_and_overridden),
      cmocka_unit_test(test_timeout_is_part_of_the_fingerprint),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_implied_retry_if),
      cmocka_unit_test(test_should_retry),
      cmocka_unit_test(test_is_failure),
      cmocka_unit_test(test_backoff_full_jitter),
      cmocka_unit_test(test_store_return),
      cmocka_unit_test(test_errno_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
