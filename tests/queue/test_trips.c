/* test_trips.c: unit tests of the callers' round-trip counts of the
 * "lmdb" backend (queue/tripfile.c: trips_add, trips_list, trips_reset
 * of queue/queue.h), through dt__queue_open on a fresh queue directory.
 *
 * The counts are the file "trips" of the queue directory: a header
 * ("dtask-trips 2\n" zero-padded to 64 bytes), then slots, each a raw
 * dt__trips, a slot whose symbol is "" ending the list.  Some tests
 * write that file's bytes themselves (a garbage header, slots whose
 * symbol is not a name) or hold flock on it through another open file
 * description, as another process would, and check what the operations
 * make of it.  A dt__trips is 16 KiB (its histogram): every table of
 * them is on the heap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "common/log.h"
#include "config/config.h"
#include "queue/queue.h"
#include "testutil.h"
#include "tripsutil.h" /* tests/queue/ */

/* Fails with the error text unless the call returned 0. */
#define assert_ok(call)                                                      \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ != 0)                                                            \
      fail_msg("%s returned %d (%s)", #call, rc_,                            \
               rc_ < 0 ? strerror(-rc_) : "positive");                       \
  } while (0)

#define MS 1000000ull
#define HEAD 64 /* the file's header, as queue/tripfile.c writes it */
#define LAST (DT__HIST_BUCKETS - 1)

/* ------------------------------------------------------------ fixture */

typedef struct fx {
  char root[64];   /* the test's directory, removed by the teardown */
  char qpath[128]; /* root/q: the queue directory */
  dt__config *cfg;
  dt__queue *q; /* closed by the teardown */
  int lockfd;   /* a descriptor a test locks the file with, or -1 */
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  f->lockfd = -1;
  snprintf(f->root, sizeof f->root, "/dev/shm/dtt-XXXXXX");
  if (mkdtemp(f->root) == NULL) {
    fprintf(stderr, "mkdtemp %s: %s\n", f->root, strerror(errno));
    free(f);
    return -1;
  }
  snprintf(f->qpath, sizeof f->qpath, "%s/q", f->root);
  f->cfg = lmdb_test_config(f->qpath, 16 * MiB);
  if (f->cfg == NULL) {
    rm_tree(f->root);
    free(f);
    return -1;
  }
  dt__error err = {0, 0, ""};
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  if (rc != 0) {
    fprintf(stderr, "dt__queue_open(%s) = %d: %s\n", f->qpath, rc, err.msg);
    free(f->cfg);
    rm_tree(f->root);
    free(f);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  if (f == NULL)
    return 0;
  if (f->lockfd >= 0)
    close(f->lockfd);
  dt__queue_close(f->q);
  free(f->cfg);
  rm_tree(f->root);
  free(f);
  return 0;
}

/* ----------------------------------------------------------- helpers */

/* Replaces the queue's trips file with n bytes of buf. */
static void write_trips_file(fx *f, const void *buf, size_t n) {
  int fd = openat(f->q->dirfd, "trips", O_WRONLY | O_CREAT | O_TRUNC |
                                            O_CLOEXEC, 0600);
  if (fd < 0)
    fail_msg("openat trips: %s", strerror(errno));
  assert_int_equal(write(fd, buf, n), (ssize_t)n);
  close(fd);
}

/* A file image: the header and nslots zeroed slots (freed by the test). */
static unsigned char *file_image(int nslots, size_t *size) {
  *size = HEAD + (size_t)nslots * sizeof(dt__trips);
  unsigned char *img = calloc(1, *size);
  assert_non_null(img);
  memcpy(img, "dtask-trips 2\n", 14);
  return img;
}

static dt__trips *image_slot(unsigned char *img, int i) {
  return (dt__trips *)(void *)(img + HEAD + (size_t)i * sizeof(dt__trips));
}

/* Whether the queue directory has a file "trips". */
static int has_trips_file(fx *f) {
  struct stat st;
  return fstatat(f->q->dirfd, "trips", &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ------------------------------------------------------------- tests */

/* A queue whose callers never added anything lists nothing, and the
 * listing creates no file. */
static void test_list_without_file(void **state) {
  fx *f = *state;
  seen s = seen_new(4);
  assert_int_equal(has_trips_file(f), 0);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 0);
  assert_int_equal(has_trips_file(f), 0);
  assert_ok(dt__queue_trips_reset(f->q)); /* nothing to remove: 0 */
  free(s.t);
}

/* Two symbols added are listed with exactly their counts, in the order
 * added; a second add sums into the same entries (a third symbol takes a
 * new one); the callback's first nonzero answer stops the listing and
 * is returned; reset forgets everything, and counts start again. */
static void test_add_list_sum_reset(void **state) {
  fx *f = *state;
  dt__trips *d = trips_new(3), *want = trips_new(3);
  seen s = seen_new(8);

  trip_set(&d[0], "alpha", 3, 1);
  d[0].hist[0] = 1;
  d[0].hist[5] = 2;
  d[0].hist[LAST] = 7;
  trip_set(&d[1], "beta_2.x@V$", 10, 0);
  d[1].hist[100] = 10;
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, d, 2));
  assert_int_equal(has_trips_file(f), 1);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 2);
  trip_equal(&s.t[0], &d[0]);
  trip_equal(&s.t[1], &d[1]);

  /* Summed: another caller's increments (the slot is not used). */
  memcpy(&want[0], &d[0], sizeof *want);
  memcpy(&want[1], &d[1], sizeof *want);
  memset(d, 0, 3 * sizeof *d);
  trip_set(&d[0], "beta_2.x@V$", 5, 4);
  d[0].hist[100] = 3;
  d[0].hist[101] = 2;
  trip_set(&d[1], "alpha", 2, 2);
  d[1].hist[5] = 1;
  d[1].hist[LAST] = 1;
  trip_set(&d[2], "gamma", 1, 0);
  d[2].hist[0] = 1;
  assert_ok(dt__queue_trips_add(f->q, 3, d, 3));
  want[0].calls = 5;
  want[0].retries = 3;
  want[0].hist[5] = 3;
  want[0].hist[LAST] = 8;
  want[1].calls = 15;
  want[1].retries = 4;
  want[1].hist[100] = 13;
  want[1].hist[101] = 2;
  memcpy(&want[2], &d[2], sizeof *want);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 3);
  trip_equal(&s.t[0], &want[0]);
  trip_equal(&s.t[1], &want[1]);
  trip_equal(&s.t[2], &want[2]);

  /* n 0 adds nothing. */
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, d, 0));
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 3);
  trip_equal(&s.t[0], &want[0]);

  /* The callback's nonzero answer stops the listing. */
  s.stop_at = 2;
  assert_int_equal(list_into(f->q, &s), 7);
  assert_int_equal(s.calls, 2);
  s.stop_at = 0;

  assert_ok(dt__queue_trips_reset(f->q));
  assert_int_equal(has_trips_file(f), 0);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 0);
  assert_ok(dt__queue_trips_reset(f->q)); /* twice: still 0 */

  /* After the reset, counts start from what is added next. */
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, &d[2], 1));
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 1);
  trip_equal(&s.t[0], &d[2]);
  free(d);
  free(want);
  free(s.t);
}

