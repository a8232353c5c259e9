/* test_qdir.c: unit tests of the queue directory's trust (queue/qdir.c)
 * and of the queue's files opened through it (dt__queue_open).
 *
 * Every test gets a fresh private directory under /dev/shm.  Tests that
 * give a file or a directory to another user (uid 65534) need root:
 * run as another user they fail, saying so; they never skip. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "config/config.h"
#include "queue/qdir.h"
#include "queue/queue.h"
#include "testutil.h"

#define OTHER 65534 /* nobody */

typedef struct fx {
  char root[64];   /* the test's directory (0700), removed at teardown */
  char path[160];  /* scratch of at() */
  char path2[160]; /* scratch of at2() */
  int fd;          /* a directory descriptor, closed at teardown */
  dt__config *cfg; /* [queue] path = root/q */
  dt__queue *q;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  snprintf(f->root, sizeof f->root, "/dev/shm/dtqd-XXXXXX");
  if (mkdtemp(f->root) == NULL) {
    free(f);
    return -1;
  }
  f->fd = -1;
  f->cfg = calloc(1, sizeof *f->cfg);
  if (f->cfg == NULL)
    return -1;
  snprintf(f->cfg->path, sizeof f->cfg->path, "<test>");
  snprintf(f->cfg->backend, sizeof f->cfg->backend, "lmdb");
  snprintf(f->cfg->queue_path, sizeof f->cfg->queue_path, "%s/q", f->root);
  f->cfg->map_size = 16 * MiB;
  f->cfg->workers = 1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  if (f->fd >= 0)
    close(f->fd);
  dt__queue_close(f->q);
  free(f->cfg);
  rm_tree(f->root);
  free(f);
  return 0;
}

/* Skips the calling test, by name, when not root. */
#define need_root()                                                          \
  do {                                                                       \
    if (geteuid() != 0)                                                      \
      skip_because("needs root, to give files to another uid");             \
  } while (0)

/* root/NAME into f->path. */
static const char *at(fx *f, const char *name) {
  snprintf(f->path, sizeof f->path, "%s/%s", f->root, name);
  return f->path;
}

/* The same, into f->path2: for a second path in one call. */
static const char *at2(fx *f, const char *name) {
  snprintf(f->path2, sizeof f->path2, "%s/%s", f->root, name);
  return f->path2;
}

static void assert_absent(fx *f, const char *name) {
  struct stat st;
  if (lstat(at(f, name), &st) == 0)
    fail_msg("%s exists, and should not", f->path);
}

/* Missing directories are created 0700 whatever the umask, and the
 * descriptor names the directory itself. */
static void test_walk_creates(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  char p[200];
  snprintf(p, sizeof p, "%s/a/b", f->root);
  mode_t old = umask(0);
  int rc = dt__qdir_open(p, "img", &f->fd, &err);
  umask(old);
  if (rc != 0)
    fail_msg("open: %d %s", rc, err.msg);
  struct stat a, b;
  assert_int_equal(stat(at(f, "a/b/img"), &a), 0);
  assert_int_equal(fstat(f->fd, &b), 0);
  assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  assert_int_equal(a.st_mode & 07777, 0700);
  assert_int_equal(stat(at(f, "a"), &a), 0);
  assert_int_equal(a.st_mode & 07777, 0700);
}

/* A link of another user on the way is refused, and nothing is created
 * where it points. */
static void test_walk_refuses_foreign_link(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  need_root();
  assert_int_equal(mkdir(at(f, "real"), 0700), 0);
  assert_int_equal(symlink(at(f, "real"), at2(f, "link")), 0);
  assert_int_equal(lchown(at(f, "link"), OTHER, OTHER), 0);
  char p[200];
  snprintf(p, sizeof p, "%s/link/q", f->root);
  int rc = dt__qdir_open(p, NULL, &f->fd, &err);
  assert_int_equal(rc, -EPERM);
  assert_int_equal(f->fd, -1);
  assert_contains(err.msg, "symbolic link of another user (uid 65534)");
  assert_contains(err.msg, at(f, "link"));
  assert_contains(err.msg, "set [queue] path to a directory you own");
  assert_absent(f, "real/q");
  /* The last component as a foreign link is refused too. */
  rc = dt__qdir_open(at(f, "link"), NULL, &f->fd, &err);
  assert_int_equal(rc, -EPERM);
  assert_contains(err.msg, "symbolic link of another user");
}

/* The control: the same link, owned by the user (or root), is followed
 * and what it leads to is checked as any other path. */
