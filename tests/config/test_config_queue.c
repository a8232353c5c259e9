/* test_config_queue.c: unit tests of the config reader's [queue] and
 * [runner] sections (config.c): the number of workers, the backend, the
 * Redis keys (url, password_file and name, and a password refused in a
 * config that others may read), the queue's path, map_size,
 * max_call_size, arena and idle_exit, with every error message at its
 * exact line and column (tests/config/configfx.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "config/config.h"
#include "config/sig.h"
#include "config/types.h"
#include "testutil.h"
#include "configfx.h"

/* ---------------------------------------------------- [queue] [runner] */

static void test_err_workers_range(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[runner]\nworkers = 0\n", 2, 11,
                   "'workers' in [runner] is 0; it must be between 1 and "
                   "1024");
  assert_cfg_error("[runner]\nworkers = 1025\n", 2, 11,
                   "'workers' in [runner] is 1025; it must be between 1 and "
                   "1024");
  assert_cfg_error("[runner]\nworkers = -3\n", 2, 11, "is -3");
}

static void test_err_backend(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[queue]\nbackend = \"redis-streams\"\n", 2, 11,
                   "queue backend \"redis-streams\" is not built; dtask has "
                   "\"lmdb\"");
  assert_contains(err.msg, "and \"redis\"");
  assert_contains(err.msg,
                  "write backend = \"lmdb\" or backend = \"redis\"");
  assert_cfg_error("[queue]\nbackend = \"LMDB\"\n", 2, 11,
                   "queue backend \"LMDB\" is not built");
  assert_cfg_error("[queue]\nbackend = \"Redis\"\n", 2, 11,
                   "queue backend \"Redis\" is not built");
}

/* ------------------------------------------------ [queue] for redis */

static void test_redis_keys(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  parse_ok("[queue]\nbackend = \"redis\"\n"
           "url = \"redis://10.1.2.3:6380/2\"\n"
           "password_file = \"~/.config/dtask/redis.pass\"\n"
           "name = \"reports.v2_A-1\"\n",
           &cfg);
  assert_string_equal(cfg->backend, "redis");
  assert_string_equal(cfg->url, "redis://10.1.2.3:6380/2");
  assert_string_equal(cfg->redis.host, "10.1.2.3");
  assert_int_equal(cfg->redis.port, 6380);
  assert_int_equal(cfg->redis.db, 2);
  assert_string_equal(cfg->redis.pass, "");
  assert_string_equal(cfg->password_file,
                      "/home/tester/.config/dtask/redis.pass");
  assert_string_equal(cfg->queue_name, "reports.v2_A-1");
  /* The lmdb keys keep their defaults beside them. */
  assert_string_equal(cfg->queue_path, "/dev/shm/dtask-tester/default");
  dt__config_free(cfg);

  /* url alone: no password file, the name derived later from path. */
  parse_ok("[queue]\nurl = \"unix:///run/redis/redis.sock?db=1\"\n"
           "backend = \"redis\"\n",
           &cfg);
  assert_string_equal(cfg->redis.path, "/run/redis/redis.sock");
  assert_int_equal(cfg->redis.db, 1);
  assert_string_equal(cfg->password_file, "");
  assert_string_equal(cfg->queue_name, "");
  dt__config_free(cfg);

  /* 64 characters is the longest name. */
  char text[256];
  snprintf(text, sizeof text,
           "[queue]\nbackend = \"redis\"\nurl = \"redis://h\"\n"
           "name = \"%.64s\"\n",
           "0123456789012345678901234567890123456789012345678901234567890123"
           "4");
  parse_ok(text, &cfg);
  assert_int_equal(strlen(cfg->queue_name), 64);
  dt__config_free(cfg);

  /* A password in the url of text that comes from no file. */
  const char *t = "[queue]\nbackend = \"redis\"\n"
                  "url = \"redis://:pw@h\"\n";
  dt__error err;
  cfg = NULL;
  assert_int_equal(dt__config_parse(t, strlen(t), NULL, &cfg, &err), 0);
  assert_string_equal(cfg->redis.pass, "pw");
  dt__config_free(cfg);
}

