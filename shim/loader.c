/* loader.c: owns the interposition of the dynamic loader and the
 * patching of GOT slots.
 *
 * Every listed symbol's real definition is found here (dlsym(RTLD_NEXT)
 * or dlvsym when a version is named), and the GOT slots of every loaded
 * object are pointed at the stubs (got.c).  dlopen/dlmopen/dlsym/dlvsym
 * are redirected the same way, through GOT slots rather than exported
 * definitions: the shim exports nothing, and its own calls to the loader
 * (which go through its own GOT, never patched) can never loop back into
 * it.  A library that dlopen brings is patched at once, and a listed
 * symbol it defines is resolved then.
 *
 * This file owns the hook list, the real loader functions and the lock
 * that serializes patching with loads.  The state is built once by the
 * shim's constructor (shim.c); afterwards only a symbol that becomes
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
#include "shim/got.h"
#include "shim/loader.h"
#include "shim/stub.h"

/* The loader functions the shim redirects, in hook-table order. */
enum { DL_OPEN, DL_MOPEN, DL_SYM, DL_VSYM, DL_COUNT };
static const char *const dl_names[DL_COUNT] = {"dlopen", "dlmopen", "dlsym",
                                               "dlvsym"};

typedef void *(*dlopen_fn)(const char *, int);
typedef void *(*dlmopen_fn)(Lmid_t, const char *, int);

/* The interposition state; see the file comment for who writes it when.
 * The stub table is shim.c's (dt__loader_table). */
static dt__stub *g_stubs;
static size_t g_nstubs;
static dt__hook *g_hooks;        /* resolved stub hooks, then DL_COUNT */
static dt__hook g_dl_hooks[DL_COUNT];
static size_t g_nhooks;
static uintptr_t g_self_base;    /* the shim's own load base */
static pthread_mutex_t g_lock;   /* recursive: dlopen inside constructors */
static bool g_active;            /* set once the shim is live */
static void *g_dl_reals[DL_COUNT]; /* the loader's dlopen, dlmopen, ... */
static void *g_dl_stubs[DL_COUNT]; /* what the shim puts in their place */

/* The real loader functions.  dt__real_dlsym and dt__real_dlvsym are
 * reached from the assembly trampolines below, hence not static. */
static dlopen_fn real_dlopen;
static dlmopen_fn real_dlmopen;
__attribute__((visibility("hidden"))) void *dt__real_dlsym;
__attribute__((visibility("hidden"))) void *dt__real_dlvsym;

/* ------------------------------------------------------ symbol lookup */

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
      Dl_info ci;
      if (handle == RTLD_NEXT && caller != NULL && dladdr(caller, &ci) &&
          (uintptr_t)ci.dli_fbase == g_stubs[i].def_base)
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
  int n = dt__got_patch(g_hooks, g_nhooks, g_self_base, on_report, st);
  if (n < 0)
    dt__log(DT__LOG_ERROR, "patching the loaded objects failed: %s",
            strerror(-n));
  return n;
}

/* ----------------------------------------------------------- resolving */

/* Finds the real definition of s->off and records where it lives.
 * Returns 0, or -ENOENT when no loaded object defines it (yet). */
static int resolve(dt__stub *s, void *handle) {
  const dt__offload *o = s->off;
  void *real = NULL;
  Dl_info info;

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
  if (dladdr(real, &info) == 0 || info.dli_fbase == NULL)
    return -ENOENT;
  if ((uintptr_t)info.dli_fbase == g_self_base) {
    dt__log(DT__LOG_ERROR,
            "looking up '%s' returned the shim's own code; refusing to "
            "interpose it",
            o->symbol);
    return -ELOOP;
  }
  if (o->library[0] != '\0') {
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    if (strcmp(base, o->library) != 0 &&
        strcmp(info.dli_fname, o->library) != 0) {
      dt__log(DT__LOG_WARN,
              "'%s' is defined by %s, not by library = \"%s\"; not "
              "interposed",
              o->symbol, info.dli_fname, o->library);
      return -ENOENT;
    }
  }
  s->def_base = (uintptr_t)info.dli_fbase;
  s->def_name = info.dli_fname;
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
      changed = true;
      dt__log(DT__LOG_INFO, "'%s' found in %s after dlopen",
              s->off->symbol, s->def_name);
    }
  }
  if (changed)
    build_hooks_locked();
}

/* -------------------------------------------------- dlopen / dlmopen */

