/* door.c: libdtask_shim.so, the preloaded library, and all that a
 * program pays for when it catches nothing.
 *
 * Its constructor reads the config's [[offload]] symbol names
 * (config/names.c: no parser, no heap, no libffi, no LMDB; every page it
 * touches is a fault the program pays), points every loaded object's dlopen
 * and dlmopen at the interposers below, and in the same walk notes which
 * listed names the loaded objects import.  When a listed symbol is both
 * imported and defined, or a library that dlopen brings defines one (the
 * program may reach it through dlsym), it loads the engine
 * (libdtask_engine.so, beside this file: the stubs, the queue, the call
 * path and the runner role) and hands over; otherwise it stays idle, and
 * looks again after each dlopen, so that a library loaded later (a Python
 * extension's, a plugin) can still bring the engine in.  Idle, it opens no queue, starts no thread,
 * writes no file and says nothing (DTASK_LOG=info says one line).
 *
 * The engine is loaded at once, whatever the imports, in runner role,
 * in strict mode, for an entry marked required, and when the config
 * cannot be read as the door expects it: the engine reports the problem
 * with its file, line and what to write instead.  In a secure-exec
 * process (setuid or setgid, AT_SECURE) the shim does nothing at all, as
 * glibc itself ignores LD_PRELOAD paths there: the environment belongs to
 * a less privileged user.
 *
 * This file owns the door's state: the names, the hook list, the real
 * loader functions and the lock that serializes loads with its walks. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/common.h"
#include "common/log.h"
#include "config/file.h"
#include "config/names.h"
#include "shim/dlpath.h"
#include "shim/door.h"
#include "shim/got.h"

typedef void *(*dlopen_fn)(const char *, int);
typedef void *(*dlmopen_fn)(Lmid_t, const char *, int);
typedef void *(*dlsym_fn)(void *, const char *);
typedef void *(*dlvsym_fn)(void *, const char *, const char *);

/* One listed name (config/names.h), and what the door has seen of it. */
typedef dt__name entry;

enum { IDLE, ENGINE, OFF };

/* The door's state.  Written by the constructor, then only under lock. */
static struct {
  pthread_mutex_t lock; /* recursive: a constructor may dlopen again */
  pthread_once_t fork_once; /* the fork handler, registered at the first
                               load (see watch_fork) */
  int state;            /* IDLE, ENGINE (handed over) or OFF */
  entry *entries;
  size_t n;
  dt__hook *hooks;      /* dlopen, dlmopen, then one watch per entry */
  size_t nhooks;
  uintptr_t self_base;
  const char *self_path; /* the loader's name of this object */
  dlopen_fn real_dlopen;
  dlmopen_fn real_dlmopen;
  dlsym_fn real_dlsym;
  dlvsym_fn real_dlvsym;
  dt__door door;        /* what the engine was given and gave back */
} d = {.lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP,
         .fork_once = PTHREAD_ONCE_INIT};

static void *door_dlopen(const char *file, int mode);
static void *door_dlmopen(Lmid_t lmid, const char *file, int mode);

/* ------------------------------------------------------------ config */

/* Reads the [[offload]] names of the config at path into d.entries
 * (config/names.c: no allocation, no parser), with room for the hook
 * list (d.hooks, 2 + the entries) in the same mapping: every page a
 * program that catches nothing touches costs it a fault.  Without a
 * readable file, d.hooks is this file's two.  Returns 1 when the engine
 * must decide now (the file cannot be read as plain names, an entry is
 * required, [shim] strict is set: the engine's parser then says what is
 * wrong, if anything), 0 otherwise. */
static int read_names(const char *path) {
  static dt__hook two[2];
  dt__names nm;
  int rc = dt__names_load(path, 2 * sizeof *d.hooks, sizeof *d.hooks, &nm);
  if (rc < 0) {
    d.hooks = two;
    return 1;
  }
  d.entries = nm.entries;
  d.n = nm.n;
  d.hooks = (dt__hook *)(void *)nm.room;
  return rc == 0 ? 0 : 1;
}

/* ----------------------------------------------------------- watching */

/* dt__got_report_fn for the door's walks: marks the entries that an
 * object imports, and logs the dlopen hooks at debug level. */
static void on_report(void *ctx, const char *object, const char *symbol,
                      dt__relkind kind, int patched, const char *reason) {
  (void)ctx;
  if (patched == DT__GOT_WATCHED) {
    for (size_t i = 0; i < d.n; i++)
      if (strcmp(d.entries[i].symbol, symbol) == 0)
        d.entries[i].imported = true;
    dt__log(DT__LOG_DEBUG, "%s imports %s (%s)", object, symbol,
            dt__relkind_name(kind));
  } else if (patched > 0) {
    dt__log(DT__LOG_DEBUG, "patched %s: %s (%s)", object, symbol,
            dt__relkind_name(kind));
  } else if (patched < 0) {
    dt__log(DT__LOG_WARN, "could not patch %s: %s (%s): %s", object, symbol,
            dt__relkind_name(kind), reason ? reason : "");
  }
}

