/* status.h: `dtask status` and `dtask top` (runner/status.c). */
#ifndef DT_STATUS_H
#define DT_STATUS_H

int dt__cmd_status(int argc, char **argv);
int dt__cmd_top(int argc, char **argv);

#endif /* DT_STATUS_H */
