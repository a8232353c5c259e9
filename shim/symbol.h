/* symbol.h: one interposed symbol as the caller and the runner see it,
 * its definition, identity and closure (filled by shim/loader.c and
 * shim/stub.c), apart from the closures' code so that the call path can
 * name it without depending on the stubs that call it. */
#ifndef DT_SYMBOL_H
#define DT_SYMBOL_H

#include <ffi.h>
#include <limits.h>
#include <stdbool.h>

#include "common/log.h"
#include "config/config.h"
#include "queue/image.h"
#include "queue/wire.h"

/* One interposed symbol: its resolved definition and its libffi closure.
 * Owned by the shim for the life of the process (never freed while the
 * program may still call through a patched slot). */
typedef struct dt__stub {
  const dt__offload *off; /* the config entry (owned by the shim's config) */
  void *real;             /* the definition calls are forwarded to */
  uintptr_t def_base;     /* load base of the object defining real */
  const char *def_name;   /* that object's path ("" for the program) */
  /* That object's identity and absolute path, computed once when real is
   * found (shim/loader.c); def_obj is what each task carries of them
   * (def_obj.path is def_path), valid when def_known. */
  bool def_known;
  dt__objid def_id;
  dt__wire_obj def_obj;
  char def_path[PATH_MAX];
  ffi_cif cif;
  ffi_type *ffi_ret;      /* the cif's types (shim/ffitype.c) */
  ffi_type *ffi_args[DT__MAX_PARAMS];
  ffi_closure *closure;
  void *code;             /* what the program's slots get: the closure's
                             executable address, the real function
                             (sync mode, nothing traced), or tramp */
  void *tramp;            /* the offload_if trampoline (shim/jit.c), or
                             NULL; it jumps to the closure or to real */
  unsigned long calls;    /* intercepted calls (atomic) */
  unsigned long local;    /* ... run in the caller by offload_if (atomic) */
  unsigned long retries;  /* retries of offloaded calls (atomic) */
  unsigned long cache_hits, cache_misses; /* answers cache (atomic) */
  /* async calls the drain at exit gave up on: withdrawn before any
   * worker took them, or left to the worker that runs them (reaper) */
  unsigned long drain_dropped, drain_left;
  uint32_t index;         /* the entry's index in the config */
  unsigned long hist[DT__HIST_BUCKETS]; /* offloaded round trips (atomic) */
} dt__stub;

/* The object section of s's tasks: its defining object, or NULL when
 * its identity is not known (the task then carries none). */
static inline const dt__wire_obj *dt__stub_obj(const dt__stub *s) {
  return s->def_known ? &s->def_obj : NULL;
}

#endif /* DT_SYMBOL_H */
