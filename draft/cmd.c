/* cmd.c: the command `dtask sig`, which drafts [[offload]] entries.
 *
 *     dtask sig [-I DIR] [-D NAME[=VALUE]] HEADER SYMBOL...
 *     dtask sig --binary PROG SYMBOL...
 *
 * This file owns the command line and the exit status; the readers
 * (draft/clang.c for a header, draft/dwarf.c for debug info) describe the
 * functions and the rules (draft/rules.c) write the entries. */
#include <errno.h>
#include <getopt.h>
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
  static const struct option longopts[] = {
      {"binary", required_argument, NULL, 'b'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *opts[2 * MAX_OPTS]; /* "-I", DIR, "-D", NAME=VALUE, ... */
  int nopts = 0;
  const char *binary = NULL, *header = NULL;
  const char *syms[MAX_SYMBOLS];
  int nsyms = 0, status = 0, c;
  optind = 1;
  opterr = 0;
  /* '+': options end at HEADER (or at --binary's first symbol). */
  while ((c = getopt_long(argc, argv, "+:I:D:h", longopts, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return 0;
    }
    if (c == 'b') {
      binary = optarg;
    } else if (c == 'I' || c == 'D') {
      if (nopts == 2 * MAX_OPTS) {
        fprintf(stderr, "dtask sig: -%c: at most %d -I and -D options\n", c,
                MAX_OPTS);
        return 2;
      }
      opts[nopts++] = c == 'I' ? "-I" : "-D";
      opts[nopts++] = optarg;
    } else if (c == ':' && optopt == 'b') {
      fprintf(stderr, "dtask sig: --binary needs a program or library\n");
      return 2;
    } else if (c == ':') {
      fprintf(stderr, "dtask sig: -%c needs a value\n", optopt);
      return 2;
    } else {
      fprintf(stderr, "dtask sig: unknown option %s\n", argv[optind - 1]);
      usage(stderr);
      return 2;
    }
  }
  for (int i = optind; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "dtask sig: %s: options go before %s\n", a,
              binary != NULL ? "--binary PROG" : "HEADER");
      return 2;
    }
    if (binary == NULL && header == NULL) {
      header = a;
    } else if (strlen(a) >= sizeof ((dt__cfunc *)0)->name) {
      fprintf(stderr, "dtask sig: symbol name too long: %.40s...\n", a);
      return 2;
    } else if (nsyms == MAX_SYMBOLS) {
      fprintf(stderr, "dtask sig: at most %d symbols at a time\n",
              MAX_SYMBOLS);
      return 2;
    } else {
      syms[nsyms++] = a;
    }
  }
  if ((header == NULL && binary == NULL) || nsyms == 0) {
    usage(stderr);
    return 2;
  }
  if (binary != NULL && nopts > 0) {
    fprintf(stderr, "dtask sig: -I and -D are for headers, not --binary\n");
    return 2;
  }
  dt__cfunc *funcs = calloc((size_t)nsyms, sizeof *funcs);
  if (funcs == NULL)
    return 2;
  for (int i = 0; i < nsyms; i++) {
    snprintf(funcs[i].name, sizeof funcs[i].name, "%s", syms[i]);
    dt__cfunc_clear(&funcs[i]);
  }
  dt__error err = {0, 0, ""};
  int rc = binary != NULL
               ? dt__draft_dwarf(binary, funcs, (size_t)nsyms, &err)
               : dt__draft_clang(header, opts, nopts, funcs, (size_t)nsyms,
                                 &err);
  if (rc < 0) {
    fprintf(stderr, "dtask sig: %s\n", err.msg);
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
  return status;
}
