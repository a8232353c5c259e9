/* test_config.c: unit tests of the config reader (config.c): the
 * defaults, every key at once, unknown keys, values of the wrong kind,
 * and loading a file.
 *
 * Snippets of TOML go through dt__config_parse; every key of every
 * section, the defaults, and every error message with its exact line and
 * column.  dt__config_load reads temporary files, and
 * dt__config_default_path is checked with DTASK_CONFIG set and unset.
 * Each section's own keys: test_config_queue.c ([queue] and [runner]) and
 * test_config_offload.c ([types] and [[offload]]); the environment all
 * three run in: configfx.h. */
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
#include <unistd.h>

#include "common/common.h"
#include "config/config.h"
#include "config/sig.h"
#include "config/types.h"
#include "testutil.h"
#include "configfx.h"

/* -------------------------------------------------------- defaults */

static void check_defaults(const dt__config *cfg) {
  assert_string_equal(cfg->backend, "lmdb");
  assert_string_equal(cfg->queue_path, "/dev/shm/dtask-tester/default");
  assert_true(cfg->map_size == GiB);
  assert_true(cfg->max_call_size == GiB / 4);
  assert_int_equal(cfg->workers, 4);
  assert_int_equal(cfg->autostart, 1);
  assert_true(cfg->idle_exit_ns == 30 * SEC);
  assert_int_equal(cfg->strict, 0);
  assert_int_equal(cfg->ntypes, 0);
  assert_int_equal(cfg->noffloads, 0);
  assert_string_equal(cfg->url, "");
  assert_string_equal(cfg->redis.host, "");
  assert_int_equal(cfg->redis.port, 0);
  assert_string_equal(cfg->password_file, "");
  assert_string_equal(cfg->queue_name, "");
}

static void test_defaults_empty(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  parse_ok("", &cfg);
  check_defaults(cfg);
  assert_string_equal(cfg->path, "test.toml");
  dt__config_free(cfg);

  dt__error err;
  cfg = NULL;
  assert_int_equal(dt__config_parse("", 0, NULL, &cfg, &err), 0);
  assert_string_equal(cfg->path, "<embedded>");
  check_defaults(cfg);
  dt__config_free(cfg);
}

static void test_defaults_empty_sections(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  parse_ok("# nothing but comments and empty sections\n"
           "[queue]\n[runner]\n[shim]\n[types]\n",
           &cfg);
  check_defaults(cfg);
  dt__config_free(cfg);
}

static void test_defaults_follow_user(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  setenv("USER", "someone_else", 1);
  parse_ok("", &cfg);
  setenv("USER", "tester", 1);
  assert_string_equal(cfg->queue_path, "/dev/shm/dtask-someone_else/default");
  dt__config_free(cfg);
}

static void test_config_free_null(void **state) {
  (void)state;
  dt__config_free(NULL);
}

/* -------------------------------------------------------- every key */

static const char full_config[] =
    "# every key\n"                                                 /* 1 */
    "[queue]\n"                                                     /* 2 */
    "backend = \"lmdb\"\n"                                          /* 3 */
    "path = \"/dev/shm/dtask-$USER/test-${UID}\"\n"                 /* 4 */
    "map_size = \"64MiB\"\n"                                        /* 5 */
    "\n"                                                            /* 6 */
    "[runner]\n"                                                    /* 7 */
    "workers = 8\n"                                                 /* 8 */
    "autostart = false\n"                                           /* 9 */
    "idle_exit = \"500ms\"\n"                                       /* 10 */
    "\n"                                                            /* 11 */
    "[shim]\n"                                                      /* 12 */
    "strict = true\n"                                               /* 13 */
    "\n"                                                            /* 14 */
    "[types]\n"                                                     /* 15 */
    "report = { size = 32, align = 8 }\n"                           /* 16 */
    "point = { size = 12, align = 4 }\n"                            /* 17 */
    "\n"                                                            /* 18 */
    "[[offload]]\n"                                                 /* 19 */
    "symbol = \"build_report\"\n"                                   /* 20 */
    "signature = \"int build_report(cstring period, out report r[1])\"\n"
    "version = \"REPORT_1.0\"\n"                                    /* 22 */
    "library = \"libreport.so\"\n"                                  /* 23 */
    "required = true\n"                                             /* 24 */
    "\n"                                                            /* 25 */
    "[[offload]]\n"                                                 /* 26 */
    "signature = \"ulong crc32(ulong crc, in uint8 buf[len], uint len)\"\n"
    "required = false\n"                                            /* 28 */
    "\n"                                                            /* 29 */
    "[[offload]]\n"                                                 /* 30 */
    "signature = \"double centroid(in point pts[n], size_t n)\"\n"; /* 31 */