/* Appends dir + "/" + file into out if that file exists. */
static bool try_dir(const char *dir, size_t dlen, const char *origin,
                    const char *file, char *out, size_t outsz) {
  char d[PATH_MAX];
  size_t n = 0;
  for (size_t i = 0; i < dlen && n + 1 < sizeof d;) {
    if (strncmp(dir + i, "$ORIGIN", 7) == 0 ||
        strncmp(dir + i, "${ORIGIN}", 9) == 0) {
      size_t skip = dir[i + 1] == '{' ? 9 : 7;
      size_t ol = strlen(origin);
      if (n + ol + 1 >= sizeof d)
        return false;
      memcpy(d + n, origin, ol);
      n += ol;
      i += skip;
    } else if (dir[i] == '$') {
      return false; /* $LIB, $PLATFORM: not expanded here */
    } else {
      d[n++] = dir[i++];
    }
  }
  d[n] = '\0';
  if (snprintf(out, outsz, "%s/%s", n ? d : ".", file) >= (int)outsz)
    return false;
  return access(out, F_OK) == 0;
}

/* Searches a ':'-separated list of directories for file. */
static bool search_list(const char *list, const char *origin, const char *file,
                        char *out, size_t outsz) {
  const char *p = list;
  while (p != NULL && *p != '\0') {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (try_dir(p, len, origin, file, out, outsz))
      return true;
    p = end ? end + 1 : NULL;
  }
  return false;
}

/* Reads DT_RPATH and DT_RUNPATH of a loaded object. */
static void object_paths(const struct link_map *lm, const char **rpath,
                         const char **runpath) {
  const char *strtab = NULL;
  ElfW(Xword) rp = 0, rup = 0;
  bool has_rp = false, has_rup = false;
  *rpath = *runpath = NULL;
  for (const ElfW(Dyn) *d = lm->l_ld; d != NULL && d->d_tag != DT_NULL; d++) {
    if (d->d_tag == DT_STRTAB)
      strtab = (const char *)d->d_un.d_ptr;
    else if (d->d_tag == DT_RPATH)
      rp = d->d_un.d_val, has_rp = true;
    else if (d->d_tag == DT_RUNPATH)
      rup = d->d_un.d_val, has_rup = true;
  }
  if (strtab == NULL)
    return;
  if ((uintptr_t)strtab < lm->l_addr)
    strtab += lm->l_addr;
  if (has_rp)
    *rpath = strtab + rp;
  if (has_rup)
    *runpath = strtab + rup;
}

/* The directory of a loaded object, for $ORIGIN. */
static void object_origin(const struct link_map *lm, char *out, size_t outsz) {
  char path[PATH_MAX];
  if (lm->l_name != NULL && lm->l_name[0] != '\0') {
    snprintf(path, sizeof path, "%s", lm->l_name);
  } else {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? n : 0] = '\0';
  }
  char *slash = strrchr(path, '/');
  if (slash != NULL)
    *slash = '\0';
  snprintf(out, outsz, "%s", slash ? path : ".");
}

/* glibc searches a bare name with the RPATH/RUNPATH of the object that
 * called dlopen.  Since the real dlopen now sees the shim as its caller,
 * this finds the file the caller's own paths would have found, in the
 * loader's order: caller's DT_RPATH (then the program's, as the loader
 * inherits it) when the caller has no DT_RUNPATH; with a DT_RUNPATH,
 * LD_LIBRARY_PATH first, then DT_RUNPATH.  An object already loaded under
 * that name wins, as it does in the loader.  Returns the path to open, or
 * file itself. */
static const char *caller_path(const char *file, int mode, void *caller,
                               char *buf, size_t bufsz) {
  Dl_info info;
  struct link_map *lm = NULL;
  const char *rpath, *runpath;
  char origin[PATH_MAX];

  if (file == NULL || strchr(file, '/') != NULL)
    return file;
  if (dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) == 0 || lm == NULL)
    return file;
  object_paths(lm, &rpath, &runpath);
  struct link_map *exe = NULL;
  if (runpath == NULL) {
    for (exe = lm; exe->l_prev != NULL; exe = exe->l_prev)
      ;
  }
  const char *exe_rpath = NULL, *exe_runpath = NULL;
  if (exe != NULL && exe != lm)
    object_paths(exe, &exe_rpath, &exe_runpath);
  if (rpath == NULL && runpath == NULL && exe_rpath == NULL)
    return file;
  void *already = real_dlopen(file, (mode & ~RTLD_NOW) | RTLD_LAZY | RTLD_NOLOAD);
  if (already != NULL) {
    dlclose(already);
    return file;
  }
  object_origin(lm, origin, sizeof origin);
  if (runpath == NULL) {
    if (rpath != NULL && search_list(rpath, origin, file, buf, bufsz))
      return buf;
    if (exe_rpath != NULL && exe_runpath == NULL) {
      char eorigin[PATH_MAX];
      object_origin(exe, eorigin, sizeof eorigin);
      if (search_list(exe_rpath, eorigin, file, buf, bufsz))
        return buf;
    }
    return file;
  }
  const char *llp = getenv("LD_LIBRARY_PATH");
  if (llp != NULL && search_list(llp, origin, file, buf, bufsz))
    return buf;
  if (search_list(runpath, origin, file, buf, bufsz))
    return buf;
  return file;
}

