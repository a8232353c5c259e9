/* dtask.c: the dtask command.
 *
 * `dtask check` validates a config and prints the plan: every symbol, its
 * signature as dtask understood it, and, with --binary, which objects of a
 * program import the symbol (and so will be patched) and which object
 * defines it.  It is the tool a person runs before LD_PRELOAD, so its
 * messages say what to write instead, and its exit status is 0 for a
 * valid config and 2 for an invalid one (1 for a usage error).
 *
 * `dtask run` is the launcher: it refuses to start on a config error,
 * starts a runner pool from the program's image, runs the program with
 * the shim preloaded, stops the pool, and prints one summary line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/error.h"
#include "common/log.h"
#include "config/cond.h"
#include "config/config.h"
#include "config/policy.h"
#include "config/sig.h"
#include "config/split.h"
#include "draft/cmd.h"
#include "runner/elf.h"
#include "runner/launch.h"
#include "runner/status.h"
#include "shim/got.h"

#define EXIT_INVALID 2
#define MAX_OBJECTS 512

/* Prints the usage text on out. */
static void usage(FILE *out) {
  fprintf(out,
          "usage: dtask check [-c FILE] [--binary PROG] [FILE]\n"
          "       dtask run [-c FILE] [-w N] -- PROG [ARGS]\n"
          "       dtask status [-c FILE] [--json | --prometheus]\n"
          "       dtask top [-c FILE] [-n COUNT]\n"
          "       dtask sig [-I DIR] [-D NAME[=VALUE]] HEADER SYMBOL...\n"
          "       dtask sig --binary PROG SYMBOL...\n"
          "       dtask --version\n"
          "\n"
          "  check   validate a config and print the plan; with --binary,\n"
          "          also show which objects of PROG import each symbol\n"
          "          (and will be patched) and which object defines it.\n"
          "          The config is FILE, -c FILE, $" DT__ENV_CONFIG " or\n"
          "          ./dtask.toml, in that order.  Exit 0 valid, 2 invalid.\n"
          "  run     validate the config (exit 2 if invalid), start a runner\n"
          "          pool of N workers for PROG's image, run PROG with the\n"
          "          shim preloaded, stop the pool, and print a summary of\n"
          "          the offloaded calls.  Exit status is PROG's.\n"
          "  status  the config's queue: its pools and workers, the calls\n"
          "          waiting and running, per symbol calls, errors,\n"
          "          crashes, timeouts and run times; --json, or\n"
          "          --prometheus (text exposition).  Exit 0 when a pool\n"
          "          serves the queue, 1 when none does, 2 on a bad config.\n"
          "  top     the same, redrawn every second (q quits); -n COUNT\n"
          "          views, then exit.\n"
          "  sig     draft the [[offload]] entries of SYMBOL... from a C\n"
          "          header (libclang) or from DWARF (libdw): guesses\n"
          "          noted, unknown lengths left as LEN?, refusals with\n"
          "          their reason.  Exit 0 complete, 1 needs review, 2\n"
          "          not found or unreadable.\n"
          "\n"
          "Manual: man dtask, man dtask-runner, man 5 dtask.toml.\n");
}

/* The loaded-object list of a program, in the loader's breadth-first
 * order: the program, its DT_NEEDED entries, theirs, and so on. */
typedef struct objects {
  dt__elf *e[MAX_OBJECTS];
  size_t n;
} objects;

/* Closes every object of o (and empties it). */
static void objects_close(objects *o) {
  for (size_t i = 0; i < o->n; i++)
    dt__elf_close(o->e[i]);
  o->n = 0;
}

/* Opens prog and every library it needs.  Libraries that cannot be found
 * are reported and skipped, as `ldd` shows "not found". */
