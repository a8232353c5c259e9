/* proctitle.c: owns the process title of a runner's supervisor and
 * workers, so that ps, top and /proc show "dtask-pool:reports" and
 * "dtask-w3:reports" instead of the name of the executable's link.
 *
 * Two things carry a process's name: the kernel's 15-byte comm (top, ps
 * -o comm, /proc/PID/stat), set with PR_SET_NAME, and the argument area
 * (ps -o args, /proc/PID/cmdline), which is the memory argv points into.
 * The title is written over the argument area, never past its end, and
 * the rest of the area is cleared; the environment is left where it is.
 * glibc's program_invocation_name and program_invocation_short_name point
 * into argv[0], so they are first moved to a copy: messages keep naming
 * the program. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "runner/proctitle.h"

static char *t_area;     /* the first byte of argv[0] */
static size_t t_size;    /* bytes up to the NUL of the last argument */
static char t_name[256]; /* the copy of program_invocation_name */

/* Remembers the argument area of argv (argc entries), which must be the
 * process's own (the one __libc_start_main received), and moves glibc's
 * program_invocation names out of it.  Arguments that are not contiguous
 * with argv[0] (moved by the program) end the area. */
void dt__proctitle_init(int argc, char **argv) {
  if (argc <= 0 || argv == NULL || argv[0] == NULL)
    return;
  char *end = argv[0] + strlen(argv[0]);
  for (int i = 1; i < argc && argv[i] == end + 1; i++)
    end = argv[i] + strlen(argv[i]);
  t_area = argv[0];
  t_size = (size_t)(end - argv[0]);
  size_t k = strlen(program_invocation_name);
  if (k >= sizeof t_name)
    k = sizeof t_name - 1;
  memcpy(t_name, program_invocation_name, k);
  t_name[k] = '\0';
  const char *slash = strrchr(t_name, '/');
  program_invocation_name = t_name;
  program_invocation_short_name = slash != NULL ? (char *)slash + 1 : t_name;
}

/* Sets the title from fmt: the whole of it in the argument area (cut to
 * the area's size), its first 15 bytes as the kernel's comm.  Before
 * dt__proctitle_init only comm changes.  Preserves errno. */
void dt__proctitle_set(const char *fmt, ...) {
  char title[512];
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(title, sizeof title, fmt, ap);
  va_end(ap);
  prctl(PR_SET_NAME, title, 0, 0, 0);
  if (t_area != NULL && t_size > 0) {
    size_t n = strlen(title);
    if (n > t_size)
      n = t_size;
    memcpy(t_area, title, n);
    memset(t_area + n, 0, t_size + 1 - n);
  }
  errno = saved;
}
