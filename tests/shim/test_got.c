/* test_got.c: tests of the runtime GOT patcher (shim/got.c) on real
 * shared objects.
 *
 * The fixtures are built by tests/fixtures/got/build.sh into the directory
 * named by DTASK_FIXTURE_DIR.  The group setup loads libgotdef.so (which
 * defines gd_add and gd_scale) and three libraries that use them, then
 * patches once with both hooks; the tests call through the libraries and
 * check that the replacement functions below were reached, that the pages
 * made writable for the patch are read-only again, and what was reported.
 * Nothing is mocked.  Patches cannot be undone, so tests that need slots
 * in a known state load their own copy of the user library.
 *
 * The Makefile links this program against libgotdef.so and compiles it
 * with -DDTASK_TEST_LINKED_GOTDEF, so it also checks its own JUMP_SLOT
 * (built otherwise, that test fails).  One test is skipped, saying why,
 * under LD_BIND_NOW: there is no lazy slot then. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim/got.h"
#include "testutil.h"

typedef int (*add_fn)(int, int);
typedef double (*scale_fn)(double);
typedef void *(*addr_fn)(void);

#define ANY -100 /* matches any kind or patched value in log_count */
#define MAX_LOG 256

/* What the report callback received, with object names cut to their last
 * path component. */
typedef struct log_entry {
  char object[128];
  char symbol[64];
  dt__relkind kind;
  int patched;
  char reason[128];
} log_entry;

typedef struct rlog {
  log_entry e[MAX_LOG];
  size_t n;
} rlog;

static const char *g_dir;
static void *g_def, *g_use, *g_now, *g_plt;
static add_fn real_add;
static scale_fn real_scale;
static uintptr_t g_def_base;
static dt__hook g_hooks[2];
static rlog g_first;
static int g_first_rc;
static int add_hits, scale_hits;

static int repl_add(int a, int b) {
  add_hits++;
  return real_add(a, b) + 1000;
}

static double repl_scale(double x) {
  scale_hits++;
  return real_scale(x) + 1000.0;
}

/* A function that is not gd_add, to pose as a wrong "real" definition. */
static int fake_add(int a, int b) { return a - b; }

static double fake_scale(double x) { return -x; }

static void collect(void *ctx, const char *object, const char *symbol,
                    dt__relkind kind, int patched, const char *reason) {
  rlog *l = ctx;
  const char *slash = strrchr(object, '/');
  log_entry *e;

  if (l->n >= MAX_LOG)
    return;
  e = &l->e[l->n++];
  snprintf(e->object, sizeof e->object, "%s", slash ? slash + 1 : object);
  snprintf(e->symbol, sizeof e->symbol, "%s", symbol);
  e->kind = kind;
  e->patched = patched;
  snprintf(e->reason, sizeof e->reason, "%s", reason ? reason : "");
}

/* Counts entries matching every given field (NULL or ANY match all). */
static int log_count(const rlog *l, const char *object, const char *symbol,
                     int kind, int patched, const char *reason) {
  int n = 0;
  for (size_t i = 0; i < l->n; i++) {
    const log_entry *e = &l->e[i];
    if ((object == NULL || strcmp(e->object, object) == 0) &&
        (symbol == NULL || strcmp(e->symbol, symbol) == 0) &&
        (kind == ANY || (int)e->kind == kind) &&
        (patched == ANY || e->patched == patched) &&
        (reason == NULL || strcmp(e->reason, reason) == 0))
      n++;
  }
  return n;
}

static void *open_fixture(const char *name, int flags) {
  char path[4096];
  void *h;

  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  h = dlopen(path, flags);
  if (h == NULL)
    fprintf(stderr, "test_got: cannot load %s: %s\n", path, dlerror());
  return h;
}

static void *sym(void *handle, const char *name) {
  void *p = dlsym(handle, name);
  if (p == NULL)
    fail_msg("symbol %s not found: %s", name, dlerror());
  return p;
}