/* A file without the header (another version's, or garbage) lists
 * nothing, even when what follows looks like a slot; an add starts it
 * again, so that only the new counts are listed. */
static void test_garbage_header(void **state) {
  fx *f = *state;
  seen s = seen_new(4);
  size_t size;
  unsigned char *img = file_image(2, &size);
  memcpy(img, "dtask-trips 1\n", 14); /* the version before */
  trip_set(image_slot(img, 0), "ghost", 99, 9);
  image_slot(img, 0)->hist[3] = 99;
  write_trips_file(f, img, size);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 0);

  /* Pure garbage, and a file shorter than the header. */
  memset(img, 0xa5, size);
  write_trips_file(f, img, size);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 0);
  write_trips_file(f, "dtask-trips 2\n", 14);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 0);

  /* The wrong version again: the add restarts the file. */
  memset(img, 0, size);
  memcpy(img, "dtask-trips 1\n", 14);
  trip_set(image_slot(img, 0), "ghost", 99, 9);
  write_trips_file(f, img, size);
  dt__trips *d = trips_new(1);
  trip_set(d, "fresh", 4, 1);
  d->hist[7] = 4;
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, d, 1));
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 1);
  trip_equal(&s.t[0], d);

  /* The same from garbage. */
  memset(img, 0xa5, size);
  write_trips_file(f, img, size);
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, d, 1));
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 1);
  trip_equal(&s.t[0], d); /* not summed with anything before */

  /* The restarted file is the header and one slot. */
  struct stat st;
  assert_int_equal(fstatat(f->q->dirfd, "trips", &st, 0), 0);
  assert_int_equal(st.st_size, HEAD + sizeof(dt__trips));
  free(d);
  free(img);
  free(s.t);
}

/* Slots whose symbol is not a name (a '/', a space, no NUL within its
 * 128 bytes) are skipped by the listing, which goes on with the slots
 * after them up to the first empty one; an add sums into an existing
 * slot past a bad one rather than taking a new one. */