static void test_every_key(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  char want[128];
  parse_ok(full_config, &cfg);
  assert_string_equal(cfg->backend, "lmdb");
  snprintf(want, sizeof want, "/dev/shm/dtask-tester/test-%u",
           (unsigned)getuid());
  assert_string_equal(cfg->queue_path, want);
  assert_true(cfg->map_size == 64 * MiB);
  assert_int_equal(cfg->workers, 8);
  assert_int_equal(cfg->autostart, 0);
  assert_true(cfg->idle_exit_ns == 500000000ull);
  assert_int_equal(cfg->strict, 1);

  assert_int_equal(cfg->ntypes, 2);
  assert_string_equal(cfg->types[0].name, "report");
  assert_int_equal(cfg->types[0].size, 32);
  assert_int_equal(cfg->types[0].align, 8);
  assert_int_equal(cfg->types[0].line, 16);
  assert_string_equal(cfg->types[1].name, "point");
  assert_int_equal(cfg->types[1].size, 12);
  assert_int_equal(cfg->types[1].align, 4);
  assert_int_equal(cfg->types[1].line, 17);

  assert_int_equal(cfg->noffloads, 3);
  const dt__offload *o = &cfg->offloads[0];
  assert_string_equal(o->symbol, "build_report");
  assert_string_equal(o->version, "REPORT_1.0");
  assert_string_equal(o->library, "libreport.so");
  assert_int_equal(o->required, 1);
  assert_int_equal(o->line, 19);
  assert_string_equal(o->sig.name, "build_report");
  assert_int_equal(o->sig.nparams, 2);
  assert_int_equal(o->sig.params[0].type.tag, DT__T_CSTRING);
  assert_int_equal(o->sig.params[1].type.tag, DT__T_USER);
  assert_ptr_equal(o->sig.params[1].type.utype, &cfg->types[0]);
  assert_int_equal(o->sig.params[1].type.size, 32);
  assert_int_equal(o->sig.params[1].dir, DT__DIR_OUT);

  o = &cfg->offloads[1];
  assert_string_equal(o->symbol, "crc32"); /* from the signature */
  assert_string_equal(o->version, "");
  assert_string_equal(o->library, "");
  assert_int_equal(o->required, 0);
  assert_int_equal(o->line, 26);
  assert_int_equal(o->sig.nparams, 3);
  assert_int_equal(o->sig.params[1].len.nfactors, 1);
  assert_int_equal(o->sig.params[1].len.factors[0], 2);

  o = &cfg->offloads[2];
  assert_string_equal(o->symbol, "centroid");
  assert_int_equal(o->line, 30);
  assert_ptr_equal(o->sig.params[0].type.utype, &cfg->types[1]);
  assert_int_equal(o->sig.ret.tag, DT__T_DOUBLE);
  dt__config_free(cfg);
}

static void test_values_and_forms(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  parse_ok("[queue]\n"
           "path = \"~/queues/q\"\n"
           "map_size = 1048576\n"
           "[runner]\n"
           "workers = 1\n"
           "autostart = true\n"
           "idle_exit = \"0\"\n"
           "[shim]\n"
           "strict = false\n",
           &cfg);
  assert_string_equal(cfg->queue_path, "/home/tester/queues/q");
  assert_true(cfg->map_size == MiB);
  assert_int_equal(cfg->workers, 1);
  assert_int_equal(cfg->autostart, 1);
  assert_true(cfg->idle_exit_ns == 0);
  assert_int_equal(cfg->strict, 0);
  dt__config_free(cfg);

  cfg = NULL;
  parse_ok("[queue]\n"
           "map_size = \"1 GB\"\n"
           "[runner]\n"
           "workers = 1024\n"
           "idle_exit = \"5m\"\n",
           &cfg);
  assert_true(cfg->map_size == GiB);
  assert_int_equal(cfg->workers, 1024);
  assert_true(cfg->idle_exit_ns == 300 * SEC);
  dt__config_free(cfg);

  /* Dotted keys and a [types.NAME] header work like the inline forms. */
  cfg = NULL;
  parse_ok("runner.workers = 2\n"
           "queue.map_size = \"2MiB\"\n"
           "[types.report]\n"
           "size = 40\n"
           "align = 8\n",
           &cfg);
  assert_int_equal(cfg->workers, 2);
  assert_true(cfg->map_size == 2 * MiB);
  assert_int_equal(cfg->ntypes, 1);
  assert_string_equal(cfg->types[0].name, "report");
  assert_int_equal(cfg->types[0].size, 40);
  assert_int_equal(cfg->types[0].line, 3);
  dt__config_free(cfg);
}

