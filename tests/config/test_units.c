/* test_units.c: unit tests of sizes, durations, path expansion, "did you
 * mean" hints (units.c) and error formatting (error.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/error.h"
#include "config/units.h"
#include "testutil.h"



/* Asserts that s parses as a size equal to want. */
#define assert_size(s, want)                                                 \
  do {                                                                       \
    uint64_t v_ = 12345;                                                     \
    dt__error e_ = {0, 0, ""};                                               \
    int rc_ = dt__parse_size((s), &v_, &e_);                                 \
    if (rc_ != 0)                                                            \
      fail_msg("size \"%s\" failed: %s", (s), e_.msg);                       \
    if (v_ != (uint64_t)(want))                                              \
      fail_msg("size \"%s\" is %llu, expected %llu", (s),                    \
               (unsigned long long)v_, (unsigned long long)(want));          \
  } while (0)

/* Asserts that s is refused as a size with a message containing phrase,
 * and that *out is left alone. */
#define assert_size_error(s, phrase)                                         \
  do {                                                                       \
    uint64_t v_ = 12345;                                                     \
    memset(&err, 0, sizeof err);                                             \
    int rc_ = dt__parse_size((s), &v_, &err);                                \
    if (rc_ != -EINVAL)                                                      \
      fail_msg("size \"%s\" gave rc %d (value %llu), expected -EINVAL",     \
               (s), rc_, (unsigned long long)v_);                            \
    assert_int_equal(v_, 12345);                                             \
    assert_int_equal(err.line, 0);                                           \
    assert_int_equal(err.col, 0);                                            \
    assert_contains(err.msg, (phrase));                                      \
  } while (0)

#define assert_duration(s, want)                                             \
  do {                                                                       \
    uint64_t v_ = 12345;                                                     \
    dt__error e_ = {0, 0, ""};                                               \
    int rc_ = dt__parse_duration((s), &v_, &e_);                             \
    if (rc_ != 0)                                                            \
      fail_msg("duration \"%s\" failed: %s", (s), e_.msg);                   \
    if (v_ != (uint64_t)(want))                                              \
      fail_msg("duration \"%s\" is %llu ns, expected %llu", (s),             \
               (unsigned long long)v_, (unsigned long long)(want));          \
  } while (0)

#define assert_duration_error(s, phrase)                                     \
  do {                                                                       \
    uint64_t v_ = 12345;                                                     \
    memset(&err, 0, sizeof err);                                             \
    int rc_ = dt__parse_duration((s), &v_, &err);                            \
    if (rc_ != -EINVAL)                                                      \
      fail_msg("duration \"%s\" gave rc %d (value %llu), expected -EINVAL", \
               (s), rc_, (unsigned long long)v_);                            \
    assert_int_equal(v_, 12345);                                             \
    assert_contains(err.msg, (phrase));                                      \
  } while (0)

/* ---------------------------------------------------------------- sizes */

static void test_size_suffixes(void **state) {
  (void)state;
  assert_size("4096", 4096);
  assert_size("0", 0);
  assert_size("7B", 7);
  assert_size("64k", 64 * KiB);
  assert_size("64K", 64 * KiB);
  assert_size("64KB", 64 * KiB);
  assert_size("64KiB", 64 * KiB);
  assert_size("3M", 3 * MiB);
  assert_size("3MB", 3 * MiB);
  assert_size("512MiB", 512 * MiB);
  assert_size("1G", GiB);
  assert_size("1GB", GiB);
  assert_size("1GiB", GiB);
  assert_size("2T", 2 * TiB);
  assert_size("2TB", 2 * TiB);
  assert_size("2TiB", 2 * TiB);
}

static void test_size_spaces(void **state) {
  (void)state;
  assert_size("512 MiB", 512 * MiB);
  assert_size("  1 GiB", GiB);
  assert_size("1    k", KiB);
  assert_size(" 4096 ", 4096);
  assert_size("0010", 10);
}

