/* test_deny.c: unit tests of the symbol deny list (deny.c).
 *
 * Besides representative names, a coverage test lists the undefined
 * dynamic symbols of liblmdb, libffi and the built shim
 * ($DTASK_BUILD/libdtask_shim.so) with `nm -D --undefined-only` and checks
 * that every one is denied, so the list cannot fall behind the code.
 * DTASK_BUILD is set by tests/run.sh; without it the shim test fails.
 * Weak undefined symbols (nm's 'w': __gmon_start__, _ITM_*, __cxa_finalize)
 * and the sanitizer runtimes' entry points are not checked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config/config.h"
#include "config/deny.h"
#include "config/sig.h"

#define LIBLMDB "/usr/lib/x86_64-linux-gnu/liblmdb.so.0"
#define LIBFFI "/usr/lib/x86_64-linux-gnu/libffi.so.8"

static void test_denied_representative(void **state) {
  (void)state;
  static const char *const names[] = {
      "malloc",        "free",          "calloc",
      "realloc",       "posix_memalign", "mmap",
      "munmap",        "mprotect",      "memcpy",
      "memset",        "memcmp",        "strlen",
      "strcmp",        "snprintf",      "pthread_mutex_lock",
      "pthread_create", "pthread_cond_wait", "__pthread_key_create",
      "sem_post",      "sched_yield",   "dlopen",
      "dlsym",         "dlvsym",        "dl_iterate_phdr",
      "_dl_find_object", "__dlsym",     "mdb_txn_begin",
      "mdb_env_open",  "ffi_call",      "ffi_prep_cif",
      "ffi_closure_alloc", "__libc_start_main", "__libc_single_threaded",
      "__cxa_atexit",  "__cxa_finalize", "fork",
      "execve",        "waitpid",       "posix_spawn",
      "posix_spawnp",  "write",         "read",
      "open",          "close",         "getenv",
      "__errno_location", "__stack_chk_fail", "__tls_get_addr",
      "__memcpy_chk",  "__fprintf_chk", "__sprintf_chk",
      "__snprintf_chk", "__assert_fail", "__isoc99_sscanf",
      "__isoc23_strtol", "__ctype_b_loc", "__strtol_internal",
      "sigaction",     "raise",         "abort",
      "exit",          "_exit",         "getpid",
      "getuid",        "getpwuid",      "clock_gettime",
      "time",          "syscall",       "dt_shim_init",
      "dt__config_parse", "strtol",     "qsort",
  };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const char *why = dt__symbol_denied(names[i]);
    if (why == NULL)
      fail_msg("'%s' is not denied", names[i]);
    if (why[0] == '\0')
      fail_msg("'%s' is denied without a reason", names[i]);
  }
}

static void test_denied_reasons(void **state) {
  (void)state;
  assert_string_equal(dt__symbol_denied("malloc"), "the allocator");
  assert_string_equal(dt__symbol_denied("free"), "the allocator");
  assert_string_equal(dt__symbol_denied("memcpy"), "marshalling");
  assert_string_equal(dt__symbol_denied("pthread_mutex_lock"),
                      "threads and locks");
  assert_string_equal(dt__symbol_denied("dlsym"),
                      "interposition (the dynamic loader)");
  assert_string_equal(dt__symbol_denied("mdb_txn_begin"), "LMDB, the queue");
  assert_string_equal(dt__symbol_denied("ffi_call"),
                      "libffi, which marshals every call");
  assert_string_equal(dt__symbol_denied("__memcpy_chk"),
                      "fortified C library functions");
  assert_string_equal(dt__symbol_denied("fork"), "process management");
  assert_string_equal(dt__symbol_denied("write"), "logging");
  assert_string_equal(dt__symbol_denied("dt__sig_parse"), "dtask itself");
}

static void test_not_denied_user_names(void **state) {
  (void)state;
  static const char *const names[] = {
      "strategy",      "sigmoid",      "memoize",    "execute_query",
      "statistics",    "wait_for_data", "dlx_solve", "timeout",
      "openssl_init",  "build_report", "crc32",      "cos",
      "mallocate",     "freeze",       "memcpy2",    "writer",
      "reader",        "forked",       "opened",     "closest",
      "timer",         "mdb",          "ffi",        "pthread",
      "dt",            "dtoa",         "libc_version", "chk",
      "__chk",         "_chk",         "my__chk_x",  "exit_code",
      "killer",        "raise_salary", "signal_strength", "strlen2",
      "",
  };
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const char *why = dt__symbol_denied(names[i]);
    if (why != NULL)
      fail_msg("user name '%s' is denied (%s)", names[i], why);
  }
}

static void test_prefix_rules_exact_edges(void **state) {
  (void)state;
  /* A prefix rule needs the whole prefix; a prefix+suffix rule needs both
   * without overlap. */
  assert_non_null(dt__symbol_denied("mdb_"));
  assert_null(dt__symbol_denied("mdb"));
  assert_non_null(dt__symbol_denied("__x_chk"));
  assert_non_null(dt__symbol_denied("___chk"));
  assert_null(dt__symbol_denied("__chk"));
  assert_null(dt__symbol_denied("__memcpy_chk_"));
  assert_null(dt__symbol_denied("MALLOC"));
  assert_null(dt__symbol_denied("malloc "));
  assert_null(dt__symbol_denied(" malloc"));
}

