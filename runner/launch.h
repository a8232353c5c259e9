/* launch.h: what dtask and dtask-runner share to start a program in
 * runner role (runner/launch.c). */
#ifndef DT_LAUNCH_H
#define DT_LAUNCH_H

#include "config/config.h"

/* dt__launch_args' answer after --version: the version was printed. */
#define DT__LAUNCH_VERSION (-2)

void dt__print_version(const char *cmd);
int dt__find_shim(const char *cmd, char *out);
int dt__become_user(const char *cmd, const char *name);
int dt__env_preload(const char *shim);
int dt__launch_args(const char *cmd, int argc, char **argv, const char **file,
                    int *workers, const char **user);
int dt__launch_config(const char *cmd, const char *file, dt__config **cfg,
                      char *abs, size_t abssz);
int dt__exec_runner(const char *shim, const char *config, int workers,
                    char **argv);

#endif /* DT_LAUNCH_H */