/* The common part of the dlopen and dlmopen hooks: open as the caller
 * would, then patch whatever the call loaded.  Loads are serialized with
 * patching, so that no object is patched while another thread is still
 * relocating it. */
static void *open_and_patch(bool is_mopen, Lmid_t lmid, const char *file,
                            int mode, void *caller) {
  char buf[PATH_MAX];
  void *h;
  int err;

  pthread_mutex_lock(&g_lock);
  dt__in_shim++;
  const char *path = caller_path(file, mode, caller, buf, sizeof buf);
  h = is_mopen ? real_dlmopen(lmid, path, mode) : real_dlopen(path, mode);
  err = errno;
  if (h != NULL) {
    resolve_pending_locked(h);
    patch_locked(NULL);
  }
  dt__in_shim--;
  pthread_mutex_unlock(&g_lock);
  errno = err;
  return h;
}

/* dlopen as the program sees it (through its patched GOT slots). */
static void *h_dlopen(const char *file, int mode) {
  return open_and_patch(false, LM_ID_BASE, file, mode,
                        __builtin_return_address(0));
}

/* dlmopen as the program sees it. */
static void *h_dlmopen(Lmid_t lmid, const char *file, int mode) {
  return open_and_patch(true, lmid, file, mode, __builtin_return_address(0));
}

/* Finds the loader's dlopen, dlmopen, dlsym and dlvsym (the real
 * functions the interposers forward to) and fills the loader hooks,
 * which follow the stub hooks.  Returns 0, or -ENOENT after saying which
 * one the loader lacks. */
int dt__loader_find(void) {
  void *reals[DL_COUNT];
  void *stubs[DL_COUNT] = {(void *)h_dlopen, (void *)h_dlmopen,
                           (void *)dt__h_dlsym, (void *)dt__h_dlvsym};
  Dl_info info;
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
  real_dlmopen = (dlmopen_fn)reals[DL_MOPEN];
  dt__real_dlsym = reals[DL_SYM];
  dt__real_dlvsym = reals[DL_VSYM];
  for (int k = 0; k < DL_COUNT; k++) {
    dt__hook *h = &g_dl_hooks[k];
    h->name = dl_names[k];
    h->real = reals[k];
    h->stub = stubs[k];
    h->def_base =
        dladdr(reals[k], &info) ? (uintptr_t)info.dli_fbase : 0;
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
 * the shim's constructor. */
void dt__loader_init(void) {
  init_lock();
  pthread_atfork(NULL, NULL, init_lock);
}

/* Keeps the stub table (n entries, owned by shim.c for the life of the
 * process) and the shim's own load base, and allocates the hook list
 * (never freed).  Returns 0 or -ENOMEM. */
int dt__loader_table(dt__stub *stubs, size_t n, uintptr_t self_base) {
  g_stubs = stubs;
  g_nstubs = n;
  g_self_base = self_base;
  g_nhooks = n + DL_COUNT;
  g_hooks = calloc(g_nhooks, sizeof *g_hooks);
  return g_hooks == NULL ? -ENOMEM : 0;
}

/* Finds the real definition of s->off in the objects loaded at start-up
 * and records where it lives.  Returns 0, -ENOENT when no loaded object
 * defines it (yet), or -ELOOP when the lookup found the shim itself. */
int dt__loader_resolve(dt__stub *s) {
  return resolve(s, NULL);
}

/* The loader's own dlopen, for the shim's start-up (never through a
 * hook).  Returns its handle, or NULL with dlerror() set. */
void *dt__loader_dlopen(const char *file, int mode) {
  return real_dlopen(file, mode);
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
