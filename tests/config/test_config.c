/* test_config.c: unit tests of the config reader (config.c).
 *
 * Snippets of TOML go through dt__config_parse; every key of every
 * section, the defaults, and every error message with its exact line and
 * column.  dt__config_load reads temporary files, and
 * dt__config_default_path is checked with DTASK_CONFIG set and unset. */
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



/* ----------------------------------------------------- environment */

typedef struct saved_env {
  char *user, *home, *config;
  char cwd[PATH_MAX];
} saved_env;

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void restore(const char *name, const char *value) {
  if (value != NULL)
    setenv(name, value, 1);
  else
    unsetenv(name);
}

static int group_setup(void **state) {
  saved_env *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -1;
  s->user = dup_or_null(getenv("USER"));
  s->home = dup_or_null(getenv("HOME"));
  s->config = dup_or_null(getenv("DTASK_CONFIG"));
  if (getcwd(s->cwd, sizeof s->cwd) == NULL)
    return -1;
  setenv("USER", "tester", 1);
  setenv("HOME", "/home/tester", 1);
  unsetenv("DTASK_TEST_NOPE");
  *state = s;
  return 0;
}

static int group_teardown(void **state) {
  saved_env *s = *state;
  restore("USER", s->user);
  restore("HOME", s->home);
  restore("DTASK_CONFIG", s->config);
  if (chdir(s->cwd) != 0)
    return -1;
  free(s->user);
  free(s->home);
  free(s->config);
  free(s);
  return 0;
}

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

/* --------------------------------------------------------- [types] */

static void test_err_types(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[types]\nint = { size = 4, align = 4 }\n", 2, 1,
                   "type 'int' is built into dtask's signature language; "
                   "give the declared type another name");
  assert_cfg_error("[types]\ncstring = { size = 8, align = 8 }\n", 2, 1,
                   "type 'cstring' is built into");
  assert_cfg_error("[types]\nuint64_t = { size = 8, align = 8 }\n", 2, 1,
                   "type 'uint64_t' is built into");
  assert_cfg_error("[types]\n\"my type\" = { size = 4, align = 4 }\n", 2, 1,
                   "type name 'my type' must be an identifier of at most 63 "
                   "letters, digits and '_'");
  assert_cfg_error("[types]\n2d = { size = 4, align = 4 }\n", 2, 1,
                   "type name '2d' must be an identifier");
  assert_cfg_error("[types]\nreport = 32\n", 2, 10,
                   "type 'report' must be a table; write report = { size = "
                   "32, align = 8 } with its sizeof and _Alignof");
  assert_cfg_error("[types]\nreport = { size = 32 }\n", 2, 10,
                   "type 'report' needs both size and align");
  assert_cfg_error("[types]\nreport = { align = 8 }\n", 2, 10,
                   "type 'report' needs both size and align");
  assert_cfg_error("[types]\nreport = {}\n", 2, 10, "needs both size and "
                                                    "align");
  assert_cfg_error("[types.report]\nsize = 32\n", 1, 1,
                   "type 'report' needs both size and align");
  /*                         12345678901234567890123456789012 */
  assert_cfg_error("[types]\nreport = { size = 32, align = 3 }\n", 2, 31,
                   "align of 'report' is 3, which is not a power of two; "
                   "write the value of _Alignof(report)");
  assert_cfg_error("[types]\nreport = { size = 48, align = 24 }\n", 2, 31,
                   "align of 'report' is 24, which is not a power of two");
  assert_cfg_error("[types]\nreport = { size = 30, align = 8 }\n", 2, 19,
                   "size of 'report' (30) is not a multiple of its align "
                   "(8), which no C type allows");
  assert_cfg_error("[types]\nreport = { size = 0, align = 8 }\n", 2, 19,
                   "'size' in [types] report is 0; it must be between 1 and "
                   "1073741824");
  assert_cfg_error("[types]\nreport = { size = 32, align = 8192 }\n", 2, 31,
                   "'align' in [types] report is 8192; it must be between 1 "
                   "and 4096");
  assert_cfg_error("[types]\nreport = { size = \"32\", align = 8 }\n", 2, 19,
                   "'size' in [types] report must be an integer, not a "
                   "string");
}

/* Words the signature parser reads as C or as a direction before it
 * looks a type up can never be used as a type name, so declaring one
 * must fail at the declaration, not later with "'struct' is C ... for a
 * struct declare it under [types]" at a signature that uses it. */
static void test_err_types_reserved_words(void **state) {
  (void)state;
  dt__error err;
  static const char *const words[] = {"struct", "const", "enum", "volatile",
                                      "unsigned", "signed"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
    char text[256], phrase[64];
    snprintf(text, sizeof text,
             "[types]\n%s = { size = 4, align = 4 }\n", words[i]);
    snprintf(phrase, sizeof phrase, "'%s'", words[i]);
    assert_cfg_error(text, 2, 1, phrase);
  }
}