static int objects_open(const char *prog, objects *o) {
  char err[512];
  int rc = dt__elf_open(prog, &o->e[0], err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "dtask: %s: %s\n", prog, err);
    return rc;
  }
  o->n = 1;
  for (size_t i = 0; i < o->n; i++) {
    for (size_t k = 0; k < dt__elf_needed_count(o->e[i]); k++) {
      const char *so = dt__elf_needed(o->e[i], k);
      char path[PATH_MAX], real[PATH_MAX];
      bool seen = false;
      if (dt__elf_find_needed(o->e[i], so, path, sizeof path) != 0) {
        printf("  warning: %s needs %s, which was not found (as ldd would "
               "say); its imports are not shown\n",
               dt__elf_path(o->e[i]), so);
        continue;
      }
      if (realpath(path, real) == NULL)
        snprintf(real, sizeof real, "%s", path);
      for (size_t j = 0; j < o->n && !seen; j++) {
        char rj[PATH_MAX];
        if (realpath(dt__elf_path(o->e[j]), rj) == NULL)
          snprintf(rj, sizeof rj, "%s", dt__elf_path(o->e[j]));
        seen = strcmp(rj, real) == 0;
      }
      if (seen || o->n == MAX_OBJECTS)
        continue;
      if (dt__elf_open(path, &o->e[o->n], err, sizeof err) != 0) {
        printf("  warning: %s: %s\n", path, err);
        continue;
      }
      o->n++;
    }
  }
  return 0;
}

/* Prints, for one offload entry, who defines and who imports it.  Returns
 * 1 if calls from the program can be caught, 0 if not. */
static int explain_binary(const objects *o, const dt__offload *off) {
  int caught = 0, definer = -1;
  printf("      in the program:\n");
  for (size_t i = 0; i < o->n; i++) {
    char ver[128];
    int is_default = 0, self_refs = 0;
    if (dt__elf_defines(o->e[i], off->symbol,
                        off->version[0] ? off->version : NULL, ver,
                        sizeof ver, &is_default, &self_refs)) {
      printf("        defined by  %s%s%s%s%s\n", dt__elf_path(o->e[i]),
             ver[0] ? " (version " : "", ver,
             ver[0] ? (is_default ? ", default)" : ", non-default)") : "",
             definer < 0 ? "" : "  [shadowed by the first definition]");
      if (definer < 0)
        definer = (int)i;
      if (self_refs > 0 && definer == (int)i)
        printf("        note        %s calls it internally through its own "
               "PLT/GOT (%d relocation%s); those calls stay local\n",
               dt__elf_path(o->e[i]), self_refs, self_refs == 1 ? "" : "s");
    }
  }
  for (size_t i = 0; i < o->n; i++) {
    int counts[DT__REL_OTHER + 1];
    int total = dt__elf_imports(o->e[i], off->symbol, counts);
    if (total <= 0)
      continue;
    printf("        imported by %s:", dt__elf_path(o->e[i]));
    for (int k = 0; k <= DT__REL_OTHER; k++)
      if (counts[k] > 0)
        printf(" %s x%d", dt__relkind_name((dt__relkind)k), counts[k]);
    printf("  -> patched at start-up\n");
    caught = 1;
  }
  if (definer < 0)
    printf("        no object of the program defines it: it must come from a "
           "library loaded later with dlopen (the shim patches those and "
           "answers dlsym), or the program never calls it\n");
  else if (!caught && definer == 0 && dt__elf_is_executable(o->e[0]))
    printf("        WARNING: the program defines it and calls it internally; "
           "such calls do not go through a GOT and cannot be caught\n");
  else if (!caught)
    printf("        WARNING: no object imports it, so no call can be caught "
           "at start-up (only calls through dlsym)\n");
  return caught;
}

