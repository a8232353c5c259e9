/* shim.c: owns the engine's (libdtask_engine.so's) start-up and its end.
 *
 * When the preloaded shim (shim/door.c, libdtask_shim.so) finds that this
 * process needs dtask, it loads the engine and calls dtask_engine_start
 * below, which reads the config, decides the process's mode (DTASK_MODE)
 * and role (DTASK_ROLE), builds one libffi closure per listed symbol
 * (stub.c) and resolves the symbol's real definition (loader.c).  A
 * caller then starts the offload path (call.c) and goes live: the GOT
 * slots of every loaded object, and the loader's dlopen/dlsym family,
 * point at the shim (loader.c).  A runner patches nothing but its own
 * start-up, so that it serves calls instead of running main
 * (runner/runner.c, through shim/role.h).
 *
 * This file owns the config and the stub table: built once here, for
 * the life of the process.
 *
 * Policy on bad input: a config error is printed loudly on stderr and the
 * program runs unchanged, unless strict mode (DTASK_STRICT=1 or [shim]
 * strict = true) is asked for, in which case the program stops with exit
 * status 2 before main. */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/error.h"
#include "common/guard.h"
#include "common/log.h"
#include "config/config.h"
#include "queue/hiredis.h"
#include "shim/async.h"
#include "shim/call.h"
#include "shim/door.h"
#include "shim/got.h"
#include "shim/jit.h"
#include "shim/loader.h"
#include "shim/role.h"
#include "shim/stub.h"

/* The config and the stub table (one stub per [[offload]] entry), built
 * by the constructor and never freed. */
static dt__config *g_cfg;
static dt__stub *g_stubs;
static size_t g_nstubs;

/* Whether the environment variable name is set to something other than
 * "" or "0". */