static void test_err_type_name_too_long(void **state) {
  (void)state;
  dt__error err;
  char text[256], name[70];
  memset(name, 'r', 64);
  name[64] = '\0';
  snprintf(text, sizeof text, "[types]\n%s = { size = 4, align = 4 }\n",
           name);
  assert_cfg_error(text, 2, 1, "must be an identifier of at most 63");
  /* 63 letters are fine. */
  name[63] = '\0';
  snprintf(text, sizeof text, "[types]\n%s = { size = 4, align = 4 }\n",
           name);
  dt__config *cfg = NULL;
  parse_ok(text, &cfg);
  assert_string_equal(cfg->types[0].name, name);
  dt__config_free(cfg);
}

/* -------------------------------------------------------- [[offload]] */

static void test_err_offload_not_array(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[offload]\nsignature = \"int f(int a)\"\n", 1, 1,
                   "'offload' must be an array of tables: write [[offload]] "
                   "(double brackets) once per function");
  assert_cfg_error("offload = \"int f(int a)\"\n", 1, 11,
                   "'offload' must be an array of tables");
  assert_cfg_error("offload = [1, 2]\n", 1, 12,
                   "offload entries must be tables; write [[offload]] "
                   "followed by symbol = ... and signature = ...");
}

static void test_err_offload_missing_signature(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsymbol = \"crc32\"\n", 1, 1,
                   "[[offload]] #1 crc32 has no signature; write for example "
                   "signature = \"int crc32(in double x[n], size_t n)\"");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\n\n"
                   "  [[offload]]\nrequired = true\n",
                   4, 3,
                   "[[offload]] #2 has no signature; write for example "
                   "signature = \"int f(in double x[n], size_t n)\"");
}

static void test_err_offload_wrong_kinds(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsignature = 5\n", 2, 13,
                   "'signature' in [[offload]] #1 must be a string, not an "
                   "integer");
  assert_cfg_error("[[offload]]\nsymbol = 5\nsignature = \"int f()\"\n", 2,
                   10, "'symbol' in [[offload]] #1 must be a string");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nversion = 2\n", 3,
                   11, "'version' in [[offload]] #1 must be a string");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nlibrary = []\n", 3,
                   11, "'library' in [[offload]] #1 must be a string, not an "
                       "array");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nrequired = "
                   "\"yes\"\n",
                   3, 12,
                   "'required' in [[offload]] #1 must be a boolean, not a "
                   "string; write for example: required = true");
}

static void test_err_symbol_signature_mismatch(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsymbol = \"crc32\"\n"
                   "signature = \"ulong crc(ulong c)\"\n",
                   3, 14,
                   "[[offload]] #1: the signature names 'crc' but symbol is "
                   "'crc32'; write the same name in both");
}

static void test_err_denied_symbol(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsymbol = \"malloc\"\n"
                   "signature = \"int malloc(size_t n)\"\n",
                   2, 10,
                   "'malloc' cannot be offloaded: dtask itself depends on it "
                   "(the allocator)");
  assert_contains(err.msg, "remove this [[offload]] entry");
  /* Without symbol, the signature's name is checked, at the signature. */
  assert_cfg_error("[[offload]]\nsignature = \"void free(in uint8 p[1])\"\n",
                   2, 13, "'free' cannot be offloaded");
  assert_cfg_error("[[offload]]\nsignature = \"int pthread_mutex_lock(in "
                   "uint8 m[40])\"\n",
                   2, 13, "(threads and locks)");
}

static void test_err_invalid_symbol(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsymbol = \"build report\"\n"
                   "signature = \"int f()\"\n",
                   2, 10, "symbol \"build report\" is not a C identifier");
  assert_cfg_error("[[offload]]\nsymbol = \"crypt@XCRYPT_2.0\"\n"
                   "signature = \"cstring crypt(cstring k, cstring s)\"\n",
                   2, 10,
                   "(without @VERSION: put the version in version = "
                   "\"...\")");
  assert_cfg_error("[[offload]]\nsymbol = \"\"\nsignature = \"int f()\"\n", 2,
                   10, "symbol \"\" is not a C identifier");
  assert_cfg_error("[[offload]]\nsymbol = \"9f\"\nsignature = \"int f()\"\n",
                   2, 10, "is not a C identifier");
}

static void test_err_duplicate_symbol(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\n"
                   "signature = \"int f(int a)\"\n"
                   "\n"
                   "[[offload]]\n"
                   "symbol = \"f\"\n"
                   "signature = \"int f(int b)\"\n",
                   4, 1,
                   "'f' is listed twice (first at line 1); keep one "
                   "[[offload]] entry per symbol");
  assert_cfg_error("[[offload]]\n"
                   "signature = \"int f(int a)\"\n"
                   "version = \"V_1\"\n"
                   "[[offload]]\n"
                   "signature = \"int g(int a)\"\n"
                   "[[offload]]\n"
                   "signature = \"int f(int a)\"\n"
                   "version = \"V_1\"\n",
                   6, 1, "'f'@V_1 is listed twice (first at line 1)");
}