static void test_err_redis_keys(void **state) {
  (void)state;
  dt__error err;
  /*                          12345678901 */
  assert_cfg_error("[queue]\nbackend = \"redis\"\n", 2, 11,
                   "backend = \"redis\" needs the server's address: add "
                   "url = \"redis://127.0.0.1:6379/0\" or url = "
                   "\"unix:///run/redis/redis.sock\" to [queue]");
  assert_cfg_error("[queue]\nbackend = \"redis\"\nurl = 6379\n", 3, 7,
                   "'url' in [queue] must be a string");
  /* url's own refusals, located at its value. */
  assert_cfg_error("[queue]\nbackend = \"redis\"\n"
                   "url = \"redis://h:70000\"\n",
                   3, 7,
                   "'url' in [queue]: the port in url must be a number "
                   "from 1 to 65535");
  assert_cfg_error("[queue]\nbackend = \"redis\"\nurl = \"tcp://h\"\n", 3, 7,
                   "write url = \"redis://127.0.0.1:6379/0\" or url = "
                   "\"unix:///run/redis/redis.sock\"");
  char text[1200];
  snprintf(text, sizeof text,
           "[queue]\nbackend = \"redis\"\nurl = \"unix:///%01030d\"\n", 0);
  assert_cfg_error(text, 3, 7, "url is longer than 1023 bytes");

  /* The redis keys with the lmdb backend, said or by default. */
  assert_cfg_error("[queue]\nurl = \"redis://h\"\n", 2, 1,
                   "'url' in [queue] applies only with backend = "
                   "\"redis\" (the backend is \"lmdb\"); add backend = "
                   "\"redis\" or remove url");
  assert_cfg_error("[queue]\nbackend = \"lmdb\"\n  password_file = \"/p\"\n",
                   3, 3, "'password_file' in [queue] applies only with "
                         "backend = \"redis\"");
  assert_cfg_error("[queue]\nname = \"q\"\nbackend = \"lmdb\"\n", 2, 1,
                   "'name' in [queue] applies only with backend = "
                   "\"redis\"");

  /* password_file: a string, expanded, absolute; not with a url
   * password. */
  const char *head = "[queue]\nbackend = \"redis\"\nurl = \"redis://h\"\n";
  snprintf(text, sizeof text, "%spassword_file = 1\n", head);
  assert_cfg_error(text, 4, 17, "'password_file' in [queue] must be a "
                                "string");
  snprintf(text, sizeof text, "%spassword_file = \"redis.pass\"\n", head);
  assert_cfg_error(text, 4, 17, "password_file \"redis.pass\" must be "
                                "absolute");
  snprintf(text, sizeof text, "%spassword_file = \"$DTASK_TEST_NOPE/p\"\n",
           head);
  assert_cfg_error(text, 4, 17, "'password_file' in [queue]: variable "
                                "$DTASK_TEST_NOPE");
  assert_cfg_error("[queue]\nbackend = \"redis\"\n"
                   "url = \"redis://:pw@h\"\npassword_file = \"/p\"\n",
                   4, 1,
                   "url carries a password and password_file is given "
                   "too; keep one");

  /* name: 1 to 64 of [A-Za-z0-9._-]. */
  snprintf(text, sizeof text, "%sname = \"\"\n", head);
  assert_cfg_error(text, 4, 8, "queue name \"\" must be 1 to 64 letters, "
                               "digits, '.', '_' or '-'");
  assert_contains(err.msg, "remove name to derive it from path");
  snprintf(text, sizeof text, "%sname = \"a/b\"\n", head);
  assert_cfg_error(text, 4, 8, "queue name \"a/b\" must be 1 to 64");
  snprintf(text, sizeof text, "%sname = \"a b\"\n", head);
  assert_cfg_error(text, 4, 8, "must be 1 to 64");
  snprintf(text, sizeof text, "%sname = \"caf\u00e9\"\n", head);
  assert_cfg_error(text, 4, 8, "must be 1 to 64");
  snprintf(text, sizeof text, "%sname = \"%065d\"\n", head, 0);
  assert_cfg_error(text, 4, 8, "must be 1 to 64");
  snprintf(text, sizeof text, "%sname = 7\n", head);
  assert_cfg_error(text, 4, 8, "'name' in [queue] must be a string");
}

