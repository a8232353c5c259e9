/* door.h: what the preloaded shim (shim/door.c, libdtask_shim.so) and the
 * engine it loads (libdtask_engine.so) say to each other.
 *
 * The door is all that a program pays for when it catches nothing: it
 * reads the config's symbol names, watches the program's imports and its
 * later dlopens, and loads the engine (libffi, LMDB, the stubs, the call
 * path, the runner role) only once a listed symbol is both imported and
 * defined.  Both objects are built from one tree; DT__DOOR_ABI changes
 * whenever this struct does. */
#ifndef DT_DOOR_H
#define DT_DOOR_H

#define DT__DOOR_ABI 2
/* The engine's file, looked for beside the shim, and its one export. */
#define DT__ENGINE_FILE "libdtask_engine.so"
#define DT__ENGINE_ENTRY "dtask_engine_start"

typedef struct dt__door {
  int abi;              /* DT__DOOR_ABI */
  int log_level;        /* in: DTASK_LOG and DTASK_TRACE as the door read */
  int trace_on;         /* them (said once, by the door, when malformed) */
  void *handle;         /* in: the library whose dlopen brought a listed
                           symbol (searched even when RTLD_LOCAL), or NULL */
  void *dlopen_hook;    /* in: the door's dlopen and dlmopen interposers,
                           already in every loaded object's GOT */
  void *dlmopen_hook;
  /* in: dlsym(RTLD_NEXT, symbol), or dlvsym when version is not "", as
   * the preloaded shim sees it: the definition that follows the program
   * in the global scope (the engine, loaded on its own, has no such
   * place: from it, a non-PIE program's canonical PLT entry would win). */
  void *(*next)(const char *symbol, const char *version);
  /* out, set by the engine when it patches: called by the door after
   * every later load (handle: what dlopen returned), and around it
   * (begin 1, then 0: calls made while a library loads run inline). */
  void (*loaded)(void *handle);
  void (*loading)(int begin);
} dt__door;

/* The engine's entry (shim/shim.c): starts dtask in this process, in the
 * role the environment names.  Returns 0 when the engine is live (or
 * the process will serve as a runner), or a negative errno after saying
 * why the program runs without dtask. */
int dtask_engine_start(dt__door *door);
typedef int (*dt__engine_start_fn)(dt__door *door);

#endif /* DT_DOOR_H */
