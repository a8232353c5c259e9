/* testutil.h: what dtask's cmocka tests share.
 *
 * The one assertion cmocka lacks (a substring, for checking that an
 * error message says what it should), a skip that names its reason,
 * removing a scratch tree, the units the tests write sizes and times in,
 * an LMDB queue's config, and two checks of config snippets (which
 * expect a dt__error named err in scope).  Include it after <cmocka.h> and
 * the headers of the areas they test, as "testutil.h": the tests live in
 * tests/<area>/ and are built with -Itests (Makefile). */
#ifndef DTASK_TESTUTIL_H
#define DTASK_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fails with both strings shown unless needle occurs in hay. */
#define assert_contains(hay, needle)                                         \
  do {                                                                       \
    const char *h_ = (hay);                                                  \
    const char *n_ = (needle);                                               \
    if (strstr(h_, n_) == NULL)                                              \
      fail_msg("expected \"%s\" to contain \"%s\"", h_, n_);                 \
  } while (0)

/* Skips the running test, printing "# SKIP test_name: reason" first
 * (tests/run.sh lists these lines and counts the test as skipped, never
 * as passed).  Only for a legitimate reason: a tool that tools/deps.sh
 * installs for make check is never one (fail_msg naming tools/deps.sh
 * instead).  With DTASK_NO_SKIP=1 in the environment (CI) the test fails
 * instead. */
#define skip_because(reason)                                                 \
  do {                                                                       \
    const char *r_ = (reason);                                               \
    const char *ns_ = getenv("DTASK_NO_SKIP");                               \
    if (ns_ != NULL && strcmp(ns_, "1") == 0)                                \
      fail_msg("%s skipped (%s), and DTASK_NO_SKIP=1 makes a skip a "        \
               "failure", __func__, r_);                                     \
    print_message("# SKIP %s: %s\n", __func__, r_);                          \
    skip();                                                                  \
  } while (0)

/* nftw's callback for rm_tree: removes one entry, whatever it is. */
static inline int rm_tree_one(const char *path, const struct stat *st,
                              int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

/* Removes the tree at path (a test's scratch directory), children
 * first, following no link. */
static inline void rm_tree(const char *path) {
  nftw(path, rm_tree_one, 16, FTW_DEPTH | FTW_PHYS);
}

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define TiB (1ull << 40)
#define SEC 1000000000ull

#ifdef DT_CONFIG_H
/* A config of an "lmdb" queue at path (map_size bytes, workers 2, no
 * autostart), as the queue tests open one; NULL without memory.  The
 * test frees it. */
static inline dt__config *lmdb_test_config(const char *path,
                                           uint64_t map_size) {
  dt__config *cfg = calloc(1, sizeof *cfg);
  if (cfg == NULL)
    return NULL;
  snprintf(cfg->path, sizeof cfg->path, "<test>");
  snprintf(cfg->backend, sizeof cfg->backend, "lmdb");
  snprintf(cfg->queue_path, sizeof cfg->queue_path, "%s", path);
  cfg->map_size = map_size;
  cfg->workers = 2;
  cfg->autostart = 0;
  cfg->idle_exit_ns = 0;
  return cfg;
}

/* Config snippets (for files that include config/config.h first). */

/* Parses text, which must be valid, into *cfgp. */
#define parse_ok(text, cfgp)                                                 \
  do {                                                                       \
    dt__error e_ = {0, 0, ""};                                               \
    const char *t_ = (text);                                                 \
    int rc_ = dt__config_parse(t_, strlen(t_), "test.toml", (cfgp), &e_);    \
    if (rc_ != 0)                                                            \
      fail_msg("config failed (rc %d) at %d:%d: %s\n--- config:\n%s", rc_,   \
               e_.line, e_.col, e_.msg, t_);                                 \
    assert_non_null(*(cfgp));                                                \
  } while (0)

/* Parses text, which must be valid and hold exactly one [[offload]]
 * entry; the caller frees the config (dt__config_free). */
static inline dt__config *parse_one(const char *text) {
  dt__config *cfg = NULL;
  parse_ok(text, &cfg);
  assert_int_equal(cfg->noffloads, 1);
  return cfg;
}

/* Asserts that text is refused at line:col with phrase in the message. */
#define assert_cfg_error(text, want_line, want_col, phrase)                  \
  do {                                                                       \
    dt__config *c_ = (dt__config *)1;                                        \
    const char *t_ = (text);                                                 \
    memset(&err, 0, sizeof err);                                             \
    int rc_ = dt__config_parse(t_, strlen(t_), "test.toml", &c_, &err);      \
    if (rc_ != -EINVAL) {                                                    \
      if (rc_ == 0)                                                          \
        dt__config_free(c_);                                                 \
      fail_msg("config gave rc %d, expected -EINVAL\n--- config:\n%s", rc_,  \
               t_);                                                          \
    }                                                                        \
    assert_null(c_);                                                         \
    if (err.line != (want_line) || err.col != (want_col))                    \
      fail_msg("error at %d:%d, expected %d:%d: %s\n--- config:\n%s",        \
               err.line, err.col, (want_line), (want_col), err.msg, t_);     \
    assert_contains(err.msg, (phrase));                                      \
  } while (0)
#endif

#endif
