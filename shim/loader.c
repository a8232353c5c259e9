/* loader.c: owns, in the engine, the resolution of the listed symbols
 * and the patching of GOT slots.
 *
 * Every listed symbol's real definition is found here (dlsym(RTLD_NEXT)
 * or dlvsym when a version is named), and the GOT slots of every loaded
 * object are pointed at the stubs (got.c).  dlsym and dlvsym are
 * redirected the same way, through GOT slots rather than exported
 * definitions, to trampolines that hand out the stubs; dlopen and dlmopen
 * are the preloaded shim's interposers (shim/door.c), which call
 * dt__loader_loaded after every load: a library that dlopen brings is
 * patched at once, and a listed symbol it defines is resolved then.  The
 * engine's own calls to the loader go through its own GOT, never
 * patched, so they can never loop back into it.
 *
 * This file owns the hook list, the real loader functions and the lock
 * that serializes patching with loads.  The state is built once by the
 * engine's start (shim.c); afterwards only a symbol that becomes
 * available through dlopen is filled in, under the lock, and published
 * with a release store. */
#include <stdio.h>
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/guard.h"
#include "common/log.h"
#include "config/config.h"
#include "shim/door.h"
#include "shim/got.h"
#include "queue/image.h"
#include "shim/loader.h"
#include "shim/stub.h"

/* The loader functions the shim redirects, in hook-table order. */
enum { DL_OPEN, DL_MOPEN, DL_SYM, DL_VSYM, DL_COUNT };
static const char *const dl_names[DL_COUNT] = {"dlopen", "dlmopen", "dlsym",
                                               "dlvsym"};

typedef void *(*dlopen_fn)(const char *, int);

/* The interposition state; see the file comment for who writes it when.
 * The stub table is shim.c's (dt__loader_table). */
static dt__stub *g_stubs;
static size_t g_nstubs;
static dt__hook *g_hooks;        /* resolved stub hooks, then DL_COUNT */
static dt__hook g_dl_hooks[DL_COUNT];
static size_t g_nhooks;
static uintptr_t g_self_base;    /* the shim's own load base */
static uintptr_t g_door_base;    /* the preloaded door's (0: unknown) */
static pthread_mutex_t g_lock;   /* recursive: dlopen inside constructors */
static bool g_active;            /* set once the shim is live */
static void *g_dl_reals[DL_COUNT]; /* the loader's dlopen, dlmopen, ... */
static void *g_dl_stubs[DL_COUNT]; /* what the shim puts in their place */

/* The real loader functions.  dt__real_dlsym and dt__real_dlvsym are
 * reached from the assembly trampolines below, hence not static. */
static dlopen_fn real_dlopen;
/* The preloaded shim's RTLD_NEXT lookup (see dt__door.next), or NULL. */
static void *(*g_next)(const char *symbol, const char *version);
__attribute__((visibility("hidden"))) void *dt__real_dlsym;
__attribute__((visibility("hidden"))) void *dt__real_dlvsym;

/* ------------------------------------------------------ symbol lookup */

/* The object that maps addr: the address of its first page into *base
 * and, if name is not NULL, its path into *name (the loader's; "" or
 * argv[0] for the program).  Program headers first (dt__got_object_of:
 * no symbol table is searched); dladdr for an object that walk cannot
 * see (dl_iterate_phdr shows only the caller's namespace, not a
 * dlmopen'ed one).  Returns 0 or -ENOENT. */
static int object_of(const void *addr, uintptr_t *base, const char **name) {
  if (dt__got_object_of(addr, base, name) == 0)
    return 0;
  Dl_info info;
  if (dladdr(addr, &info) == 0 || info.dli_fbase == NULL)
    return -ENOENT;
  *base = (uintptr_t)info.dli_fbase;
  if (name != NULL)
    *name = info.dli_fname != NULL ? info.dli_fname : "";
  return 0;
}

/* Real dlsym or dlvsym, by whether version is given. */
static void *real_lookup(void *handle, const char *name, const char *version) {
  return version != NULL
             ? ((void *(*)(void *, const char *, const char *))dt__real_dlvsym)(
                   handle, name, version)
             : ((void *(*)(void *, const char *))dt__real_dlsym)(handle, name);
}

/* Decides what dlsym(handle, name) or dlvsym(handle, name, version)
 * returns for a name the shim redirects; NULL means "not ours: let the
 * real function answer".  For RTLD_DEFAULT and RTLD_NEXT a listed name
 * gives its closure.  For an explicit handle the real lookup runs first
 * and the closure replaces its answer only when that answer is the
 * definition the closure forwards to, so that a handle which does not
 * reach the symbol, or reaches another definition of the same name,
 * still gets the truth.  Called from the trampolines on any thread:
 * reads only data published before g_active was set, or with acquire
 * loads.  (Declared first, hidden: the trampolines' assembly calls it.) */
