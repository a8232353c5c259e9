/* test_image.c: tests of the identity of program images (queue/image.c).
 *
 * Identities are checked against what the files themselves say: the
 * build-id of this test program and of libm as readelf's format gives
 * them (read here from the files' notes through dt__image_of_file, which
 * must agree with the in-memory reading), and, for libraries built
 * without a build-id (tests/fixtures/elf/build.sh: libnobid.so and
 * libnobid2.so, which differ in one constant), a content hash that tells
 * the two builds apart and is stable for one file. */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "queue/image.h"
#include "testutil.h"

static char fixtures[4096];

static int setup(void **state) {
  (void)state;
  const char *d = getenv("DTASK_FIXTURE_DIR");
  if (d == NULL) {
    fprintf(stderr, "DTASK_FIXTURE_DIR is not set (run through make check)\n");
    return -1;
  }
  snprintf(fixtures, sizeof fixtures, "%s/elf", d);
  return 0;
}

/* This program's identity, read in memory, is its build-id as the file
 * on disk has it, and its name is the file's base name. */
static void test_self_is_build_id(void **state) {
  (void)state;
  dt__objid mem, disk;
  char name[256];
  assert_int_equal(dt__image_self(&mem, name, sizeof name), 0);
  assert_int_equal(mem.how, 'b');
  assert_int_equal(strlen(mem.hex), 40);
  assert_string_equal(name, "test_image");
  assert_int_equal(dt__image_of_file("/proc/self/exe", &disk), 0);
  assert_string_equal(mem.hex, disk.hex);
  assert_true(mem.digest == disk.digest);
  /* Cached: a second call gives the same answer. */
  dt__objid again;
  assert_int_equal(dt__image_self(&again, NULL, 0), 0);
  assert_true(again.digest == mem.digest);
}

/* The object defining cos is libm, with libm's build-id. */
static void test_of_addr_names_the_defining_object(void **state) {
  (void)state;
  dt__objid id, file, self;
  char path[4096];
  double (*volatile f)(double) = cos;
  assert_int_equal(dt__image_of_addr((const void *)f, &id, path, sizeof path),
                   0);
  assert_non_null(strstr(path, "libm.so"));
  assert_int_equal(dt__image_of_file(path, &file), 0);
  assert_string_equal(id.hex, file.hex);
  assert_int_equal(dt__image_self(&self, NULL, 0), 0);
  assert_false(self.digest == id.digest);
  /* An address of the program itself is the program. */
  assert_int_equal(dt__image_of_addr((const void *)test_self_is_build_id, &id,
                                     path, sizeof path),
                   0);
  assert_true(id.digest == self.digest);
  assert_int_equal(dt__image_of_addr(NULL, &id, NULL, 0), -EINVAL);
  assert_int_equal(dt__image_of_addr((const void *)8, &id, NULL, 0), -ENOENT);
}

/* Without a build-id, the identity is a hash of the bytes: the same for
 * the file on disk and loaded, different for a rebuilt variant. */
static void test_content_hash_without_build_id(void **state) {
  (void)state;
  char a[4200], b[4200];
  dt__objid ia, ib, ia2, mem;
  snprintf(a, sizeof a, "%s/libnobid.so", fixtures);
  snprintf(b, sizeof b, "%s/libnobid2.so", fixtures);
  assert_int_equal(dt__image_of_file(a, &ia), 0);
  assert_int_equal(dt__image_of_file(b, &ib), 0);
  assert_int_equal(ia.how, 'h');
  assert_int_equal(ib.how, 'h');
  assert_int_equal(strlen(ia.hex), 32);
  assert_false(ia.digest == ib.digest);
  assert_string_not_equal(ia.hex, ib.hex);
  assert_int_equal(dt__image_of_file(a, &ia2), 0);
  assert_true(ia.digest == ia2.digest);
  void *h = dlopen(a, RTLD_NOW | RTLD_LOCAL);
  assert_non_null(h);
  void *fa = dlsym(h, "fa");
  assert_non_null(fa);
  assert_int_equal(dt__image_of_addr(fa, &mem, NULL, 0), 0);
  assert_true(mem.digest == ia.digest);
  dlclose(h);
}

/* A build-id and a content hash never share a digest space: the kind is
 * part of the digest. */
static void test_kinds_differ(void **state) {
  (void)state;
  char p[4200];
  dt__objid with, without;
  snprintf(p, sizeof p, "%s/libelfa.so", fixtures);
  assert_int_equal(dt__image_of_file(p, &with), 0);
  assert_int_equal(with.how, 'b');
  snprintf(p, sizeof p, "%s/libnobid.so", fixtures);
  assert_int_equal(dt__image_of_file(p, &without), 0);
  assert_false(with.digest == without.digest);
}

/* Files that are not ELF objects of this machine are refused. */
static void test_not_elf(void **state) {
  (void)state;
  dt__objid id;
  char p[] = "/tmp/dtask-test-image-XXXXXX";
  int fd = mkstemp(p);
  assert_true(fd >= 0);
  static const char text[] = "#!/bin/sh\necho not an ELF file, but long "
                             "enough for a header to be read from it\n";
  assert_int_equal(write(fd, text, sizeof text - 1), (int)(sizeof text - 1));
  close(fd);
  assert_int_equal(dt__image_of_file(p, &id), -ENOEXEC);
  assert_int_equal(truncate(p, 3), 0);
  assert_int_equal(dt__image_of_file(p, &id), -ENOEXEC);
  unlink(p);
  assert_int_equal(dt__image_of_file("/nonexistent/libx.so", &id), -ENOENT);
  assert_int_equal(dt__image_of_file("/tmp", &id), -ENOEXEC);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_self_is_build_id),
      cmocka_unit_test(test_of_addr_names_the_defining_object),
      cmocka_unit_test(test_content_hash_without_build_id),
      cmocka_unit_test(test_kinds_differ),
      cmocka_unit_test(test_not_elf),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