static void test_bad_slots_skipped(void **state) {
  fx *f = *state;
  seen s = seen_new(8);
  size_t size;
  unsigned char *img = file_image(7, &size);
  trip_set(image_slot(img, 0), "good1", 1, 0);
  image_slot(img, 0)->hist[1] = 1;
  trip_set(image_slot(img, 1), "bad/name", 2, 0);
  trip_set(image_slot(img, 2), "x", 3, 0);
  memset(image_slot(img, 2)->symbol, 'a', sizeof image_slot(img, 2)->symbol);
  trip_set(image_slot(img, 3), "has space", 4, 0);
  trip_set(image_slot(img, 4), "good2", 5, 2);
  image_slot(img, 4)->hist[LAST] = 5;
  /* slot 5 is empty: the list ends there */
  trip_set(image_slot(img, 6), "after", 6, 0);
  write_trips_file(f, img, size);

  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 2);
  trip_equal(&s.t[0], image_slot(img, 0));
  trip_equal(&s.t[1], image_slot(img, 4));

  /* good2 is found past the bad slots and summed in place. */
  dt__trips *d = trips_new(1);
  trip_set(d, "good2", 1, 1);
  d->hist[LAST] = 1;
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, d, 1));
  dt__trips *want = image_slot(img, 4);
  want->calls = 6;
  want->retries = 3;
  want->hist[LAST] = 6;
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 2);
  trip_equal(&s.t[0], image_slot(img, 0));
  trip_equal(&s.t[1], want);

  /* A file that ends inside a slot: the slots before it are listed. */
  write_trips_file(f, img, HEAD + sizeof(dt__trips) + 100);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 1);
  trip_equal(&s.t[0], image_slot(img, 0));
  free(d);
  free(img);
  free(s.t);
}

/* One more symbol than a queue keeps, in one add: -ENOSPC, and the first
 * DT__TRIPS_SYMBOLS are listed with their counts; a symbol already kept
 * still sums, a new one is refused. */
static void test_full(void **state) {
  fx *f = *state;
  enum { N = DT__TRIPS_SYMBOLS + 1 };
  dt__trips *d = trips_new(N);
  seen s = seen_new(N + 4);
  for (int i = 0; i < N; i++) {
    char name[16];
    snprintf(name, sizeof name, "sym%d", i);
    trip_set(&d[i], name, (uint64_t)i + 1, (uint64_t)i);
    d[i].hist[i] = 1;
  }
  assert_int_equal(dt__queue_trips_add(f->q, UINT32_MAX, d, N), -ENOSPC);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, DT__TRIPS_SYMBOLS);
  for (int i = 0; i < DT__TRIPS_SYMBOLS; i++)
    trip_equal(&s.t[i], &d[i]);
  assert_null(seen_find(&s, d[N - 1].symbol));

  /* The last kept sums; the one left out is refused again. */
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, &d[N - 2], 1));
  assert_int_equal(dt__queue_trips_add(f->q, UINT32_MAX, &d[N - 1], 1),
                   -ENOSPC);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, DT__TRIPS_SYMBOLS);
  const dt__trips *got = seen_find(&s, d[N - 2].symbol);
  assert_non_null(got);
  assert_int_equal(got->calls, 2 * d[N - 2].calls);
  assert_int_equal(got->retries, 2 * d[N - 2].retries);
  assert_int_equal(got->hist[N - 2], 2);
  assert_null(seen_find(&s, d[N - 1].symbol));
  free(d);
  free(s.t);
}

/* Another process holding the file (flock through its own open file
 * description): an add never waits (-EAGAIN at once, nothing added), a
 * listing waits about a second and gives -EAGAIN; a shared lock lets
 * the listing through but not an add; once unlocked both work. */