__attribute__((visibility("hidden"))) void *
dt__dl_lookup_stub(void *handle, const char *name, const char *version,
                   void *caller);
void *dt__dl_lookup_stub(void *handle, const char *name, const char *version,
                         void *caller) {
  bool pseudo = handle == RTLD_DEFAULT || handle == RTLD_NEXT;
  if (!__atomic_load_n(&g_active, __ATOMIC_ACQUIRE) || name == NULL)
    return NULL;
  for (size_t i = 0; i < g_nstubs; i++) {
    const dt__offload *o = g_stubs[i].off;
    if (strcmp(o->symbol, name) != 0)
      continue;
    if (version != NULL && o->version[0] != '\0' &&
        strcmp(o->version, version) != 0)
      continue;
    void *real = __atomic_load_n(&g_stubs[i].real, __ATOMIC_ACQUIRE);
    if (real == NULL)
      return NULL;
    if (pseudo) {
      /* The closure stands for the definition only where the program
       * would see that definition: in the global scope, and not from
       * inside the defining object (a wrapper asking RTLD_NEXT for the
       * function it wraps must get the next one, not itself). */
      uintptr_t cbase;
      if (handle == RTLD_NEXT && caller != NULL &&
          object_of(caller, &cbase, NULL) == 0 &&
          cbase == g_stubs[i].def_base)
        return NULL;
      return real_lookup(RTLD_DEFAULT, name, version) == real
                 ? g_stubs[i].code
                 : NULL;
    }
    void *r = real_lookup(handle, name, version);
    return r == real ? g_stubs[i].code : r;
  }
  for (size_t k = 0; k < DL_COUNT; k++)
    if (strcmp(name, dl_names[k]) == 0) {
      if (pseudo)
        return g_dl_stubs[k];
      void *r = ((void *(*)(void *, const char *))dt__real_dlsym)(handle,
                                                                  name);
      return r == g_dl_reals[k] ? g_dl_stubs[k] : r;
    }
  return NULL;
}

/* ------------------------------------------- dlsym/dlvsym trampolines */

/* dlsym(RTLD_NEXT, ...) and dlopen of a bare name depend on who calls
 * them: glibc looks at the return address.  A C wrapper would make every
 * such call look as if the shim made it.  So dlsym and dlvsym are
 * redirected to these trampolines, which ask dt__dl_lookup_stub and, when
 * the name is not listed, jump (not call) to the real function, leaving
 * the program's return address in place. */
#if defined(__x86_64__)
void dt__h_dlsym(void);
void dt__h_dlvsym(void);
__asm__(".text\n"
        ".p2align 4\n"
        ".hidden dt__h_dlsym\n"
        ".type dt__h_dlsym, @function\n"
        "dt__h_dlsym:\n"
        "  endbr64\n"
        "  mov (%rsp), %rcx\n"
        "  push %rdi\n"
        "  push %rsi\n"
        "  sub $8, %rsp\n"
        "  xor %edx, %edx\n"
        "  call dt__dl_lookup_stub\n"
        "  add $8, %rsp\n"
        "  pop %rsi\n"
        "  pop %rdi\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  jmp *dt__real_dlsym(%rip)\n"
        "1: ret\n"
        ".size dt__h_dlsym, .-dt__h_dlsym\n"
        ".p2align 4\n"
        ".hidden dt__h_dlvsym\n"
        ".type dt__h_dlvsym, @function\n"
        "dt__h_dlvsym:\n"
        "  endbr64\n"
        "  mov (%rsp), %rcx\n"
        "  push %rdi\n"
        "  push %rsi\n"
        "  push %rdx\n"
        "  call dt__dl_lookup_stub\n"
        "  pop %rdx\n"
        "  pop %rsi\n"
        "  pop %rdi\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  jmp *dt__real_dlvsym(%rip)\n"
        "1: ret\n"
        ".size dt__h_dlvsym, .-dt__h_dlvsym\n");
#else
/* Portable fallback: correct for every handle except RTLD_NEXT, which
 * glibc then resolves relative to the shim instead of the caller. */