static void test_size_limits(void **state) {
  (void)state;
  dt__error err;
  assert_size("18446744073709551615", UINT64_MAX);
  assert_size("16777215TiB", 16777215ull * TiB);
  assert_size("17179869183G", 17179869183ull * GiB);
  assert_size_error("18446744073709551616",
                    "size \"18446744073709551616\" is too large");
  assert_size_error("99999999999999999999999", "is too large");
  assert_size_error("16777216TiB", "size \"16777216TiB\" is too large");
  assert_size_error("17179869184G", "is too large");
  assert_size_error("18014398509481984k", "is too large");
}

static void test_size_bad_units(void **state) {
  (void)state;
  dt__error err;
  assert_size_error("1GiBs",
                    "size \"1GiBs\" has an unknown unit \"GiBs\"; write for "
                    "example \"1GiB\"");
  assert_size_error("1gib", "unknown unit \"gib\"");
  assert_size_error("1 Gb", "unknown unit \"Gb\"");
  assert_size_error("1m", "unknown unit \"m\"");
  assert_size_error("1.5G", "unknown unit \".5G\"");
  assert_size_error("10 bytes", "unknown unit \"bytes\"");
  assert_size_error("1PiB", "unknown unit \"PiB\"");
  assert_size_error("1 G iB", "unknown unit \"G iB\"");
}

static void test_size_missing_number(void **state) {
  (void)state;
  dt__error err;
  assert_size_error("", "size \"\" must start with a whole number; write "
                        "for example \"1GiB\"");
  assert_size_error("GiB", "size \"GiB\" must start with a whole number");
  assert_size_error("   ", "must start with a whole number");
  assert_size_error("-1G", "must start with a whole number");
  assert_size_error("+1G", "must start with a whole number");
  assert_size_error(".5G", "must start with a whole number");
}

static void test_size_null_err(void **state) {
  (void)state;
  uint64_t v = 1;
  assert_int_equal(dt__parse_size("lots", &v, NULL), -EINVAL);
  assert_int_equal(v, 1);
}

/* ------------------------------------------------------------ durations */

static void test_duration_units(void **state) {
  (void)state;
  assert_duration("7ns", 7);
  assert_duration("250us", 250000);
  assert_duration("500ms", 500 * 1000000ull);
  assert_duration("10s", 10 * SEC);
  assert_duration("2m", 120 * SEC);
  assert_duration("2min", 120 * SEC);
  assert_duration("1h", 3600 * SEC);
  assert_duration("30 s", 30 * SEC);
  assert_duration(" 5 min", 300 * SEC);
  assert_duration("0s", 0);
  assert_duration("0ms", 0);
}

static void test_duration_zero(void **state) {
  (void)state;
  assert_duration("0", 0);
  assert_duration("000", 0);
}

static void test_duration_bare_number(void **state) {
  (void)state;
  dt__error err;
  assert_duration_error("30",
                        "duration \"30\" has no unit; write for example "
                        "\"30s\" or \"30ms\"");
  assert_duration_error("1", "\"1s\" or \"1ms\"");
  assert_duration_error("0010", "has no unit");
}

/* Spaces are allowed around a number and its unit ("30 s"), so a bare
 * number with spaces must get the same treatment as one without: " 0" is
 * 0 and "30 " is refused with the "has no unit" hint, not with 'unknown
 * unit ""'. */
static void test_duration_bare_number_with_spaces(void **state) {
  (void)state;
  dt__error err;
  assert_duration(" 0", 0);
  assert_duration("0 ", 0);
  assert_duration_error("30 ", "has no unit");
  assert_duration_error(" 30", "has no unit");
}

static void test_duration_errors(void **state) {
  (void)state;
  dt__error err;
  assert_duration_error("", "duration \"\" must start with a whole number; "
                            "write for example \"500ms\"");
  assert_duration_error("ms", "must start with a whole number");
  assert_duration_error("-1s", "must start with a whole number");
  assert_duration_error("1.5s", "duration \"1.5s\" has an unknown unit "
                                "\".5s\"; write for example \"500ms\"");
  assert_duration_error("10S", "unknown unit \"S\"");
  assert_duration_error("10sec", "unknown unit \"sec\"");
  assert_duration_error("1d", "unknown unit \"d\"");
  assert_duration_error("3 hours", "unknown unit \"hours\"");
  assert_duration_error("5mins", "unknown unit \"mins\"");
}

