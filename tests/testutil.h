/* testutil.h: what dtask's cmocka tests share.
 *
 * The one assertion cmocka lacks (a substring, for checking that an
 * error message says what it should) and the units the tests write sizes
 * and times in.  Include it after <cmocka.h>. */
#ifndef DTASK_TESTUTIL_H
#define DTASK_TESTUTIL_H

#include <string.h>

/* Fails with both strings shown unless needle occurs in hay. */
#define assert_contains(hay, needle)                                         \
  do {                                                                       \
    const char *h_ = (hay);                                                  \
    const char *n_ = (needle);                                               \
    if (strstr(h_, n_) == NULL)                                              \
      fail_msg("expected \"%s\" to contain \"%s\"", h_, n_);                 \
  } while (0)

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define TiB (1ull << 40)
#define SEC 1000000000ull

#endif
