/* shim.c: libdtask_shim.so's start-up and its dynamic-loader interposers.
 *
 * When the shim is preloaded, its constructor reads the config, finds the
 * real definition of every listed symbol (dlsym(RTLD_NEXT) or dlvsym when
 * a version is named), builds one libffi closure per symbol (stub.c) and
 * points the GOT slots of every loaded object at those closures (got.c).
 * dlopen/dlmopen/dlsym/dlvsym are redirected the same way, through GOT
 * slots rather than exported definitions: the shim exports nothing, and
 * its own calls to the loader (which go through its own GOT, never
 * patched) can never loop back into it.
 *
 * This file owns the shim's global state: the config, the stub table, the
 * hook list and the lock that serializes patching.  The state is built
 * once in the constructor; afterwards only a symbol that becomes available
 * through dlopen is filled in, under the lock, and published with a
 * release store.
 *
 * Policy on bad input: a config error is printed loudly on stderr and the
 * program runs unchanged, unless strict mode (DTASK_STRICT=1 or [shim]
 * strict = true) is asked for, in which case the program stops with exit
 * status 2 before main. */
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

#include "common/common.h"
#include "common/error.h"
#include "common/guard.h"
#include "common/log.h"
#include "config/config.h"
#include "shim/call.h"
#include "shim/got.h"
#include "shim/role.h"
#include "shim/stub.h"

/* The loader functions the shim redirects, in hook-table order. */
enum { DL_OPEN, DL_MOPEN, DL_SYM, DL_VSYM, DL_COUNT };
static const char *const dl_names[DL_COUNT] = {"dlopen", "dlmopen", "dlsym",
                                               "dlvsym"};

typedef void *(*dlopen_fn)(const char *, int);
typedef void *(*dlmopen_fn)(Lmid_t, const char *, int);

/* Global state; see the file comment for who writes it when. */
static dt__config *g_cfg;
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

/* Decides what dlsym(handle, name) or dlvsym(handle, name, version)
 * returns for a name the shim redirects; NULL means "not ours: let the
 * real function answer".  For RTLD_DEFAULT and RTLD_NEXT a listed name
 * gives its closure.  For an explicit handle the real lookup runs first
 * and the closure replaces its answer only when that answer is the
 * definition the closure forwards to, so that a handle which does not
 * reach the symbol, or reaches another definition of the same name,
 * still gets the truth.  Called from the trampolines on any thread:
 * reads only data published before g_active was set, or with acquire
 * loads. */
__attribute__((visibility("hidden"))) void *
dt__dl_lookup_stub(void *handle, const char *name, const char *version,
                   void *caller);

/* Real dlsym or dlvsym, by whether version is given. */
static void *real_lookup(void *handle, const char *name, const char *version) {
  return version != NULL
             ? ((void *(*)(void *, const char *, const char *))dt__real_dlvsym)(
                   handle, name, version)
             : ((void *(*)(void *, const char *))dt__real_dlsym)(handle, name);
}

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

static void *h_dlopen(const char *file, int mode) {
  return open_and_patch(false, LM_ID_BASE, file, mode,
                        __builtin_return_address(0));
}

static void *h_dlmopen(Lmid_t lmid, const char *file, int mode) {
  return open_and_patch(true, lmid, file, mode, __builtin_return_address(0));
}

/* ------------------------------------------------------------ start-up */

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