static void test_duration_overflow(void **state) {
  (void)state;
  dt__error err;
  assert_duration("18446744073709551615ns", UINT64_MAX);
  assert_duration("5124095h", 5124095ull * 3600 * SEC);
  assert_duration_error("5124096h", "duration \"5124096h\" is too large");
  assert_duration_error("18446744073709551616ns", "is too large");
  assert_duration_error("18446744074s", "is too large");
  assert_duration_error("99999999999999999999999s", "is too large");
}

/* --------------------------------------------------------- path expansion */

/* Saved environment, restored after each path test. */
typedef struct saved_env {
  char *user, *home, *unset;
} saved_env;

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int env_setup(void **state) {
  saved_env *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -1;
  s->user = dup_or_null(getenv("USER"));
  s->home = dup_or_null(getenv("HOME"));
  setenv("USER", "alice", 1);
  setenv("HOME", "/home/alice", 1);
  unsetenv("DTASK_TEST_SURELY_UNSET");
  *state = s;
  return 0;
}

static void restore(const char *name, const char *value) {
  if (value != NULL)
    setenv(name, value, 1);
  else
    unsetenv(name);
}

static int env_teardown(void **state) {
  saved_env *s = *state;
  restore("USER", s->user);
  restore("HOME", s->home);
  unsetenv("DTASK_TEST_VAR");
  free(s->user);
  free(s->home);
  free(s);
  return 0;
}

/* Asserts that path expands to want. */
#define assert_expands(path, want)                                           \
  do {                                                                       \
    char o_[4096];                                                           \
    dt__error e_ = {0, 0, ""};                                               \
    int rc_ = dt__expand_path((path), o_, sizeof o_, &e_);                   \
    if (rc_ != 0)                                                            \
      fail_msg("\"%s\" failed (rc %d): %s", (path), rc_, e_.msg);            \
    assert_string_equal(o_, (want));                                         \
  } while (0)

#define assert_expand_error(path, rc, phrase)                                \
  do {                                                                       \
    char o_[4096];                                                           \
    memset(&err, 0, sizeof err);                                             \
    int rc_ = dt__expand_path((path), o_, sizeof o_, &err);                  \
    if (rc_ != (rc))                                                         \
      fail_msg("\"%s\" gave rc %d, expected %d", (path), rc_, (rc));         \
    assert_contains(err.msg, (phrase));                                      \
  } while (0)

static void test_expand_plain(void **state) {
  (void)state;
  assert_expands("/dev/shm/dtask", "/dev/shm/dtask");
  assert_expands("", "");
  assert_expands("relative/path", "relative/path");
}

static void test_expand_user(void **state) {
  (void)state;
  assert_expands("/dev/shm/dtask-$USER/default", "/dev/shm/dtask-alice/default");
  assert_expands("/dev/shm/dtask-${USER}/default",
                 "/dev/shm/dtask-alice/default");
  assert_expands("${USER}x$USER", "alicexalice");
  assert_expands("$USER", "alice");
  assert_expands("$USER.q", "alice.q");
}

static void test_expand_user_unset_falls_back(void **state) {
  (void)state;
  unsetenv("USER");
  struct passwd *pw = getpwuid(getuid());
  char want[512];
  if (pw != NULL)
    snprintf(want, sizeof want, "/q/%s", pw->pw_name);
  else
    snprintf(want, sizeof want, "/q/%u", (unsigned)getuid());
  assert_expands("/q/$USER", want);
  setenv("USER", "", 1);
  assert_expands("/q/$USER", want);
}

static void test_expand_uid(void **state) {
  (void)state;
  char want[64];
  snprintf(want, sizeof want, "/run/%u/q", (unsigned)getuid());
  assert_expands("/run/$UID/q", want);
  assert_expands("/run/${UID}/q", want);
}