static void test_types_before_offload_whatever_the_order(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  parse_ok("[[offload]]\n"
           "signature = \"int build_report(cstring period, out report "
           "r[1])\"\n"
           "\n"
           "[types]\n"
           "report = { size = 32, align = 8 }\n",
           &cfg);
  assert_int_equal(cfg->noffloads, 1);
  assert_string_equal(cfg->offloads[0].symbol, "build_report");
  assert_ptr_equal(cfg->offloads[0].sig.params[1].type.utype, &cfg->types[0]);
  dt__config_free(cfg);
}

static void test_offload_inline_array_and_versions(void **state) {
  (void)state;
  dt__config *cfg = NULL;
  /* The same symbol twice is fine with two different versions. */
  parse_ok("offload = [\n"
           "  { signature = \"int f(int a)\", version = \"V_1\" },\n"
           "  { signature = \"int f(int a)\", version = \"V_2\" },\n"
           "  { signature = \"int f(int a)\" },\n"
           "]\n",
           &cfg);
  assert_int_equal(cfg->noffloads, 3);
  assert_string_equal(cfg->offloads[0].version, "V_1");
  assert_string_equal(cfg->offloads[1].version, "V_2");
  assert_string_equal(cfg->offloads[2].version, "");
  assert_int_equal(cfg->offloads[1].line, 3);
  for (int i = 0; i < 3; i++)
    assert_string_equal(cfg->offloads[i].symbol, "f");
  dt__config_free(cfg);
}

/* ----------------------------------------------------- unknown keys */

static void test_err_unknown_top_level(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[runer]\nworkers = 4\n", 1, 2,
                   "unknown key 'runer' in the top level; did you mean "
                   "'runner'?");
  assert_cfg_error("# a comment\n\n[ofload]\n", 3, 2,
                   "unknown key 'ofload' in the top level; did you mean "
                   "'offload'?");
  assert_cfg_error("[[offloads]]\nsignature = \"int f()\"\n", 1, 3,
                   "did you mean 'offload'?");
  assert_cfg_error("[database]\n", 1, 2,
                   "unknown key 'database' in the top level; the keys are: "
                   "queue, runner, types, offload, shim");
  assert_cfg_error("workers = 4\n", 1, 1,
                   "unknown key 'workers' in the top level");
}

static void test_err_unknown_key_in_sections(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[queue]\nbakend = \"lmdb\"\n", 2, 1,
                   "unknown key 'bakend' in [queue]; did you mean "
                   "'backend'?");
  assert_cfg_error("[queue]\nsize = \"1GiB\"\n", 2, 1,
                   "unknown key 'size' in [queue]; the keys are: backend, "
                   "path, map_size, max_call_size, arena, url, "
                   "password_file, name");
  assert_cfg_error("[queue]\nbackend = \"redis\"\nurll = \"redis://h\"\n", 3,
                   1, "unknown key 'urll' in [queue]; did you mean 'url'?");
  assert_cfg_error("[queue]\npasword_file = \"/p\"\n", 2, 1,
                   "unknown key 'pasword_file' in [queue]; did you mean "
                   "'password_file'?");
  assert_cfg_error("[runner]\n  worker = 4\n", 2, 3,
                   "unknown key 'worker' in [runner]; did you mean "
                   "'workers'?");
  assert_cfg_error("[runner]\nthreads = 4\n", 2, 1,
                   "the keys are: workers, autostart, idle_exit");
  assert_cfg_error("[shim]\nstrikt = true\n", 2, 1,
                   "unknown key 'strikt' in [shim]; did you mean 'strict'?");
  /*                         1234567890123456789012345 */
  assert_cfg_error("[types]\nreport = { size = 32, alignment = 8 }\n", 2, 23,
                   "unknown key 'alignment' in [types] report; the keys "
                   "are: size, align");
  assert_cfg_error("[types]\nreport = { size = 32, algn = 8 }\n", 2, 23,
                   "unknown key 'algn' in [types] report; did you mean "
                   "'align'?");
  assert_cfg_error("[[offload]]\nsignatur = \"int f()\"\n", 2, 1,
                   "unknown key 'signatur' in [[offload]] #1; did you mean "
                   "'signature'?");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\n"
                   "[[offload]]\nsignature = \"int g()\"\nlib = \"x.so\"\n",
                   5, 1, "unknown key 'lib' in [[offload]] #2");
}