static void *dt__h_dlsym(void *handle, const char *name) {
  void *s = dt__dl_lookup_stub(handle, name, NULL, __builtin_return_address(0));
  return s ? s : ((void *(*)(void *, const char *))dt__real_dlsym)(handle, name);
}
/* The same for dlvsym. */
static void *dt__h_dlvsym(void *handle, const char *name, const char *ver) {
  void *s = dt__dl_lookup_stub(handle, name, ver, __builtin_return_address(0));
  return s ? s
           : ((void *(*)(void *, const char *, const char *))dt__real_dlvsym)(
                 handle, name, ver);
}
#endif

/* ------------------------------------------------------------ patching */

/* Per-stub count of slots that now point at it, filled by on_report. */
typedef struct patch_stats {
  size_t *slots;
} patch_stats;

/* dt__got_report_fn: logs every decision at debug level and counts the
 * patched slots of each stub. */
static void on_report(void *ctx, const char *object, const char *symbol,
                      dt__relkind kind, int patched, const char *reason) {
  patch_stats *st = ctx;
  if (patched > 0) {
    for (size_t i = 0; i < g_nstubs; i++)
      if (strcmp(g_stubs[i].off->symbol, symbol) == 0 && st != NULL)
        st->slots[i]++;
    dt__log(DT__LOG_DEBUG, "patched %s: %s (%s)", object, symbol,
            dt__relkind_name(kind));
  } else if (patched == 0) {
    dt__log(DT__LOG_DEBUG, "left %s: %s (%s): %s", object, symbol,
            dt__relkind_name(kind), reason ? reason : "");
  } else {
    dt__log(DT__LOG_WARN, "could not patch %s: %s (%s): %s", object, symbol,
            dt__relkind_name(kind), strerror(-patched));
  }
}

/* Patches objects not patched before.  Caller holds g_lock. */
static int patch_locked(patch_stats *st) {
  uintptr_t skip[2] = {g_self_base, g_door_base};
  int n = dt__got_patch(g_hooks, g_nhooks, skip, 2, on_report, st);
  if (n < 0)
    dt__log(DT__LOG_ERROR, "patching the loaded objects failed: %s",
            strerror(-n));
  return n;
}

/* ----------------------------------------------------------- resolving */

/* Computes, once, the identity and the absolute path of the object that
 * defines real (s's definition), which every task of s carries so that a
 * runner serves it with the same build (runner/worker.c).  The path is
 * what dl_iterate_phdr gives, resolved with realpath (a relative name
 * that dlopen was given is relative to the current directory, which is
 * still the one it was opened from).  Leaves s->def_known false, and the
 * tasks without an object section, when the object has neither a
 * build-id nor a readable file. */
static void identify(dt__stub *s, void *real) {
  char name[PATH_MAX];
  s->def_known = false;
  s->def_path[0] = '\0';
  int rc = dt__image_of_addr(real, &s->def_id, name, sizeof name);
  if (rc != 0) {
    dt__log(DT__LOG_WARN,
            "cannot identify the object that defines '%s' (%s); its calls "
            "carry no identity, so a runner cannot check it serves the same "
            "build",
            s->off->symbol, strerror(-rc));
    return;
  }
  if (realpath(name, s->def_path) == NULL) {
    if (name[0] == '/')
      snprintf(s->def_path, sizeof s->def_path, "%s", name);
    else
      s->def_path[0] = '\0';
  }
  s->def_obj.digest = s->def_id.digest;
  s->def_obj.path = s->def_path;
  s->def_obj.len = strnlen(s->def_path, DT__WIRE_PATH_MAX);
  s->def_known = true;
}

/* Finds the real definition of s->off and records where it lives: its
 * object's load base, name, identity and absolute path (identify).
 * Returns 0, or -ENOENT when no loaded object defines it (yet). */