static void test_expand_home_and_tilde(void **state) {
  (void)state;
  assert_expands("$HOME/.dtask", "/home/alice/.dtask");
  assert_expands("${HOME}/.dtask", "/home/alice/.dtask");
  assert_expands("~", "/home/alice");
  assert_expands("~/q", "/home/alice/q");
  /* ~ only at the start and only alone or before '/'. */
  assert_expands("/a/~/b", "/a/~/b");
  assert_expands("~bob/q", "~bob/q");
  /* Without HOME the password database is used. */
  unsetenv("HOME");
  struct passwd *pw = getpwuid(getuid());
  if (pw == NULL)
    fail_msg("uid %u has no entry in the password database: this case "
             "needs one (run as a user listed in /etc/passwd)",
             (unsigned)getuid());
  char want[512];
  snprintf(want, sizeof want, "%s/q", pw->pw_dir);
  assert_expands("~/q", want);
  assert_expands("$HOME/q", want);
}

static void test_expand_dollar_dollar(void **state) {
  (void)state;
  assert_expands("/price/$$5", "/price/$5");
  assert_expands("$$USER", "$USER");
  assert_expands("a$$$USER", "a$alice");
}

static void test_expand_environment_variable(void **state) {
  (void)state;
  setenv("DTASK_TEST_VAR", "v1", 1);
  assert_expands("/x/$DTASK_TEST_VAR/y", "/x/v1/y");
  assert_expands("/x/${DTASK_TEST_VAR}y", "/x/v1y");
}

static void test_expand_unset_variable(void **state) {
  (void)state;
  dt__error err;
  assert_expand_error("/dev/shm/dtask-$DTASK_TEST_SURELY_UNSET", -EINVAL,
                      "variable $DTASK_TEST_SURELY_UNSET in "
                      "\"/dev/shm/dtask-$DTASK_TEST_SURELY_UNSET\" is not "
                      "set; dtask expands $USER, $UID, $HOME and set "
                      "environment variables");
  /* $USERx is the variable USERx, not $USER then x. */
  unsetenv("USERx");
  assert_expand_error("/q/$USERx", -EINVAL, "variable $USERx in");
  assert_expand_error("/q/${DTASK_TEST_SURELY_UNSET}", -EINVAL,
                      "variable $DTASK_TEST_SURELY_UNSET in");
}

static void test_expand_malformed(void **state) {
  (void)state;
  dt__error err;
  assert_expand_error("/q/${USER", -EINVAL,
                      "malformed variable in \"/q/${USER\"; write $NAME or "
                      "${NAME}, or $$ for a literal '$'");
  assert_expand_error("/q/${}", -EINVAL, "malformed variable");
  assert_expand_error("/q/$", -EINVAL, "malformed variable");
  assert_expand_error("/q/$-x", -EINVAL, "malformed variable");
  assert_expand_error("/q/${US ER}", -EINVAL, "malformed variable");
}

static void test_expand_too_long(void **state) {
  (void)state;
  dt__error err;
  char out[16];
  memset(&err, 0, sizeof err);
  /* 15 characters fit in 16 bytes, 16 do not. */
  assert_int_equal(dt__expand_path("/abcdefghijklmn", out, sizeof out, &err),
                   0);
  assert_string_equal(out, "/abcdefghijklmn");
  assert_int_equal(dt__expand_path("/abcdefghijklmno", out, sizeof out, &err),
                   -ENAMETOOLONG);
  assert_contains(err.msg, "path \"/abcdefghijklmno\" is too long once "
                           "expanded");
  assert_int_equal(out[sizeof out - 1], '\0');
  /* By a variable's value. */
  assert_int_equal(dt__expand_path("/home/$USER", out, sizeof out, &err), 0);
  assert_string_equal(out, "/home/alice");
  assert_int_equal(dt__expand_path("/home/dirx/$USER", out, sizeof out, &err),
                   -ENAMETOOLONG);
  assert_int_equal(dt__expand_path("~/abc", out, sizeof out, &err), 0);
  assert_string_equal(out, "/home/alice/abc");
  assert_int_equal(dt__expand_path("~/abcd", out, sizeof out, &err),
                   -ENAMETOOLONG);
  setenv("HOME", "/a/very/long/home/directory", 1);
  assert_int_equal(dt__expand_path("~", out, sizeof out, &err),
                   -ENAMETOOLONG);
  assert_int_equal(dt__expand_path("x", out, 0, &err), -ENAMETOOLONG);
  /* A big buffer and a long path. */
  char big[5000], res[4096];
  memset(big, 'a', sizeof big - 1);
  big[0] = '/';
  big[sizeof big - 1] = '\0';
  assert_int_equal(dt__expand_path(big, res, sizeof res, NULL),
                   -ENAMETOOLONG);
}

