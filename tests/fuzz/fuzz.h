/* fuzz.h: what dtask's fuzz harnesses (tests/fuzz/fuzz_*.c) share.
 *
 * Each harness drives one parser or decoder of untrusted input through a
 * function dt__fuzz_NAME(data, size), declared here; built with libFuzzer
 * (-DDT_LIBFUZZER, tests/fuzz/fuzz.mk) the harness file also defines
 * LLVMFuzzerTestOneInput calling it, and without it the same file is
 * plain C that tests/fuzz/test_corpus.c includes to replay the corpora.
 * A harness returns 0 for every input (libFuzzer wants 0); it aborts
 * (dt__fuzz_check) only when the code under test broke a promise the
 * harness checks, so that the fuzzer reports it as a crash.
 *
 * The helpers below are static inline: every harness file may be
 * included into one translation unit (test_corpus.c), so nothing here
 * may be defined twice. */
#ifndef DT_FUZZ_H
#define DT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dt__fuzz_toml(const uint8_t *data, size_t size);
int dt__fuzz_config(const uint8_t *data, size_t size);
int dt__fuzz_sig(const uint8_t *data, size_t size);
int dt__fuzz_cond(const uint8_t *data, size_t size);
int dt__fuzz_wire_task(const uint8_t *data, size_t size);
int dt__fuzz_wire_result(const uint8_t *data, size_t size);
int dt__fuzz_elf(const uint8_t *data, size_t size);
int dt__fuzz_poolrec(const uint8_t *data, size_t size);
int dt__fuzz_redis(const uint8_t *data, size_t size);

/* DT__FUZZ_ENTRY(fn): libFuzzer's entry point, calling the harness fn,
 * in a libFuzzer build (-DDT_LIBFUZZER); nothing in test_corpus.c, which
 * calls every harness itself. */
#ifdef DT_LIBFUZZER
#define DT__FUZZ_ENTRY(fn)                                                   \
  int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);              \
  int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {             \
    return fn(data, size);                                                   \
  }
#else
#define DT__FUZZ_ENTRY(fn)
#endif

/* Aborts with a message on stderr when ok is false: a promise of the code
 * under test (a round trip, two readers that must agree) was broken. */
#define dt__fuzz_check(ok, what)                                             \
  do {                                                                       \
    if (!(ok)) {                                                             \
      fprintf(stderr, "dtask fuzz: %s:%d: %s\n", __FILE__, __LINE__,         \
              (what));                                                       \
      abort();                                                               \
    }                                                                        \
  } while (0)

/* Whether the checks of known dtask bugs not yet fixed run too: with
 * DTASK_FUZZ_STRICT=1 in the environment a harness checks every promise,
 * and the inputs of tests/fuzz/crashes/NAME/ crash it; without it, it
 * skips those few checks, so that a fuzzer does not stop at the same
 * known bug again and again (each harness names what it skips). */
static inline int dt__fuzz_strict(void) {
  static int strict = -1;
  if (strict < 0) {
    const char *s = getenv("DTASK_FUZZ_STRICT");
    strict = s != NULL && strcmp(s, "1") == 0;
  }
  return strict;
}

/* A NUL-terminated malloc'd copy of data[0, size) (free it), or NULL when
 * memory runs out.  Text parsers that take C strings are fed this; a NUL
 * inside the input then ends the text early, as it would in a file read
 * into a C string. */
static inline char *dt__fuzz_cstr(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    return NULL;
  if (size > 0)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* A stream that discards what is written to it, for the describe
 * functions (their formatting runs, its output is not wanted); opened
 * once and kept for the life of the process, NULL if it cannot be. */
static inline FILE *dt__fuzz_null(void) {
  static FILE *null;
  if (null == NULL)
    null = fopen("/dev/null", "w");
  return null;
}

#endif /* DT_FUZZ_H */
