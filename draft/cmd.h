/* cmd.h: the command `dtask sig` (draft/cmd.c). */
#ifndef DT_DRAFT_CMD_H
#define DT_DRAFT_CMD_H

int dt__cmd_sig(int argc, char **argv);

#endif /* DT_DRAFT_CMD_H */