/* Prints the plan of a valid config. */
static void print_plan(const dt__config *cfg, const objects *o) {
  printf("config %s: valid\n", cfg->path);
  if (strcmp(cfg->backend, "redis") == 0) {
    const dt__url *u = &cfg->redis;
    char at[400];
    if (u->path[0] != '\0')
      snprintf(at, sizeof at, "unix://%s", u->path);
    else
      snprintf(at, sizeof at, "%s:%d", u->host, u->port);
    printf("  queue   redis at %s db %d, key prefix %s, local files in %s%s; "
           "calls up to %llu KiB each way\n",
           at, u->db,
           cfg->queue_name[0] ? cfg->queue_name : "from [queue] path",
           cfg->queue_path, cfg->password_file[0] ? ", password file" : "",
           (unsigned long long)(cfg->max_call_size >> 10));
  } else {
    printf("  queue   %s at %s (map %llu MiB, calls up to %llu KiB each "
           "way)\n",
           cfg->backend, cfg->queue_path,
           (unsigned long long)(cfg->map_size >> 20),
           (unsigned long long)(cfg->max_call_size >> 10));
  }
  printf("  runner  %d worker%s, autostart %s, idle exit after %.3gs\n",
         cfg->workers, cfg->workers == 1 ? "" : "s",
         cfg->autostart ? "on" : "off", (double)cfg->idle_exit_ns / 1e9);
  if (cfg->strict)
    printf("  shim    strict: any problem at start-up stops the program\n");
  for (size_t i = 0; i < cfg->ntypes; i++)
    printf("  type    %s: %zu bytes, align %zu\n", cfg->types[i].name,
           cfg->types[i].size, cfg->types[i].align);
  if (cfg->noffloads == 0)
    printf("  nothing to offload: the config has no [[offload]] entry\n");
  for (size_t i = 0; i < cfg->noffloads; i++) {
    const dt__offload *off = &cfg->offloads[i];
    printf("  offload %s%s%s%s%s%s (line %d)\n", off->symbol,
           off->version[0] ? "@" : "", off->version,
           off->library[0] ? " from " : "", off->library,
           off->required ? ", required" : "", off->line);
    dt__sig_describe(&off->sig, stdout);
    dt__policy_describe(&off->policy, stdout);
    dt__split_describe(&off->split, &off->sig, stdout);
    if (off->has_offload_if) {
      char c[128];
      dt__cond_format(&off->offload_if, c, sizeof c);
      printf("      offloaded only when %s; other calls run in the caller\n",
             c);
    }
    dt__limits_describe(&off->limits, &off->sig, stdout);
    if (off->async)
      printf("      async: the caller does not wait (its errno is left as "
             "it was; a failure is said on stderr); exit waits up to %gs "
             "(drain_timeout) for calls still queued\n",
             (double)off->policy.drain_timeout_ns / 1e9);
    if (o != NULL)
      explain_binary(o, off);
  }
}

/* dtask check [-c FILE] [--binary PROG] [FILE]: validates the config and
 * prints the plan.  Returns the exit status: 0 valid, 2 invalid (or a
 * required symbol PROG does not import), 1 for a usage error. */
static int cmd_check(int argc, char **argv) {
  static const struct option longopts[] = {{"config", required_argument, 0, 'c'},
                                           {"binary", required_argument, 0, 'b'},
                                           {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  const char *file = NULL, *binary = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "c:b:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'c':
      file = optarg;
      break;
    case 'b':
      binary = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 1;
    }
  }
  if (optind < argc) {
    if (file != NULL || optind + 1 < argc) {
      usage(stderr);
      return 1;
    }
    file = argv[optind];
  }
  if (file == NULL)
    file = dt__config_default_path();
  if (file == NULL) {
    fprintf(stderr, "dtask: no config: pass FILE or -c FILE, set "
                    DT__ENV_CONFIG ", or create ./dtask.toml (see "
                    "config/dtask.example.toml)\n");
    return EXIT_INVALID;
  }

  dt__config *cfg = NULL;
  dt__error err = {0, 0, ""};
  int rc = dt__config_load(file, &cfg, &err);
  if (rc != 0) {
    char msg[4800];
    fprintf(stderr, "dtask: %s\n", dt__error_format(&err, file, msg, sizeof msg));
    return EXIT_INVALID;
  }
  objects objs = {{0}, 0};
  if (binary != NULL && objects_open(binary, &objs) != 0) {
    dt__config_free(cfg);
    return EXIT_INVALID;
  }
  print_plan(cfg, binary != NULL ? &objs : NULL);
  rc = 0;
  if (binary != NULL) {
    for (size_t i = 0; i < cfg->noffloads; i++) {
      const dt__offload *off = &cfg->offloads[i];
      bool imported = false;
      for (size_t k = 0; k < objs.n; k++) {
        int counts[DT__REL_OTHER + 1];
        if (dt__elf_imports(objs.e[k], off->symbol, counts) > 0)
          imported = true;
      }
      if (off->required && !imported) {
        fprintf(stderr,
                "dtask: %s:%d: '%s' is required but %s does not import it; "
                "drop required = true or fix the symbol\n",
                file, off->line, off->symbol, binary);
        rc = EXIT_INVALID;
      }
    }
  }
  objects_close(&objs);
  dt__config_free(cfg);
  return rc;
}


/* ----------------------------------------------------------------- run */

/* The program `dtask run` runs, while it runs (0 otherwise). */
static volatile sig_atomic_t g_child;

/* SIGINT, SIGTERM, SIGHUP in the launcher: passed on to the program. */
static void forward(int sig) {
  if (g_child > 0)
    kill(g_child, sig);
}