/* The first page of the object that contains p, as dladdr reports it. */
static uintptr_t base_of(void *p) {
  Dl_info info;
  if (dladdr(p, &info) == 0)
    return 0;
  return (uintptr_t)info.dli_fbase;
}

/* Copies the permissions of the mapping holding addr ("r--p", ...) from
 * /proc/self/maps.  Returns 0, or -1 if no mapping holds it. */
static int page_perms(const void *addr, char perms[8]) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[1024];
  uintptr_t a = (uintptr_t)addr;
  int rc = -1;

  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long lo, hi;
    char p[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, p) == 3 && a >= lo && a < hi) {
      memcpy(perms, p, sizeof p);
      rc = 0;
      break;
    }
  }
  fclose(f);
  return rc;
}

/* Whether writing to addr kills a child process with SIGSEGV. */
static int write_faults(void *addr) {
  int status = 0;
  pid_t pid = fork();

  if (pid == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &sa, NULL);
    *(void *volatile *)addr = NULL;
    _exit(0);
  }
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

static void assert_read_only(void *addr) {
  char perms[8] = "";
  assert_int_equal(page_perms(addr, perms), 0);
  assert_string_equal(perms, "r--p");
  assert_int_equal(write_faults(addr), 1);
}

/* The reason reported for a JUMP_SLOT that was unresolved at patch time;
 * with LD_BIND_NOW set, no slot is left unresolved. */
static int bind_now(void) {
  const char *v = getenv("LD_BIND_NOW");
  return v != NULL && v[0] != '\0';
}

static const char *lazy_reason(void) {
  return bind_now() ? "patched" : "lazy slot not yet bound, patched";
}

static int group_setup(void **state) {
  (void)state;
  g_dir = getenv("DTASK_FIXTURE_DIR");
  if (g_dir == NULL || g_dir[0] == '\0') {
    fprintf(stderr,
            "test_got: DTASK_FIXTURE_DIR is not set.  Build the fixtures "
            "with `sh tests/fixtures/got/build.sh DIR` and run this test "
            "with DTASK_FIXTURE_DIR=DIR.\n");
    return -1;
  }
  g_def = open_fixture("libgotdef.so", RTLD_NOW);
  g_use = open_fixture("libgotuse.so", RTLD_LAZY);
  g_now = open_fixture("libgotuse_now.so", RTLD_NOW);
  g_plt = open_fixture("libgotplt.so", RTLD_LAZY);
  if (!g_def || !g_use || !g_now || !g_plt)
    return -1;
  real_add = (add_fn)dlsym(g_def, "gd_add");
  real_scale = (scale_fn)dlsym(g_def, "gd_scale");
  g_def_base = base_of((void *)real_add);
  if (!real_add || !real_scale || !g_def_base)
    return -1;
  g_hooks[0] = (dt__hook){"gd_add", (void *)real_add, (void *)repl_add,
                          g_def_base};
  g_hooks[1] = (dt__hook){"gd_scale", (void *)real_scale,
                          (void *)repl_scale, g_def_base};
  /* Nothing has called through the lazy libraries yet, so their
   * JUMP_SLOTs are still unresolved when this runs. */
  g_first_rc = dt__got_patch(g_hooks, 2, NULL, 0, collect, &g_first);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  if (g_plt)
    dlclose(g_plt);
  if (g_now)
    dlclose(g_now);
  if (g_use)
    dlclose(g_use);
  if (g_def)
    dlclose(g_def);
  return 0;
}