static bool env_true(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* Stops the program (strict mode) or says it runs unchanged. */
static void give_up(bool strict) {
  if (strict) {
    dt__log(DT__LOG_ERROR, "strict mode: stopping %s with status 2",
            program_invocation_short_name);
    _exit(2);
  }
  dt__log(DT__LOG_ERROR,
          "running %s without dtask (set " DT__ENV_STRICT
          "=1 to stop instead)",
          program_invocation_short_name);
}

/* Builds a stub per offload entry and resolves its symbol.  Entries whose
 * symbol is not found are kept (a later dlopen may bring them) with a
 * NULL hook stub.  Returns 0, or a negative errno after saying why the
 * shim cannot go on (a required entry, or strict mode, that is not
 * found; a stub libffi refuses; a lookup that finds the shim itself). */
static int setup_stubs(bool strict, bool runner, void *handle) {
  int missing = 0;
  size_t bad = 0;
  int rc = dt__stub_init(g_stubs, g_nstubs, &bad);
  if (rc != 0) {
    const dt__offload *o = g_stubs[bad].off;
    dt__log(DT__LOG_ERROR, "%s:%d: libffi cannot build a stub for '%s' (%s)",
            g_cfg->path, o->line, o->symbol, strerror(-rc));
    return rc;
  }
  for (size_t i = 0; i < g_nstubs; i++) {
    dt__stub *s = &g_stubs[i];
    const dt__offload *o = s->off;
    /* A runner serves functions the program may only dlopen later (its
     * main never runs): it loads a named library itself.  When it cannot
     * find it (the program's own run path does not apply here), each
     * worker loads the caller's object when a call names it
     * (runner/worker.c). */
    if (runner && o->library[0] != '\0' &&
        dt__loader_dlopen(o->library, RTLD_NOW | RTLD_NOLOAD) == NULL &&
        dt__loader_dlopen(o->library, RTLD_NOW) == NULL)
      dt__log(DT__LOG_INFO,
              "%s:%d: the runner cannot load %s at start-up (%s); its "
              "workers will load the caller's when a call names it",
              g_cfg->path, o->line, o->library, dlerror());
    rc = dt__loader_resolve(s, NULL);
    if (rc == -ENOENT && handle != NULL)
      rc = dt__loader_resolve(s, handle);
    if (rc == -ELOOP)
      return rc;
    if (rc == 0) {
      char build[96];
      dt__log(DT__LOG_INFO, "'%s%s%s' is defined by %s, %s", o->symbol,
              o->version[0] ? "@" : "", o->version,
              s->def_name[0] ? s->def_name : "the program",
              dt__stub_build(s, build, sizeof build));
    } else {
      missing++;
      /* Pending only when the shim goes on: a required entry, or any in
       * strict mode, stops it (give_up says how). */
      bool stops = o->required || strict;
      dt__log(stops ? DT__LOG_ERROR : DT__LOG_WARN,
              "%s:%d: no loaded object defines '%s%s%s'%s%s%s",
              g_cfg->path, o->line, o->symbol, o->version[0] ? "@" : "",
              o->version, o->library[0] ? " in " : "", o->library,
              stops ? "" : "; it stays pending until a dlopen brings it");
      if (o->required)
        return -ENOENT;
    }
  }
  return strict && missing ? -ENOENT : 0;
}

/* Reports symbols that no loaded object imports (slots[i], the slots
 * patched for stub i, is 0): a warning, or an error for required entries
 * and in strict mode.  Returns 0, or -ENOENT after such an error. */
static int check_imports(const size_t *slots, bool strict) {
  int rc = 0;
  for (size_t i = 0; i < g_nstubs; i++) {
    const dt__offload *o = g_stubs[i].off;
    if (g_stubs[i].real == NULL || slots[i] > 0)
      continue;
    bool fatal = o->required || strict;
    dt__log(fatal ? DT__LOG_ERROR : DT__LOG_WARN,
            "%s:%d: no loaded object of %s imports '%s', so only calls "
            "through dlsym or later dlopen'ed objects can be caught (check "
            "with: dtask check --binary PROG)",
            g_cfg->path, o->line, program_invocation_short_name, o->symbol);
    if (fatal)
      rc = -ENOENT;
  }
  return rc;
}

/* The engine's after-load callback (dt__door.loaded). */
static void engine_loaded(void *handle) { dt__loader_loaded(handle); }

/* The engine's load bracket (dt__door.loading): calls that a library's
 * constructors make while it loads run inline, as the shim's own. */
static void engine_loading(int begin) { dt__in_shim += begin ? 1 : -1; }

/* The engine's start, called once by the preloaded shim (shim/door.c)
 * when this process needs dtask: see the file comment.  Returns 0 when
 * the engine is live or will serve as a runner, or -1 after saying why
 * the program runs without dtask (strict mode stops it instead).  Leaves
 * errno as it found it. */
__attribute__((visibility("default"))) int dtask_engine_start(dt__door *door) {
  int result = -1;
  dt__error err = {0, 0, ""};
  bool strict = env_true(DT__ENV_STRICT);
  size_t *slots = NULL; /* per stub: the GOT slots patched to it */
  uintptr_t self_base, door_base;
  int saved = errno;

  dt__in_shim = 1;
  if (door == NULL || door->abi != DT__DOOR_ABI) {
    dt__log_init();
    dt__log(DT__LOG_ERROR, "the engine does not match the preloaded shim "
            "(install both from one build)");
    goto out;
  }
  dt__log_level = door->log_level;
  dt__trace_on = door->trace_on;
  dt__loader_init();
  if (dt__got_object_of((void *)dtask_engine_start, &self_base, NULL) != 0) {
    dt__log(DT__LOG_ERROR, "cannot find the shim's own object");
    goto out;
  }
  /* The door's object (its dlopen interposer lives there): never patched. */
  if (door->dlopen_hook == NULL ||
      dt__got_object_of(door->dlopen_hook, &door_base, NULL) != 0)
    door_base = 0;

  const char *path = dt__config_default_path();
  if (path == NULL) {
    dt__log(DT__LOG_INFO, "no config (" DT__ENV_CONFIG
                          " unset, no ./dtask.toml): nothing to offload");
    goto out;
  }
  int rc = dt__config_load(path, &g_cfg, &err);
  if (rc != 0) {
    char msg[4800];
    dt__log(DT__LOG_ERROR, "%s", dt__error_format(&err, path, msg, sizeof msg));
    give_up(strict);
    goto out;
  }
  strict = strict || g_cfg->strict;
  /* A Redis queue's library is loaded now, while the program most
   * likely runs one thread, rather than by its first call, which may
   * race another thread's fork (queue/hiredis.c); a failure is said when
   * the queue opens. */
  if (strcmp(g_cfg->backend, "redis") == 0)
    (void)dt__hiredis_load(NULL, 0);
  const char *mode = getenv(DT__ENV_MODE);
  const char *role = getenv(DT__ENV_ROLE);
  bool runner = role != NULL && strcmp(role, DT__ROLE_RUNNER) == 0;
  if (mode == NULL || mode[0] == '\0' || strcmp(mode, "offload") == 0) {
    dt__mode = DT__MODE_OFFLOAD;
  } else if (strcmp(mode, "sync") == 0) {
    dt__mode = DT__MODE_SYNC;
  } else {
    dt__log(DT__LOG_ERROR,
            DT__ENV_MODE "=%s is not a mode; write " DT__ENV_MODE
            "=sync (call inline) or " DT__ENV_MODE "=offload (the default)",
            mode);
    give_up(strict);
    goto out;
  }
  if (role != NULL && !runner) {
    dt__log(DT__LOG_ERROR, DT__ENV_ROLE "=%s is not a role; only "
            DT__ENV_ROLE "=" DT__ROLE_RUNNER " exists (set by dtask-runner)",
            role);
    give_up(strict);
    goto out;
  }

  g_nstubs = g_cfg->noffloads;
  g_stubs = calloc(g_nstubs ? g_nstubs : 1, sizeof *g_stubs);
  slots = calloc(g_nstubs ? g_nstubs : 1, sizeof *slots);
  if (g_stubs == NULL || slots == NULL ||
      dt__loader_table(g_stubs, g_nstubs, self_base, door_base) != 0) {
    dt__log(DT__LOG_ERROR, "out of memory at start-up");
    give_up(strict);
    goto out;
  }
  for (size_t i = 0; i < g_nstubs; i++) {
    g_stubs[i].off = &g_cfg->offloads[i];
    g_stubs[i].index = (uint32_t)i;
  }
  if (runner) {
    /* Runner role: the real functions are called directly, nothing is
     * patched but the program's start-up, and main never runs.  A runner
     * that cannot serve must not run the program instead. */
    if (dt__loader_find(door) != 0 ||
        setup_stubs(false, true, door->handle) != 0 ||
        dt__runner_setup(g_cfg, g_stubs, g_nstubs, self_base) != 0) {
      dt__log(DT__LOG_ERROR, "runner role: cannot serve; exiting");
      _exit(2);
    }
    result = 0;
    goto out;
  }
  if (dt__loader_find(door) != 0 ||
      setup_stubs(strict, false, door->handle) != 0) {
    give_up(strict);
    goto out;
  }
  /* Sync mode, nothing traced: each patched slot gets the real function
   * (a direct call, no stub), and so does each symbol found later. */
  dt__direct = dt__mode == DT__MODE_SYNC && !dt__trace_on;
  for (size_t i = 0; dt__direct && i < g_nstubs; i++)
    if (g_stubs[i].real != NULL)
      g_stubs[i].code = g_stubs[i].real;
  /* Offload mode, nothing traced: an entry with offload_if is decided by
   * its trampoline, so that a call kept here pays a comparison, not a
   * stub (shim/jit.c; the closure where none can be built). */
  if (dt__mode == DT__MODE_OFFLOAD && !dt__trace_on) {
    int built = dt__jit_build(g_stubs, g_nstubs);
    if (built > 0)
      dt__log(DT__LOG_DEBUG, "%d offload_if trampoline%s", built,
              built == 1 ? "" : "s");
  }
  if (dt__mode == DT__MODE_OFFLOAD)
    dt__offload_init(g_cfg, g_stubs, g_nstubs);
  rc = dt__loader_activate(slots);
  door->loaded = engine_loaded;
  door->loading = engine_loading;
  result = 0;
  if (rc < 0 || check_imports(slots, strict) != 0) {
    if (strict)
      give_up(strict);
  }
  dt__log(DT__LOG_INFO, "%zu symbol%s interposed in %s (%d slots)", g_nstubs,
          g_nstubs == 1 ? "" : "s", program_invocation_short_name, rc);
out:
  free(slots);
  dt__in_shim = 0;
  errno = saved;
  return result;
}

/* Ends the offload path (its async calls drained, its last result, its
 * stats file) and, with DTASK_LOG=info, says how many calls each symbol
 * received. */
__attribute__((destructor)) static void shim_fini(void) {
  int saved = errno;
  dt__in_shim = 1;
  if (dt__mode == DT__MODE_OFFLOAD && g_stubs != NULL &&
      getenv(DT__ENV_ROLE) == NULL) {
    dt__async_drain();
    dt__offload_fini();
  }
  dt__in_shim = 0;
  errno = saved;
  if (dt__log_level < DT__LOG_INFO)
    return;
  if (dt__direct) {
    dt__log(DT__LOG_INFO, "sync mode without " DT__ENV_TRACE ": calls went "
            "straight to the real functions (not counted)");
    return;
  }
  for (size_t i = 0; i < g_nstubs; i++) {
    /* A call its trampoline keeps here is counted in local alone. */
    unsigned long n = __atomic_load_n(&g_stubs[i].calls, __ATOMIC_RELAXED) +
                      (g_stubs[i].tramp != NULL
                           ? __atomic_load_n(&g_stubs[i].local,
                                             __ATOMIC_RELAXED)
                           : 0);
    dt__log(DT__LOG_INFO, "%s: %lu call%s intercepted",
            g_stubs[i].off->symbol, n, n == 1 ? "" : "s");
  }
}