static void test_locked_file(void **state) {
  fx *f = *state;
  seen s = seen_new(4);
  dt__trips *d = trips_new(1);
  trip_set(d, "locked", 2, 1);
  d->hist[9] = 2;
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, d, 1));

  f->lockfd = openat(f->q->dirfd, "trips", O_RDWR | O_CLOEXEC);
  assert_true(f->lockfd >= 0);
  assert_int_equal(flock(f->lockfd, LOCK_EX | LOCK_NB), 0);

  uint64_t t0 = dt__now_ns();
  assert_int_equal(dt__queue_trips_add(f->q, UINT32_MAX, d, 1), -EAGAIN);
  assert_true(dt__now_ns() - t0 < 200 * MS); /* never waits */

  t0 = dt__now_ns();
  assert_int_equal(list_into(f->q, &s), -EAGAIN);
  uint64_t took = dt__now_ns() - t0;
  if (took < 500 * MS || took > 5000 * MS)
    fail_msg("a listing of a locked file gave up after %llu ms, expected "
             "about 1000",
             (unsigned long long)(took / MS));
  assert_int_equal(s.calls, 0);

  /* A shared lock (another reader): listing works, an add does not. */
  assert_int_equal(flock(f->lockfd, LOCK_SH | LOCK_NB), 0);
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 1);
  trip_equal(&s.t[0], d); /* the refused add added nothing */
  assert_int_equal(dt__queue_trips_add(f->q, UINT32_MAX, d, 1), -EAGAIN);

  assert_int_equal(flock(f->lockfd, LOCK_UN), 0);
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, d, 1));
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.t[0].calls, 4);
  assert_int_equal(s.t[0].retries, 2);
  assert_int_equal(s.t[0].hist[9], 4);
  free(d);
  free(s.t);
}

/* Symbols that are not names are left out of an add (the others in the
 * same add go in): empty, a '/', a space, a ':', a control character,
 * and 128 bytes without a NUL. */
static void test_invalid_symbol_ignored(void **state) {
  fx *f = *state;
  enum { N = 8 };
  dt__trips *d = trips_new(N);
  seen s = seen_new(N + 2);
  trip_set(&d[0], "", 1, 0);
  trip_set(&d[1], "bad/name", 1, 0);
  trip_set(&d[2], "ok", 3, 1);
  d[2].hist[2] = 3;
  trip_set(&d[3], "has space", 1, 0);
  trip_set(&d[4], "a:b", 1, 0);
  trip_set(&d[5], "tab\there", 1, 0);
  trip_set(&d[6], "x", 1, 0);
  memset(d[6].symbol, 'x', sizeof d[6].symbol); /* no NUL */
  trip_set(&d[7], "ok2", 1, 0);
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, d, N));
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 2);
  trip_equal(&s.t[0], &d[2]);
  trip_equal(&s.t[1], &d[7]);
  /* Left out by the add itself, not only by the listing: the file holds
   * the header and the two slots. */
  struct stat st;
  assert_int_equal(fstatat(f->q->dirfd, "trips", &st, 0), 0);
  assert_int_equal(st.st_size, HEAD + 2 * sizeof(dt__trips));

  /* Only invalid ones: nothing is listed, and no slot is written. */
  assert_ok(dt__queue_trips_reset(f->q));
  assert_ok(dt__queue_trips_add(f->q, UINT32_MAX, &d[3], 4));
  assert_int_equal(list_into(f->q, &s), 0);
  assert_int_equal(s.calls, 0);
  assert_int_equal(fstatat(f->q->dirfd, "trips", &st, 0), 0);
  assert_int_equal(st.st_size, HEAD);
  free(d);
  free(s.t);
}

/* A FIFO planted as "trips" (regression: the open blocked forever before
 * the regular-file check): add and list refuse it at once; a symbolic
 * link is refused too (O_NOFOLLOW), and the file it names is untouched. */
static void test_not_a_file(void **state) {
  fx *f = *state;
  assert_int_equal(mkfifoat(f->q->dirfd, "trips", 0600), 0);
  dt__trips *d = trips_new(1);
  trip_set(d, "sym", 1, 0);
  seen s = seen_new(DT__TRIPS_SYMBOLS);
  uint64_t t0 = dt__now_ns();
  assert_true(dt__queue_trips_add(f->q, UINT32_MAX, d, 1) < 0);
  assert_true(list_into(f->q, &s) < 0);
  assert_true(dt__now_ns() - t0 < 500000000ull);
  assert_int_equal(s.calls, 0);
  assert_int_equal(unlinkat(f->q->dirfd, "trips", 0), 0);
  char target[200];
  snprintf(target, sizeof target, "%s/elsewhere", f->root);
  int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(symlinkat(target, f->q->dirfd, "trips"), 0);
  assert_true(dt__queue_trips_add(f->q, UINT32_MAX, d, 1) < 0);
  assert_true(list_into(f->q, &s) < 0);
  struct stat st;
  assert_int_equal(stat(target, &st), 0);
  assert_int_equal(st.st_size, 0);
  free(d);
  free(s.t);
}

/* --------------------------------------------------------------- main */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_list_without_file),
      T(test_add_list_sum_reset),
      T(test_garbage_header),
      T(test_bad_slots_skipped),
      T(test_full),
      T(test_locked_file),
      T(test_invalid_symbol_ignored),
      T(test_not_a_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
