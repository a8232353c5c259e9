/* fuzz_elf.c: the fuzz harness of the on-disk ELF reader
 * (runner/elf_file.c), driven as `dtask check --binary` drives it
 * (runner/dtask.c, objects_open and explain_binary).
 *
 * The input is a file: its bytes are written to a memfd, and
 * dt__elf_open opens it by the path /proc/self/fd/N (it takes a path and
 * maps the file).  A refusal must be a negative errno with a sentence.
 * An accepted file is then asked what dtask check asks: whether it is an
 * executable, its DT_NEEDED entries (each a string; one past the last is
 * NULL), where the loader would find the first two (dt__elf_find_needed,
 * only for names that look like a library, "x.so" or "x.so.N" without a
 * '/', so that no input makes it open a device or a FIFO), and for each
 * of a set of symbols (the ELF fixtures' and libc's) its imports per
 * relocation kind (whose counts must add up to the total) and its
 * definition, with and without a version.  The handle is closed, then
 * the memfd.  Corpus: tests/fuzz/corpus/elf/ (stripped builds of
 * tests/fixtures/elf, and truncated and damaged copies). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runner/elf.h"
#include "shim/got.h"
#include "fuzz/fuzz.h"

/* The symbols every accepted file is asked about. */
static const char *const elf_syms[] = {"fa", "fa_twice", "fa_env", "fv",
                                       "internal_only", "getenv", "malloc",
                                       "main", ""};

/* The versions dt__elf_defines is asked for. */
static const char *const elf_versions[] = {"V_1", "V_2", "GLIBC_2.2.5"};

/* Whether name looks like a library's file name: [A-Za-z0-9._+-] only,
 * with ".so" at its end or before a '.'. */
static bool elf_libname(const char *name) {
  size_t n = strlen(name);
  if (n < 4)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
          c == '-'))
      return false;
  }
  const char *so = strstr(name, ".so");
  return so != NULL && (so[3] == '\0' || so[3] == '.');
}

/* Asks e what dtask check asks an object. */
static void elf_ask(dt__elf *e) {
  (void)dt__elf_is_executable(e);
  size_t nn = dt__elf_needed_count(e);
  for (size_t k = 0; k < nn; k++) {
    const char *so = dt__elf_needed(e, k);
    dt__fuzz_check(so != NULL, "a DT_NEEDED entry that is NULL");
    char path[4096];
    if (k < 2 && elf_libname(so)) {
      int rc = dt__elf_find_needed(e, so, path, sizeof path);
      dt__fuzz_check(rc != 0 || strlen(path) < sizeof path,
                     "a found library without its path");
    }
  }
  dt__fuzz_check(dt__elf_needed(e, nn) == NULL,
                 "a DT_NEEDED entry past the last one");
  for (size_t i = 0; i < sizeof elf_syms / sizeof *elf_syms; i++) {
    int counts[DT__REL_OTHER + 1];
    int total = dt__elf_imports(e, elf_syms[i], counts);
    int sum = 0;
    for (int k = 0; k <= DT__REL_OTHER; k++) {
      dt__fuzz_check(counts[k] >= 0, "a negative count of imports");
      sum += counts[k];
    }
    dt__fuzz_check(total == sum, "imports whose kinds do not add up");
    char ver[128];
    int is_default = -1, self_refs = -1;
    if (dt__elf_defines(e, elf_syms[i], NULL, ver, sizeof ver, &is_default,
                        &self_refs) == 1)
      dt__fuzz_check(strlen(ver) < sizeof ver && self_refs >= 0,
                     "a definition without its version or references");
    for (size_t v = 0; v < sizeof elf_versions / sizeof *elf_versions; v++)
      (void)dt__elf_defines(e, elf_syms[i], elf_versions[v], ver, sizeof ver,
                            &is_default, &self_refs);
  }
}

/* Writes data[0, size) to a memfd, opens it with dt__elf_open by its
 * /proc/self/fd path, asks it what dtask check asks, and closes both
 * (the memfd last: the path names the file while it is asked).
 * Always returns 0. */
int dt__fuzz_elf(const uint8_t *data, size_t size) {
  int fd = memfd_create("dtask-fuzz-elf", MFD_CLOEXEC);
  if (fd < 0)
    return 0;
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) {
      close(fd);
      return 0;
    }
    done += (size_t)w;
  }
  char path[64], err[512];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  dt__elf *e = (dt__elf *)&e; /* must become NULL on failure */
  int rc = dt__elf_open(path, &e, err, sizeof err);
  if (rc != 0) {
    close(fd);
    dt__fuzz_check(rc < 0 && e == NULL, "a failure that is not -errno");
    dt__fuzz_check(err[0] != '\0', "a refusal without a sentence");
    return 0;
  }
  dt__fuzz_check(strcmp(dt__elf_path(e), path) == 0,
                 "an object that forgot its path");
  elf_ask(e); /* with the file still there, as on disk */
  dt__elf_close(e);
  close(fd);
  return 0;
}

DT__FUZZ_ENTRY(dt__fuzz_elf)