static void test_first_patch_report(void **state) {
  const char *lazy = lazy_reason();
  const char *def = "defining object, internal references left alone";
  (void)state;

  assert_true(g_first_rc > 0);
  assert_int_equal(g_first_rc, log_count(&g_first, NULL, NULL, ANY, 1, NULL));
  assert_int_equal(log_count(&g_first, NULL, NULL, ANY, ANY, NULL),
                   log_count(&g_first, NULL, NULL, ANY, 1, NULL) +
                       log_count(&g_first, NULL, NULL, ANY, 0, NULL));
  /* Partial RELRO, lazy: GLOB_DAT and the RELRO data word need mprotect,
   * the writable data word and the lazy JUMP_SLOT do not. */
  assert_int_equal(log_count(&g_first, "libgotuse.so", "gd_add",
                             DT__REL_GLOB_DAT, 1, "patched"), 1);
  assert_int_equal(log_count(&g_first, "libgotuse.so", "gd_add",
                             DT__REL_ABS, 1, "patched"), 2);
  assert_int_equal(log_count(&g_first, "libgotuse.so", "gd_scale",
                             DT__REL_JUMP_SLOT, 1, lazy), 1);
  assert_int_equal(log_count(&g_first, "libgotuse.so", NULL, ANY, ANY, NULL),
                   4);
  /* Full RELRO: every slot is already bound to the real definition. */
  assert_int_equal(log_count(&g_first, "libgotuse_now.so", "gd_add",
                             DT__REL_GLOB_DAT, 1, "patched"), 1);
  assert_int_equal(log_count(&g_first, "libgotuse_now.so", "gd_add",
                             DT__REL_ABS, 1, "patched"), 2);
  assert_int_equal(log_count(&g_first, "libgotuse_now.so", "gd_scale",
                             DT__REL_JUMP_SLOT, 1, "patched"), 1);
  /* Calls only: two lazy JUMP_SLOTs. */
  assert_int_equal(log_count(&g_first, "libgotplt.so", NULL,
                             DT__REL_JUMP_SLOT, 1, lazy), 2);
  /* The defining object's own references are reported and left alone. */
  assert_int_equal(log_count(&g_first, "libgotdef.so", "gd_add",
                             DT__REL_GLOB_DAT, 0, def), 1);
  assert_int_equal(log_count(&g_first, "libgotdef.so", "gd_scale",
                             DT__REL_JUMP_SLOT, 0, def), 1);
  assert_int_equal(log_count(&g_first, "libgotdef.so", NULL, ANY, 1, NULL),
                   0);
}

static void test_calls_reach_stub(void **state) {
  void *libs[] = {g_plt, g_use, g_now};
  (void)state;

  for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
    int a0 = add_hits, s0 = scale_hits;
    add_fn call_add = (add_fn)sym(libs[i], "gu_call_add");
    scale_fn call_scale = (scale_fn)sym(libs[i], "gu_call_scale");
    assert_int_equal(call_add(2, 3), 1005);
    assert_true(call_scale(1.5) == 1003.0);
    assert_int_equal(add_hits, a0 + 1);
    assert_int_equal(scale_hits, s0 + 1);
  }
}

static void test_pointers_reach_stub(void **state) {
  void *libs[] = {g_use, g_now};
  (void)state;

  for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
    int a0 = add_hits;
    addr_fn addr = (addr_fn)sym(libs[i], "gu_addr");
    add_fn table = (add_fn)sym(libs[i], "gu_call_table");
    add_fn ro_table = (add_fn)sym(libs[i], "gu_call_ro_table");
    assert_ptr_equal(addr(), (void *)repl_add);
    assert_int_equal(table(2, 3), 1005);
    assert_int_equal(ro_table(2, 3), 1005);
    assert_int_equal(add_hits, a0 + 2);
  }
}

static void test_relro_pages_read_only_again(void **state) {
  void *libs[] = {g_use, g_now};
  (void)state;

  for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
    void **ro = ((addr_fn)sym(libs[i], "gu_ro_table_addr"))();
    void **got = ((addr_fn)sym(libs[i], "gu_got_slot"))();
    assert_ptr_equal(*ro, (void *)repl_add);
    assert_read_only(ro);
    if (got != NULL) { /* only where the fixture can name its GOT entry */
      assert_ptr_equal(*got, (void *)repl_add);
      assert_read_only(got);
    }
  }
}

