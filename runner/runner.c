/* runner.c: owns the runner role's start-up: taking over main.
 *
 * A runner is the program's own image, started with the shim preloaded
 * and DTASK_ROLE=runner.  Every constructor of the program and its
 * libraries runs as usual, so the functions it serves find their library
 * state initialised; then, instead of main, the serve loop runs
 * (supervisor.c): the engine's start (shim/shim.c) calls
 * dt__runner_setup, which points the program's __libc_start_main slot at
 * a wrapper that hands glibc serve_main in place of main. */
#include <dlfcn.h>
#include <errno.h>

#include "common/log.h"
#include "config/config.h"
#include "runner/proctitle.h"
#include "runner/supervisor.h"
#include "shim/got.h"
#include "shim/role.h"
#include "shim/symbol.h"

typedef int (*main_fn)(int, char **, char **);
typedef int (*start_main_fn)(main_fn, int, char **, void (*)(void),
                             void (*)(void), void (*)(void), void *);

/* What dt__runner_setup was given, for serve_main. */
static const dt__config *r_cfg;
static dt__stub *r_stubs;
static size_t r_n;
static start_main_fn real_start_main;

/* Runs in place of the program's main: serves calls, and its return
 * value is the process's exit status. */
static int serve_main(int argc, char **argv, char **envp) {
  (void)envp;
  dt__proctitle_init(argc, argv);
  return dt__runner_serve(r_cfg, r_stubs, r_n);
}

/* The program's __libc_start_main, redirected: glibc's own, with
 * serve_main for main. */
static int runner_start_main(main_fn main, int argc, char **argv,
                             void (*init)(void), void (*fini)(void),
                             void (*rtld_fini)(void), void *stack_end) {
  (void)main;
  return real_start_main(serve_main, argc, argv, init, fini, rtld_fini,
                         stack_end);
}

/* Runner role.  Called from the engine's start (shim/shim.c) when
 * DTASK_ROLE=runner: redirects the program's __libc_start_main so that,
 * once every constructor has run, the serve loop runs instead of main.
 * Keeps cfg and stubs (owned by the shim for the life of the process).
 * Returns 0, or a negative errno after saying why the program cannot
 * run as a runner. */
int dt__runner_setup(const dt__config *cfg, dt__stub *stubs, size_t n,
                     uintptr_t self_base) {
  dt__hook hook;
  r_cfg = cfg;
  r_stubs = stubs;
  r_n = n;
  real_start_main = (start_main_fn)dlsym(RTLD_NEXT, "__libc_start_main");
  if (real_start_main == NULL)
    return -ENOENT;
  hook.name = "__libc_start_main";
  hook.real = (void *)real_start_main;
  hook.stub = (void *)runner_start_main;
  if (dt__got_object_of((void *)real_start_main, &hook.def_base, NULL) != 0)
    hook.def_base = 0;
  int rc = dt__got_patch(&hook, 1, &self_base, 1, NULL, NULL);
  if (rc <= 0) {
    dt__log(DT__LOG_ERROR,
            "cannot take over %s's start-up (__libc_start_main not "
            "imported through a GOT slot): it cannot run as a dtask runner",
            program_invocation_short_name);
    return rc < 0 ? rc : -ENOENT;
  }
  return 0;
}
