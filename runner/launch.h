/* launch.h: what dtask and dtask-runner share to start a program in
 * runner role (runner/launch.c). */
#ifndef DT_LAUNCH_H
#define DT_LAUNCH_H

#include "config/config.h"

int dt__find_shim(char *out, size_t outsz);
int dt__env_preload(const char *shim);
int dt__launch_args(const char *cmd, int argc, char **argv, const char **file,
                    int *workers);
int dt__launch_config(const char *cmd, const char *file, dt__config **cfg,
                      char *abs, size_t abssz);
int dt__exec_runner(const char *shim, const char *config, int workers,
                    char **argv);

#endif /* DT_LAUNCH_H */
