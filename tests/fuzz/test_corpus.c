/* test_corpus.c: the fuzz corpora replayed as regression tests, run by
 * make check (and make check-asan, where every sanitizer watches).
 *
 * Every file of tests/fuzz/corpus/<harness>/ (seeds, the inputs the
 * fuzzers found worth keeping, and inputs that once crashed a harness)
 * goes through its harness, one cmocka test per harness.  The harnesses
 * are the files tests/fuzz/fuzz_*.c, included below: built without
 * DT_LIBFUZZER each is plain C defining dt__fuzz_NAME (tests/fuzz/fuzz.h)
 * and nothing else that is not static, so they share this one
 * translation unit, built by the Makefile's rule for every
 * tests/<area>/test_*.c against TEST_OBJ, which holds every object they
 * call.  A harness aborts on a broken promise, which fails the whole
 * program (tests/run.sh counts a program that dies as a failure).
 *
 * The corpora are found from the current directory, the repository's
 * root when make check runs (tests/run.sh), or under DTASK_FUZZ_CORPUS.
 * A corpus that is missing or empty fails its test.  Inputs that crash
 * because of a bug not yet fixed in dtask are kept apart, in
 * tests/fuzz/crashes/<harness>/, and not replayed here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "fuzz/fuzz_cond.c"
#include "fuzz/fuzz_config.c"
#include "fuzz/fuzz_elf.c"
#include "fuzz/fuzz_poolrec.c"
#include "fuzz/fuzz_redis.c"
#include "fuzz/fuzz_sig.c"
#include "fuzz/fuzz_toml.c"
#include "fuzz/fuzz_wire_result.c"
#include "fuzz/fuzz_wire_task.c"

/* A harness and the folder of its corpus. */
typedef struct corpus {
  const char *name;
  int (*fn)(const uint8_t *data, size_t size);
} corpus;

/* Reads the whole file path into a malloc'd buffer of exactly its size
 * (so that ASan sees a read past the input's end, as under libFuzzer);
 * returns it with *size, or NULL. */
static uint8_t *read_input(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  uint8_t *buf = NULL;
  size_t n = 0;
  if (fseek(f, 0, SEEK_END) == 0) {
    long end = ftell(f);
    if (end >= 0 && fseek(f, 0, SEEK_SET) == 0) {
      n = (size_t)end;
      buf = malloc(n > 0 ? n : 1);
      if (buf != NULL && n > 0 && fread(buf, 1, n, f) != n) {
        free(buf);
        buf = NULL;
      }
    }
  }
  fclose(f);
  *size = n;
  return buf;
}

/* Orders file names for scandir, so that a failure names the same first
 * input every time. */
static int by_name(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs every file of the corpus of state's harness through it. */
static void test_replay(void **state) {
  const corpus *c = *state;
  const char *root = getenv("DTASK_FUZZ_CORPUS");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", root ? root : "tests/fuzz/corpus",
           c->name);
  struct dirent **ents = NULL;
  int n = scandir(dir, &ents, NULL, by_name);
  if (n < 0)
    fail_msg("cannot read the corpus %s: %s (run from the repository's "
             "root, or set DTASK_FUZZ_CORPUS)",
             dir, strerror(errno));
  int ran = 0;
  for (int i = 0; i < n; i++) {
    if (ents[i]->d_name[0] != '.') {
      char path[4096 + 256];
      size_t size = 0;
      snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
      uint8_t *data = read_input(path, &size);
      if (data == NULL)
        fail_msg("cannot read %s", path);
      assert_int_equal(c->fn(data, size), 0);
      free(data);
      ran++;
    }
    free(ents[i]);
  }
  free(ents);
  if (ran == 0)
    fail_msg("the corpus %s holds no input", dir);
  print_message("%s: %d inputs\n", c->name, ran);
}

int main(void) {
  static const corpus corpora[] = {
      {"toml", dt__fuzz_toml},
      {"config", dt__fuzz_config},
      {"sig", dt__fuzz_sig},
      {"cond", dt__fuzz_cond},
      {"wire_task", dt__fuzz_wire_task},
      {"wire_result", dt__fuzz_wire_result},
      {"elf", dt__fuzz_elf},
      {"poolrec", dt__fuzz_poolrec},
      {"redis", dt__fuzz_redis},
  };
  /* One test per harness, named after its corpus. */
#define REPLAY(i, name)                                                      \
  { "replay_" name, test_replay, NULL, NULL, (void *)&corpora[i] }
  const struct CMUnitTest tests[] = {
      REPLAY(0, "toml"),
      REPLAY(1, "config"),
      REPLAY(2, "sig"),
      REPLAY(3, "cond"),
      REPLAY(4, "wire_task"),
      REPLAY(5, "wire_result"),
      REPLAY(6, "elf"),
      REPLAY(7, "poolrec"),
      REPLAY(8, "redis"),
  };
#undef REPLAY
  return cmocka_run_group_tests(tests, NULL, NULL);
}