static void test_defining_object_untouched(void **state) {
  int a0 = add_hits, s0 = scale_hits;
  (void)state;

  assert_int_equal(((add_fn)sym(g_def, "gd_add_internal"))(2, 3), 5);
  assert_true(((scale_fn)sym(g_def, "gd_scale_internal"))(1.5) == 3.0);
  assert_ptr_equal(((addr_fn)sym(g_def, "gd_self_addr"))(), (void *)real_add);
  assert_int_equal(add_hits, a0);
  assert_int_equal(scale_hits, s0);
}

static void test_second_call_is_idempotent(void **state) {
  rlog l = {0};
  (void)state;

  assert_int_equal(dt__got_patch(g_hooks, 2, NULL, 0, collect, &l), 0);
  assert_int_equal((int)l.n, 0);
  assert_int_equal(dt__got_patch(g_hooks, 2, NULL, 0, NULL, NULL), 0);
}

static void test_late_dlopen_patched_by_next_call(void **state) {
  rlog l = {0};
  void *late = open_fixture("libgotlate.so", RTLD_LAZY);
  add_fn call_add;
  (void)state;

  assert_non_null(late);
  call_add = (add_fn)sym(late, "gu_call_add");
  /* Binds gd_add's JUMP_SLOT to the real definition; gd_scale's stays
   * unresolved. */
  assert_int_equal(call_add(2, 3), 5);
  assert_int_equal(dt__got_patch(g_hooks, 2, NULL, 0, collect, &l), 2);
  assert_int_equal((int)l.n, 2);
  assert_int_equal(log_count(&l, "libgotlate.so", "gd_add",
                             DT__REL_JUMP_SLOT, 1, "patched"), 1);
  assert_int_equal(log_count(&l, "libgotlate.so", "gd_scale",
                             DT__REL_JUMP_SLOT, 1, lazy_reason()),
                   1);
  assert_int_equal(call_add(2, 3), 1005);
  assert_true(((scale_fn)sym(late, "gu_call_scale"))(1.5) == 1003.0);
  dlclose(late);
}

/* A hook without a stub is only watched: each object that imports the
 * name is reported with DT__GOT_WATCHED, even when no definition is known
 * (real NULL), and no slot changes. */
static void test_watch_writes_nothing(void **state) {
  rlog l = {0};
  dt__hook watch[2] = {{"gd_add", NULL, NULL, 0},
                       {"gd_no_such_function", NULL, NULL, 0}};
  void *lib = open_fixture("libgotwatch.so", RTLD_LAZY);
  add_fn call_add;
  (void)state;

  assert_non_null(lib);
  call_add = (add_fn)sym(lib, "gu_call_add");
  assert_int_equal(dt__got_patch(watch, 2, NULL, 0, collect, &l), 0);
  assert_int_equal(log_count(&l, "libgotwatch.so", "gd_add", ANY,
                             DT__GOT_WATCHED, "imported"),
                   1);
  assert_int_equal(log_count(&l, NULL, "gd_no_such_function", ANY, ANY,
                             NULL),
                   0);
  assert_int_equal(log_count(&l, NULL, NULL, ANY, 1, NULL), 0);
  /* The call still reaches the real definition, and a second walk
   * visits only objects it has not seen. */
  assert_int_equal(call_add(2, 3), 5);
  size_t seen = l.n;
  assert_int_equal(dt__got_patch(watch, 2, NULL, 0, collect, &l), 0);
  assert_int_equal(l.n, seen);
  dlclose(lib);
}

static void test_reset_counts_existing_slots(void **state) {
  rlog l = {0};
  int rc;
  (void)state;

  dt__got_reset();
  rc = dt__got_patch(g_hooks, 2, NULL, 0, collect, &l);
  assert_int_equal(rc, g_first_rc);
  assert_int_equal(log_count(&l, NULL, NULL, ANY, 1,
                             "already pointing at the stub"), rc);
  assert_int_equal(dt__got_patch(g_hooks, 2, NULL, 0, collect, &l), 0);
}

