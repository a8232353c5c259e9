/* runenv.h: the environment a runner pool starts with (shim/runenv.c),
 * shared by autostart and the launchers. */
#ifndef DT_RUNENV_H
#define DT_RUNENV_H

#include <stdbool.h>

/* What a runner pool's environment says beyond what it inherits. */
typedef struct dt__runenv {
  const char *config; /* DTASK_CONFIG: the config file, an absolute path */
  int workers;        /* > 0: DTASK_WORKERS (else an inherited one stays) */
  bool autostarted;   /* DTASK_AUTOSTARTED=1 (a pool a caller started) */
  bool ready_fd;      /* keep an inherited DTASK_READY_FD (a launcher's) */
} dt__runenv;

char **dt__runenv_build(char *const *base, const dt__runenv *how);

#endif /* DT_RUNENV_H */