static void test_walk_follows_own_link(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  assert_int_equal(mkdir(at(f, "real"), 0700), 0);
  assert_int_equal(symlink("real", at2(f, "link")), 0);
  char p[200];
  snprintf(p, sizeof p, "%s/link/q", f->root);
  int rc = dt__qdir_open(p, NULL, &f->fd, &err);
  if (rc != 0)
    fail_msg("open: %d %s", rc, err.msg);
  struct stat st;
  assert_int_equal(stat(at(f, "real/q"), &st), 0);
  assert_true(S_ISDIR(st.st_mode));
}

/* A queue directory another user made (or owns) is refused with what to
 * do; nothing is created in it. */
static void test_walk_refuses_foreign_dir(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  need_root();
  assert_int_equal(mkdir(at(f, "q"), 0700), 0);
  assert_int_equal(chown(at(f, "q"), OTHER, OTHER), 0);
  int rc = dt__qdir_open(at(f, "q"), "img", &f->fd, &err);
  assert_int_equal(rc, -EPERM);
  assert_contains(err.msg, "belongs to uid 65534");
  assert_contains(err.msg, "rm -rf");
  assert_contains(err.msg, "set [queue] path to a directory you own");
  assert_absent(f, "q/img");
  /* The image's directory of another user, under one of yours. */
  assert_int_equal(chown(at(f, "q"), 0, 0), 0);
  assert_int_equal(mkdir(at(f, "q/img"), 0700), 0);
  assert_int_equal(chown(at(f, "q/img"), OTHER, OTHER), 0);
  rc = dt__qdir_open(at(f, "q"), "img", &f->fd, &err);
  assert_int_equal(rc, -EPERM);
  assert_contains(err.msg, "q/img belongs to uid 65534");
}

/* Group- or world-writable queue directories are refused; above the
 * queue, writable by others is refused unless sticky, and a directory of
 * another user is refused. */
static void test_walk_refuses_open_modes(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  need_root();
  assert_int_equal(mkdir(at(f, "q"), 0700), 0);
  assert_int_equal(chmod(at(f, "q"), 0770), 0);
  int rc = dt__qdir_open(at(f, "q"), NULL, &f->fd, &err);
  assert_int_equal(rc, -EPERM);
  assert_contains(err.msg, "has mode 770");
  assert_contains(err.msg, "chmod 700");
  assert_int_equal(chmod(at(f, "q"), 0700), 0);
  assert_int_equal(chmod(f->root, 0777), 0);
  rc = dt__qdir_open(at(f, "q"), NULL, &f->fd, &err);
  assert_int_equal(rc, -EPERM);
  assert_contains(err.msg, "not sticky");
  assert_int_equal(chmod(f->root, 01777), 0);
  rc = dt__qdir_open(at(f, "q"), NULL, &f->fd, &err);
  assert_int_equal(rc, 0);
  close(f->fd);
  f->fd = -1;
  assert_int_equal(chmod(f->root, 0700), 0);
  assert_int_equal(chown(f->root, OTHER, OTHER), 0);
  rc = dt__qdir_open(at(f, "q"), NULL, &f->fd, &err);
  assert_int_equal(chown(f->root, 0, 0), 0);
  assert_int_equal(rc, -EPERM);
  assert_contains(err.msg, "belongs to another user (uid 65534)");
}

/* A relative path, and an image name that is not one name. */
static void test_walk_refuses_bad_names(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  assert_int_equal(dt__qdir_open("dev/shm/x", NULL, &f->fd, &err), -EINVAL);
  assert_contains(err.msg, "not absolute");
  assert_int_equal(dt__qdir_open(at(f, "q"), "a/b", &f->fd, &err), -EINVAL);
  assert_int_equal(dt__qdir_open(at(f, "q"), "..", &f->fd, &err), -EINVAL);
  /* The image's directory as a link (even one's own) is not followed. */
  assert_int_equal(mkdir(at(f, "q"), 0700), 0);
  assert_int_equal(mkdir(at(f, "elsewhere"), 0700), 0);
  assert_int_equal(symlink(at(f, "elsewhere"), at2(f, "q/img")), 0);
  assert_int_equal(dt__qdir_open(at(f, "q"), "img", &f->fd, &err), -EPERM);
  assert_contains(err.msg, "symbolic link");
}

/* Files: created 0600 (O_EXCL), then found again; a link, another user's
 * file, a file others can write and a directory are refused. */