/* A url with a password is refused in a config file that group or
 * others may read, and taken once the file is 0600. */
static void test_redis_password_config_mode(void **state) {
  (void)state;
  char dir[] = "/tmp/dtask-config-test-XXXXXX";
  char path[PATH_MAX], want[PATH_MAX + 64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/dtask.toml", dir);
  const char *text = "[queue]\nbackend = \"redis\"\n"
                     "url = \"redis://alice:s3cret@h:6379/1\"\n";
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);

  static const mode_t refused[] = {0644, 0640, 0604, 0660, 0444};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    dt__config *cfg = (dt__config *)1;
    dt__error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(chmod(path, refused[i]), 0);
    assert_int_equal(dt__config_load(path, &cfg, &err), -EINVAL);
    assert_null(cfg);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 7);
    snprintf(want, sizeof want, "is readable by group or others (mode %04o)",
             (unsigned)refused[i]);
    assert_contains(err.msg, want);
    snprintf(want, sizeof want, "run chmod 600 %s", path);
    assert_contains(err.msg, want);
    assert_contains(err.msg, "password_file = ");
    assert_null(strstr(err.msg, "s3cret"));
  }

  static const mode_t taken[] = {0600, 0400, 0620, 0602, 0700};
  for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
    dt__config *cfg = NULL;
    dt__error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(chmod(path, taken[i]), 0);
    int rc = dt__config_load(path, &cfg, &err);
    if (rc != 0)
      fail_msg("mode %04o refused: %d:%d: %s", (unsigned)taken[i], err.line,
               err.col, err.msg);
    assert_string_equal(cfg->redis.user, "alice");
    assert_string_equal(cfg->redis.pass, "s3cret");
    assert_int_equal(cfg->redis.db, 1);
    dt__config_free(cfg);
  }

  /* A path that names no file cannot be checked: refused. */
  dt__config *cfg = (dt__config *)1;
  dt__error err;
  memset(&err, 0, sizeof err);
  char gone[PATH_MAX];
  snprintf(gone, sizeof gone, "%s/gone.toml", dir);
  assert_int_equal(dt__config_parse(text, strlen(text), gone, &cfg, &err),
                   -EINVAL);
  assert_null(cfg);
  assert_contains(err.msg, "cannot be checked for who may read it");
  assert_contains(err.msg, "password_file = ");

  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
}

static void test_err_queue_path(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[queue]\npath = \"queues/default\"\n", 2, 8,
                   "queue path \"queues/default\" must be absolute");
  assert_contains(err.msg, "write for example "
                           "\"/dev/shm/dtask-$USER/queues/default\"");
  assert_cfg_error("[queue]\npath = \"\"\n", 2, 8, "must be absolute");
  assert_cfg_error("[queue]\npath = \"/dev/shm/$DTASK_TEST_NOPE/q\"\n", 2, 8,
                   "'path' in [queue]: variable $DTASK_TEST_NOPE in "
                   "\"/dev/shm/$DTASK_TEST_NOPE/q\" is not set");
  assert_cfg_error("[queue]\npath = \"/dev/shm/${USER\"\n", 2, 8,
                   "'path' in [queue]: malformed variable");
}

static void test_err_map_size(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[queue]\nmap_size = \"512KiB\"\n", 2, 12,
                   "map_size is 524288 bytes; the queue needs at least 1MiB");
  assert_cfg_error("[queue]\nmap_size = 4096\n", 2, 12,
                   "map_size is 4096 bytes; the queue needs at least 1MiB");
  assert_cfg_error("[queue]\nmap_size = 1048575\n", 2, 12,
                   "map_size is 1048575 bytes");
  assert_cfg_error("[queue]\nmap_size = 0\n", 2, 12, "map_size is 0 bytes");
  assert_cfg_error("[queue]\nmap_size = -5\n", 2, 12,
                   "map_size must be positive");
  assert_cfg_error("[queue]\nmap_size = \"1 gigabyte\"\n", 2, 12,
                   "'map_size' in [queue]: size \"1 gigabyte\" has an "
                   "unknown unit \"gigabyte\"");
  assert_cfg_error("[queue]\nmap_size = \"big\"\n", 2, 12,
                   "'map_size' in [queue]: size \"big\" must start with a "
                   "whole number");
  assert_cfg_error("[queue]\nmap_size = \"99999999999999999999\"\n", 2, 12,
                   "is too large");
}