/* Fills the loader hooks (after the stub hooks) and the real pointers. */
static int setup_loader_hooks(void) {
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

/* Builds a stub per offload entry.  Entries whose symbol is not found are
 * kept (a later dlopen may bring them) with a NULL hook stub. */
static int setup_stubs(bool strict, bool runner) {
  int missing = 0;
  for (size_t i = 0; i < g_nstubs; i++) {
    dt__stub *s = &g_stubs[i];
    const dt__offload *o = s->off;
    /* A runner serves functions the program may only dlopen later (its
     * main never runs): it loads a named library itself. */
    if (runner && o->library[0] != '\0' &&
        real_dlopen(o->library, RTLD_NOW | RTLD_NOLOAD) == NULL &&
        real_dlopen(o->library, RTLD_NOW) == NULL)
      dt__log(DT__LOG_ERROR, "%s:%d: the runner cannot load %s: %s",
              g_cfg->path, o->line, o->library, dlerror());
    int rc = dt__stub_init(s);
    if (rc != 0) {
      dt__log(DT__LOG_ERROR, "%s:%d: libffi cannot build a stub for '%s' (%s)",
              g_cfg->path, o->line, o->symbol, strerror(-rc));
      return rc;
    }
    rc = resolve(s, NULL);
    if (rc == -ELOOP)
      return rc;
    if (rc == 0) {
      dt__log(DT__LOG_INFO, "'%s%s%s' is defined by %s", o->symbol,
              o->version[0] ? "@" : "", o->version,
              s->def_name[0] ? s->def_name : "the program");
    } else {
      missing++;
      dt__log(o->required || strict ? DT__LOG_ERROR : DT__LOG_WARN,
              "%s:%d: no loaded object defines '%s%s%s'%s%s; it stays "
              "pending until a dlopen brings it",
              g_cfg->path, o->line, o->symbol, o->version[0] ? "@" : "",
              o->version, o->library[0] ? " in " : "", o->library);
      if (o->required)
        return -ENOENT;
    }
  }
  return strict && missing ? -ENOENT : 0;
}

/* Reports symbols that no loaded object imports: a warning, or an error
 * for required entries and in strict mode. */
static int check_imports(const patch_stats *st, bool strict) {
  int rc = 0;
  for (size_t i = 0; i < g_nstubs; i++) {
    const dt__offload *o = g_stubs[i].off;
    if (g_stubs[i].real == NULL || st->slots[i] > 0)
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

/* A fork while another thread patches after a dlopen would leave g_lock
 * held in the child by a thread that does not exist there. */
static void lock_reinit_child(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&g_lock, &attr);
  pthread_mutexattr_destroy(&attr);
}

__attribute__((constructor)) static void shim_init(void) {
  pthread_mutexattr_t attr;
  dt__error err = {0, 0, ""};
  Dl_info self;
  bool strict = env_true(DT__ENV_STRICT);
  patch_stats st = {NULL};
  int saved = errno;

  dt__in_shim = 1;
  dt__log_init();
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&g_lock, &attr);
  pthread_mutexattr_destroy(&attr);
  pthread_atfork(NULL, NULL, lock_reinit_child);
  if (dladdr((void *)shim_init, &self) == 0) {
    dt__log(DT__LOG_ERROR, "cannot find the shim's own object");
    goto out;
  }
  g_self_base = (uintptr_t)self.dli_fbase;

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
  g_nhooks = g_nstubs + DL_COUNT;
  g_stubs = calloc(g_nstubs ? g_nstubs : 1, sizeof *g_stubs);
  g_hooks = calloc(g_nhooks, sizeof *g_hooks);
  st.slots = calloc(g_nstubs ? g_nstubs : 1, sizeof *st.slots);
  if (g_stubs == NULL || g_hooks == NULL || st.slots == NULL) {
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
    if (setup_loader_hooks() != 0 || setup_stubs(false, true) != 0 ||
        dt__runner_setup(g_cfg, g_stubs, g_nstubs, g_self_base) != 0) {
      dt__log(DT__LOG_ERROR, "runner role: cannot serve; exiting");
      _exit(2);
    }
    goto out;
  }
  if (setup_loader_hooks() != 0 || setup_stubs(strict, false) != 0) {
    give_up(strict);
    goto out;
  }
  if (dt__mode == DT__MODE_OFFLOAD)
    dt__offload_init(g_cfg, g_stubs, g_nstubs);
  pthread_mutex_lock(&g_lock);
  build_hooks_locked();
  __atomic_store_n(&g_active, true, __ATOMIC_RELEASE);
  rc = patch_locked(&st);
  pthread_mutex_unlock(&g_lock);
  if (rc < 0 || check_imports(&st, strict) != 0) {
    if (strict)
      give_up(strict);
  }
  dt__log(DT__LOG_INFO, "%zu symbol%s interposed in %s (%d slots)", g_nstubs,
          g_nstubs == 1 ? "" : "s", program_invocation_short_name, rc);
out:
  free(st.slots);
  dt__in_shim = 0;
  errno = saved;
}

/* Ends the offload path (its last result, its stats file) and, with
 * DTASK_LOG=info, says how many calls each symbol received. */
__attribute__((destructor)) static void shim_fini(void) {
  int saved = errno;
  dt__in_shim = 1;
  if (dt__mode == DT__MODE_OFFLOAD && g_stubs != NULL &&
      getenv(DT__ENV_ROLE) == NULL)
    dt__offload_fini();
  dt__in_shim = 0;
  errno = saved;
  if (dt__log_level < DT__LOG_INFO)
    return;
  for (size_t i = 0; i < g_nstubs; i++)
    dt__log(DT__LOG_INFO, "%s: %lu call%s intercepted",
            g_stubs[i].off->symbol,
            __atomic_load_n(&g_stubs[i].calls, __ATOMIC_RELAXED),
            g_stubs[i].calls == 1 ? "" : "s");
}
