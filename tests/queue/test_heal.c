/* test_heal.c: an "lmdb" queue whose files LMDB cannot read
 * (queue/lmdb_heal.c, through dt__queue_open):
 *   - random bytes over the start of data.mdb, the file cut to 100 bytes,
 *     another format version, a broken magic: the open moves data.mdb
 *     aside (data.mdb.corrupt-TIME, its bytes kept) and starts afresh,
 *     and the fresh queue carries a call;
 *   - a live process that has the queue open: nothing is moved, the open
 *     fails with -EBUSY and a sentence naming that process; once it has
 *     exited, the next open moves it aside;
 *   - four processes that open the same broken queue at once: each
 *     opens, and the file is moved aside once.
 * Real LMDB files, real processes (fork), under /dev/shm. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "config/config.h"
#include "queue/queue.h"
#include "testutil.h"

#define MS 1000000ull

typedef struct fx {
  char root[64];   /* the test's directory, removed by the teardown */
  char qpath[128]; /* root/q: the queue directory */
  dt__config *cfg;
} fx;

/* A fresh queue directory with a queue made once (then closed). */
static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  snprintf(f->root, sizeof f->root, "/dev/shm/dth-XXXXXX");
  if (mkdtemp(f->root) == NULL) {
    free(f);
    return -1;
  }
  snprintf(f->qpath, sizeof f->qpath, "%s/q", f->root);
  f->cfg = lmdb_test_config(f->qpath, 16 * MiB);
  if (f->cfg == NULL)
    return -1;
  dt__queue *q;
  dt__error err = {0, 0, ""};
  if (dt__queue_open(f->cfg, &q, &err) != 0) {
    fprintf(stderr, "open %s: %s\n", f->qpath, err.msg);
    return -1;
  }
  dt__queue_close(q);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  rm_tree(f->root);
  free(f->cfg);
  free(f);
  return 0;
}

/* The path of file name of the queue directory, into buf. */
static const char *qfile(const fx *f, const char *name, char *buf,
                         size_t cap) {
  snprintf(buf, cap, "%s/%s", f->qpath, name);
  return buf;
}

/* Writes n bytes of buf at offset off of data.mdb (not truncating). */
static void poke(const fx *f, off_t off, const void *buf, size_t n) {
  char p[200];
  int fd = open(qfile(f, "data.mdb", p, sizeof p), O_WRONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, buf, n, off), (ssize_t)n);
  close(fd);
}

/* How many data.mdb.corrupt-* files the queue directory holds; the name
 * of the last one into name (cap bytes). */
static int moved_aside(const fx *f, char *name, size_t cap) {
  DIR *d = opendir(f->qpath);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, "data.mdb.corrupt-", 17) == 0) {
      n++;
      snprintf(name, cap, "%.100s", e->d_name);
    }
  closedir(d);
  return n;
}

static int enc_str(void *ctx, uint8_t *buf, size_t size, uint64_t id) {
  (void)id;
  memcpy(buf, ctx, size);
  return 0;
}

/* Opens f's queue, which must work: one task goes in and is claimed. */
static void works(const fx *f) {
  dt__queue *q;
  dt__error err = {0, 0, ""};
  int rc = dt__queue_open(f->cfg, &q, &err);
  if (rc != 0)
    fail_msg("open after the move: %d: %s", rc, err.msg);
  uint32_t slot;
  uint64_t id, cid;
  uint8_t *rec;
  size_t size;
  assert_int_equal(dt__queue_waiter(q, &slot), 0);
  assert_int_equal(dt__queue_submit(q, 4, enc_str, "task", slot, &id), 0);
  assert_int_equal(dt__queue_claim(q, &rec, &size, &cid, 1000 * MS), 0);
  assert_int_equal(cid, id);
  assert_int_equal(size, 4);
  assert_memory_equal(rec, "task", 4);
  free(rec);
  dt__queue_close(q);
}

/* Each way of breaking the file: moved aside once, bytes kept, a fresh
 * queue that works, and the next open moves nothing. */