static int resolve(dt__stub *s, void *handle) {
  const dt__offload *o = s->off;
  void *real = NULL;

  if (handle != NULL) {
    /* A library just opened, perhaps with RTLD_LOCAL: search its scope. */
    real = o->version[0]
               ? ((void *(*)(void *, const char *, const char *))dt__real_dlvsym)(
                     handle, o->symbol, o->version)
               : ((void *(*)(void *, const char *))dt__real_dlsym)(handle,
                                                                   o->symbol);
  } else if (o->library[0] != '\0') {
    void *h = real_dlopen(o->library, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL)
      return -ENOENT;
    real = o->version[0]
               ? ((void *(*)(void *, const char *, const char *))dt__real_dlvsym)(
                     h, o->symbol, o->version)
               : ((void *(*)(void *, const char *))dt__real_dlsym)(h, o->symbol);
    dlclose(h);
  } else if (g_next != NULL) {
    real = g_next(o->symbol, o->version);
    if (real == NULL)
      real = o->version[0] != '\0'
                 ? ((void *(*)(void *, const char *, const char *))
                        dt__real_dlvsym)(RTLD_DEFAULT, o->symbol, o->version)
                 : ((void *(*)(void *, const char *))dt__real_dlsym)(
                       RTLD_DEFAULT, o->symbol);
  } else if (o->version[0] != '\0') {
    real = ((void *(*)(void *, const char *, const char *))dt__real_dlvsym)(
        RTLD_NEXT, o->symbol, o->version);
    if (real == NULL)
      real = ((void *(*)(void *, const char *, const char *))dt__real_dlvsym)(
          RTLD_DEFAULT, o->symbol, o->version);
  } else {
    real = ((void *(*)(void *, const char *))dt__real_dlsym)(RTLD_NEXT,
                                                              o->symbol);
    if (real == NULL)
      real = ((void *(*)(void *, const char *))dt__real_dlsym)(RTLD_DEFAULT,
                                                                o->symbol);
  }
  if (real == NULL)
    return -ENOENT;
  uintptr_t def_base;
  const char *def_name;
  if (object_of(real, &def_base, &def_name) != 0 || def_base == 0)
    return -ENOENT;
  if (def_base == g_self_base) {
    dt__log(DT__LOG_ERROR,
            "looking up '%s' returned the shim's own code; refusing to "
            "interpose it",
            o->symbol);
    return -ELOOP;
  }
  if (o->library[0] != '\0') {
    const char *base = strrchr(def_name, '/');
    base = base ? base + 1 : def_name;
    if (strcmp(base, o->library) != 0 && strcmp(def_name, o->library) != 0) {
      dt__log(DT__LOG_WARN,
              "'%s' is defined by %s, not by library = \"%s\"; not "
              "interposed",
              o->symbol, def_name[0] ? def_name : "the program", o->library);
      return -ENOENT;
    }
  }
  s->def_base = def_base;
  s->def_name = def_name;
  identify(s, real);
  __atomic_store_n(&s->real, real, __ATOMIC_RELEASE);
  return 0;
}

/* Rebuilds the hook list from the stubs that are resolved, then the
 * loader hooks.  Caller holds g_lock (or is the constructor). */
static void build_hooks_locked(void) {
  size_t n = 0;
  for (size_t i = 0; i < g_nstubs; i++) {
    const dt__stub *s = &g_stubs[i];
    if (s->real == NULL)
      continue;
    g_hooks[n].name = s->off->symbol;
    g_hooks[n].real = s->real;
    g_hooks[n].stub = s->code;
    g_hooks[n].def_base = s->def_base;
    n++;
  }
  for (size_t k = 0; k < DL_COUNT; k++)
    g_hooks[n++] = g_dl_hooks[k];
  g_nhooks = n;
}

/* Resolves entries still missing, in the scope of the library just
 * opened (it may define them, even when opened with RTLD_LOCAL), and
 * publishes their hooks.  Caller holds g_lock. */
static void resolve_pending_locked(void *handle) {
  bool changed = false;
  for (size_t i = 0; i < g_nstubs; i++) {
    dt__stub *s = &g_stubs[i];
    if (s->real != NULL || s->closure == NULL)
      continue;
    if (resolve(s, handle) == 0) {
      char build[96];
      changed = true;
      if (dt__direct)
        s->code = s->real;
      dt__log(DT__LOG_INFO, "'%s' found in %s after dlopen, %s",
              s->off->symbol, s->def_path[0] ? s->def_path : s->def_name,
              dt__stub_build(s, build, sizeof build));
    }
  }
  if (changed)
    build_hooks_locked();
}

/* ---------------------------------------------------- later loads */

/* Called by the preloaded shim after each dlopen or dlmopen that
 * returned handle (shim/door.c owns those interposers): resolves the
 * entries still missing in the new library's scope, and patches the
 * objects it brought.  Loads are serialized with patching by g_lock. */
void dt__loader_loaded(void *handle) {
  pthread_mutex_lock(&g_lock);
  dt__in_shim++;
  if (handle != NULL)
    resolve_pending_locked(handle);
  patch_locked(NULL);
  dt__in_shim--;
  pthread_mutex_unlock(&g_lock);
}

/* Finds the loader's dlopen, dlmopen, dlsym and dlvsym (the real
 * functions the interposers forward to) and fills the loader hooks,
 * which follow the stub hooks.  The dlopen and dlmopen interposers are
 * the preloaded shim's (door: it has put them in place already, and
 * calls dt__loader_loaded after each load), and so is the RTLD_NEXT
 * lookup that finds each listed symbol's definition; dlsym and
 * dlvsym are this file's trampolines.  Returns 0, or -ENOENT after
 * saying which one the loader lacks. */