static void test_bound_elsewhere_and_skip_base(void **state) {
  rlog l = {0};
  void *lib = open_fixture("libgotbound.so", RTLD_LAZY);
  add_fn call_add;
  scale_fn call_scale;
  uintptr_t base;
  dt__hook wrong[2] = {
      {"gd_add", (void *)fake_add, (void *)repl_add, g_def_base},
      {"gd_scale", (void *)fake_scale, (void *)repl_scale, g_def_base}};
  (void)state;

  assert_non_null(lib);
  call_add = (add_fn)sym(lib, "gu_call_add");
  call_scale = (scale_fn)sym(lib, "gu_call_scale");
  base = base_of((void *)call_add);
  assert_int_equal(call_add(2, 3), 5);
  assert_true(call_scale(1.5) == 3.0);

  /* Slots bound to gd_add/gd_scale do not hold the "real" named here. */
  dt__got_reset();
  dt__got_patch(wrong, 2, NULL, 0, collect, &l);
  assert_int_equal(log_count(&l, "libgotbound.so", NULL, DT__REL_JUMP_SLOT,
                             0, "bound to another definition"), 2);
  assert_int_equal(call_add(2, 3), 5);

  /* The object at skip_base is not visited at all. */
  l.n = 0;
  dt__got_reset();
  assert_true(dt__got_patch(g_hooks, 2, &base, 1, collect, &l) > 0);
  assert_int_equal(log_count(&l, "libgotbound.so", NULL, ANY, ANY, NULL), 0);
  assert_int_equal(call_add(2, 3), 5);
  /* So is one at any of several skip bases (here the second of two). */
  l.n = 0;
  dt__got_reset();
  uintptr_t two[2] = {g_def_base, base};
  dt__got_patch(g_hooks, 2, two, 2, collect, &l);
  assert_int_equal(log_count(&l, "libgotbound.so", NULL, ANY, ANY, NULL), 0);
  assert_int_equal(call_add(2, 3), 5);

  /* Without it, the object is patched (and no report is fine). */
  dt__got_reset();
  assert_int_equal(dt__got_patch(g_hooks, 2, NULL, 0, NULL, NULL), g_first_rc + 2);
  assert_int_equal(call_add(2, 3), 1005);
  assert_true(call_scale(1.5) == 1003.0);
  dlclose(lib);
}

static void test_reload_after_dlclose(void **state) {
  rlog l = {0};
  void *lib = open_fixture("libgotre.so", RTLD_LAZY);
  uintptr_t base1, base2;
  (void)state;

  assert_non_null(lib);
  base1 = base_of(sym(lib, "gu_call_add"));
  assert_int_equal(dt__got_patch(g_hooks, 2, NULL, 0, collect, &l), 4);
  assert_int_equal(log_count(&l, "libgotre.so", NULL, ANY, 1, NULL), 4);
  assert_int_equal(((add_fn)sym(lib, "gu_call_add"))(2, 3), 1005);
  dlclose(lib);

  /* The same file is usually mapped at the same base again; its fresh GOT
   * must be patched although (base, name, dynamic) are unchanged. */
  lib = open_fixture("libgotre.so", RTLD_LAZY);
  assert_non_null(lib);
  base2 = base_of(sym(lib, "gu_call_add"));
  if (base1 != base2)
    print_message("libgotre.so was mapped at another base this time\n");
  l.n = 0;
  assert_int_equal(dt__got_patch(g_hooks, 2, NULL, 0, collect, &l), 4);
  assert_int_equal(log_count(&l, "libgotre.so", "gd_add", DT__REL_GLOB_DAT,
                             1, "patched"), 1);
  assert_int_equal(((add_fn)sym(lib, "gu_call_add"))(2, 3), 1005);
  assert_int_equal(((add_fn)sym(lib, "gu_call_ro_table"))(2, 3), 1005);
  assert_int_equal(dt__got_patch(g_hooks, 2, NULL, 0, NULL, NULL), 0);
  dlclose(lib);
}