/* ------------------------------------------------------------ coverage */

/* The entry points of the sanitizer runtimes, which a build with
 * SANITIZE=1 (make check-asan) imports into the shim.  They come from
 * libasan/libubsan, not from code dtask calls, and no program can offload
 * them, so they are not the deny list's business. */
static int is_sanitizer_runtime(const char *name) {
  static const char *const prefixes[] = {"__asan_", "__ubsan_", "__lsan_",
                                         "__sanitizer_", NULL};
  for (const char *const *p = prefixes; *p != NULL; p++)
    if (strncmp(name, *p, strlen(*p)) == 0)
      return 1;
  return 0;
}

/* Runs nm on path and appends to undenied (a malloc'ed, comma-separated
 * list) every strong undefined symbol that is not denied.  Returns the
 * number of symbols checked, or -1 if nm could not be run. */
static int undenied_imports(const char *path, char **undenied,
                            size_t *nundenied) {
  char cmd[4200];
  char line[1024];
  int checked = 0;
  size_t len = 0, cap = 256;

  *undenied = malloc(cap);
  assert_non_null(*undenied);
  (*undenied)[0] = '\0';
  *nundenied = 0;
  snprintf(cmd, sizeof cmd, "nm -D --undefined-only '%s' 2>&1", path);
  FILE *p = popen(cmd, "r");
  if (p == NULL)
    return -1;
  while (fgets(line, sizeof line, p) != NULL) {
    char kind[8], name[512];
    if (sscanf(line, " %7s %511s", kind, name) != 2) {
      fprintf(stderr, "nm: %s", line);
      continue;
    }
    if (strcmp(kind, "w") == 0 || strcmp(kind, "v") == 0)
      continue; /* weak: __gmon_start__, _ITM_*, __cxa_finalize */
    if (strcmp(kind, "U") != 0) {
      fprintf(stderr, "unexpected nm line: %s", line);
      continue;
    }
    char *at = strchr(name, '@');
    if (at != NULL)
      *at = '\0';
    if (is_sanitizer_runtime(name))
      continue;
    checked++;
    if (dt__symbol_denied(name) != NULL)
      continue;
    size_t n = strlen(name);
    if (len + n + 3 > cap) {
      cap = (len + n + 3) * 2;
      *undenied = realloc(*undenied, cap);
      assert_non_null(*undenied);
    }
    len += (size_t)sprintf(*undenied + len, "%s%s", len ? ", " : "", name);
    (*nundenied)++;
  }
  int status = pclose(p);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return -1;
  return checked;
}

/* Fails unless every strong import of path is denied. */
static void check_coverage(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    fail_msg("%s does not exist; the deny list cannot be checked against "
             "it",
             path);
  char *list;
  size_t n;
  int checked = undenied_imports(path, &list, &n);
  if (checked < 0) {
    free(list);
    fail_msg("cannot run `nm -D --undefined-only %s` (is binutils "
             "installed?)",
             path);
  }
  if (checked == 0) {
    free(list);
    fail_msg("nm listed no undefined symbol in %s; that cannot be right",
             path);
  }
  if (n > 0) {
    fprintf(stderr, "%s: %zu of %d undefined symbols are not denied: %s\n",
            path, n, checked, list);
    free(list);
    fail_msg("%zu undefined symbols of %s are not in deny.c (listed above)",
             n, path);
  }
  free(list);
}

static void test_coverage_liblmdb(void **state) {
  (void)state;
  check_coverage(LIBLMDB);
}

static void test_coverage_libffi(void **state) {
  (void)state;
  check_coverage(LIBFFI);
}

static void test_coverage_shim(void **state) {
  (void)state;
  const char *build = getenv("DTASK_BUILD");
  if (build == NULL || build[0] == '\0')
    fail_msg("DTASK_BUILD is not set; run this test through tests/run.sh "
             "(make check) or set DTASK_BUILD to the build directory that "
             "holds libdtask_shim.so");
  char path[4096];
  snprintf(path, sizeof path, "%s/libdtask_shim.so", build);
  check_coverage(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_denied_representative),
      cmocka_unit_test(test_denied_reasons),
      cmocka_unit_test(test_not_denied_user_names),
      cmocka_unit_test(test_prefix_rules_exact_edges),
      cmocka_unit_test(test_coverage_liblmdb),
      cmocka_unit_test(test_coverage_libffi),
      cmocka_unit_test(test_coverage_shim),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