static void test_err_version_and_library(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\n"
                   "version = \"f@V_1\"\n",
                   3, 11,
                   "version \"f@V_1\" must be a version name such as "
                   "\"XCRYPT_2.0\", without '@'");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\n"
                   "version = \"@@V_1\"\n",
                   3, 11, "without '@'");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nversion = \"\"\n",
                   3, 11, "version \"\" must be a version name");
  assert_cfg_error("[[offload]]\nsignature = \"int f()\"\nlibrary = \"\"\n",
                   3, 11,
                   "library must name a shared object, e.g. \"libm.so.6\"");
}

/* A signature error is moved into the file: line of the string, column of
 * the opening quote + the column inside the signature. */
static void test_err_signature_column(void **state) {
  (void)state;
  dt__error err;
  assert_cfg_error("[[offload]]\n"
                   "symbol = \"f\"\n"
                   "signature = \"int f(int *p)\"\n",
                   3, 24,
                   "[[offload]] #1 (f), signature column 11: a bare pointer "
                   "cannot be offloaded");
  /* Without symbol the entry is named by the word before '('. */
  assert_cfg_error("[[offload]]\n"
                   "signature = \"int g(int a)\"\n"
                   "[[offload]]\n"
                   "  signature   =   \"void h(in double x[n])\"\n",
                   4, 39,
                   "[[offload]] #2 (h), signature column 20: length of 'x' "
                   "names 'n', which is not a parameter");
  assert_cfg_error("[[offload]]\nsignature = \"int  h2 (int *p)\"\n", 2,
                   27, "[[offload]] #1 (h2), signature column 14: a bare "
                       "pointer");
  /* and by '?' when there is no such word. */
  assert_cfg_error("[[offload]]\nsignature = \"int\"\n", 2, 17,
                   "[[offload]] #1 (?), signature column 4: expected the "
                   "function's name after the return type");
  /* A literal string maps the same way. */
  assert_cfg_error("[[offload]]\n"
                   "signature = 'int f(int *p)'\n",
                   2, 24, "signature column 11: a bare pointer");
  assert_cfg_error("[[offload]]\nsymbol = \"e\"\nsignature = \"\"\n", 3, 14,
                   "[[offload]] #1 (e), signature column 1: the signature is "
                   "empty");
  /* Declared types are known to signatures; undeclared ones are not. */
  assert_cfg_error("[types]\nreport = { size = 32, align = 8 }\n"
                   "[[offload]]\n"
                   "signature = \"int f(out reprot r[1])\"\n",
                   4, 24,
                   "signature column 11: unknown type 'reprot'; did you mean "
                   "'report'?");
  assert_cfg_error("[types]\nreport = { size = 32, align = 8 }\n"
                   "[[offload]]\n"
                   "signature = \"int f(report r)\"\n",
                   4, 20, "can only travel in a buffer");
}

/* In a multi-line string the signature does not start at the opening
 * quote + 1: with """ on the same line it starts 3 columns after the
 * quote, and when the string starts with a newline (which TOML drops) the
 * signature is on the next line. */
static void test_err_signature_column_multiline_string(void **state) {
  (void)state;
  dt__error err;
  /* '*' is column 11 of the signature; the signature's first character is
   * at file column 16 (after `signature = """`), so '*' is at 26. */
  assert_cfg_error("[[offload]]\n"
                   "signature = \"\"\"int f(int *p)\"\"\"\n",
                   2, 26, "signature column 11: a bare pointer");
  /* The signature is on line 3, starting at column 1. */
  assert_cfg_error("[[offload]]\n"
                   "signature = \"\"\"\n"
                   "int f(int *p)\"\"\"\n",
                   3, 11, "signature column 11: a bare pointer");
}

/* An escape takes more columns in the file than characters in the
 * signature; the column must still point at the offending character. */
static void test_err_signature_column_escapes(void **state) {
  (void)state;
  dt__error err;
  /* signature = "int f(int\t*p)": '*' is column 11 of the signature and
   * column 25 of the line (the \t escape takes two columns). */
  assert_cfg_error("[[offload]]\n"
                   "signature = \"int f(int\\t*p)\"\n",
                   2, 25, "signature column 11: a bare pointer");
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
      cmocka_unit_test(test_err_types),
      cmocka_unit_test(test_err_types_reserved_words),
      cmocka_unit_test(test_err_type_name_too_long),
      cmocka_unit_test(test_err_offload_not_array),
      cmocka_unit_test(test_err_offload_missing_signature),
      cmocka_unit_test(test_err_offload_wrong_kinds),
      cmocka_unit_test(test_err_symbol_signature_mismatch),
      cmocka_unit_test(test_err_denied_symbol),
      cmocka_unit_test(test_err_invalid_symbol),
      cmocka_unit_test(test_err_duplicate_symbol),
      cmocka_unit_test(test_err_version_and_library),
      cmocka_unit_test(test_err_signature_column),
      cmocka_unit_test(test_err_signature_column_multiline_string),
      cmocka_unit_test(test_err_signature_column_escapes),
      cmocka_unit_test(test_err_toml_syntax_passes_through),
      cmocka_unit_test(test_load_missing),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_default_path),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