static void test_lazy_slot_of_own_definition_left_alone(void **state) {
  rlog l = {0};
  void *lib = open_fixture("libgotown.so", RTLD_LAZY | RTLD_LOCAL);
  int s0 = scale_hits;
  double r;
  (void)state;

  if (bind_now()) { /* there is no unresolved slot to leave alone */
    if (lib != NULL)
      dlclose(lib);
    skip_because("LD_BIND_NOW is set: the loader binds every slot at "
                 "load time, so there is no lazy slot to leave alone");
  }
  assert_non_null(lib);
  assert_int_equal(dt__got_patch(g_hooks, 2, NULL, 0, collect, &l), 0);
  assert_int_equal(log_count(&l, "libgotown.so", "gd_scale",
                             DT__REL_JUMP_SLOT, 0,
                             "lazy slot of a symbol this object also "
                             "defines, binding unknown"), 1);
  /* The loader binds the slot to libgotown's own gd_scale, or to
   * libgotdef's when that is in the global scope (when this program is
   * linked against it); never to the stub. */
  r = ((scale_fn)sym(lib, "own_call_scale"))(1.5);
  if (dlsym(RTLD_DEFAULT, "gd_scale") != NULL)
    assert_true(r == 3.0);
  else
    assert_true(r == -1.5);
  assert_int_equal(scale_hits, s0);
  dlclose(lib);
}

#if defined(DTASK_TEST_LINKED_GOTDEF)
int gd_add(int a, int b);
#endif

static void test_main_program_jump_slot(void **state) {
  (void)state;
#if defined(DTASK_TEST_LINKED_GOTDEF)
  assert_int_equal(log_count(&g_first, "<main program>", "gd_add", ANY, 1,
                             NULL), 1);
  assert_int_equal(gd_add(2, 3), 1005);
#else
  fail_msg("built without -DDTASK_TEST_LINKED_GOTDEF: the Makefile links "
           "this test against libgotdef.so so that it checks its own "
           "JUMP_SLOT");
#endif
}

static void test_invalid_arguments(void **state) {
  dt__hook h = {"gd_add", (void *)real_add, (void *)repl_add, 0};
  (void)state;

  assert_int_equal(dt__got_patch(NULL, 1, NULL, 0, NULL, NULL), -EINVAL);
  assert_int_equal(dt__got_patch(NULL, 0, NULL, 0, NULL, NULL), 0);
  h.name = NULL;
  assert_int_equal(dt__got_patch(&h, 1, NULL, 0, NULL, NULL), -EINVAL);
  h.name = "gd_add";
  h.stub = (void *)repl_add;
  h.real = NULL;
  assert_int_equal(dt__got_patch(&h, 1, NULL, 0, NULL, NULL), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_patch_report),
      cmocka_unit_test(test_calls_reach_stub),
      cmocka_unit_test(test_pointers_reach_stub),
      cmocka_unit_test(test_relro_pages_read_only_again),
      cmocka_unit_test(test_defining_object_untouched),
      cmocka_unit_test(test_second_call_is_idempotent),
      cmocka_unit_test(test_late_dlopen_patched_by_next_call),
      cmocka_unit_test(test_watch_writes_nothing),
      cmocka_unit_test(test_reset_counts_existing_slots),
      cmocka_unit_test(test_bound_elsewhere_and_skip_base),
      cmocka_unit_test(test_reload_after_dlclose),
      cmocka_unit_test(test_lazy_slot_of_own_definition_left_alone),
      cmocka_unit_test(test_main_program_jump_slot),
      cmocka_unit_test(test_invalid_arguments),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