static void test_broken_files_moved_aside(void **state) {
  fx *f = *state;
  for (int how = 0; how < 4; how++) {
    char p[200], name[128], aside[260];
    if (how == 0) {
      uint8_t junk[4096];
      for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 131u + 7u);
      poke(f, 0, junk, sizeof junk);
    } else if (how == 1) {
      assert_int_equal(truncate(qfile(f, "data.mdb", p, sizeof p), 100), 0);
    } else if (how == 2) {
      uint8_t v = 0x7f; /* the meta page's format version */
      poke(f, 20, &v, 1);
    } else {
      uint8_t m = 0; /* a byte of the magic */
      poke(f, 16, &m, 1);
    }
    struct stat before;
    assert_int_equal(stat(qfile(f, "data.mdb", p, sizeof p), &before), 0);
    works(f);
    assert_int_equal(moved_aside(f, name, sizeof name), 1);
    struct stat st;
    snprintf(aside, sizeof aside, "%s/%s", f->qpath, name);
    assert_int_equal(stat(aside, &st), 0);
    assert_int_equal(st.st_ino, before.st_ino); /* the very file, kept */
    assert_int_equal(st.st_size, before.st_size);
    works(f);
    assert_int_equal(moved_aside(f, name, sizeof name), 1);
    assert_int_equal(unlink(aside), 0);
  }
}

/* A live process with the queue open: nothing moved, -EBUSY naming it;
 * after it exits, the next open moves it aside. */
static void test_live_holder(void **state) {
  fx *f = *state;
  int go[2];
  assert_int_equal(pipe(go), 0);
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t kid = fork();
  if (kid == 0) {
    dt__queue *q;
    dt__error err;
    char b;
    close(go[1]);
    if (dt__queue_open(f->cfg, &q, &err) != 0)
      _exit(1);
    if (write(ready[1], "r", 1) != 1)
      _exit(1);
    if (read(go[0], &b, 1) < 0) /* until the parent closes it */
      _exit(1);
    _exit(0);
  }
  close(go[0]);
  close(ready[1]);
  char b;
  assert_int_equal(read(ready[0], &b, 1), 1);
  uint8_t junk[512];
  memset(junk, 0xa5, sizeof junk);
  poke(f, 0, junk, sizeof junk);
  dt__queue *q = NULL;
  dt__error err = {0, 0, ""};
  assert_int_equal(dt__queue_open(f->cfg, &q, &err), -EBUSY);
  assert_null(q);
  char want[64], name[128];
  snprintf(want, sizeof want, "process %d (", (int)kid);
  if (strstr(err.msg, want) == NULL ||
      strstr(err.msg, "not an LMDB file") == NULL)
    fail_msg("the refusal does not name the holder: %s", err.msg);
  assert_int_equal(moved_aside(f, name, sizeof name), 0);
  close(go[1]);
  int status;
  assert_int_equal(waitpid(kid, &status, 0), kid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  works(f);
  assert_int_equal(moved_aside(f, name, sizeof name), 1);
  close(ready[0]);
}

/* Four processes open the broken queue at once: all open it, and it is
 * moved aside exactly once. */
static void test_race(void **state) {
  fx *f = *state;
  uint8_t junk[4096];
  memset(junk, 0x5a, sizeof junk);
  poke(f, 0, junk, sizeof junk);
  int go[2];
  assert_int_equal(pipe(go), 0);
  pid_t kids[4];
  for (int i = 0; i < 4; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      dt__queue *q;
      dt__error err;
      char b;
      close(go[1]);
      if (read(go[0], &b, 1) < 0) /* all start when it closes */
        _exit(2);
      int rc = dt__queue_open(f->cfg, &q, &err);
      if (rc != 0) {
        fprintf(stderr, "child: %d: %s\n", rc, err.msg);
        _exit(1);
      }
      _exit(0);
    }
  }
  close(go[0]);
  close(go[1]);
  for (int i = 0; i < 4; i++) {
    int status;
    assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  char name[128];
  assert_int_equal(moved_aside(f, name, sizeof name), 1);
  works(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_broken_files_moved_aside, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_live_holder, setup, teardown),
      cmocka_unit_test_setup_teardown(test_race, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