/* Whether entry e is defined in the scope of handle (RTLD_DEFAULT: the
 * global scope; its library, if it names one and it is loaded). */
static bool defined_in(const entry *e, void *handle) {
  void *h = handle;
  if (h == RTLD_DEFAULT && e->library[0] != '\0') {
    h = d.real_dlopen(e->library, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
      return false;
  }
  void *p = e->version[0] != '\0' ? d.real_dlvsym(h, e->symbol, e->version)
                                  : d.real_dlsym(h, e->symbol);
  if (h != handle)
    dlclose(h);
  return p != NULL;
}

/* Walks the objects loaded since the last walk (hooking their dlopen and
 * dlmopen, noting their imports) and looks for definitions, in the scope
 * of handle (a library just opened) and in the global scope.  Returns
 * whether the engine is wanted: some entry is both imported and defined,
 * or handle's scope defines one.  Caller holds d.lock. */
static bool look_locked(void *handle) {
  bool wanted = false;
  int rc = dt__got_patch(d.hooks, d.nhooks, &d.self_base, 1, on_report, NULL);
  if (rc < 0)
    dt__log(DT__LOG_ERROR, "watching the loaded objects failed: %s",
            strerror(-rc));
  for (size_t i = 0; i < d.n && !wanted; i++) {
    entry *e = &d.entries[i];
    /* A library just opened that defines a listed symbol is wanted even
     * when nothing imports it: the program may reach it through dlsym. */
    if (handle != NULL && defined_in(e, handle))
      e->defined = wanted = true;
    if (!e->defined && e->imported)
      e->defined = defined_in(e, RTLD_DEFAULT);
    wanted = wanted || (e->imported && e->defined);
  }
  return wanted;
}

/* ------------------------------------------------------------ engine */

/* dt__door.next: the definition of symbol (at version, unless "") that
 * follows this object, the first one preloaded, in the global scope.
 * glibc reads RTLD_NEXT's "this object" from the return address, so the
 * call must not become a tail call (which would return to the engine). */
static void *lookup_next(const char *symbol, const char *version) {
  void *p = version != NULL && version[0] != '\0'
                ? d.real_dlvsym(RTLD_NEXT, symbol, version)
                : d.real_dlsym(RTLD_NEXT, symbol);
  __asm__ volatile("" : : "r"(p) : "memory");
  return p;
}

/* Loads the engine beside this file and starts it, with handle the
 * library whose load brought a listed symbol (or NULL).  Caller holds
 * d.lock.  The state becomes ENGINE, or OFF after saying why not. */
static void start_engine_locked(void *handle, const char *why) {
  char path[PATH_MAX + 32];
  d.state = ENGINE;
  const char *slash = strrchr(d.self_path, '/');
  int dir = slash != NULL ? (int)(slash - d.self_path) : 0;
  snprintf(path, sizeof path, "%.*s%s" DT__ENGINE_FILE, dir, d.self_path,
           slash != NULL ? "/" : "");
  dt__log(DT__LOG_INFO, "%s; loading %s", why, path);
  void *eh = d.real_dlopen(path, RTLD_NOW | RTLD_LOCAL);
  dt__engine_start_fn start =
      eh != NULL ? (dt__engine_start_fn)(void (*)(void))d.real_dlsym(
                       eh, DT__ENGINE_ENTRY)
                 : NULL;
  if (start == NULL) {
    const char *e = dlerror();
    dt__log(DT__LOG_ERROR, "cannot load dtask's engine %s: %s; running %s "
            "without dtask", path, e != NULL ? e : "no entry point",
            program_invocation_short_name);
    d.state = OFF;
    return;
  }
  d.door.abi = DT__DOOR_ABI;
  d.door.log_level = dt__log_level;
  d.door.trace_on = dt__trace_on;
  d.door.handle = handle;
  d.door.dlopen_hook = (void *)door_dlopen;
  d.door.dlmopen_hook = (void *)door_dlmopen;
  d.door.next = lookup_next;
  if (start(&d.door) != 0)
    d.state = OFF; /* the engine said why */
}

/* ------------------------------------------------------------ dlopen */

/* The fork handler: a child starts with d.lock free, even when another
 * thread of its parent held it in a load at the fork. */
static void reset_lock(void) {
  d.lock = (pthread_mutex_t)PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
}

/* Registers reset_lock, once, from the first load: until then no thread
 * can hold d.lock at a fork (the constructor's walk runs before main), and
 * a program that never dlopens does not pay for the registration. */
static void watch_fork(void) { pthread_atfork(NULL, NULL, reset_lock); }

/* The common part of the dlopen and dlmopen interposers: open as the
 * caller would (shim/dlpath.c), then let the engine patch what the call
 * loaded, or, while idle, look at it.  Loads are serialized with walks. */
static void *open_as(bool is_mopen, Lmid_t lmid, const char *file, int mode,
                     void *caller) {
  char buf[PATH_MAX];
  pthread_once(&d.fork_once, watch_fork);
  pthread_mutex_lock(&d.lock);
  void (*loading)(int) = d.state == ENGINE ? d.door.loading : NULL;
  if (loading != NULL)
    loading(1);
  const char *path =
      dt__dlopen_path(file, mode, caller, buf, sizeof buf, d.real_dlopen);
  void *h = is_mopen ? d.real_dlmopen(lmid, path, mode)
                     : d.real_dlopen(path, mode);
  int err = errno;
  if (h != NULL && d.state == ENGINE && d.door.loaded != NULL)
    d.door.loaded(h);
  else if (h != NULL && d.state == IDLE && look_locked(h))
    start_engine_locked(h, "a library just loaded brings a listed symbol");
  if (loading != NULL)
    loading(0);
  pthread_mutex_unlock(&d.lock);
  errno = err;
  return h;
}

/* dlopen as the program sees it (through its patched GOT slots). */
static void *door_dlopen(const char *file, int mode) {
  return open_as(false, LM_ID_BASE, file, mode, __builtin_return_address(0));
}

/* dlmopen as the program sees it. */
static void *door_dlmopen(Lmid_t lmid, const char *file, int mode) {
  return open_as(true, lmid, file, mode, __builtin_return_address(0));
}

/* ---------------------------------------------------------- start-up */

/* Why the environment asks for the engine whatever the imports (runner
 * role, strict mode, or a value the engine must refuse), for the log;
 * NULL when it does not. */
static const char *env_wants_engine(void) {
  const char *role = getenv(DT__ENV_ROLE);
  const char *mode = getenv(DT__ENV_MODE);
  const char *strict = getenv(DT__ENV_STRICT);
  if (role != NULL)
    return DT__ENV_ROLE " is set";
  if (strict != NULL && strict[0] != '\0' && strcmp(strict, "0") != 0)
    return DT__ENV_STRICT " is set";
  if (mode != NULL && mode[0] != '\0' && strcmp(mode, "offload") != 0 &&
      strcmp(mode, "sync") != 0)
    return DT__ENV_MODE " has a value for the engine to check";
  return NULL;
}

/* Finds the loader's functions (the real ones: this object's GOT is never
 * patched) and builds the hook list in the room read_names made. */
static void setup_hooks(void) {
  static const char *const names[] = {"dlopen", "dlmopen"};
  /* This object's own GOT is never patched, by the door or by the engine
   * (which leaves this object alone): these are the loader's functions,
   * found without the cost of a lookup. */
  d.real_dlopen = dlopen;
  d.real_dlmopen = dlmopen;
  d.real_dlsym = dlsym;
  d.real_dlvsym = dlvsym;
  void *reals[2] = {(void *)dlopen, (void *)dlmopen};
  d.nhooks = 2 + d.n;
  void *stubs[2] = {(void *)door_dlopen, (void *)door_dlmopen};
  for (int k = 0; k < 2; k++) {
    d.hooks[k].name = names[k];
    d.hooks[k].real = reals[k];
    d.hooks[k].stub = stubs[k];
    if (dt__got_object_of(reals[k], &d.hooks[k].def_base, NULL) != 0)
      d.hooks[k].def_base = 0;
  }
  for (size_t i = 0; i < d.n; i++)
    d.hooks[2 + i].name = d.entries[i].symbol; /* watched: no stub */
}

/* The door's start-up: see the file comment.  Leaves errno as it found
 * it. */
__attribute__((constructor)) static void door_init(void) {
  int saved = errno;
  const char *self = NULL;

  dt__log_init();
  if (getauxval(AT_SECURE)) {
    dt__log(DT__LOG_INFO, "%s runs set-user-ID or set-group-ID (secure "
            "execution): dtask does nothing in it",
            program_invocation_short_name);
    goto out;
  }
  const char *path = dt__config_default_path();
  if (path == NULL) {
    dt__log(DT__LOG_INFO, "no config (" DT__ENV_CONFIG
                          " unset, no ./dtask.toml): nothing to offload");
    goto out;
  }
  if (dt__got_object_of((void *)door_init, &d.self_base, &self) != 0) {
    dt__log(DT__LOG_ERROR, "cannot find the shim's own object");
    goto out;
  }
  d.self_path = self;
  int must = read_names(path);
  setup_hooks();
  const char *why = must ? "the config needs the full parser (or "
                           "[shim] strict or required = true)"
                         : env_wants_engine();
  pthread_mutex_lock(&d.lock);
  bool wanted = look_locked(NULL);
  if (why != NULL || wanted)
    start_engine_locked(NULL, why != NULL ? why : "a listed symbol is imported");
  else
    dt__log(DT__LOG_INFO, "%s imports none of the %zu listed symbols: dtask "
            "stays idle until a dlopen brings one",
            program_invocation_short_name, d.n);
  pthread_mutex_unlock(&d.lock);
out:
  errno = saved;
}