/* --------------------------------------------------------- did you mean */

static void test_did_you_mean_typos(void **state) {
  (void)state;
  static const char *const top[] = {"queue", "runner", "types", "offload",
                                    "shim", NULL};
  static const char *const runner[] = {"workers", "autostart", "idle_exit",
                                       NULL};
  assert_string_equal(dt__did_you_mean("runer", top), "runner");
  assert_string_equal(dt__did_you_mean("queu", top), "queue");
  assert_string_equal(dt__did_you_mean("offlod", top), "offload");
  assert_string_equal(dt__did_you_mean("type", top), "types");
  assert_string_equal(dt__did_you_mean("shin", top), "shim");
  /* A transposition is 2 edits: too many for 4 letters. */
  assert_null(dt__did_you_mean("shmi", top));
  assert_string_equal(dt__did_you_mean("wrokers", runner), "workers");
  assert_string_equal(dt__did_you_mean("worker", runner), "workers");
  assert_string_equal(dt__did_you_mean("idle-exit", runner), "idle_exit");
  assert_string_equal(dt__did_you_mean("autostrat", runner), "autostart");
  /* Case does not count. */
  assert_string_equal(dt__did_you_mean("WORKERS", runner), "workers");
  assert_string_equal(dt__did_you_mean("Runner", top), "runner");
}

static void test_did_you_mean_far(void **state) {
  (void)state;
  static const char *const top[] = {"queue", "runner", "types", "offload",
                                    "shim", NULL};
  static const char *const none[] = {NULL};
  assert_null(dt__did_you_mean("database", top));
  assert_null(dt__did_you_mean("xyz", top));
  assert_null(dt__did_you_mean("runnnnnner", top));
  assert_null(dt__did_you_mean("queue", none));
  /* At most a third of the word's length: 6 letters allow 2 edits. */
  assert_null(dt__did_you_mean("rxxxer", top));
  assert_string_equal(dt__did_you_mean("rxxner", top), "runner");
  assert_string_equal(dt__did_you_mean("rxnner", top), "runner");
  /* Never more than 3 edits, however long the word. */
  static const char *const longw[] = {"abcdefghijklmnopqrst", NULL};
  assert_string_equal(dt__did_you_mean("abcdefghijklmnopqXYZ", longw),
                      "abcdefghijklmnopqrst");
  assert_null(dt__did_you_mean("abcdefghijklmnopWXYZ", longw));
}

static void test_did_you_mean_prefix(void **state) {
  (void)state;
  static const char *const runner[] = {"workers", "autostart", "idle_exit",
                                       NULL};
  static const char *const types[] = {"int", "uint64", "cstring", "double",
                                      NULL};
  assert_string_equal(dt__did_you_mean("work", runner), "workers");
  assert_string_equal(dt__did_you_mean("auto", runner), "autostart");
  assert_string_equal(dt__did_you_mean("idle", runner), "idle_exit");
  assert_string_equal(dt__did_you_mean("cstr", types), "cstring");
  assert_string_equal(dt__did_you_mean("CSTR", types), "cstring");
  /* Prefixes need at least 3 letters. */
  assert_null(dt__did_you_mean("wo", runner));
  assert_null(dt__did_you_mean("au", runner));
}

/* -------------------------------------------------------- error format */