/* [queue] max_call_size: its default follows map_size (a quarter, kept
 * between 4 KiB and 2 GiB), an explicit value is checked. */
static void test_max_call_size(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  dt__error err = {0, 0, ""};
  const char *t1 = "[queue]\nmap_size = \"4MiB\"\n";
  assert_int_equal(dt__config_parse(t1, strlen(t1), "t", &cfg, &err), 0);
  assert_true(cfg->max_call_size == MiB);
  dt__config_free(cfg);
  const char *t2 = "[queue]\nmap_size = \"64MiB\"\nmax_call_size = \"1MiB\"\n";
  assert_int_equal(dt__config_parse(t2, strlen(t2), "t", &cfg, &err), 0);
  assert_true(cfg->max_call_size == MiB);
  dt__config_free(cfg);
  assert_true(dt__config_call_default(MiB) == 256 * 1024);
  assert_true(dt__config_call_default(4096) == 4096);
  assert_true(dt__config_call_default(1ull << 40) == 2 * GiB);
  assert_cfg_error("[queue]\nmax_call_size = \"1KiB\"\n", 2, 17,
                   "max_call_size is 1024 bytes; a call needs at least 4KiB");
  assert_cfg_error("[queue]\nmap_size = \"4MiB\"\nmax_call_size = \"2MiB\"\n",
                   3, 17,
                   "max_call_size is 2097152 bytes, more than a quarter of "
                   "map_size (1048576 bytes)");
  assert_cfg_error("[queue]\nmax_call_size = -1\n", 2, 17,
                   "max_call_size must be positive");
}

/* [queue] arena: true by default, false turns the callers' arenas off;
 * a boolean, and only with backend = "lmdb". */
static void test_arena(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  dt__error err = {0, 0, ""};
  const char *t1 = "[queue]\nmap_size = \"4MiB\"\n";
  assert_int_equal(dt__config_parse(t1, strlen(t1), "t", &cfg, &err), 0);
  assert_int_equal(cfg->arena, 1);
  dt__config_free(cfg);
  const char *t2 = "[queue]\narena = false\n";
  assert_int_equal(dt__config_parse(t2, strlen(t2), "t", &cfg, &err), 0);
  assert_int_equal(cfg->arena, 0);
  dt__config_free(cfg);
  assert_cfg_error("[queue]\narena = \"no\"\n", 2, 9, "arena = false");
  assert_cfg_error("[queue]\nbackend = \"redis\"\nurl = \"redis://h\"\n"
                   "arena = true\n",
                   4, 1,
                   "'arena' in [queue] applies only with backend = "
                   "\"lmdb\"");
}

static void test_err_idle_exit(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[runner]\nidle_exit = \"30\"\n", 2, 13,
                   "'idle_exit' in [runner]: duration \"30\" has no unit; "
                   "write for example \"30s\" or \"30ms\"");
  assert_cfg_error("[runner]\nidle_exit = \"10 years\"\n", 2, 13,
                   "duration \"10 years\" has an unknown unit \"years\"");
  assert_cfg_error("[runner]\n\n  idle_exit   =   \"soon\"\n", 3, 19,
                   "must start with a whole number");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_err_workers_range),
      cmocka_unit_test(test_err_backend),
      cmocka_unit_test(test_redis_keys),
      cmocka_unit_test(test_err_redis_keys),
      cmocka_unit_test(test_redis_password_config_mode),
      cmocka_unit_test(test_err_queue_path),
      cmocka_unit_test(test_err_map_size),
      cmocka_unit_test(test_arena),
      cmocka_unit_test(test_max_call_size),
      cmocka_unit_test(test_err_idle_exit),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
