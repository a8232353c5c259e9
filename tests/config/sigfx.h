/* sigfx.h: what the tests of the signature language share (test_sig.c,
 * test_sig_errors.c, test_sig_describe.c): a parse of a signature that
 * must be valid (assert_sig_ok, and assert_sig_ok_u with declared types),
 * and the two types the tests declare under [types] (utypes: report and
 * point).  Include it after <cmocka.h> and config/sig.h. */
#ifndef DT_TESTS_SIGFX_H
#define DT_TESTS_SIGFX_H

/* Parses text, which must be valid. */
#define assert_sig_ok_u(text, utypes, nutypes, sig)                          \
  do {                                                                       \
    dt__error e_ = {0, 0, ""};                                               \
    int rc_ = dt__sig_parse((text), (utypes), (nutypes), (sig), &e_);        \
    if (rc_ != 0)                                                            \
      fail_msg("\"%s\" failed (rc %d) at column %d: %s", (text), rc_,        \
               e_.col, e_.msg);                                              \
  } while (0)

#define assert_sig_ok(text, sig) assert_sig_ok_u(text, NULL, 0, sig)

static const dt__utype utypes[] = {
    {"report", 32, 8, 3},
    {"point", 12, 4, 4},
};
#define NUTYPES (sizeof utypes / sizeof *utypes)

#endif /* DT_TESTS_SIGFX_H */