/* ------------------------------------------------------ wrong kinds */

static void test_err_wrong_kinds(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[runner]\nworkers = \"4\"\n", 2, 11,
                   "'workers' in [runner] must be an integer, not a string; "
                   "write for example: workers = 4");
  assert_cfg_error("[runner]\nworkers = [4]\n", 2, 11,
                   "must be an integer, not an array");
  assert_cfg_error("[runner]\nworkers = 4.0\n", 2, 11,
                   "must be an integer, not a float");
  assert_cfg_error("[runner]\nautostart = 1\n", 2, 13,
                   "'autostart' in [runner] must be a boolean, not an "
                   "integer; write for example: autostart = true");
  assert_cfg_error("[runner]\nidle_exit = 30\n", 2, 13,
                   "'idle_exit' in [runner] must be a string, not an "
                   "integer; write for example: idle_exit = \"30s\"");
  assert_cfg_error("[shim]\nstrict = \"yes\"\n", 2, 10,
                   "'strict' in [shim] must be a boolean, not a string; "
                   "write for example: strict = true");
  assert_cfg_error("[queue]\nbackend = 1\n", 2, 11,
                   "'backend' in [queue] must be a string, not an integer");
  assert_cfg_error("[queue]\npath = true\n", 2, 8,
                   "'path' in [queue] must be a string, not a boolean");
  assert_cfg_error("[queue]\nmap_size = 1.5\n", 2, 12,
                   "'map_size' in [queue] must be a string, not a float");
  assert_cfg_error("[queue]\nmap_size = { x = 1 }\n", 2, 12,
                   "must be a string, not a table");
}

static void test_err_sections_not_tables(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("queue = 5\n", 1, 1,
                   "'queue' must be a table: write [queue] on a line of its "
                   "own, then its keys");
  assert_cfg_error("\nrunner = \"x\"\n", 2, 1, "'runner' must be a table");
  assert_cfg_error("shim = true\n", 1, 1, "'shim' must be a table");
  assert_cfg_error("types = [1]\n", 1, 1, "'types' must be a table");
}

static void test_err_toml_syntax_passes_through(void **state) {
  (void)state;
  dt__error err;
  dt__config *cfg = (dt__config *)1;
  const char *text = "[runner]\nworkers = \n";
  memset(&err, 0, sizeof err);
  assert_int_equal(dt__config_parse(text, strlen(text), "t", &cfg, &err),
                   -EINVAL);
  assert_null(cfg);
  assert_int_equal(err.line, 2);
  assert_true(err.col > 0);
  assert_true(err.msg[0] != '\0');
}

/* -------------------------------------------------- load and default */