int dt__loader_find(const dt__door *door) {
  void *door_dlopen = door->dlopen_hook, *door_dlmopen = door->dlmopen_hook;
  g_next = door->next;
  void *reals[DL_COUNT];
  void *stubs[DL_COUNT] = {door_dlopen, door_dlmopen, (void *)dt__h_dlsym,
                           (void *)dt__h_dlvsym};
  for (int k = 0; k < DL_COUNT; k++) {
    reals[k] = dlsym(RTLD_NEXT, dl_names[k]);
    if (reals[k] == NULL) {
      dt__log(DT__LOG_ERROR, "the loader has no %s", dl_names[k]);
      return -ENOENT;
    }
  }
  for (int k = 0; k < DL_COUNT; k++) {
    g_dl_reals[k] = reals[k];
    g_dl_stubs[k] = stubs[k];
  }
  real_dlopen = (dlopen_fn)reals[DL_OPEN];
  dt__real_dlsym = reals[DL_SYM];
  dt__real_dlvsym = reals[DL_VSYM];
  for (int k = 0; k < DL_COUNT; k++) {
    dt__hook *h = &g_dl_hooks[k];
    h->name = dl_names[k];
    h->real = reals[k];
    h->stub = stubs[k];
    if (object_of(reals[k], &h->def_base, NULL) != 0)
      h->def_base = 0;
  }
  return 0;
}

/* Initializes g_lock, the lock that serializes patching with loads
 * (recursive: a constructor run by dlopen may dlopen again).  Also the
 * fork handler in the child: a fork while another thread patches after
 * a dlopen would leave g_lock held in the child by a thread that does not
 * exist there. */
static void init_lock(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&g_lock, &attr);
  pthread_mutexattr_destroy(&attr);
}

/* Creates the lock and installs its fork handler.  Called first thing by
 * the engine's start (shim/shim.c). */
void dt__loader_init(void) {
  init_lock();
  pthread_atfork(NULL, NULL, init_lock);
}

/* Keeps the stub table (n entries, owned by shim.c for the life of the
 * process), the engine's own load base and the preloaded door's (0 when
 * unknown), whose GOTs are never patched, and allocates the hook list
 * (never freed).  Returns 0 or -ENOMEM.  The door calls the loader's
 * functions through pointers it took before the engine came, so its
 * slots for them need no hook (and every other symbol it imports is one
 * that config/deny.c refuses to offload). */
int dt__loader_table(dt__stub *stubs, size_t n, uintptr_t self_base,
                     uintptr_t door_base) {
  g_stubs = stubs;
  g_nstubs = n;
  g_self_base = self_base;
  g_door_base = door_base;
  g_nhooks = n + DL_COUNT;
  g_hooks = calloc(g_nhooks, sizeof *g_hooks);
  return g_hooks == NULL ? -ENOMEM : 0;
}

/* Finds the real definition of s->off, in the objects loaded at
 * start-up (handle NULL) or in the scope of a library that dlopen
 * returned as handle (found even when it was opened RTLD_LOCAL), and
 * records where it lives.  Returns 0, -ENOENT when no object there
 * defines it (yet), or -ELOOP when the lookup found the shim itself. */
int dt__loader_resolve(dt__stub *s, void *handle) {
  return resolve(s, handle);
}

/* The loader's own dlopen, for the shim's start-up (never through a
 * hook).  Returns its handle, or NULL with dlerror() set. */
void *dt__loader_dlopen(const char *file, int mode) {
  return real_dlopen(file, mode);
}

/* The loader's own dlsym, or its dlvsym when version is not empty (never
 * through a hook): the definition of name that handle's scope gives.
 * Returns its address, or NULL with dlerror() set. */
void *dt__loader_sym(void *handle, const char *name, const char *version) {
  return real_lookup(handle, name,
                     version != NULL && version[0] != '\0' ? version : NULL);
}

/* Makes the shim live: builds the hook list from the resolved stubs,
 * publishes it, and patches every loaded object.  slots[i] (n entries,
 * the caller's) gets the number of slots that now point at stub i.
 * Returns the number of slots patched, or a negative errno. */
int dt__loader_activate(size_t *slots) {
  patch_stats st = {slots};
  pthread_mutex_lock(&g_lock);
  build_hooks_locked();
  __atomic_store_n(&g_active, true, __ATOMIC_RELEASE);
  int rc = patch_locked(&st);
  pthread_mutex_unlock(&g_lock);
  return rc;
}
