/* cmd.c: the command `dtask sig`, which drafts [[offload]] entries.
 *
 *     dtask sig [-I DIR] [-D NAME[=VALUE]] HEADER SYMBOL...
 *     dtask sig --binary PROG SYMBOL...
 *
 * This file owns the command line and the exit status; the readers
 * (draft/clang.c for a header, draft/dwarf.c for debug info) describe the
 * functions and the rules (draft/rules.c) write the entries. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draft/clang.h"
#include "draft/cmd.h"
#include "draft/draft.h"
#include "draft/dwarf.h"

#define MAX_SYMBOLS 64
#define MAX_OPTS 64

/* Prints the usage text to out. */
static void usage(FILE *out) {
  fputs("usage: dtask sig [-I DIR] [-D NAME[=VALUE]] HEADER SYMBOL...\n"
        "       dtask sig --binary PROG SYMBOL...\n"
        "Drafts the [[offload]] entries of SYMBOL... from a C header (a path\n"
        "or <zlib.h>, parsed with libclang) or from the DWARF debug info of a\n"
        "program or library built with -g.  Guesses are noted beside each\n"
        "entry, unknown lengths are left as LEN? (dtask check rejects them),\n"
        "and what cannot be offloaded is refused with its reason.\n"
        "Exit status: 0 every entry complete, 1 some entry needs a person\n"
        "(a LEN? or a refusal), 2 a symbol not found or nothing readable.\n",
        out);
}

/* dtask sig ARGS: prints the draft on stdout.  Returns the exit status
 * described in usage(). */
int dt__cmd_sig(int argc, char **argv) {
  const char *opts[MAX_OPTS];
  int nopts = 0;
  char *owned[MAX_OPTS];
  int nowned = 0;
  const char *binary = NULL, *header = NULL;
  const char *syms[MAX_SYMBOLS];
  int nsyms = 0, status = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      goto out;
    }
    if (a[0] == '-' && a[1] != '\0' && (header != NULL || binary != NULL)) {
      fprintf(stderr, "dtask sig: %s: options go before %s\n", a,
              binary != NULL ? "--binary PROG" : "HEADER");
      status = 2;
      goto out;
    }
    if (strncmp(a, "-I", 2) == 0 || strncmp(a, "-D", 2) == 0) {
      const char *val = a[2] != '\0' ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
      if (val == NULL || nopts == MAX_OPTS) {
        fprintf(stderr, val == NULL ? "dtask sig: %s needs a value\n"
                                    : "dtask sig: %s: at most 64 -I and -D "
                                      "options\n",
                a);
        status = 2;
        goto out;
      }
      char *o = malloc(strlen(val) + 3);
      if (o == NULL) {
        status = 2;
        goto out;
      }
      sprintf(o, "-%c%s", a[1], val);
      owned[nowned++] = o;
      opts[nopts++] = o;
    } else if (strcmp(a, "--binary") == 0) {
      if (i + 1 == argc) {
        fprintf(stderr, "dtask sig: --binary needs a program or library\n");
        status = 2;
        goto out;
      }
      binary = argv[++i];
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "dtask sig: unknown option %s\n", a);
      usage(stderr);
      status = 2;
      goto out;
    } else if (binary == NULL && header == NULL) {
      header = a;
    } else if (strlen(a) >= sizeof ((dt__cfunc *)0)->name) {
      fprintf(stderr, "dtask sig: symbol name too long: %.40s...\n", a);
      status = 2;
      goto out;
    } else if (nsyms == MAX_SYMBOLS) {
      fprintf(stderr, "dtask sig: at most %d symbols at a time\n",
              MAX_SYMBOLS);
      status = 2;
      goto out;
    } else {
      syms[nsyms++] = a;
    }
  }
  if ((header == NULL && binary == NULL) || nsyms == 0) {
    usage(stderr);
    status = 2;
    goto out;
  }
  if (binary != NULL && nopts > 0) {
    fprintf(stderr, "dtask sig: -I and -D are for headers, not --binary\n");
    status = 2;
    goto out;
  }
  dt__cfunc *funcs = calloc((size_t)nsyms, sizeof *funcs);
  if (funcs == NULL) {
    status = 2;
    goto out;
  }
  for (int i = 0; i < nsyms; i++) {
    snprintf(funcs[i].name, sizeof funcs[i].name, "%s", syms[i]);
    dt__cfunc_clear(&funcs[i]);
  }
  char msg[1024] = "";
  int rc = binary != NULL
               ? dt__draft_dwarf(binary, funcs, (size_t)nsyms, msg, sizeof msg)
               : dt__draft_clang(header, opts, nopts, funcs, (size_t)nsyms,
                                 msg, sizeof msg);
  if (rc < 0) {
    fprintf(stderr, "dtask sig: %s\n", msg);
    status = 2;
  } else {
    dt__draft *d = dt__draft_new(binary != NULL ? binary : header);
    int counts[3] = {0, 0, 0}, missing = 0;
    bool oom = false;
    for (int i = 0; d != NULL && i < nsyms; i++) {
      if (!funcs[i].found) {
        if (binary != NULL)
          fprintf(stderr, "dtask sig: %s: no function %s in its debug info\n",
                  binary, syms[i]);
        else
          fprintf(stderr, "dtask sig: %s declares no function %s\n", header,
                  syms[i]);
        missing++;
        continue;
      }
      int level = dt__draft_add(d, &funcs[i]);
      if (level < 0) {
        oom = true;
        break;
      }
      counts[level]++;
    }
    if (d == NULL || oom) {
      fprintf(stderr, "dtask sig: out of memory; no draft printed\n");
      status = 2;
    } else if (dt__draft_print(d, stdout) < 0 || fflush(stdout) != 0) {
      fprintf(stderr, "dtask sig: cannot write the draft: %s\n",
              strerror(errno));
      status = 2;
    } else {
      fprintf(stderr,
              "dtask sig: %d complete, %d with a LEN? to fill, %d refused%s\n",
              counts[0], counts[1], counts[2],
              missing > 0 ? ", some not found" : "");
      status = missing > 0 ? 2 : counts[1] + counts[2] > 0 ? 1 : 0;
    }
    dt__draft_free(d);
  }
  for (int i = 0; i < nsyms; i++)
    dt__cfunc_clear(&funcs[i]);
  free(funcs);
out:
  for (int i = 0; i < nowned; i++)
    free(owned[i]);
  return status;
}