static void test_openat_checks_files(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  int fd;
  need_root();
  assert_int_equal(dt__qdir_open(at(f, "q"), NULL, &f->fd, &err), 0);
  char dir[100];
  snprintf(dir, sizeof dir, "%s/q", f->root);
  assert_int_equal(
      dt__qdir_openat(f->fd, dir, "made", O_RDWR | O_CREAT, &fd, &err), 0);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  close(fd);
  assert_int_equal(dt__qdir_openat(f->fd, dir, "made", O_RDWR, &fd, &err), 0);
  close(fd);
  /* a link to a file the attacker controls */
  int t = open(at(f, "target"), O_CREAT | O_WRONLY, 0600);
  assert_true(t >= 0);
  close(t);
  assert_int_equal(symlink(at(f, "target"), at2(f, "q/bell")), 0);
  assert_int_equal(
      dt__qdir_openat(f->fd, dir, "bell", O_RDWR | O_CREAT, &fd, &err),
      -ELOOP);
  assert_int_equal(fd, -1);
  assert_contains(err.msg, "bell is a symbolic link");
  assert_contains(err.msg, "rm ");
  /* another user's */
  t = open(at(f, "q/theirs"), O_CREAT | O_WRONLY, 0600);
  assert_true(t >= 0);
  assert_int_equal(fchown(t, OTHER, OTHER), 0);
  close(t);
  assert_int_equal(dt__qdir_openat(f->fd, dir, "theirs", O_RDWR, &fd, &err),
                   -EPERM);
  assert_contains(err.msg, "belongs to another user (uid 65534");
  /* world-writable */
  t = open(at(f, "q/open"), O_CREAT | O_WRONLY, 0600);
  assert_true(t >= 0);
  assert_int_equal(fchmod(t, 0666), 0);
  close(t);
  assert_int_equal(dt__qdir_openat(f->fd, dir, "open", O_RDWR, &fd, &err),
                   -EPERM);
  assert_contains(err.msg, "writable by others (uid 0, mode 666)");
  assert_contains(err.msg, "rm -f");
  /* not a regular file */
  assert_int_equal(mkdir(at(f, "q/adir"), 0700), 0);
  assert_true(dt__qdir_openat(f->fd, dir, "adir", O_RDONLY, &fd, &err) < 0);
}

/* dt__queue_open refuses a link in place of each LMDB file and a data
 * file others can write; the fix the message names works. */
static void test_queue_open_refuses_planted_files(void **state) {
  fx *f = *state;
  dt__error err = {0, 0, ""};
  const char *names[] = {"data.mdb", "lock.mdb", "bell"};
  assert_int_equal(mkdir(at(f, "q"), 0700), 0);
  int t = open(at(f, "target"), O_CREAT | O_WRONLY, 0666);
  assert_true(t >= 0);
  close(t);
  for (size_t i = 0; i < 3; i++) {
    char link[200];
    snprintf(link, sizeof link, "%s/q/%s", f->root, names[i]);
    unlink(link); /* the bell an earlier open made */
    assert_int_equal(symlink(at(f, "target"), link), 0);
    int rc = dt__queue_open(f->cfg, &f->q, &err);
    assert_int_equal(rc, -ELOOP);
    assert_null(f->q);
    assert_contains(err.msg, names[i]);
    assert_contains(err.msg, "symbolic link");
    assert_int_equal(unlink(link), 0);
  }
  struct stat st;
  assert_int_equal(stat(at(f, "target"), &st), 0);
  assert_int_equal(st.st_size, 0); /* nothing was written through a link */
  /* a data file others can write */
  t = open(at(f, "q/data.mdb"), O_CREAT | O_WRONLY, 0600);
  assert_true(t >= 0);
  assert_int_equal(fchmod(t, 0666), 0);
  close(t);
  assert_int_equal(dt__queue_open(f->cfg, &f->q, &err), -EPERM);
  assert_contains(err.msg, "data.mdb is writable by others");
  assert_int_equal(unlink(at(f, "q/data.mdb")), 0);
  int rc = dt__queue_open(f->cfg, &f->q, &err);
  if (rc != 0)
    fail_msg("open after the fix: %d %s", rc, err.msg);
  assert_int_equal(stat(at(f, "q/data.mdb"), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  /* The queue's own files are opened through its directory too. */
  int fd;
  assert_int_equal(dt__queue_open_file(f->q, "runner.lock", O_RDWR | O_CREAT,
                                       &fd, &err),
                   0);
  close(fd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
      T(test_walk_creates),
      T(test_walk_refuses_foreign_link),
      T(test_walk_follows_own_link),
      T(test_walk_refuses_foreign_dir),
      T(test_walk_refuses_open_modes),
      T(test_walk_refuses_bad_names),
      T(test_openat_checks_files),
      T(test_queue_open_refuses_planted_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