static void write_file(const char *path, const char *text, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static void test_load_missing(void **state) {
  (void)state;
  dt__config *cfg = (dt__config *)1;
  dt__error err;
  memset(&err, 0, sizeof err);
  assert_int_equal(
      dt__config_load("/nonexistent-dtask-dir/dtask.toml", &cfg, &err),
      -ENOENT);
  assert_null(cfg);
  assert_int_equal(err.line, 0);
  assert_string_equal(err.msg,
                      "cannot open the config: No such file or directory");
}

static void test_load_file(void **state) {
  (void)state;
  char dir[] = "/tmp/dtask-config-test-XXXXXX";
  char path[PATH_MAX];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/dtask.toml", dir);
  const char *text = "[runner]\nworkers = 2\n\n[[offload]]\n"
                     "signature = \"ulong crc32(ulong crc, in uint8 "
                     "buf[len], uint len)\"\n";
  write_file(path, text, strlen(text));

  dt__config *cfg = NULL;
  dt__error err;
  memset(&err, 0, sizeof err);
  int rc = dt__config_load(path, &cfg, &err);
  if (rc != 0)
    fail_msg("load failed: %d:%d: %s", err.line, err.col, err.msg);
  assert_string_equal(cfg->path, path);
  assert_int_equal(cfg->workers, 2);
  assert_int_equal(cfg->noffloads, 1);
  assert_string_equal(cfg->offloads[0].symbol, "crc32");
  assert_int_equal(cfg->offloads[0].line, 4);
  dt__config_free(cfg);

  /* An error in the file keeps its line and column. */
  text = "# dtask\n[runner]\nworkers = 0\n";
  write_file(path, text, strlen(text));
  cfg = (dt__config *)1;
  assert_int_equal(dt__config_load(path, &cfg, &err), -EINVAL);
  assert_null(cfg);
  assert_int_equal(err.line, 3);
  assert_int_equal(err.col, 11);
  assert_contains(err.msg, "'workers' in [runner] is 0");

  /* A directory opens but cannot be read. */
  cfg = (dt__config *)1;
  assert_int_equal(dt__config_load(dir, &cfg, &err), -EIO);
  assert_null(cfg);
  assert_string_equal(err.msg, "cannot read the config");

  /* More than 4 MiB is refused before parsing. */
  size_t big = (4u << 20) + 1;
  char *buf = malloc(big);
  assert_non_null(buf);
  memset(buf, '\n', big);
  buf[0] = '#';
  write_file(path, buf, big);
  free(buf);
  cfg = (dt__config *)1;
  assert_int_equal(dt__config_load(path, &cfg, &err), -EINVAL);
  assert_null(cfg);
  assert_contains(err.msg, "the config is larger than 4 MiB");

  /* Exactly 4 MiB of comments and blank lines is fine. */
  buf = malloc(big - 1);
  assert_non_null(buf);
  memset(buf, '\n', big - 1);
  buf[0] = '#';
  write_file(path, buf, big - 1);
  free(buf);
  cfg = NULL;
  assert_int_equal(dt__config_load(path, &cfg, &err), 0);
  check_defaults(cfg);
  dt__config_free(cfg);

  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
}

static void test_default_path(void **state) {
  saved_env *s = *state;
  char dir[] = "/tmp/dtask-config-cwd-XXXXXX";
  char path[PATH_MAX];
  assert_non_null(mkdtemp(dir));
  assert_int_equal(chdir(dir), 0);

  setenv("DTASK_CONFIG", "/etc/dtask/special.toml", 1);
  assert_string_equal(dt__config_default_path(), "/etc/dtask/special.toml");

  unsetenv("DTASK_CONFIG");
  assert_null(dt__config_default_path());
  setenv("DTASK_CONFIG", "", 1);
  assert_null(dt__config_default_path());

  snprintf(path, sizeof path, "%s/dtask.toml", dir);
  write_file(path, "", 0);
  assert_string_equal(dt__config_default_path(), "dtask.toml");
  unsetenv("DTASK_CONFIG");
  assert_string_equal(dt__config_default_path(), "dtask.toml");
  /* DTASK_CONFIG wins over ./dtask.toml. */
  setenv("DTASK_CONFIG", "/x.toml", 1);
  assert_string_equal(dt__config_default_path(), "/x.toml");
  unsetenv("DTASK_CONFIG");

  assert_int_equal(unlink(path), 0);
  assert_int_equal(chdir(s->cwd), 0);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_empty),
      cmocka_unit_test(test_defaults_empty_sections),
      cmocka_unit_test(test_defaults_follow_user),
      cmocka_unit_test(test_config_free_null),
      cmocka_unit_test(test_every_key),
      cmocka_unit_test(test_values_and_forms),
      cmocka_unit_test(test_types_before_offload_whatever_the_order),
      cmocka_unit_test(test_offload_inline_array_and_versions),
      cmocka_unit_test(test_err_unknown_top_level),
      cmocka_unit_test(test_err_unknown_key_in_sections),
      cmocka_unit_test(test_err_wrong_kinds),
      cmocka_unit_test(test_err_sections_not_tables),
      cmocka_unit_test(test_err_toml_syntax_passes_through),
      cmocka_unit_test(test_load_missing),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_default_path),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