/* Percentile p (0..1) of a merged histogram, in nanoseconds. */
static uint64_t percentile(const unsigned long *h, unsigned long total,
                           double p) {
  unsigned long want = (unsigned long)(p * (double)total + 0.5), seen = 0;
  if (want < 1)
    want = 1;
  for (int b = 0; b < DT__HIST_BUCKETS; b++) {
    seen += h[b];
    if (seen >= want)
      return dt__hist_value(b);
  }
  return 0;
}

/* Prints a latency on stderr, in ms or us by its size. */
static void print_ns(uint64_t ns) {
  if (ns >= 10000000ull)
    fprintf(stderr, "%.1f ms", (double)ns / 1e6);
  else if (ns >= 10000ull)
    fprintf(stderr, "%.1f us", (double)ns / 1e3);
  else
    fprintf(stderr, "%.2f us", (double)ns / 1e3);
}

/* Reads the stats lines the callers appended and prints one summary. */
static void summarize(const char *path, const dt__config *cfg) {
  size_t n = cfg->noffloads;
  unsigned long(*h)[DT__HIST_BUCKETS] = calloc(n ? n : 1, sizeof *h);
  unsigned long *calls = calloc(n ? n : 1, sizeof *calls);
  unsigned long *local = calloc(n ? n : 1, sizeof *local);
  unsigned long(*cache)[2] = calloc(n ? n : 1, sizeof *cache);
  FILE *f = fopen(path, "r");
  size_t linesz = 65536;
  char *line = malloc(linesz);
  unsigned long total = 0;
  while (f != NULL && h != NULL && calls != NULL && local != NULL &&
         cache != NULL && line != NULL &&
         fgets(line, (int)linesz, f) != NULL) {
    char sym[256];
    unsigned long c, m;
    int off = 0;
    if (sscanf(line, "dtask-cache 1 %255s %lu %lu", sym, &c, &m) == 3) {
      for (size_t i = 0; i < n; i++)
        if (strcmp(cfg->offloads[i].symbol, sym) == 0) {
          cache[i][0] += c;
          cache[i][1] += m;
        }
      continue;
    }
    if (sscanf(line, "dtask-local 1 %255s %lu", sym, &c) == 2) {
      for (size_t i = 0; i < n; i++)
        if (strcmp(cfg->offloads[i].symbol, sym) == 0)
          local[i] += c;
      continue;
    }
    if (sscanf(line, "dtask-stats 1 %255s %lu%n", sym, &c, &off) != 2)
      continue;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(cfg->offloads[i].symbol, sym) != 0)
        continue;
      calls[i] += c;
      total += c;
      const char *p = line + off;
      int b, used;
      unsigned long k;
      while (sscanf(p, " %d:%lu%n", &b, &k, &used) == 2) {
        if (b >= 0 && b < DT__HIST_BUCKETS)
          h[i][b] += k;
        p += used;
      }
    }
  }
  if (f != NULL)
    fclose(f);
  fprintf(stderr, "dtask: %lu call%s offloaded", total, total == 1 ? "" : "s");
  for (size_t i = 0; i < n && h != NULL && calls != NULL; i++) {
    if (calls[i] == 0)
      continue;
    fprintf(stderr, "; %s %lu (p50 ", cfg->offloads[i].symbol, calls[i]);
    print_ns(percentile(h[i], calls[i], 0.50));
    fprintf(stderr, ", p99 ");
    print_ns(percentile(h[i], calls[i], 0.99));
    fprintf(stderr, ")");
  }
  for (size_t i = 0; i < n && local != NULL; i++)
    if (local[i] > 0)
      fprintf(stderr, "; %s %lu in the caller (offload_if)",
              cfg->offloads[i].symbol, local[i]);
  for (size_t i = 0; i < n && cache != NULL; i++)
    if (cache[i][0] + cache[i][1] > 0)
      fprintf(stderr, "; %s %lu answered by the cache, %lu not",
              cfg->offloads[i].symbol, cache[i][0], cache[i][1]);
  fprintf(stderr, "\n");
  free(cache);
  free(line);
  free(h);
  free(calls);
  free(local);
}

/* dtask run [-c FILE] [-w N] -- PROG [ARGS]: starts a runner pool for
 * PROG's image, waits until it serves, runs PROG with the shim preloaded,
 * stops the pool and prints the summary.  Returns PROG's exit status (128
 * + the signal that killed it), 2 when the config is invalid or the pool
 * did not start, 1 for a usage error. */