static void test_error_set(void **state) {
  (void)state;
  dt__error err;
  memset(&err, 0x7f, sizeof err);
  assert_int_equal(dt__error_set(&err, 3, 7, "bad %s %d", "value", 42),
                   -EINVAL);
  assert_int_equal(err.line, 3);
  assert_int_equal(err.col, 7);
  assert_string_equal(err.msg, "bad value 42");
  assert_int_equal(dt__error_set(NULL, 1, 1, "x"), -EINVAL);
  /* Long messages are truncated, never overflowed. */
  char big[1000];
  memset(big, 'm', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  dt__error_set(&err, 1, 2, "%s", big);
  assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
}

static void test_error_format_combinations(void **state) {
  (void)state;
  char out[256];
  dt__error e = {3, 7, "something is wrong"};
  assert_string_equal(dt__error_format(&e, "dtask.toml", out, sizeof out),
                      "dtask.toml:3:7: something is wrong");
  assert_ptr_equal(dt__error_format(&e, "dtask.toml", out, sizeof out), out);
  assert_string_equal(dt__error_format(&e, NULL, out, sizeof out),
                      "3:7: something is wrong");
  assert_string_equal(dt__error_format(&e, "", out, sizeof out),
                      "3:7: something is wrong");

  e.col = 0;
  assert_string_equal(dt__error_format(&e, "dtask.toml", out, sizeof out),
                      "dtask.toml:3: something is wrong");
  assert_string_equal(dt__error_format(&e, NULL, out, sizeof out),
                      "3: something is wrong");

  e.line = 0;
  assert_string_equal(dt__error_format(&e, "dtask.toml", out, sizeof out),
                      "dtask.toml: something is wrong");
  assert_string_equal(dt__error_format(&e, NULL, out, sizeof out),
                      "something is wrong");
  assert_string_equal(dt__error_format(&e, "", out, sizeof out),
                      "something is wrong");

  /* A column without a line means nothing and is left out. */
  e.col = 5;
  assert_string_equal(dt__error_format(&e, "dtask.toml", out, sizeof out),
                      "dtask.toml: something is wrong");
  assert_string_equal(dt__error_format(&e, NULL, out, sizeof out),
                      "something is wrong");
}

static void test_error_format_truncates(void **state) {
  (void)state;
  char out[12];
  dt__error e = {12, 34, "something is wrong"};
  memset(out, 'x', sizeof out);
  dt__error_format(&e, "f.toml", out, sizeof out);
  assert_string_equal(out, "f.toml:12:3");
  char one[1] = {'x'};
  dt__error_format(&e, "f.toml", one, sizeof one);
  assert_int_equal(one[0], '\0');
  char zero = 'z';
  assert_ptr_equal(dt__error_format(&e, "f.toml", &zero, 0), &zero);
  assert_int_equal(zero, 'z');
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_size_suffixes),
      cmocka_unit_test(test_size_spaces),
      cmocka_unit_test(test_size_limits),
      cmocka_unit_test(test_size_bad_units),
      cmocka_unit_test(test_size_missing_number),
      cmocka_unit_test(test_size_null_err),
      cmocka_unit_test(test_duration_units),
      cmocka_unit_test(test_duration_zero),
      cmocka_unit_test(test_duration_bare_number),
      cmocka_unit_test(test_duration_bare_number_with_spaces),
      cmocka_unit_test(test_duration_errors),
      cmocka_unit_test(test_duration_overflow),
      cmocka_unit_test_setup_teardown(test_expand_plain, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_expand_user, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_expand_user_unset_falls_back,
                                      env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_expand_uid, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_expand_home_and_tilde, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_expand_dollar_dollar, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_expand_environment_variable,
                                      env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_expand_unset_variable, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_expand_malformed, env_setup,
                                      env_teardown),
      cmocka_unit_test_setup_teardown(test_expand_too_long, env_setup,
                                      env_teardown),
      cmocka_unit_test(test_did_you_mean_typos),
      cmocka_unit_test(test_did_you_mean_far),
      cmocka_unit_test(test_did_you_mean_prefix),
      cmocka_unit_test(test_error_set),
      cmocka_unit_test(test_error_format_combinations),
      cmocka_unit_test(test_error_format_truncates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