static int cmd_run(int argc, char **argv) {
  const char *file;
  int workers;
  int at = dt__launch_args("dtask run", argc, argv, &file, &workers, NULL);
  if (at == DT__LAUNCH_VERSION)
    return 0;
  if (at <= 0) {
    usage(at == 0 ? stdout : stderr);
    return at == 0 ? 0 : 1;
  }
  char **prog = argv + at;
  dt__config *cfg = NULL;
  char abs[PATH_MAX], shim[PATH_MAX], stats[PATH_MAX];
  if (dt__launch_config("dtask run", file, &cfg, abs, sizeof abs) != 0) {
    fprintf(stderr, "dtask: not starting %s\n", prog[0]);
    return EXIT_INVALID;
  }
  if (dt__find_shim("dtask run", shim) != 0) {
    dt__config_free(cfg);
    return EXIT_INVALID;
  }
  /* The callers' latencies go to a file in a private directory. */
  char statdir[64] = "/tmp/dtask-run-XXXXXX";
  if (mkdtemp(statdir) == NULL) {
    perror("dtask run: mkdtemp");
    dt__config_free(cfg);
    return EXIT_INVALID;
  }
  snprintf(stats, sizeof stats, "%s/stats", statdir);

  /* Signals are forwarded to the program from here on; the pool gets
   * SIGTERM if this launcher dies (PR_SET_PDEATHSIG survives exec). */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  /* The pool: PROG's image in runner role; it says "ready" on a pipe. */
  int ready[2];
  if (pipe(ready) != 0) {
    perror("dtask: pipe");
    return EXIT_INVALID;
  }
  pid_t pool = fork();
  if (pool == 0) {
    char fd[16];
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    close(ready[0]);
    snprintf(fd, sizeof fd, "%d", ready[1]);
    setenv(DT__ENV_READY_FD, fd, 1);
    int rc = dt__exec_runner(shim, abs, workers, prog);
    fprintf(stderr, "dtask: cannot run %s: %s\n", prog[0], strerror(-rc));
    _exit(127);
  }
  close(ready[1]);
  char byte;
  ssize_t got;
  while ((got = read(ready[0], &byte, 1)) < 0 && errno == EINTR)
    ;
  close(ready[0]);
  if (got != 1) {
    int status;
    waitpid(pool, &status, 0);
    fprintf(stderr, "dtask: the runner pool for %s did not start (see the "
                    "messages above); not running it\n", prog[0]);
    unlink(stats);
    rmdir(statdir);
    dt__config_free(cfg);
    return EXIT_INVALID;
  }

  /* The program, with the shim preloaded. */
  pid_t child = fork();
  if (child == 0) {
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    dt__env_preload(shim);
    setenv(DT__ENV_CONFIG, abs, 1);
    setenv(DT__ENV_STATS, stats, 1);
    unsetenv(DT__ENV_ROLE);
    unsetenv(DT__ENV_WORKERS);
    unsetenv(DT__ENV_MODE);
    execvp(prog[0], prog);
    fprintf(stderr, "dtask: cannot run %s: %s\n", prog[0], strerror(errno));
    _exit(127);
  }
  g_child = child;
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR)
    ;
  g_child = 0;
  kill(pool, SIGTERM);
  int pst;
  while (waitpid(pool, &pst, 0) < 0 && errno == EINTR)
    ;
  summarize(stats, cfg);
  unlink(stats);
  rmdir(statdir);
  dt__config_free(cfg);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

/* dtask COMMAND ...: check, run, status, top or sig. */
int main(int argc, char **argv) {
  if (argc >= 2 &&
      (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
    dt__print_version("dtask");
    return 0;
  }
  if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (strcmp(argv[1], "check") == 0)
    return cmd_check(argc - 1, argv + 1);
  if (strcmp(argv[1], "run") == 0)
    return cmd_run(argc - 1, argv + 1);
  if (strcmp(argv[1], "status") == 0)
    return dt__cmd_status(argc - 1, argv + 1);
  if (strcmp(argv[1], "top") == 0)
    return dt__cmd_top(argc - 1, argv + 1);
  if (strcmp(argv[1], "sig") == 0)
    return dt__cmd_sig(argc - 1, argv + 1);
  fprintf(stderr, "dtask: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 1;
}
